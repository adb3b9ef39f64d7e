#!/usr/bin/env bash
# AdaMame-GRPO on a multi-node H100 cluster with the Megatron backend (verl's ppo_megatron_trainer
# config) and vLLM rollout. Megatron's LoRA lives under actor_rollout_ref.model.lora.*.
#   install (every node): pip install "verl[vllm,megatron]==0.9.1" && pip install /path/to/verl_multiling  (a checkout)
#   (megatron extra: megatron-core, transformer-engine, apex; see the README's install section)
set -euo pipefail

NNODES=${NNODES:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
REPO_DIR=${REPO_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# the stage-1 model with its LoRA merged in (recipes/adamame/run_sft.sh writes it) [released]
MODEL=${MODEL:-$REPO_DIR/checkpoints/verl_multiling/adamame_sft/merged}
TRAIN=${TRAIN:-$HOME/data/adamame/train.parquet}
VAL=${VAL:-$HOME/data/adamame/val.parquet}
TP=${TP:-2}
PP=${PP:-1}
ROLLOUT_TP=${ROLLOUT_TP:-2}
REWARD_WORKERS=${REWARD_WORKERS:-$((NNODES * 8))}
CKPT_DIR=${CKPT_DIR:-checkpoints/verl_multiling/adamame_megatron}

verl-multiling preflight --config-name=ppo_megatron_trainer +recipe=adamame \
  data.train_files="$TRAIN" data.val_files="$VAL" "$@"

python -m verl.trainer.main_ppo --config-name=ppo_megatron_trainer +recipe=adamame \
  data.train_files="$TRAIN" data.val_files="$VAL" \
  actor_rollout_ref.model.path="$MODEL" \
  actor_rollout_ref.model.lora.rank=32 actor_rollout_ref.model.lora.alpha=64 \
  actor_rollout_ref.actor.megatron.tensor_model_parallel_size="$TP" \
  actor_rollout_ref.actor.megatron.pipeline_model_parallel_size="$PP" \
  actor_rollout_ref.actor.use_dynamic_bsz=true \
  actor_rollout_ref.rollout.name=vllm \
  actor_rollout_ref.rollout.tensor_model_parallel_size="$ROLLOUT_TP" \
  actor_rollout_ref.rollout.gpu_memory_utilization=0.6 \
  reward.num_workers="$REWARD_WORKERS" \
  trainer.nnodes="$NNODES" trainer.n_gpus_per_node="$GPUS_PER_NODE" \
  trainer.default_local_dir="$CKPT_DIR" \
  trainer.logger='[console,wandb]' \
  "$@"
