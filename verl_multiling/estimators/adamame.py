"""AdaMame advantage estimators (arXiv 2606.15080), vectorised over the batch.

Notation (docs/methods.md, "AdaMame"): a prompt group g holds rollouts y_1..y_G of one query x with
language l_q; r_i in {0, 1} is math-verify's verdict on y_i; l_i is y_i's detected language;
m_i = 1[l_i = l_q and l_i known]; t is the training step and T the total number of steps.

``adamame_align`` (the released estimator):
    s_i = r_i * (1 + B * g(t) * m_i),   A_i = group-normalise(s)_i   (broadcast to every token)

``adamame`` (full variant, adds an exploration weight favouring rare languages early):
    a_i(t) = 1 + (G_g / n_{g,l_i} - 1) * 1/2 (1 + cos(pi t / T)),   s_i = r_i * a_i(t) * (1 + B g(t) m_i)
    where G_g is the size of i's group and n_{g,l_i} the number of its rollouts detected as l_i.
    Our default, not the paper's: a rollout with no detectable language gets a_i = 1.

The bonus is multiplicative: a wrong answer scores 0 whatever its language. r_i is the summed
token-level reward (verl's convention, so ``use_kl_in_reward`` keeps its meaning); a NaN or ±inf r_i
is an error naming the samples' uids (:mod:`verl_multiling.estimators.inputs`), never a silent 0.

Per-sample inputs beyond verl's (``reward_extra_info``, ``global_step``, ``total_steps``) come from
the per-sample trainer bridge (:mod:`verl_multiling.bridge`); the reward manager writes
``lang_match`` (m_i) and ``response_lang`` (l_i, "" when unknown) into ``reward_extra_info``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from verl_multiling.estimators.extra_info import float_column
from verl_multiling.estimators.group_stats import group_ids, group_normalize, group_value_counts
from verl_multiling.estimators.inputs import sequence_rewards
from verl_multiling.estimators.schedules import alignment_factor, exploration_anneal
from verl_multiling.config.confnode import node_get as _get
from verl_multiling.config.knobs import load_node

LANG_MATCH_KEY = "lang_match"
RESPONSE_LANG_KEY = "response_lang"
BRIDGE_HINT = (
    "set trainer.v1.trainer_mode=multiling_sync (the +recipe=adamame default; multiling_colocate_async "
    "and multiling_separate_async for the async trainers) so that the per-sample bridge passes it"
)


@dataclass(frozen=True)
class AdaMameConfig:
    """The ``algorithm.adamame`` node. Every field has the paper's value or a documented default."""

    bonus: float = 2.0  # B
    schedule: str = "cosine"
    floor: float = 0.1
    stages: tuple[tuple[float, float], ...] = ((0.0, 0.0), (0.5, 1.0))
    norm_by_std: bool = True
    epsilon: float = 1e-6
    total_steps: int | None = None  # T; None = the trainer's total_training_steps

    @classmethod
    def from_algorithm(cls, algorithm: Any) -> AdaMameConfig:
        """Read and validate ``algorithm.adamame``; errors name the field and the fix."""
        v = load_node(_get(algorithm, "adamame", None) or {}, "algorithm.adamame")
        norm = v["norm_by_std"]
        if norm is None:
            norm = bool(_get(algorithm, "norm_adv_by_std_in_grpo", True))
        return cls(v["bonus"], v["schedule"], v["floor"], tuple(v["stages"]), norm, v["epsilon"], v["total_steps"])


def adamame_scores(
    rewards: torch.Tensor,
    lang_match: torch.Tensor,
    g_t: float,
    bonus: float,
    exploration: torch.Tensor | None = None,
) -> torch.Tensor:
    """s_i = r_i * a_i * (1 + B * g(t) * m_i); a_i = 1 when ``exploration`` is None.

    >>> adamame_scores(torch.tensor([1., 1., 0.]), torch.tensor([1., 0., 1.]), 0.5, 2.0).tolist()
    [2.0, 1.0, 0.0]
    """
    scores = rewards * (1.0 + bonus * g_t * lang_match)
    if exploration is not None:
        scores = scores * exploration
    return scores


def exploration_weight(
    lang_ids: torch.Tensor, known: torch.Tensor, gid: torch.Tensor, n_groups: int, n_langs: int, e_t: float
) -> torch.Tensor:
    """a_i(t) = 1 + (G_g / n_{g,l_i} - 1) * e(t) for known languages, 1 otherwise.

    >>> gid, n = group_ids(np.array([0, 0, 0, 0]))
    >>> exploration_weight(torch.tensor([0, 0, 0, 1]), torch.tensor([True] * 4), gid, n, 2, 1.0).tolist()
    [1.3333333730697632, 1.3333333730697632, 1.3333333730697632, 4.0]
    """
    group_size = group_value_counts(torch.zeros_like(lang_ids), gid, n_groups, 1)
    same_lang = group_value_counts(lang_ids, gid, n_groups, n_langs)
    weight = 1.0 + (group_size / same_lang - 1.0) * e_t
    return torch.where(known, weight, torch.ones_like(weight))


def compute_adamame_align_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: np.ndarray | None = None,
    config: Any = None,
    reward_extra_info: Mapping[str, Sequence] | None = None,
    global_step: int | None = None,
    total_steps: int | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``adamame_align``: A_i = group-normalise(r_i (1 + B g(t) m_i)); returns (advantages, returns)."""
    return _adamame(token_level_rewards, response_mask, index, config, reward_extra_info, global_step,
                    total_steps, explore=False)


def compute_adamame_advantage(
    token_level_rewards: torch.Tensor,
    response_mask: torch.Tensor,
    index: np.ndarray | None = None,
    config: Any = None,
    reward_extra_info: Mapping[str, Sequence] | None = None,
    global_step: int | None = None,
    total_steps: int | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``adamame``: as ``adamame_align`` with the exploration weight a_i(t) on s_i."""
    return _adamame(token_level_rewards, response_mask, index, config, reward_extra_info, global_step,
                    total_steps, explore=True)


def _adamame(token_level_rewards, response_mask, index, config, reward_extra_info, global_step, total_steps,
             explore: bool):
    name = "adamame" if explore else "adamame_align"
    cfg = AdaMameConfig.from_algorithm(config)
    if index is None:
        raise ValueError(f"{name}: verl passed no uid index; GRPO-style estimators need prompt groups")
    if reward_extra_info is None or global_step is None:
        raise RuntimeError(f"{name} needs each sample's reward_extra_info and the training step: {BRIDGE_HINT}")
    total = cfg.total_steps or total_steps
    if not total:
        raise ValueError(f"{name}: T is unknown; set algorithm.adamame.total_steps or trainer.total_training_steps")
    with torch.no_grad():
        device = token_level_rewards.device
        # float64 so that s_i = r_i a_i (1 + B g m_i) cannot overflow for huge (if strange) rewards; a NaN/±inf
        # r_i or an index of the wrong length is an error naming the samples (estimators.inputs)
        rewards = sequence_rewards(name, token_level_rewards, response_mask, index)
        match = float_column(reward_extra_info, LANG_MATCH_KEY, len(rewards), name, "AdaMameRewardManager",
                             index).to(device)
        gid, n_groups = group_ids(index, device=device)
        g_t = alignment_factor(global_step, total, cfg.schedule, cfg.floor, cfg.stages)
        weight = None
        if explore:
            lang_ids, known, n_langs = _language_ids(reward_extra_info, len(rewards), name)
            weight = exploration_weight(lang_ids.to(device), known.to(device), gid, n_groups, n_langs,
                                        exploration_anneal(global_step, total))
        scores = adamame_scores(rewards, match, g_t, cfg.bonus, weight)
        scalars = group_normalize(scores, gid, n_groups, cfg.norm_by_std, cfg.epsilon)
        limit = torch.finfo(torch.float32).max  # a float64 value beyond float32 would become inf
        scalars = scalars.clamp(min=-limit, max=limit).to(torch.float32)
        advantages = scalars.unsqueeze(-1) * response_mask
    return advantages, advantages


def _language_ids(info: Mapping[str, Sequence], n: int, name: str) -> tuple[torch.Tensor, torch.Tensor, int]:
    if RESPONSE_LANG_KEY not in info:
        raise KeyError(f"{name}: reward_extra_info has no {RESPONSE_LANG_KEY!r}; the full estimator needs l_i")
    langs = np.asarray(["" if v is None else str(v) for v in info[RESPONSE_LANG_KEY]], dtype=str)
    if len(langs) != n:
        raise ValueError(f"{name}: reward_extra_info[{RESPONSE_LANG_KEY!r}] has {len(langs)} values for {n} samples")
    vocab, ids = np.unique(langs, return_inverse=True)
    known = torch.from_numpy(langs != "")
    return torch.from_numpy(ids.reshape(-1).astype(np.int64)), known, max(len(vocab), 1)

