"""End to end, verl's trainer modes with a recipe: real ``python -m verl.trainer.main_ppo`` on CPU.

- a checkpoint saved at step 1 resumes at step 2 (t, hence AdaMame's g(t), continues);
- the async trainer mode (``multiling_colocate_async``) runs, and verl trains on the recipe's advantages;
- sampled (not scripted) rollouts decode through the CPU server and verl's agent loop.

The per-recipe runs are in ``test_e2e_recipes.py``; the shared helpers in ``smoke_runs.py``.
Marked ``e2e`` (about 2-4 minutes each on a 2-core machine); ``pytest -m "not e2e"`` skips them.
"""

from __future__ import annotations

import pytest
import torch
from smoke_runs import LOGPROB_TOLERANCE, assert_step_is_sound, load_dump, recompute_advantages, smoke

pytestmark = [pytest.mark.e2e, pytest.mark.ray]


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
