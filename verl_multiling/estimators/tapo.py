r"""TAPO's step-level relative advantage (arXiv 2603.25419), vectorised over the batch.

Notation (docs/methods.md, "TAPO"): a prompt group g holds rollouts y_1..y_G of one query. Each
response is split into the understanding step U (its tokens up to and including ``</translation>``)
and the reasoning step R (the rest); a response with a missing or broken tag has no U step.
r_acc,i is math-verify's verdict on y_i, r_trans,i the translation quality of its U text
(0 without a U step), r_fmt,i its format reward.

``tapo`` with ``algorithm.tapo.mode: step`` (the method)::

    Â^U_i = group-normalise(r_trans)_i,      Â^R_i = group-normalise(r_R)_i,   r_R = r_acc + w_f · r_fmt
    A_{i,t} = Â^U_i + λ · Â^R_i   for t in U_i
    A_{i,t} = Â^R_i               for t in R_i,        λ ∈ [0, 1] (default 1)

so the translation reward never changes the credit of reasoning tokens. ``w_f``
(``format_weight``) is our default 0 (the paper's r_fmt is optional and unpublished).

``mode: contrast`` (the paper's baseline, for ablations): one scalar per response,
``s_i = r_R,i + w · r_trans,i``, ``A_{i,t} = group-normalise(s)_i`` on every token.

group-normalise(s)_i = (s_i − mean_g s) / (std_g s + ε), unbiased std, a group of one giving mean 0
and std 1 (verl GRPO's convention); ``norm_by_std: false`` gives Dr.GRPO's s_i − mean_g s.

Inputs: r_acc is the summed token-level reward (the reward manager's scalar is r_acc, so verl's
``use_kl_in_reward`` keeps its meaning; NaN or ±inf is an error naming the uids,
:mod:`verl_multiling.estimators.inputs`); r_trans, r_fmt and u_tokens (|U_i|, 0 without a U step)
come from each sample's ``reward_extra_info``, which the per-sample bridge
(``trainer.v1.trainer_mode=multiling_sync``) passes. A U boundary beyond the valid response (a
response cut off inside U) is clamped to the response: every valid token is then in U.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from verl_multiling.estimators.extra_info import float_column
from verl_multiling.estimators.group_stats import group_ids, group_normalize
from verl_multiling.estimators.inputs import sequence_rewards
from verl_multiling.config.confnode import node_get as _get
from verl_multiling.config.knobs import load_node

R_TRANS_KEY = "r_trans"
R_FMT_KEY = "r_fmt"
U_TOKENS_KEY = "u_tokens"
BRIDGE_HINT = (
    "set trainer.v1.trainer_mode=multiling_sync (the +recipe=tapo default) so that the per-sample bridge "
    "passes each sample's reward_extra_info (r_trans, u_tokens) to the estimator"
)


@dataclass(frozen=True)
class TapoAlgoConfig:
    """The ``algorithm.tapo`` node."""

    mode: str = "step"  # step (TAPO) | contrast (scalar r_acc + w r_trans baseline)
    lam: float = 1.0  # λ: weight of Â^R on the U tokens
    trans_weight: float = 1.0  # w of the contrast baseline
    format_weight: float = 0.0  # w_f: r_R = r_acc + w_f r_fmt (our default)
    norm_by_std: bool = True
    epsilon: float = 1e-6

    @classmethod
    def from_algorithm(cls, algorithm: Any) -> TapoAlgoConfig:
        """Read and validate ``algorithm.tapo``; errors name the field."""
        v = load_node(_get(algorithm, "tapo", None) or {}, "algorithm.tapo")
        norm = v["norm_by_std"]
        if norm is None:
            norm = bool(_get(algorithm, "norm_adv_by_std_in_grpo", True))
        return cls(v["mode"], v["lam"], v["trans_weight"], v["format_weight"], norm, v["epsilon"])


def step_advantages(
    adv_u: torch.Tensor, adv_r: torch.Tensor, u_tokens: torch.Tensor, response_mask: torch.Tensor, lam: float
) -> torch.Tensor:
    """A_{i,t} = Â^U_i + λ Â^R_i for t < u_i, Â^R_i after, 0 where ``response_mask`` is 0.

    The two per-sample values are formed in the inputs' precision (float64 from the estimator) and clamped
    to the float32 range, so huge rewards cannot overflow to inf; the B x L result is in float32. Cost O(B·L)
    for the broadcast of Â^R (as GRPO's) plus the cheaper of two ways to write the U value: rewrite the
    leading max_i u_i columns (dense, O(B·max_i u_i); U is a prefix and translations are short), or scatter
    through flat indices of the U tokens only (O(Σ_i u_i), a few times dearer per element), chosen per batch
    so that one runaway translation cannot cost another B x L pass.

    >>> step_advantages(torch.tensor([1.0, 2.0]), torch.tensor([10.0, 20.0]), torch.tensor([2, 0]),
    ...                 torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]]), lam=0.5).tolist()
    [[6.0, 6.0, 10.0, 0.0], [20.0, 20.0, 20.0, 20.0]]
    """
    mask = response_mask.to(torch.float32)
    value_r = _to_float32(adv_r)
    out = value_r.unsqueeze(-1) * mask
    length = out.shape[-1]
    # clamp before the integer cast: a float beyond int64 (1e30) would wrap to a negative count
    u = u_tokens.clamp(min=0, max=length).to(torch.long)
    total = int(u.sum())
    if total == 0:
        return out
    value_u = _to_float32(adv_u + lam * adv_r)
    width = int(u.max())
    if len(u) * width <= SCATTER_COST * total:  # dense: the leading columns, t < u_i
        in_u = torch.arange(width, device=out.device) < u.unsqueeze(-1)
        out[:, :width] = torch.where(in_u, value_u.unsqueeze(-1), value_r.unsqueeze(-1)) * mask[:, :width]
        return out
    rows = torch.repeat_interleave(torch.arange(len(u), device=out.device), u, output_size=total)
    row_base = torch.arange(len(u), device=out.device) * length - (torch.cumsum(u, 0) - u)
    flat = torch.arange(total, device=out.device) + torch.repeat_interleave(row_base, u, output_size=total)
    out.view(-1)[flat] = value_u[rows] * mask.reshape(-1)[flat]  # flat = i * L + t for t < u_i
    return out


# cost of one scattered U element relative to one element of the dense rewrite (measured on CPU: ~8x)
SCATTER_COST = 8


def _to_float32(values: torch.Tensor) -> torch.Tensor:
    """Per-sample values clamped to float32's range, then cast (a float64 beyond it would become inf)."""
    limit = torch.finfo(torch.float32).max
    return values.clamp(min=-limit, max=limit).to(torch.float32)


def contrast_scores(r_acc: torch.Tensor, r_trans: torch.Tensor, trans_weight: float) -> torch.Tensor:
    """The contrast baseline's scalar s_i = r_acc,i + w · r_trans,i.

    >>> contrast_scores(torch.tensor([1.0, 0.0]), torch.tensor([0.5, 1.0]), 0.5).tolist()
    [1.25, 0.5]
    """
    return r_acc + trans_weight * r_trans


def compute_tapo_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: np.ndarray | None = None,
    config: Any = None,
    reward_extra_info: Mapping[str, Sequence] | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``tapo``: step-decoupled advantages (or the contrast baseline); returns (advantages, returns)."""
    cfg = TapoAlgoConfig.from_algorithm(config)
    if index is None:
        raise ValueError("tapo: verl passed no uid index; GRPO-style estimators need prompt groups")
    if reward_extra_info is None:
        raise RuntimeError(f"tapo needs each sample's reward_extra_info: {BRIDGE_HINT}")
    with torch.no_grad():
        device = token_level_rewards.device
        n = token_level_rewards.shape[0]
        # float64 so that r_acc + w r_trans and Â^U + λ Â^R cannot overflow for huge (if strange) rewards; a
        # NaN/±inf r_acc or an index of the wrong length is an error naming the samples (estimators.inputs)
        r_acc = sequence_rewards("tapo", token_level_rewards, response_mask, index)
        r_trans = _column(reward_extra_info, R_TRANS_KEY, n, index).to(device, torch.float64)
        if cfg.format_weight:
            r_acc = r_acc + cfg.format_weight * _column(reward_extra_info, R_FMT_KEY, n, index).to(device,
                                                                                                   torch.float64)
        gid, n_groups = group_ids(index, device=device)
        mask = response_mask.to(torch.float32)
        if cfg.mode == "contrast":
            s = contrast_scores(r_acc, r_trans, cfg.trans_weight)
            advantages = _to_float32(group_normalize(s, gid, n_groups, cfg.norm_by_std, cfg.epsilon)).unsqueeze(-1) * mask
        else:
            u_tokens = _column(reward_extra_info, U_TOKENS_KEY, n, index).to(device)
            adv_u = group_normalize(r_trans, gid, n_groups, cfg.norm_by_std, cfg.epsilon)
            adv_r = group_normalize(r_acc, gid, n_groups, cfg.norm_by_std, cfg.epsilon)
            advantages = step_advantages(adv_u, adv_r, u_tokens, mask, cfg.lam)
    return advantages, advantages


def _column(info: Mapping[str, Sequence], key: str, n: int, index: Any) -> torch.Tensor:
    return float_column(info, key, n, "tapo", "TapoRewardManager", index)
