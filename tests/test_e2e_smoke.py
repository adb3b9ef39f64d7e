"""End to end: real ``python -m verl.trainer.main_ppo +recipe=X`` GRPO steps on CPU (``verl-multiling smoke``).

Each test runs the CLI a user runs, which runs verl's own main_ppo (tiny Qwen2, the hf_cpu rollout, a local
Ray cluster), and asserts on what verl itself logged (its file logger) and stored (the advantages it
trained on, read back from TransferQueue by the bridge):

- every step completes and logs ``multiling/<lang>/*`` parts and ``multiling/faults/*``;
- the advantages verl trained on equal the recipe's estimator applied, here, to that step's rewards and
  reward_extra_info with the t and T the bridge handed over;
- ``actor/grad_norm > 0`` (an optimiser step happened) and rollout vs actor log-probs agree (weight sync);
- a checkpoint saved at step 1 resumes at step 2 (t, hence AdaMame's g(t), continues);
- the async trainer mode runs too, and so do sampled (not scripted) rollouts;
- the per-recipe runs' rewards and advantages equal the stored values (the metrics regression gate,
  :mod:`verl_multiling.smoke.metrics_gate`: same run, no extra cost).

Marked ``e2e`` (about 3-5 minutes each on a 2-core machine); ``pytest -m "not e2e"`` skips them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from verl_multiling.smoke import metrics_gate

pytestmark = [pytest.mark.e2e, pytest.mark.ray]

RECIPES = metrics_gate.RECIPES
LOGPROB_TOLERANCE = 1e-3
TIMEOUT_S = 1500


def smoke(tmp_path: Path, *args: str, steps: int = 2, name: str = "run") -> dict:
    """Run ``verl-multiling smoke`` and return its --json output (the run's work dir is tmp_path/name)."""
    out = tmp_path / f"{name}.json"
    work = tmp_path / name
    command = [sys.executable, "-m", "verl_multiling.cli", "smoke", *args, "--steps", str(steps),
               "--json", str(out), "--workdir", str(work), "--timeout", str(TIMEOUT_S)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S + 120)
    print(proc.stdout[-6000:])
    assert proc.returncode == 0, f"smoke failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    result = json.loads(out.read_text())
    result["work"] = work
    return result


def recompute_advantages(dump: dict, overrides: list[str]) -> torch.Tensor:
    """The recipe's estimator, called here the way verl 0.9.1's compute_advantage calls it, on the dumped inputs."""
    import verl  # noqa: F401  (registers the plugin)
    from verl.trainer.ppo import core_algos

    from verl_multiling.bridge.per_sample import accepted_kwargs
    from verl_multiling.preflight.compose import compose_config

    algorithm = compose_config(overrides).algorithm
    index = np.array(dump["uid"], dtype=object)
    rewards, mask = dump["token_level_rewards"].float(), dump["response_mask"].float()
    name = dump["estimator"]
    if name == "grpo":  # verl's own branch for grpo passes neither config nor epsilon
        advantages, _ = core_algos.compute_grpo_outcome_advantage(
            token_level_rewards=rewards, response_mask=mask, index=index,
            norm_adv_by_std_in_grpo=algorithm.get("norm_adv_by_std_in_grpo", True))
        return advantages
    fn = core_algos.get_adv_estimator_fn(name)
    available = {"reward_extra_info": dump["reward_extra_info"], "global_step": dump["global_step"],
                 "total_steps": dump["total_steps"]}
    extras = {k: available[k] for k in accepted_kwargs(fn)}
    advantages, _ = fn(token_level_rewards=rewards, response_mask=mask, config=algorithm, index=index, **extras)
    return advantages


def load_dump(work: Path, step: int) -> dict:
    return torch.load(work / "advantages" / f"step_{step}.pt", weights_only=False)


def assert_step_is_sound(metrics: dict, step: int) -> None:
    languages = {k.split("/")[1] for k in metrics if k.startswith("multiling/") and k.count("/") == 2} - {
        "faults", "bridge"}
    assert languages, f"step {step}: no multiling/<lang>/* metrics"
    assert any(k.startswith("multiling/faults/") for k in metrics), f"step {step}: no fault metrics"
    assert metrics["multiling/faults/reward_error_count"] == 0
    assert metrics["multiling/bridge/global_step"] == step
    assert metrics["actor/grad_norm"] > 0, f"step {step}: no gradient"
    assert metrics["training/rollout_probs_diff_max"] < LOGPROB_TOLERANCE, "rollout and actor log-probs disagree"
    assert metrics["critic/advantages/max"] > metrics["critic/advantages/min"], "all advantages equal"


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


def test_adamame_checkpoint_resumes_at_the_next_step(tmp_path):
    """Save at step 1, start again: step 2 runs with t=2, and its advantages use g(2/T), not g(1/T)."""
    common = ["+recipe=adamame", "--scripted", "algorithm.adv_estimator=adamame", "algorithm.adamame.total_steps=4",
              "trainer.save_freq=1", "trainer.resume_mode=auto"]
    first = smoke(tmp_path, *common, steps=1, name="run")
    assert [s["step"] for s in first["steps"]] == [1]
    assert (first["work"] / "checkpoints" / "global_step_1").is_dir()
    second = smoke(tmp_path, *common, steps=2, name="run")  # same work dir: resume_mode=auto finds step 1
    assert [s["step"] for s in second["steps"]] == [2], "resume did not continue at step 2"
    assert_step_is_sound(second["steps"][0]["metrics"], 2)
    dump = load_dump(second["work"], 2)
    overrides = ["+recipe=adamame", "algorithm.adv_estimator=adamame", "algorithm.adamame.total_steps=4"]
    mask = dump["response_mask"].bool()
    at_2 = recompute_advantages(dump, overrides)
    torch.testing.assert_close(dump["advantages"][mask], at_2.float()[mask], atol=1e-5, rtol=1e-5)
    at_1 = recompute_advantages({**dump, "global_step": 1}, overrides)
    assert not torch.allclose(at_1.float()[mask], at_2.float()[mask]), "g(t) does not depend on t here"


def test_colocate_async_trainer_mode_runs_on_cpu(tmp_path):
    result = smoke(tmp_path, "+recipe=adamame", "--scripted", "trainer.v1.trainer_mode=multiling_colocate_async")
    assert [s["step"] for s in result["steps"]] == [1, 2]
    for entry in result["steps"]:
        assert any(k.startswith("multiling/") for k in entry["metrics"])
        assert entry["metrics"]["actor/grad_norm"] > 0
        dump = load_dump(result["work"], entry["step"])
        expected = recompute_advantages(dump, ["+recipe=adamame"])
        mask = dump["response_mask"].bool()
        torch.testing.assert_close(dump["advantages"][mask], expected.float()[mask], atol=1e-5, rtol=1e-5)


def test_sampled_rollouts_decode_through_main_ppo(tmp_path):
    """--sampled: the server's own batched decoding (not teacher forcing) serves verl, weights synced back."""
    result = smoke(tmp_path, "+recipe=tapo", "--sampled", steps=1)
    assert result["scripted"] is False and [s["step"] for s in result["steps"]] == [1]
    metrics = result["steps"][0]["metrics"]
    assert metrics["response_length/mean"] > 0
    assert metrics["training/rollout_probs_diff_max"] < LOGPROB_TOLERANCE
    assert any(k.startswith("multiling/") and k.endswith("/r_trans") for k in metrics)
    dump = load_dump(result["work"], 1)
    mask = dump["response_mask"].bool()
    expected = recompute_advantages(dump, ["+recipe=tapo"])
    torch.testing.assert_close(dump["advantages"][mask], expected.float()[mask], atol=1e-5, rtol=1e-5)
