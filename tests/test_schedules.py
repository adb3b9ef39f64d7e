import math

import pytest

from verl_multiling.estimators.schedules import alignment_factor, exploration_anneal, progress


@pytest.mark.parametrize("t, expected", [(0, 0.1), (50, 0.5), (100, 1.0), (25, 0.5 * (1 - math.cos(math.pi / 4)))])
def test_cosine_schedule_with_floor(t, expected):
    assert alignment_factor(t, 100, "cosine", floor=0.1) == pytest.approx(expected, abs=1e-12)


def test_cosine_floor_binds_early_only():
    # 1/2 (1 - cos(pi * 0.2)) = 0.0955 < 0.1 -> floor; at 0.25 it is 0.1464 > 0.1
    assert alignment_factor(20, 100) == 0.1
    assert alignment_factor(25, 100) > 0.1


def test_linear_constant_staged():
    assert alignment_factor(30, 100, "linear", floor=0.0) == pytest.approx(0.3)
    assert alignment_factor(5, 100, "linear", floor=0.1) == 0.1
    assert alignment_factor(0, 100, "constant") == 1.0
    stages = [[0.0, 0.0], [0.5, 1.0]]
    assert alignment_factor(49, 100, "staged", stages=stages) == 0.0
    assert alignment_factor(50, 100, "staged", stages=stages) == 1.0


def test_progress_clips_and_rejects_bad_total():
    assert progress(150, 100) == 1.0
    with pytest.raises(ValueError, match="positive"):
        progress(1, 0)


def test_exploration_anneal_endpoints():
    assert exploration_anneal(0, 10) == 1.0
    assert exploration_anneal(5, 10) == pytest.approx(0.5)
    assert exploration_anneal(10, 10) == pytest.approx(0.0, abs=1e-12)


def test_unknown_schedule_names_the_field():
    with pytest.raises(ValueError, match="algorithm.adamame.schedule"):
        alignment_factor(1, 10, "exponential")
