#!/usr/bin/env bash
# AdaMame-GRPO on a multi-node H100 cluster: FSDP actor, vLLM rollout, paper batch (512 prompts x 8).
# Start Ray first (head: `ray start --head`; workers: `ray start --address=HEAD:6379`), then run this on
# the head node. verl_multiling must be installed on every node (the entry point loads it everywhere).
#   install (every node): pip install "verl[vllm]==0.9.1" flash-attn --no-build-isolation && pip install /path/to/verl_multiling  (a checkout)
set -euo pipefail

NNODES=${NNODES:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
REPO_DIR=${REPO_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# the stage-1 model with its LoRA merged in (recipes/adamame/run_sft.sh writes it) [released]
MODEL=${MODEL:-$REPO_DIR/checkpoints/verl_multiling/adamame_sft/merged}
TRAIN=${TRAIN:-$HOME/data/adamame/train.parquet}
VAL=${VAL:-$HOME/data/adamame/val.parquet}
ROLLOUT_TP=${ROLLOUT_TP:-1}
MICRO_BATCH_PER_GPU=${MICRO_BATCH_PER_GPU:-4}
REWARD_WORKERS=${REWARD_WORKERS:-$((NNODES * 8))}   # CPU actors that score rollouts as they finish
CKPT_DIR=${CKPT_DIR:-checkpoints/verl_multiling/adamame_fsdp}

verl-multiling preflight +recipe=adamame data.train_files="$TRAIN" data.val_files="$VAL" "$@"

python -m verl.trainer.main_ppo +recipe=adamame \
  data.train_files="$TRAIN" data.val_files="$VAL" \
  actor_rollout_ref.model.path="$MODEL" \
  actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU" \
  actor_rollout_ref.actor.use_dynamic_bsz=true \
  actor_rollout_ref.rollout.name=vllm \
  actor_rollout_ref.rollout.tensor_model_parallel_size="$ROLLOUT_TP" \
  actor_rollout_ref.rollout.gpu_memory_utilization=0.6 \
  actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU" \
  actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU" \
  reward.num_workers="$REWARD_WORKERS" \
  trainer.nnodes="$NNODES" trainer.n_gpus_per_node="$GPUS_PER_NODE" \
  trainer.default_local_dir="$CKPT_DIR" \
  trainer.logger='[console,wandb]' \
  "$@"
