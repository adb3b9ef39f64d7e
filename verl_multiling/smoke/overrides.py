"""The Hydra overrides and environment that make a recipe's ``main_ppo`` run small and on CPU.

They come after ``+recipe=NAME`` and before the user's own overrides, so the user's win. What each
group is for:

- CPU backend: ``VERL_PLATFORM=cpu`` and ``VERL_USE_EXTERNAL_MODULES=verl_multiling.cpu`` in the
  environment (every Ray process inherits them); ``trainer.device=cpu``; a fake Ray ``GPU`` resource
  (verl's placement groups always ask for GPUs); the ``hf_cpu`` rollout with tensor parallel size 1.
- FSDP on CPU: ``strategy=fsdp2`` (FSDP1 syncs module states through a device), fp32 parameters
  (bf16 matmuls are several times slower on CPU), SDPA attention, no remove-padding (flash-attn only).
- Size: 4 prompts a step, ``n`` responses each, responses up to 256 tokens (the bundled TAPO and
  reflection responses need about 200 to keep their tags), LoRA rank 4. Prompts up to 512 tokens unless
  the caller fits the length to its data (``verl-multiling smoke`` does:
  :func:`verl_multiling.smoke.assets.fitted_prompt_length`, 320 for the bundled prompts).
- Logging: verl's console and file loggers; the file logger writes ``metrics.jsonl`` in the work dir.
"""

from __future__ import annotations

from pathlib import Path

SMALL = {
    "train_batch_size": 4,
    "max_prompt_length": 512,
    "max_response_length": 256,
    "lora_rank": 4,
    "lora_alpha": 8,
}


def smoke_env(workdir: Path, threads: int = 1) -> dict[str, str]:
    """Environment for the ``main_ppo`` subprocess (added to the caller's)."""
    return {
        "VERL_PLATFORM": "cpu",
        "VERL_USE_EXTERNAL_MODULES": "verl_multiling.cpu",
        "VERL_FILE_LOGGER_PATH": str(workdir / "metrics.jsonl"),
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "TOKENIZERS_PARALLELISM": "false",
        "WANDB_MODE": "disabled",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "RAY_DEDUP_LOGS": "0",
        "RAY_USAGE_STATS_ENABLED": "0",
        "PYTHONUNBUFFERED": "1",
    }


def smoke_overrides(*, model_dir: Path, train: Path, val: Path, workdir: Path, steps: int, n: int,
                    scripted: Path | None, ray_tmp: Path, max_prompt_length: int | None = None) -> list[str]:
    """Overrides for ``python -m verl.trainer.main_ppo +recipe=NAME`` (see the module docstring)."""
    actor = "actor_rollout_ref.actor"
    fp32 = "{param_dtype: fp32, reduce_dtype: fp32, buffer_dtype: fp32}"
    # micro-batches of about one sequence: the logits of a 151,665-token vocabulary cost 0.6 GB per 1k tokens
    tokens = 1024
    overrides = [
        f"data.train_files={train}", f"data.val_files={val}",
        f"data.train_batch_size={SMALL['train_batch_size']}",
        f"data.max_prompt_length={max_prompt_length or SMALL['max_prompt_length']}",
        f"data.max_response_length={SMALL['max_response_length']}",
        "data.dataloader_num_workers=0",
        f"actor_rollout_ref.model.path={model_dir}",
        "actor_rollout_ref.model.enable_gradient_checkpointing=false",
        "actor_rollout_ref.model.use_remove_padding=false",
        "++actor_rollout_ref.model.override_config.attn_implementation=sdpa",
        f"actor_rollout_ref.model.lora_rank={SMALL['lora_rank']}",
        f"actor_rollout_ref.model.lora_alpha={SMALL['lora_alpha']}",
        f"{actor}.strategy=fsdp2", "actor_rollout_ref.ref.strategy=fsdp2",
        f"++{actor}.fsdp_config.mixed_precision={fp32}",
        f"++actor_rollout_ref.ref.fsdp_config.mixed_precision={fp32}",
        f"{actor}.ppo_mini_batch_size={SMALL['train_batch_size']}",
        f"{actor}.ppo_max_token_len_per_gpu={tokens}",
        f"{actor}.loss_scale_factor={SMALL['max_response_length']}",
        f"actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu={tokens}",
        f"actor_rollout_ref.ref.log_prob_max_token_len_per_gpu={tokens}",
        "actor_rollout_ref.rollout.name=hf_cpu",
        "actor_rollout_ref.rollout.tensor_model_parallel_size=1",
        f"actor_rollout_ref.rollout.n={n}",
        "actor_rollout_ref.rollout.calculate_log_probs=true",
        "actor_rollout_ref.rollout.agent.num_workers=1",
        "reward.num_workers=1",
        "transfer_queue.backend.SimpleStorage.num_data_storage_units=1",
        "trainer.device=cpu", "trainer.n_gpus_per_node=1", "trainer.nnodes=1",
        f"trainer.total_training_steps={steps}",
        "trainer.val_before_train=false", "trainer.test_freq=-1", "trainer.save_freq=-1",
        "trainer.logger=[console,file]",
        f"trainer.default_local_dir={workdir / 'checkpoints'}",
        f"++multiling.debug.advantage_dump_dir={workdir / 'advantages'}",
        "ray_kwargs.ray_init.num_cpus=32",
        "++ray_kwargs.ray_init.num_gpus=1",
        "++ray_kwargs.ray_init.address=local",
        f"++ray_kwargs.ray_init._temp_dir={ray_tmp}",
        "++ray_kwargs.ray_init.include_dashboard=false",
    ]
    if scripted is not None:
        overrides.append(f"++actor_rollout_ref.rollout.engine_kwargs.hf_cpu.scripted_rollouts={scripted}")
    return overrides
