"""Reading per-sample ``reward_extra_info`` columns (as the per-sample bridge passes them) into tensors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch


def float_column(info: Mapping[str, Sequence], key: str, n: int, estimator: str, manager: str,
                 index: Any = None) -> torch.Tensor:
    """``info[key]`` as a float32 tensor of length n; None and non-numbers (a string) become 0.

    A NaN, ±inf, or a number beyond float32's range (1e308, ``10**400``) is an error that names how many
    samples and which uids (``index``, verl's prompt-group labels; sample positions without it), as for
    non-finite rewards (:mod:`verl_multiling.estimators.inputs`): a scorer upstream produced it and the
    manager should have counted it as a failed call. A missing key or a length mismatch is an error naming
    the estimator and the reward manager that writes the key.

    >>> float_column({"m": [1, None, "x"]}, "m", 3, "adamame", "AdaMameRewardManager").tolist()
    [1.0, 0.0, 0.0]
    >>> float_column({"m": [1.0, float("nan")]}, "m", 2, "tapo", "TapoRewardManager", ["q1", "q2"])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: tapo: reward_extra_info['m'] is not finite for 1 of 2 samples, uids ['q2'] (1 NaN, 0 +inf, 0 -inf; ...
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
        with np.errstate(over="ignore"):
            as_float = np.asarray(values, dtype=np.float32)  # fast path: a clean numeric column
    except (TypeError, ValueError, OverflowError):  # None, strings, 10**400, ragged cells
        as_float = None
    if as_float is None or as_float.ndim != 1 or not np.isfinite(as_float).all():
        # cells that are arrays themselves (one number per sample), and None, which numpy reads as NaN
        as_float = np.array([_float_or_zero(v) for v in values], dtype=np.float32)
    finite = np.isfinite(as_float)
    if not finite.all():
        _raise_non_finite(estimator, manager, key, as_float, finite, index)
    return torch.from_numpy(as_float)


def _float_or_zero(value: Any) -> float:
    """A cell as a float: None and non-numbers 0; an int beyond float64 (10**400) +-inf (then an error)."""
    if value is None:
        return 0.0
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")
    except (TypeError, ValueError):  # not a number
        return 0.0


def _raise_non_finite(estimator: str, manager: str, key: str, values: np.ndarray, finite: np.ndarray,
                      index: Any) -> None:
    from verl_multiling.estimators.inputs import MAX_LISTED_UIDS

    bad = np.flatnonzero(~finite)
    if index is None:
        labels = [f"#{i}" for i in range(len(values))]
    else:
        labels = (index.detach().cpu().numpy() if isinstance(index, torch.Tensor)
                  else np.asarray(index, dtype=object)).reshape(-1)
    uids = list(dict.fromkeys(str(labels[i]) if i < len(labels) else f"#{i}" for i in bad))
    listed = uids[:MAX_LISTED_UIDS] + ([f"... {len(uids) - MAX_LISTED_UIDS} more"] if len(uids) > MAX_LISTED_UIDS
                                       else [])
    cells = values[bad]
    kinds = (f"{int(np.isnan(cells).sum())} NaN, {int((cells == np.inf).sum())} +inf, "
             f"{int((cells == -np.inf).sum())} -inf")
    raise ValueError(
        f"{estimator}: reward_extra_info[{key!r}] is not finite for {len(bad)} of {len(values)} samples, uids "
        f"{listed} ({kinds}; a value beyond float32's range counts as inf). {manager} scores a failed scorer call "
        "0 with a counted reason: a custom manager or scorer upstream wrote it; fix it there. Advantages are "
        "not computed from non-finite values")
