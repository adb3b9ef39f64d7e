"""End to end, one run per recipe: real ``python -m verl.trainer.main_ppo +recipe=X`` GRPO steps on CPU.

Each test runs the CLI a user runs (``verl-multiling smoke``), which runs verl's own main_ppo (tiny Qwen2, the
hf_cpu rollout, a local Ray cluster), and asserts on what verl itself logged (its file logger) and stored (the
advantages it trained on, read back from TransferQueue by the bridge):

- every step completes and logs ``multiling/<lang>/*`` parts and ``multiling/faults/*``;
- the advantages verl trained on equal the recipe's estimator applied, here, to that step's rewards and
  reward_extra_info with the t and T the bridge handed over;
- ``actor/grad_norm > 0`` (an optimiser step happened) and rollout vs actor log-probs agree (weight sync);
- the rewards and advantages equal the stored values (the metrics regression gate,
  :mod:`verl_multiling.smoke.metrics_gate`: same run, no extra cost).

The trainer modes (checkpoint resume, the async trainer, sampled rollouts) are in ``test_e2e_trainer_modes.py``.
Marked ``e2e`` (about 2-3 minutes each on a 2-core machine); ``pytest -m "not e2e"`` skips them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from smoke_runs import RECIPES, assert_step_is_sound, load_dump, recompute_advantages, smoke

from verl_multiling.smoke import metrics_gate

pytestmark = [pytest.mark.e2e, pytest.mark.ray]


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_trains_on_cpu_and_verl_uses_our_advantages(tmp_path, recipe):
    # the metrics gate's run (metrics_gate.STEPS, N, OVERRIDES: a fixed data seed), so its values can be compared
    result = smoke(tmp_path, f"+recipe={recipe}", "--scripted", "--n", str(metrics_gate.N), *metrics_gate.OVERRIDES,
                   steps=metrics_gate.STEPS)
    assert result["recipe"] == recipe and [s["step"] for s in result["steps"]] == [1, 2]
    for entry in result["steps"]:
        step, metrics = entry["step"], entry["metrics"]
        assert_step_is_sound(metrics, step)
        dump = load_dump(result["work"], step)
        assert dump["global_step"] == step and dump["total_steps"] == 2
        expected = recompute_advantages(dump, [f"+recipe={recipe}"])
        mask = dump["response_mask"].bool()
        torch.testing.assert_close(dump["advantages"][mask], expected.float()[mask], atol=1e-5, rtol=1e-5)
        assert dump["advantages"][mask].abs().max() > 0
    parts = {k.split("/")[2] for s in result["steps"] for k in s["metrics"] if k.startswith("multiling/")}
    expected_parts = {"adamame": {"acc", "lang_match"}, "tapo": {"r_trans", "u_tokens", "r_fmt"},
                      "pb_rlsvr": {"r_reasoning"}, "reflection": {"reflection", "format"}}[recipe]
    assert expected_parts <= parts, f"{recipe}: missing parts {expected_parts - parts}"
    baseline_dir = Path(__file__).resolve().parent / "data" / "smoke_metrics"
    problems = metrics_gate.check(recipe, result["steps"], result["work"], baseline_dir)
    assert not problems, metrics_gate.failure_message(recipe, problems, baseline_dir)
