"""End to end, verl's trainer modes with a recipe: real ``python -m verl.trainer.main_ppo`` on CPU.

- the async trainer mode (``multiling_colocate_async``) runs, and verl trains on the recipe's advantages;
- sampled (not scripted) rollouts decode through the CPU server and verl's agent loop.

The async run uses the small vocabulary (``--vocab small``: half the time; the trainer mode does not depend on
the tokenizer). The sampled run keeps the Qwen2.5 tokenizer, the ``verl-multiling smoke`` default, so a
151,665-token model goes through main_ppo (load, log-probs, weight sync, decoding) in every suite run.

The per-recipe runs and checkpoint resume are in ``test_e2e_recipes.py``; the shared helpers in ``smoke_runs.py``.
Marked ``e2e`` (about 1-3 minutes each on a 2-core machine); ``pytest -m "not e2e"`` skips them.
"""

from __future__ import annotations

import pytest
import torch
from smoke_runs import LOGPROB_TOLERANCE, load_dump, recompute_advantages, smoke

pytestmark = [pytest.mark.e2e, pytest.mark.ray]


def test_colocate_async_trainer_mode_runs_on_cpu(tmp_path):
    result = smoke(tmp_path, "+recipe=adamame", "--scripted", "--vocab", "small",
                   "trainer.v1.trainer_mode=multiling_colocate_async")
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
