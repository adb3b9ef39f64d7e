"""The two arms of a miniature run as ``main_ppo`` overrides: the recipe, and plain GRPO on verl's built-ins.

Both arms start from the same warm-start checkpoint with the same seed, data, steps and sizes; they differ only in
what the recipe changes:

* **recipe** arm: ``+recipe=NAME`` as shipped (its reward manager, the per-sample bridge, its estimator);
* **baseline** arm: the same ``+recipe=NAME`` config with verl's built-in ``grpo`` estimator, verl's ``naive``
  reward manager scoring with verl's own math-verify (``verl.utils.reward_score.math_verify``, through
  :mod:`verl_multiling.smoke.baseline`) and verl's plain ``sync`` trainer.

The size overrides (on top of the smoke run's CPU overrides, :mod:`verl_multiling.smoke.overrides`) are ours:
the papers train billion-parameter models on hundreds of prompts a step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ARMS = ("recipe", "baseline")

BASELINE_OVERRIDES = (
    "algorithm.adv_estimator=grpo",
    "reward.reward_manager.source=register",
    "reward.reward_manager.name=naive",
    "reward.custom_reward_function.path=pkg://verl_multiling.smoke.baseline",
    "reward.custom_reward_function.name=verl_math_verify_score",
    "trainer.v1.trainer_mode=sync",
)
"""What turns the recipe arm into plain GRPO with verl's built-ins (applied last, so they win)."""


@dataclass(frozen=True)
class RunSize:
    """Sizes of one arm's ``main_ppo`` run (ours; see docs/miniature.md for why each)."""

    steps: int = 30
    prompts_per_step: int = 16
    n: int = 8
    lr: float = 1e-3
    eval_every: int = 10
    val_n: int = 2
    max_prompt_length: int = 192
    max_response_length: int = 96


def size_overrides(size: RunSize, languages: Sequence[str], val_dir: Path, seed: int) -> list[str]:
    """The miniature's own sizes, schedule and validation dump (after the smoke run's CPU overrides)."""
    actor = "actor_rollout_ref.actor"
    rollout = "actor_rollout_ref.rollout"
    tokens = 8 * (size.max_prompt_length + size.max_response_length) * size.n
    langs = "[" + ",".join(languages) + "]"
    return [
        f"data.train_batch_size={size.prompts_per_step}",
        f"data.max_prompt_length={size.max_prompt_length}",
        f"data.max_response_length={size.max_response_length}",
        f"data.seed={seed}",
        # LoRA as the recipes ship it (r 32, alpha 64: AdaMame's published setting); full fine-tuning would need a
        # separate reference model, which verl 0.9.1 always builds with pinned CPU offload (CUDA only)
        "actor_rollout_ref.model.lora_rank=32",
        "actor_rollout_ref.model.lora_alpha=64",
        f"{actor}.optim.lr={size.lr}",
        f"{actor}.ppo_mini_batch_size={size.prompts_per_step}",
        f"{actor}.loss_scale_factor={size.max_response_length}",
        f"{actor}.ppo_max_token_len_per_gpu={tokens}",
        f"{rollout}.log_prob_max_token_len_per_gpu={tokens}",
        f"actor_rollout_ref.ref.log_prob_max_token_len_per_gpu={tokens}",
        f"{rollout}.n={size.n}",
        f"{rollout}.seed={seed}",
        f"{rollout}.val_kwargs.do_sample=true",
        f"{rollout}.val_kwargs.temperature=${{{rollout}.temperature}}",
        f"{rollout}.val_kwargs.n={size.val_n}",
        f"trainer.total_training_steps={size.steps}",
        "trainer.val_before_train=true",
        f"trainer.test_freq={size.eval_every}",
        f"trainer.validation_data_dir={val_dir}",
        f"multiling.languages={langs}",
    ]


def arm_overrides(arm: str) -> list[str]:
    """The overrides that make ``arm`` (``recipe``: none)."""
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    return list(BASELINE_OVERRIDES) if arm == "baseline" else []
