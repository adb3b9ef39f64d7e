#!/usr/bin/env bash
# AdaMame-GRPO on one GPU (FSDP actor, vLLM rollout). Paper settings come from +recipe=adamame;
# this script only scales the batch to one GPU. Every path/size is an env var; extra args go to Hydra.
#   install: pip install "verl[vllm]==0.9.1" flash-attn --no-build-isolation && pip install verl-multiling
#   run:     TRAIN=~/data/adamame/train.parquet VAL=~/data/adamame/val.parquet bash run_grpo_1gpu.sh
set -euo pipefail

MODEL=${MODEL:-deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B}
TRAIN=${TRAIN:-$HOME/data/adamame/train.parquet}
VAL=${VAL:-$HOME/data/adamame/val.parquet}
PROMPTS_PER_STEP=${PROMPTS_PER_STEP:-64}     # paper: 512 on a cluster
MINI_BATCH=${MINI_BATCH:-16}
MICRO_BATCH_PER_GPU=${MICRO_BATCH_PER_GPU:-2}
MAX_RESPONSE=${MAX_RESPONSE:-4096}           # paper: 4096
GPU_MEM=${GPU_MEM:-0.5}
EPOCHS=${EPOCHS:-1}

# Fail in seconds, not after the model loads: the same config, checked on CPU.
verl-multiling preflight +recipe=adamame data.train_files="$TRAIN" data.val_files="$VAL" "$@"

python -m verl.trainer.main_ppo +recipe=adamame \
  data.train_files="$TRAIN" data.val_files="$VAL" \
  data.train_batch_size="$PROMPTS_PER_STEP" data.max_response_length="$MAX_RESPONSE" \
  actor_rollout_ref.model.path="$MODEL" \
  actor_rollout_ref.actor.ppo_mini_batch_size="$MINI_BATCH" \
  actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU" \
  actor_rollout_ref.actor.loss_scale_factor="$MAX_RESPONSE" \
  actor_rollout_ref.actor.fsdp_config.param_offload=true \
  actor_rollout_ref.actor.fsdp_config.optimizer_offload=true \
  actor_rollout_ref.rollout.name=vllm \
  actor_rollout_ref.rollout.tensor_model_parallel_size=1 \
  actor_rollout_ref.rollout.gpu_memory_utilization="$GPU_MEM" \
  actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU" \
  actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU" \
  reward.num_workers=4 \
  trainer.n_gpus_per_node=1 trainer.nnodes=1 trainer.total_epochs="$EPOCHS" \
  trainer.logger='[console,tensorboard]' trainer.save_freq=50 trainer.test_freq=25 \
  "$@"
