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

The AdaMame run also saves a checkpoint at step 1; a second run resumes from it and must reproduce the stored
step 2 (same prompts, rewards and advantages, with t=2). The other trainer modes (the async trainer, sampled
rollouts) are in ``test_e2e_trainer_modes.py``.
Marked ``e2e`` (about 1-2 minutes each on a 2-core machine); ``pytest -m "not e2e"`` skips them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from smoke_runs import RECIPES, assert_step_is_sound, load_dump, recompute_advantages, smoke

from verl_multiling.smoke import metrics_gate

pytestmark = [pytest.mark.e2e, pytest.mark.ray]

BASELINE_DIR = Path(__file__).resolve().parent / "data" / "smoke_metrics"
GATED = ("--scripted", "--n", str(metrics_gate.N), "--vocab", metrics_gate.VOCAB, *metrics_gate.OVERRIDES)
"""The metrics gate's run (metrics_gate.STEPS, N, VOCAB, OVERRIDES: a fixed data seed), so its values can be
compared. Its small vocabulary halves each run; the sampled run in test_e2e_trainer_modes.py keeps the Qwen2.5
tokenizer."""
SAVES_AT_STEP_1 = ("trainer.save_freq=1",)
"""Added to the AdaMame run only: saving changes no reward or advantage, and the resume test starts from it."""


@pytest.fixture(scope="module")
def gated_run(tmp_path_factory):
    """Each recipe's gated run, run once per module (the resume test reuses AdaMame's checkpoint)."""
    runs: dict[str, dict] = {}

    def run(recipe: str) -> dict:
        if recipe not in runs:
            extra = SAVES_AT_STEP_1 if recipe == "adamame" else ()
            runs[recipe] = smoke(tmp_path_factory.mktemp(recipe), f"+recipe={recipe}", *GATED, *extra,
                                 steps=metrics_gate.STEPS)
        return runs[recipe]

    return run


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_trains_on_cpu_and_verl_uses_our_advantages(gated_run, recipe):
    result = gated_run(recipe)
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
    problems = metrics_gate.check(recipe, result["steps"], result["work"], BASELINE_DIR)
    assert not problems, metrics_gate.failure_message(recipe, problems, BASELINE_DIR)


def test_adamame_checkpoint_resumes_at_the_next_step(gated_run, tmp_path):
    """Resume from the gated run's step-1 checkpoint: step 2 runs with t=2 on the same prompts, so its rewards and
    advantages equal the stored uninterrupted step 2, and they use g(2/T), not g(1/T)."""
    checkpoint = gated_run("adamame")["work"] / "checkpoints" / "global_step_1"
    assert checkpoint.is_dir(), f"the gated AdaMame run saved no checkpoint at step 1 ({checkpoint})"
    resumed = smoke(tmp_path, "+recipe=adamame", *GATED, "trainer.resume_mode=resume_path",
                    f"trainer.resume_from_path={checkpoint}", steps=metrics_gate.STEPS, name="resumed")
    assert [s["step"] for s in resumed["steps"]] == [2], "resume did not continue at step 2"
    assert_step_is_sound(resumed["steps"][0]["metrics"], 2)
    got = metrics_gate.snapshot(resumed["steps"], resumed["work"])
    stored = metrics_gate.load_baseline("adamame", BASELINE_DIR)
    problems = metrics_gate.compare("adamame", {step: stored[step] for step in got}, got)
    assert not problems, "the resumed step 2 differs from the uninterrupted one:\n  " + "\n  ".join(problems)
    dump = load_dump(resumed["work"], 2)
    mask = dump["response_mask"].bool()
    at_2 = recompute_advantages(dump, ["+recipe=adamame"])
    torch.testing.assert_close(dump["advantages"][mask], at_2.float()[mask], atol=1e-5, rtol=1e-5)
    at_1 = recompute_advantages({**dump, "global_step": 1}, ["+recipe=adamame"])
    assert not torch.allclose(at_1.float()[mask], at_2.float()[mask]), "g(t) does not depend on t here"
