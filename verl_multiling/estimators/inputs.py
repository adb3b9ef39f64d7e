"""The estimators' common inputs: shapes checked, and r_i = Σ_t token_level_rewards[i, t] in float64.

r_i must be finite. A NaN or ±inf token reward means a bug upstream (a reward function, a KL penalty,
a scorer); turning it into 0 would hide it, and would give a +inf reward the *lowest* advantage of its
group. So a non-finite r_i is an error that names how many samples and which uids (verl's own GRPO lets
the NaN show in its advantages; we stop before the update instead). There is no knob to tolerate it:
fix the reward, or score such a rollout 0 in the reward manager with a counted reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

#: how many offending uids an error message lists
MAX_LISTED_UIDS = 8


def sequence_rewards(
    name: str, token_level_rewards: torch.Tensor, response_mask: torch.Tensor, index: Any
) -> torch.Tensor:
    """r_i = Σ_t token_level_rewards[i, t] (float64, shape (B,)) after checking the inputs.

    Raises ``ValueError`` naming the argument and the shapes when ``response_mask`` is not B x L like
    ``token_level_rewards`` or ``index`` (the uids) does not hold one label per sample, and naming how many
    samples and which uids when some r_i is NaN or ±inf. Cost: one float32 reduction over B x L (the sum the
    estimator needs anyway) and a B-element finiteness check; the rare rows whose float32 sum overflowed are
    summed again in float64, so finite float32 rewards never count as non-finite.

    >>> sequence_rewards("demo", torch.tensor([[0.0, 1.0], [0.0, 0.0]]), torch.ones(2, 2), ["a", "b"]).tolist()
    [1.0, 0.0]
    >>> sequence_rewards("demo", torch.tensor([[0.0, float("inf")]]), torch.ones(1, 2), ["q7"])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: demo: 1 of 1 samples have a non-finite reward (NaN or ±inf ...), uids ['q7'] (0 NaN, 1 +inf, 0 -inf). ...
    """
    if token_level_rewards.dim() != 2:
        raise ValueError(f"{name}: token_level_rewards must be B x L, got shape {tuple(token_level_rewards.shape)}")
    if tuple(response_mask.shape) != tuple(token_level_rewards.shape):
        raise ValueError(f"{name}: response_mask has shape {tuple(response_mask.shape)} but token_level_rewards has "
                         f"{tuple(token_level_rewards.shape)}; both are B x L over the same responses")
    n = token_level_rewards.shape[0]
    n_index = _length(index)
    if n_index != n:
        raise ValueError(f"{name}: index (the uids, one prompt-group label per sample) has {n_index} labels but "
                         f"token_level_rewards has shape {tuple(token_level_rewards.shape)} ({n} samples); pass "
                         "data.non_tensor_batch['uid'] of the same batch")
    rewards = token_level_rewards.sum(dim=-1).to(torch.float64)  # summing in float64 would cost ~20x on CPU
    finite = torch.isfinite(rewards)
    if not bool(finite.all()):
        # a float32 sum of finite rewards near 3e38 can overflow: redo only those rows in float64
        rows = (~finite).nonzero().flatten()
        rewards[rows] = token_level_rewards[rows].to(torch.float64).sum(dim=-1)
        finite = torch.isfinite(rewards)
        if not bool(finite.all()):
            _raise_non_finite(name, rewards, finite, index)
    return rewards


def _length(index: Any) -> int:
    if isinstance(index, torch.Tensor):
        return int(index.numel())
    if isinstance(index, np.ndarray):
        return int(index.size)
    return len(index) if hasattr(index, "__len__") else int(np.size(index))


def _raise_non_finite(name: str, rewards: torch.Tensor, finite: torch.Tensor, index: Any) -> None:
    bad = (~finite).nonzero().flatten().cpu().tolist()
    labels = index.detach().cpu().numpy() if isinstance(index, torch.Tensor) else np.asarray(index, dtype=object)
    labels = labels.reshape(-1)
    uids = list(dict.fromkeys(str(labels[i]) for i in bad))
    listed = uids[:MAX_LISTED_UIDS] + ([f"... {len(uids) - MAX_LISTED_UIDS} more"] if len(uids) > MAX_LISTED_UIDS
                                       else [])
    values = rewards[bad].cpu()
    kinds = [f"{int(torch.isnan(values).sum())} NaN", f"{int((values == float('inf')).sum())} +inf",
             f"{int((values == float('-inf')).sum())} -inf"]
    raise ValueError(
        f"{name}: {len(bad)} of {len(rewards)} samples have a non-finite reward (NaN or ±inf summed over "
        f"token_level_rewards), uids {listed} ({', '.join(kinds)}). A reward function, KL penalty or scorer "
        "upstream produced it: fix it there, or score such a rollout 0 in the reward manager with a counted "
        "reason. Advantages are not computed from non-finite rewards")
