#!/usr/bin/env bash
# TAPO-GRPO on one GPU (FSDP actor, vLLM rollout). Recipe settings come from +recipe=tapo; this
# script only scales the batch to one GPU and picks the translation metric. Extra args go to Hydra.
#   install: pip install "verl[vllm]==0.9.1" flash-attn --no-build-isolation && pip install /path/to/verl_multiling  (a checkout)
#   data:    parquet rows with prompt, reward_model.ground_truth, lang and question_en (the English
#            question: r_trans's reference) and question (COMET's source); the prompt ends with the
#            understand-then-reason instruction (verl_multiling.rewards.tapo.build_prompt)
#   run:     TRAIN=~/data/tapo/train.parquet VAL=~/data/tapo/val.parquet bash run_grpo_1gpu.sh
#   COMET:   METRIC=comet COMET_CKPT=/path/to/wmt22-comet-da bash run_grpo_1gpu.sh
#            (dir with hparams.yaml, checkpoints/model.ckpt and encoder/ = xlm-roberta-large's
#            config.json + tokenizer.json, or those files in the HF cache); METRIC=cometkiwi with a
#            wmt22-cometkiwi-da dir (encoder: infoxlm-large). On one GPU the scoring actor shares the
#            GPU (num_gpus=0, device=cuda, ~1.2 GB in bf16); set COMET_DEVICE=cpu if your Ray hides GPUs
#            from actors that reserve none.
set -euo pipefail

MODEL=${MODEL:-Qwen/Qwen2.5-1.5B-Instruct}
TRAIN=${TRAIN:-$HOME/data/tapo/train.parquet}
VAL=${VAL:-$HOME/data/tapo/val.parquet}
PROMPTS_PER_STEP=${PROMPTS_PER_STEP:-32}
MINI_BATCH=${MINI_BATCH:-16}
MICRO_BATCH_PER_GPU=${MICRO_BATCH_PER_GPU:-4}
MAX_RESPONSE=${MAX_RESPONSE:-2048}
GPU_MEM=${GPU_MEM:-0.5}
EPOCHS=${EPOCHS:-1}
LAMBDA=${LAMBDA:-1.0}                        # λ: accuracy advantage on U tokens
METRIC=${METRIC:-chrf}                       # chrf | comet | cometkiwi
COMET_CKPT=${COMET_CKPT:-null}
COMET_DEVICE=${COMET_DEVICE:-cuda}

ARGS=(+recipe=tapo
  data.train_files="$TRAIN" data.val_files="$VAL"
  data.train_batch_size="$PROMPTS_PER_STEP" data.max_response_length="$MAX_RESPONSE"
  actor_rollout_ref.model.path="$MODEL"
  actor_rollout_ref.actor.ppo_mini_batch_size="$MINI_BATCH"
  actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU"
  actor_rollout_ref.actor.fsdp_config.param_offload=true
  actor_rollout_ref.actor.fsdp_config.optimizer_offload=true
  actor_rollout_ref.rollout.name=vllm
  actor_rollout_ref.rollout.tensor_model_parallel_size=1
  actor_rollout_ref.rollout.gpu_memory_utilization="$GPU_MEM"
  actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU"
  actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu="$MICRO_BATCH_PER_GPU"
  algorithm.tapo.lam="$LAMBDA"
  multiling.tapo.translation.metric="$METRIC"
  multiling.tapo.translation.comet.checkpoint="$COMET_CKPT"
  multiling.tapo.translation.comet.device="$COMET_DEVICE"
  multiling.tapo.translation.service.num_gpus=0
  reward.num_workers=4
  trainer.n_gpus_per_node=1 trainer.nnodes=1 trainer.total_epochs="$EPOCHS"
  trainer.logger='[console,tensorboard]' trainer.save_freq=50 trainer.test_freq=25)

# Fail in seconds, not after the model loads: the same config, checked on CPU (COMET on CPU there).
verl-multiling preflight "${ARGS[@]}" multiling.tapo.translation.comet.device=cpu "$@"

python -m verl.trainer.main_ppo "${ARGS[@]}" "$@"
