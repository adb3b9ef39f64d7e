"""Training-progress schedules of AdaMame's language-alignment factor g(t) and exploration anneal.

t is the training step and T the total number of training steps; every schedule is evaluated at
the clipped progress p = min(max(t / T, 0), 1).

- ``cosine`` (the paper's): g(t) = max(1/2 (1 - cos(pi t / T)), floor)
- ``linear`` (ablation):    g(t) = max(t / T, floor)
- ``constant`` (ablation):  g(t) = 1  (the constant-bonus ablation, g == 1)
- ``staged`` (ablation):    g(t) = g_k for the last stage k with start_k <= t / T (a step function)

The exploration weight of the full ``adamame`` estimator anneals the other way:
e(t) = 1/2 (1 + cos(pi t / T)), from 1 at t = 0 to 0 at t = T.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from verl_multiling.config.knobs import SCHEDULES  # the words algorithm.adamame.schedule accepts


def progress(t: float, total: float) -> float:
    """Clipped training progress t / T in [0, 1]; T must be positive.

    >>> progress(5, 10), progress(-1, 10), progress(20, 10)
    (0.5, 0.0, 1.0)
    """
    if total is None or not total > 0:
        raise ValueError(f"total steps T must be a positive number, got {total!r}")
    p = float(t) / float(total)
    if p != p:  # t = NaN (or t = inf with T = inf): min/max would pass the NaN through
        raise ValueError(f"training step t must be a number, got t={t!r} with T={total!r}")
    return min(max(p, 0.0), 1.0)


def alignment_factor(
    t: float,
    total: float,
    kind: str = "cosine",
    floor: float = 0.1,
    stages: Sequence[Sequence[float]] | None = None,
) -> float:
    """g(t): the weight of the language-alignment bonus at step t of T.

    >>> alignment_factor(0, 100), round(alignment_factor(50, 100), 12), alignment_factor(100, 100)
    (0.1, 0.5, 1.0)
    >>> alignment_factor(30, 100, "linear", floor=0.0)
    0.3
    >>> alignment_factor(70, 100, "staged", stages=[[0.0, 0.0], [0.5, 1.0]])
    1.0
    """
    p = progress(t, total)
    if kind == "cosine":
        return max(0.5 * (1.0 - math.cos(math.pi * p)), floor)
    if kind == "linear":
        return max(p, floor)
    if kind == "constant":
        return 1.0
    if kind == "staged":
        return _staged(p, stages)
    raise ValueError(f"algorithm.adamame.schedule={kind!r} is not one of {SCHEDULES}")


def exploration_anneal(t: float, total: float) -> float:
    """e(t) = 1/2 (1 + cos(pi t / T)): 1 at the start, 0 at the end.

    >>> exploration_anneal(0, 8), round(exploration_anneal(4, 8), 12), round(exploration_anneal(8, 8), 12)
    (1.0, 0.5, 0.0)
    """
    return 0.5 * (1.0 + math.cos(math.pi * progress(t, total)))


def _staged(p: float, stages: Sequence[Sequence[float]] | None) -> float:
    if not stages:
        raise ValueError("algorithm.adamame.stages must list [start_fraction, g] pairs for schedule=staged")
    value = 0.0
    for stage in sorted(stages, key=lambda s: float(s[0])):
        if len(stage) != 2:
            raise ValueError(f"algorithm.adamame.stages entries must be [start_fraction, g] pairs, got {stage!r}")
        if p >= float(stage[0]):
            value = float(stage[1])
    return value
