"""Reading per-sample ``reward_extra_info`` columns (as the per-sample bridge passes them) into tensors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch


def float_column(info: Mapping[str, Sequence], key: str, n: int, estimator: str, manager: str) -> torch.Tensor:
    """``info[key]`` as a float32 tensor of length n; None, NaN, inf and non-numbers become 0.

    A missing key or a length mismatch is an error naming the estimator and the reward manager that
    writes the key.

    >>> float_column({"m": [1, None, float("nan"), "x"]}, "m", 4, "adamame", "AdaMameRewardManager").tolist()
    [1.0, 0.0, 0.0, 0.0]
    """
    if key not in info:
        raise KeyError(
            f"{estimator}: reward_extra_info has no {key!r} (keys: {sorted(info)}); use the verl_multiling reward "
            f"manager (reward.reward_manager.name={manager}) or write it from yours"
        )
    values = info[key]
    if len(values) != n:
        raise ValueError(f"{estimator}: reward_extra_info[{key!r}] has {len(values)} values for {n} samples")
    try:
        as_float = np.asarray(values, dtype=np.float32)  # fast path: a clean numeric column
    except (TypeError, ValueError, OverflowError):  # None, strings, 10**400, ragged cells
        as_float = None
    if as_float is None or as_float.ndim != 1:  # also cells that are arrays themselves: one number per sample
        as_float = np.array([_float_or_zero(v) for v in values], dtype=np.float32)
    return torch.from_numpy(np.nan_to_num(as_float, nan=0.0, posinf=0.0, neginf=0.0))


def _float_or_zero(value: Any) -> float:
    try:
        return 0.0 if value is None else float(value)
    except (TypeError, ValueError, OverflowError):  # not a number, or an int beyond float64
        return 0.0
