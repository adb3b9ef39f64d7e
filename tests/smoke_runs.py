"""Shared by the end-to-end tests: run ``verl-multiling smoke`` (verl's real ``main_ppo`` on CPU) and check
what verl logged and trained on. The tests are in ``test_e2e_recipes.py`` (one run per recipe, with the
metrics gate, checkpoint resume) and ``test_e2e_trainer_modes.py`` (the async trainer, sampled rollouts). Under
``pytest -n 2`` both files share one xdist group (tests/conftest.py): they run one after another on one worker,
never two ``main_ppo`` runs with the Qwen vocabulary at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from verl_multiling.smoke import metrics_gate

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
