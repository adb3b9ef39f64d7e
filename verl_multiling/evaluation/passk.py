r"""Unbiased pass@k (Chen et al., 2021), vectorised over questions.

For a question with ``n`` samples of which ``c`` are correct,

    pass@k = 1 - C(n - c, k) / C(n, k)        (= 1 when n - c < k)

the probability that at least one of ``k`` samples drawn without replacement from the ``n``
is correct. It is computed as ``1 - prod_{i = n-c+1}^{n} (1 - k / i)`` (numerically stable,
no large binomials), for all questions at once with numpy. Over a set of questions the score
is the mean of the per-question values.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["pass_at_k", "pass_at_k_mean"]


def pass_at_k(n: Sequence[int] | np.ndarray, c: Sequence[int] | np.ndarray, k: int) -> np.ndarray:
    """Per-question unbiased pass@k, ``1 - C(n-c, k) / C(n, k)``.

    >>> pass_at_k([4, 4, 4], [0, 1, 4], 1).tolist()
    [0.0, 0.25, 1.0]
    >>> round(float(pass_at_k([4], [2], 2)[0]), 6)   # 1 - C(2,2)/C(4,2) = 1 - 1/6
    0.833333

    Raises:
        ValueError: ``k < 1``, ``c > n``, negative counts, or some ``n < k`` (pass@k needs at
            least k samples per question: generate more samples or lower k).
    """
    n_arr = np.asarray(n, dtype=np.int64)
    c_arr = np.asarray(c, dtype=np.int64)
    if n_arr.shape != c_arr.shape:
        raise ValueError(f"n and c must have the same shape, got {n_arr.shape} and {c_arr.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if (c_arr < 0).any() or (c_arr > n_arr).any():
        raise ValueError("need 0 <= c <= n for every question")
    if (n_arr < k).any():
        raise ValueError(f"pass@{k} needs at least {k} samples per question; the smallest has "
                         f"{int(n_arr.min())}")
    if n_arr.size == 0:
        return np.zeros(0)
    # prod over i in (n-c, n] of (1 - k/i); terms with i <= n - c are masked to 1.
    width = int(c_arr.max()) if c_arr.size else 0
    if width == 0:
        return np.zeros(n_arr.shape, dtype=np.float64)
    steps = np.arange(1, width + 1)
    i = (n_arr - c_arr)[..., None] + steps  # shape (..., width)
    active = steps <= c_arr[..., None]
    factors = np.where(active, 1.0 - k / np.maximum(i, 1), 1.0)
    result = 1.0 - np.prod(factors, axis=-1)
    return np.where(n_arr - c_arr < k, 1.0, result)


def pass_at_k_mean(n: Sequence[int], c: Sequence[int], k: int) -> float:
    """Mean pass@k over questions (0.0 for no question).

    >>> round(pass_at_k_mean([4, 4], [3, 2], 2), 6)   # (1 + 5/6) / 2 = 11/12
    0.916667
    """
    values = pass_at_k(n, c, k)
    return float(values.mean()) if values.size else 0.0
