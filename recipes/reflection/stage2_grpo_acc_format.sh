#!/usr/bin/env bash
# Reflection recipe, stage 2 (arXiv 2603.14041): GRPO from the stage-1 model with accuracy + format rewards
# (multiling.reflection.enabled=false, so r = r_acc + r_fmt). It is also the GRPO launcher that stage 3 and the
# ablation call with REFLECTION=1/0 and their own names. Extra arguments are Hydra overrides (they win).
#
#   STAGE1_MODEL=checkpoints/verl_multiling/reflection_sft_full/stage1_model \
#   TRAIN=~/data/reflection/train.parquet VAL=~/data/reflection/val.parquet bash recipes/reflection/stage2_grpo_acc_format.sh
#
# Data: verl RL parquet (prompt messages, reward_model.ground_truth, a `lang` column). One node by default;
# multi-node: start Ray on every node (ray start), set NNODES and GPUS_PER_NODE, run this on the head.
# At the end the last actor checkpoint becomes a Hugging Face model in $OUT_MODEL (the start of stage 3).
set -euo pipefail

PYTHON=${PYTHON:-python}
REFLECTION=${REFLECTION:-0}               # 0: r_acc + r_fmt (stage 2, ablation) | 1: + r_ref (stage 3)
EXPERIMENT=${EXPERIMENT:-reflection_stage2_acc_format}
MODEL=${MODEL:-${STAGE1_MODEL:-checkpoints/verl_multiling/reflection_sft_full/stage1_model}}
TRAIN=${TRAIN:-$HOME/data/reflection/train.parquet}
VAL=${VAL:-$HOME/data/reflection/val.parquet}
NNODES=${NNODES:-1}
count_gpus() { local n; n=$(nvidia-smi --list-gpus 2>/dev/null | wc -l) || n=0; echo $(( n > 0 ? n : 1 )); }
GPUS_PER_NODE=${GPUS_PER_NODE:-$(count_gpus)}
PROMPTS_PER_STEP=${PROMPTS_PER_STEP:-128}
MINI_BATCH=${MINI_BATCH:-32}
ROLLOUT_TP=${ROLLOUT_TP:-1}
GPU_MEM=${GPU_MEM:-0.6}
EPOCHS=${EPOCHS:-1}
REWARD_WORKERS=${REWARD_WORKERS:-$((NNODES * 8))}
CKPT_DIR=${CKPT_DIR:-checkpoints/verl_multiling/$EXPERIMENT}
OUT_MODEL=${OUT_MODEL:-$CKPT_DIR/model}
MERGE=${MERGE:-1}
PREFLIGHT=${PREFLIGHT:-1}

case "$REFLECTION" in
  0) reflection=false ;;
  1) reflection=true ;;
  *) echo "REFLECTION=$REFLECTION: use 0 (accuracy + format) or 1 (+ reflection)" >&2; exit 2 ;;
esac

args=(+recipe=reflection
  multiling.reflection.enabled="$reflection"
  data.train_files="$TRAIN" data.val_files="$VAL" data.train_batch_size="$PROMPTS_PER_STEP"
  actor_rollout_ref.model.path="$MODEL"
  actor_rollout_ref.actor.ppo_mini_batch_size="$MINI_BATCH"
  actor_rollout_ref.rollout.tensor_model_parallel_size="$ROLLOUT_TP"
  actor_rollout_ref.rollout.gpu_memory_utilization="$GPU_MEM"
  reward.num_workers="$REWARD_WORKERS"
  trainer.experiment_name="$EXPERIMENT" trainer.default_local_dir="$CKPT_DIR"
  trainer.nnodes="$NNODES" trainer.n_gpus_per_node="$GPUS_PER_NODE" trainer.total_epochs="$EPOCHS"
  trainer.logger='[console,tensorboard]' trainer.save_freq=50 trainer.test_freq=25)

# Fail in seconds, not after the model loads: the same config, checked and dry-run on CPU.
if [[ "$PREFLIGHT" == 1 ]]; then
  verl-multiling preflight "${args[@]}" "$@"
fi
"$PYTHON" -m verl.trainer.main_ppo "${args[@]}" "$@"

if [[ "$MERGE" == 1 ]]; then
  step=$(cat "$CKPT_DIR/latest_checkpointed_iteration.txt")
  "$PYTHON" -m verl.model_merger merge --backend fsdp \
    --local_dir "$CKPT_DIR/global_step_${step}/actor" --target_dir "$OUT_MODEL"
  echo "$EXPERIMENT done: model in $OUT_MODEL"
fi
