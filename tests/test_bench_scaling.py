"""The sizing arithmetic behind docs/scaling.md (verl_multiling/benchmarks/sizing.py) and the scaling benchmark's
(verl_multiling/benchmarks/scaling.py) CLI and plan, on known inputs. Nothing here is timed."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pytest

from verl_multiling.benchmarks import scaling
from verl_multiling.benchmarks import sizing as S


def test_doctests():
    result = doctest.testmod(S)
    assert result.attempted >= 10 and result.failed == 0


def test_workers_needed_known_inputs():
    # AdaMame's published step on 4 nodes: 1,024 responses a node
    assert S.per_node(512 * 8, 4) == 1024
    assert S.workers_needed(1024, 0.0005, 60.0) == 1               # 0.5 ms a response: 0.5 s of work
    assert S.workers_needed(1024, 0.05, 60.0, headroom=2.0) == 2    # 51.2 s x 2 / 60 s
    assert S.workers_needed(1024, 0.5, 30.0) == 18                 # 512 s / 30 s = 17.07 -> 18
    # exactly one worker's worth (1000 x 0.06 is 60.000000000000007 in floating point): not rounded up to 2
    assert S.workers_needed(1000, 0.06, 60.0) == 1
    assert S.workers_override(18, 4) == "reward.num_workers=72"
    assert S.service_cpus(1024, 0.5, 60.0, headroom=2.0) == 18


@pytest.mark.parametrize("responses,c,gen", [(1024, 0.05, 60.0), (1024, 0.9, 30.0), (2048, 0.013, 120.0),
                                             (512, 2.0, 45.0)])
def test_enough_workers_hide_the_reward(responses, c, gen):
    w = S.workers_needed(responses, c, gen)
    assert S.step_extension(responses, c, w, gen) == pytest.approx(c)        # only the last response's cost
    if w > 1:
        assert S.reward_seconds(responses, c) / (w - 1) > gen                # one fewer: the queue outlasts T_gen


def test_shares():
    assert S.busy_share(1024, 0.001, 60.0) == pytest.approx(1.024 / 60)
    assert S.training_gpu_share(8, 1) == 0.125
    assert S.reward_seconds(4096, 0.25) == 1024.0


@pytest.mark.parametrize("call,field", [(lambda: S.workers_needed(10, 0.1, 0), "gen_s"),
                                        (lambda: S.workers_needed(10, 0.1, 60, headroom=0.5), "headroom"),
                                        (lambda: S.per_node(10, 0), "trainer.nnodes"),
                                        (lambda: S.step_extension(10, 0.1, 0, 60), "reward.num_workers"),
                                        (lambda: S.training_gpu_share(8, 9), "reserved"),
                                        (lambda: S.reward_seconds(10, -1), "per_response_s")])
def test_errors_name_the_field(call, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        call()


def test_help_works():
    out = subprocess.run([sys.executable, "-m", "verl_multiling.benchmarks", "scaling", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for flag in ("--quick", "--json", "--nodes", "--gen-seconds", "--headroom"):
        assert flag in out.stdout


def test_plan_from_measured_figures():
    """The area's plan on given per-response costs: the overrides are workers per node x nodes."""
    args = scaling.parse_args(["--nodes", "4", "--gen-seconds", "60", "--headroom", "2"])
    measured = {"manager": {"adamame": {"per_response_s": 0.001, "responses_per_s": 1000.0, "rollouts": 8,
                                        "mean_score": 0.5},
                            "pb_rlsvr": {"per_response_s": 0.1, "responses_per_s": 10.0, "rollouts": 8,
                                         "mean_score": 0.5},
                            "tapo": {"error": "x"}},
                "scorer": {"comet_cpu": {"per_item_s": 0.5, "items": 8, "shape": "24 x 1024",
                                         "tokens_per_segment": 100.0}}}
    plan = scaling.sizing(args, measured)
    assert plan["responses"] == 4096 and plan["responses_per_node"] == 1024
    assert plan["recipes"]["adamame"]["by_gen"][60.0]["override"] == "reward.num_workers=4"     # 1 per node
    assert plan["recipes"]["pb_rlsvr"]["by_gen"][60.0]["workers_per_node"] == 4                # 2 x 102.4 / 60
    assert plan["recipes"]["pb_rlsvr"]["by_gen"][60.0]["override"] == "reward.num_workers=16"
    assert "tapo" not in plan["recipes"]
    comet = plan["services"]["comet"]
    assert comet["by_gen"][60.0]["cpu_cores"] == 18                                           # 2 x 512 / 60
    assert "estimate until measured" in comet["gpu_how"]                                       # no GPU figure given
    assert comet["training_gpu_share_lost"] == 0.125
