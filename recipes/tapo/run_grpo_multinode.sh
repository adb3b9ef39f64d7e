#!/usr/bin/env bash
# TAPO-GRPO on a multi-node H100 cluster: FSDP actor, vLLM rollout, 256 prompts x 8 per step.
# Start Ray first (head: `ray start --head`; workers: `ray start --address=HEAD:6379`), then run this on
# the head node. verl_multiling must be installed on every node (the entry point loads it everywhere).
#   install (every node): pip install "verl[vllm]==0.9.1" flash-attn --no-build-isolation && pip install /path/to/verl_multiling  (a checkout)
# Translation metric: chrF by default (CPU, in the reward workers). With METRIC=comet|cometkiwi each
# node runs ONE shared COMET actor (named verl_multiling_translation_<metric>_<node id>) that batches
# the requests of all reward workers on that node; it gets its own GPU (COMET_GPUS=1), so training
# uses GPUS_PER_NODE - 1 GPUs per node. COMET_GPUS=0 COMET_DEVICE=cpu keeps all GPUs for training.
set -euo pipefail

NNODES=${NNODES:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
MODEL=${MODEL:-Qwen/Qwen2.5-7B-Instruct}
TRAIN=${TRAIN:-$HOME/data/tapo/train.parquet}
VAL=${VAL:-$HOME/data/tapo/val.parquet}
ROLLOUT_TP=${ROLLOUT_TP:-1}
MICRO_BATCH_PER_GPU=${MICRO_BATCH_PER_GPU:-4}
REWARD_WORKERS=${REWARD_WORKERS:-$((NNODES * 8))}   # CPU actors that score rollouts as they finish
LAMBDA=${LAMBDA:-1.0}
METRIC=${METRIC:-chrf}                              # chrf | comet | cometkiwi
COMET_CKPT=${COMET_CKPT:-null}                      # must exist at the same path on every node
COMET_GPUS=${COMET_GPUS:-1}
COMET_DEVICE=${COMET_DEVICE:-auto}
CKPT_DIR=${CKPT_DIR:-checkpoints/verl_multiling/tapo_fsdp}

TRAIN_GPUS=$GPUS_PER_NODE
if [[ "$METRIC" != chrf && "$COMET_GPUS" != 0 ]]; then
  TRAIN_GPUS=$((GPUS_PER_NODE - 1))   # one GPU per node for the node's scoring actor
fi

ARGS=(+recipe=tapo
  data.train_files="$TRAIN" data.val_files="$VAL"
  actor_rollout_ref.model.path="$MODEL"
  actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU"
  actor_rollout_ref.rollout.name=vllm
  actor_rollout_ref.rollout.tensor_model_parallel_size="$ROLLOUT_TP"
  actor_rollout_ref.rollout.gpu_memory_utilization=0.6
  actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU"
  actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU"
  algorithm.tapo.lam="$LAMBDA"
  multiling.tapo.translation.metric="$METRIC"
  multiling.tapo.translation.comet.checkpoint="$COMET_CKPT"
  multiling.tapo.translation.comet.device="$COMET_DEVICE"
  multiling.tapo.translation.service.num_gpus="$COMET_GPUS"
  reward.num_workers="$REWARD_WORKERS"
  trainer.nnodes="$NNODES" trainer.n_gpus_per_node="$TRAIN_GPUS"
  trainer.default_local_dir="$CKPT_DIR"
  trainer.logger='[console,wandb]' trainer.save_freq=20 trainer.test_freq=10)

# On CPU: COMET (if any) without a GPU reservation.
verl-multiling preflight "${ARGS[@]}" multiling.tapo.translation.comet.device=cpu \
  multiling.tapo.translation.service.num_gpus=0 "$@"

python -m verl.trainer.main_ppo "${ARGS[@]}" "$@"
