#!/usr/bin/env bash
# AdaMame-GRPO on one GPU (FSDP actor, vLLM rollout), as the authors' released runs did
# (2_rl/stage2_scripts/trainer/adamame_grpo_*.sh of dayeonki/adamame: N_GPUS=1, 512 prompts x 8 rollouts a
# step). The settings come from +recipe=adamame; this script adds the released one-GPU memory layout.
# Every path/size is an env var; extra args go to Hydra. docs/adamame.md lists what still differs.
#   install: pip install "verl[vllm]==0.9.1" flash-attn --no-build-isolation && pip install /path/to/verl_multiling  (a checkout)
#   run:     MODEL=checkpoints/verl_multiling/adamame_sft/merged TRAIN=~/data/adamame/train.parquet \
#            VAL=~/data/adamame/val.parquet bash run_grpo_1gpu.sh
#   smaller: PROMPTS_PER_STEP=64 MINI_BATCH=16 bash run_grpo_1gpu.sh   (not the released run)
set -euo pipefail

REPO_DIR=${REPO_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# the stage-1 model with its LoRA merged in (recipes/adamame/run_sft.sh writes it) [released]
MODEL=${MODEL:-$REPO_DIR/checkpoints/verl_multiling/adamame_sft/merged}
TRAIN=${TRAIN:-$HOME/data/adamame/train.parquet}
VAL=${VAL:-$HOME/data/adamame/val.parquet}
PROMPTS_PER_STEP=${PROMPTS_PER_STEP:-512}    # released: 512
MINI_BATCH=${MINI_BATCH:-256}                # released: 256
MICRO_BATCH_PER_GPU=${MICRO_BATCH_PER_GPU:-2}   # released: 2 (actor and rollout log-probs)
REF_MICRO_BATCH_PER_GPU=${REF_MICRO_BATCH_PER_GPU:-8}   # released: 8
MAX_RESPONSE=${MAX_RESPONSE:-4096}           # released: 4096
GPU_MEM=${GPU_MEM:-0.6}                      # released: 0.6
ACTOR_OFFLOAD=${ACTOR_OFFLOAD:-false}        # released: no actor offload, reference parameters offloaded
EPOCHS=${EPOCHS:-10}                         # released: 10

# Fail in seconds, not after the model loads: the same config, checked on CPU.
verl-multiling preflight +recipe=adamame data.train_files="$TRAIN" data.val_files="$VAL" "$@"

python -m verl.trainer.main_ppo +recipe=adamame \
  data.train_files="$TRAIN" data.val_files="$VAL" \
  data.train_batch_size="$PROMPTS_PER_STEP" data.max_response_length="$MAX_RESPONSE" \
  actor_rollout_ref.model.path="$MODEL" \
  actor_rollout_ref.actor.ppo_mini_batch_size="$MINI_BATCH" \
  actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU" \
  actor_rollout_ref.actor.loss_scale_factor="$MAX_RESPONSE" \
  actor_rollout_ref.actor.fsdp_config.param_offload="$ACTOR_OFFLOAD" \
  actor_rollout_ref.actor.fsdp_config.optimizer_offload="$ACTOR_OFFLOAD" \
  actor_rollout_ref.ref.fsdp_config.param_offload=true \
  actor_rollout_ref.rollout.name=vllm \
  actor_rollout_ref.rollout.tensor_model_parallel_size=1 \
  actor_rollout_ref.rollout.gpu_memory_utilization="$GPU_MEM" \
  actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU" \
  actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu="$REF_MICRO_BATCH_PER_GPU" \
  reward.num_workers=4 \
  trainer.n_gpus_per_node=1 trainer.nnodes=1 trainer.total_epochs="$EPOCHS" \
  trainer.logger='[console,tensorboard]' \
  "$@"
