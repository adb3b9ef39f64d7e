"""Vectorised per-group statistics over GRPO prompt groups (no Python loop over samples).

A prompt group g holds the G rollouts of one query (verl: same ``uid``). The helpers map the uid
array to contiguous group ids once, then compute every statistic with ``index_add_`` and gathers.

Convention (verl GRPO's): group-normalise(s)_i = (s_i - mean_g s) / (std_g s + eps) with the
unbiased (Bessel) std, and a group of one has mean 0 and std 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def group_ids(index: Any, device: torch.device | str | None = None) -> tuple[torch.Tensor, int]:
    """Map group labels (uids: strings, ints, ...) to contiguous ids 0..n_groups-1.

    >>> ids, n = group_ids(np.array(["b", "a", "b"], dtype=object))
    >>> ids.tolist(), n
    ([1, 0, 1], 2)
    """
    if isinstance(index, torch.Tensor):
        index = index.detach().cpu().numpy()
    labels = np.asarray(index)
    if labels.ndim != 1:
        labels = labels.reshape(-1)
    if labels.dtype == object:
        labels = labels.astype(str)
    _, inverse = np.unique(labels, return_inverse=True)
    n_groups = int(inverse.max()) + 1 if inverse.size else 0
    return torch.from_numpy(inverse.reshape(-1).astype(np.int64)).to(device), n_groups


def group_sum(values: torch.Tensor, gid: torch.Tensor, n_groups: int) -> torch.Tensor:
    """Per-group sum of a (N,) tensor, as a (n_groups,) tensor."""
    out = torch.zeros(n_groups, dtype=values.dtype, device=values.device)
    return out.index_add_(0, gid, values)


def group_normalize(
    scores: torch.Tensor,
    gid: torch.Tensor,
    n_groups: int,
    norm_by_std: bool = True,
    epsilon: float = 1e-6,
) -> torch.Tensor:
    """Group-normalise scores: (s_i - mean_g) / (std_g + eps), or s_i - mean_g when not norm_by_std.

    std_g is the unbiased standard deviation; groups of one use mean 0 and std 1.

    >>> s = torch.tensor([1.0, 0.0, 5.0])
    >>> gid, n = group_ids(np.array([0, 0, 1]))
    >>> [round(x, 4) for x in group_normalize(s, gid, n).tolist()]
    [0.7071, -0.7071, 5.0]
    """
    out_dtype = scores.dtype if scores.is_floating_point() else torch.float32
    scores = scores.to(torch.float64)  # float32 rewards near 1e38 would overflow in the squared deviations
    ones = torch.ones_like(scores)
    count = group_sum(ones, gid, n_groups)
    mean = group_sum(scores, gid, n_groups) / count.clamp(min=1.0)
    centred = scores - mean[gid]
    single = count[gid] <= 1.0
    if not norm_by_std:
        return torch.where(single, scores, centred).to(out_dtype)
    var = group_sum(centred * centred, gid, n_groups) / (count - 1.0).clamp(min=1.0)
    std = var.sqrt()[gid]
    normalised = centred / (std + epsilon)
    return torch.where(single, scores / (1.0 + epsilon), normalised).to(out_dtype)


def group_value_counts(labels: torch.Tensor, gid: torch.Tensor, n_groups: int, n_labels: int) -> torch.Tensor:
    """n_{g,l}: for each sample, how many rollouts of its group carry the same label.

    ``labels`` are contiguous ids 0..n_labels-1 (e.g. detected languages). Returns a (N,) float tensor.

    >>> gid, n = group_ids(np.array([0, 0, 0, 1]))
    >>> group_value_counts(torch.tensor([0, 1, 0, 1]), gid, n, 2).tolist()
    [2.0, 1.0, 2.0, 1.0]
    """
    cell = gid * n_labels + labels
    counts = torch.zeros(n_groups * n_labels, dtype=torch.float32, device=labels.device)
    counts.index_add_(0, cell, torch.ones_like(cell, dtype=torch.float32))
    return counts[cell]
