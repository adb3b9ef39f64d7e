"""+recipe=adamame and +recipe=adamame_sft carry the authors' released settings, seen through the real
command lines (``main_ppo`` / ``sft_trainer`` with ``--cfg job``), and docs/adamame.md lists each of them.

Released values: dayeonki/adamame, 2_rl/stage2_scripts/trainer/adamame_grpo_{distill1.5b,qwen4b}.sh (the
two scripts differ only in the model path) and 1_sft/stage1_scripts/sft_{distill1.5b,qwen4b}.yaml run by
LLaMA-Factory (LoRA rank and alpha unset there: LLaMA-Factory's defaults, rank 8 and alpha 2 x rank).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

#: (dotted key in main_ppo's config, released value, the released script's setting it comes from)
GRPO_RELEASED = [
    ("algorithm.adv_estimator", "adamame_align", "algorithm.adv_estimator"),
    ("algorithm.adamame.bonus", 2.0, "ALIGN_BONUS"),
    ("algorithm.kl_ctrl.kl_coef", 0.001, "algorithm.kl_ctrl.kl_coef"),
    ("data.train_batch_size", 512, "data.train_batch_size"),
    ("data.max_prompt_length", 512, "data.max_prompt_length"),
    ("data.max_response_length", 4096, "data.max_response_length"),
    ("actor_rollout_ref.model.lora_rank", 32, "LORA_RANK"),
    ("actor_rollout_ref.model.lora_alpha", 64, "LORA_ALPHA"),
    ("actor_rollout_ref.model.target_modules", "all-linear", "actor_rollout_ref.model.target_modules"),
    ("actor_rollout_ref.actor.optim.lr", 1e-5, "LR"),
    ("actor_rollout_ref.actor.ppo_mini_batch_size", 256, "actor_rollout_ref.actor.ppo_mini_batch_size"),
    ("actor_rollout_ref.actor.use_dynamic_bsz", True, "actor_rollout_ref.actor.use_dynamic_bsz"),
    ("actor_rollout_ref.actor.entropy_coeff", 0, "actor_rollout_ref.actor.entropy_coeff"),
    ("actor_rollout_ref.actor.use_kl_loss", True, "actor_rollout_ref.actor.use_kl_loss"),
    ("actor_rollout_ref.actor.kl_loss_coef", 0.001, "KL_COEF"),
    ("actor_rollout_ref.actor.kl_loss_type", "low_var_kl", "actor_rollout_ref.actor.kl_loss_type"),
    ("actor_rollout_ref.actor.loss_agg_mode", "seq-mean-token-sum-norm", "+actor_rollout_ref.actor.use_dr_grpo"),
    ("actor_rollout_ref.actor.loss_scale_factor", 4096, "+actor_rollout_ref.actor.dr_grpo_max_tokens"),
    ("actor_rollout_ref.rollout.n", 8, "actor_rollout_ref.rollout.n"),
    ("actor_rollout_ref.rollout.temperature", 0.8, "actor_rollout_ref.rollout.temperature"),
    ("trainer.total_epochs", 10, "trainer.total_epochs"),
    ("trainer.save_freq", 5, "trainer.save_freq"),
    ("trainer.test_freq", 5, "trainer.test_freq"),
    ("trainer.val_before_train", True, "+trainer.val_before_train"),
    ("trainer.critic_warmup", 0, "trainer.critic_warmup"),
    ("trainer.resume_mode", "auto", "trainer.resume_mode"),
]

#: (dotted key in sft_trainer's config, released value, the LLaMA-Factory setting it comes from)
SFT_RELEASED = [
    ("model.path", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "model_name_or_path"),
    ("model.lora_rank", 8, "lora_rank (unset: LLaMA-Factory default 8)"),
    ("model.lora_alpha", 16, "lora_alpha (unset: 2 x lora_rank)"),
    ("model.target_modules", "all-linear", "lora_target: all"),
    ("model.enable_gradient_checkpointing", True, "gradient_checkpointing"),
    ("optim.lr", 2e-4, "learning_rate"),
    ("optim.lr_scheduler_type", "cosine", "lr_scheduler_type"),
    ("optim.lr_warmup_steps_ratio", 0.1, "warmup_ratio"),
    ("optim.weight_decay", 0.0, "weight_decay (Trainer default)"),
    ("optim.clip_grad", 1.0, "max_grad_norm (Trainer default)"),
    ("data.max_length", 8192, "cutoff_len"),
    ("data.train_batch_size", 8, "per_device_train_batch_size x gradient_accumulation_steps"),
    ("data.micro_batch_size_per_gpu", 1, "per_device_train_batch_size"),
    ("trainer.total_epochs", 4, "num_train_epochs"),
]


@lru_cache(maxsize=None)
def _cfg_job(module: str, recipe: str) -> dict:
    """The config the real command prints with ``--cfg job``, run from a directory outside the checkout."""
    out = subprocess.run([sys.executable, "-m", module, f"+recipe={recipe}", "--cfg", "job"],
                         cwd=tempfile.gettempdir(), capture_output=True,
                         text=True, timeout=300, env={**os.environ, "PYTHONPATH": ""})
    assert out.returncode == 0, out.stderr[-2000:]
    return yaml.safe_load(out.stdout)


def _get(cfg: dict, dotted: str):
    node = cfg
    for part in dotted.split("."):
        assert isinstance(node, dict) and part in node, f"{dotted}: no {part!r} in the printed config"
        node = node[part]
    return node


@pytest.mark.parametrize("key, released, source", GRPO_RELEASED, ids=[k for k, _, _ in GRPO_RELEASED])
def test_main_ppo_shows_the_released_grpo_value(key, released, source):
    value = _get(_cfg_job("verl.trainer.main_ppo", "adamame"), key)
    assert value == pytest.approx(released) if isinstance(released, float) else value == released, \
        f"{key} = {value!r}, the released scripts set {source} = {released!r}"


@pytest.mark.parametrize("key, released, source", SFT_RELEASED, ids=[k for k, _, _ in SFT_RELEASED])
def test_sft_trainer_shows_the_released_sft_value(key, released, source):
    value = _get(_cfg_job("verl.trainer.sft_trainer", "adamame_sft"), key)
    assert value == pytest.approx(released) if isinstance(released, float) else value == released, \
        f"{key} = {value!r}, the released LLaMA-Factory config gives {source} = {released!r}"


def test_grpo_steps_match_the_released_run():
    """5,000 prompts at 512 a step, last partial batch dropped (as the released trainer and verl's V1
    trainer both do), for 10 epochs: T = 9 x 10 = 90 steps, two optimiser updates per step."""
    cfg = _cfg_job("verl.trainer.main_ppo", "adamame")
    batch, epochs = cfg["data"]["train_batch_size"], cfg["trainer"]["total_epochs"]
    assert (5000 // batch) * epochs == 90
    assert batch // cfg["actor_rollout_ref"]["actor"]["ppo_mini_batch_size"] == 2


def test_docs_table_names_every_pinned_setting():
    """docs/adamame.md states each released value the recipes pin (so docs and recipes move together)."""
    text = (ROOT / "docs" / "adamame.md").read_text(encoding="utf-8")
    missing = [key for key, _, _ in GRPO_RELEASED + SFT_RELEASED if f"`{key}`" not in text]
    assert not missing, f"docs/adamame.md does not mention {missing}"


def test_one_gpu_launcher_composes_the_released_run(tmp_path, compose):
    """run_grpo_1gpu.sh's main_ppo command, composed by Hydra: the released one-GPU run."""
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    for name in ("python", "verl-multiling"):
        (fakebin / name).write_text('#!/usr/bin/env bash\nprintf "%s\\n" "---" "$@" >> "$FAKE_LOG"\n')
        (fakebin / name).chmod(0o755)
    log = tmp_path / "calls.log"
    env = {**os.environ, "PATH": f"{fakebin}:{os.environ['PATH']}", "FAKE_LOG": str(log), "REPO_DIR": "/repo"}
    result = subprocess.run(["bash", str(ROOT / "recipes" / "adamame" / "run_grpo_1gpu.sh")], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    calls = [c.strip("\n").split("\n") for c in log.read_text().split("---\n") if c.strip()]
    preflight, train = calls
    assert preflight[:2] == ["preflight", "+recipe=adamame"] and train[:2] == ["-m", "verl.trainer.main_ppo"]
    cfg = compose(train[2:])
    arr = cfg.actor_rollout_ref
    assert arr.model.path == "/repo/checkpoints/verl_multiling/adamame_sft/merged"
    assert (cfg.data.train_batch_size, arr.actor.ppo_mini_batch_size, cfg.trainer.total_epochs) == (512, 256, 10)
    assert (cfg.trainer.save_freq, cfg.trainer.test_freq, cfg.trainer.n_gpus_per_node) == (5, 5, 1)
    assert (arr.actor.ppo_micro_batch_size_per_gpu, arr.rollout.log_prob_micro_batch_size_per_gpu,
            arr.ref.log_prob_micro_batch_size_per_gpu) == (2, 2, 8)
    assert arr.rollout.gpu_memory_utilization == 0.6 and arr.ref.fsdp_config.param_offload is True
    assert arr.actor.fsdp_config.param_offload is False and arr.actor.loss_scale_factor == 4096
