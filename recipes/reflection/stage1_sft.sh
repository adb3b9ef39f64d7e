#!/usr/bin/env bash
# Reflection recipe, stage 1 (arXiv 2603.14041): SFT on "<think>...</think> \boxed{}" traces with verl's SFT
# trainer and the reflection_sft recipe. Full fine-tuning by default [paper: it beats LoRA]; FT=lora for the
# comparison. Extra arguments are Hydra overrides for verl.trainer.sft_trainer.
#
#   SFT_DATA=~/data/reflection/sft_train.parquet NPROC_PER_NODE=8 bash recipes/reflection/stage1_sft.sh
#   FT=lora bash recipes/reflection/stage1_sft.sh               # LoRA rank 32, alpha 64, lr 1e-4 (our defaults)
#
# The parquet needs a `messages` column: [{role: user, content: question},
# {role: assistant, content: "<think>reasoning</think> answer \boxed{x}"}].
# At the end the last checkpoint becomes a Hugging Face model in $OUT_MODEL (LoRA: adapter fused into the base
# weights with peft, so stage 2 is the same full-parameter GRPO either way).
set -euo pipefail

PYTHON=${PYTHON:-python}
FT=${FT:-full}                       # full | lora
MODEL=${MODEL:-Qwen/Qwen2.5-1.5B-Instruct}
SFT_DATA=${SFT_DATA:-$HOME/data/reflection/sft_train.parquet}
MAX_LENGTH=${MAX_LENGTH:-5120}
LORA_RANK=${LORA_RANK:-32}
LORA_ALPHA=${LORA_ALPHA:-64}
LORA_LR=${LORA_LR:-1.0e-4}
FULL_LR=${FULL_LR:-1.0e-5}
CKPT_DIR=${CKPT_DIR:-checkpoints/verl_multiling/reflection_sft_$FT}
OUT_MODEL=${OUT_MODEL:-$CKPT_DIR/stage1_model}
MERGE=${MERGE:-1}

NNODES=${NNODES:-1}
count_gpus() { local n; n=$(nvidia-smi --list-gpus 2>/dev/null | wc -l) || n=0; echo $(( n > 0 ? n : 1 )); }
NPROC_PER_NODE=${NPROC_PER_NODE:-$(count_gpus)}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
MASTER_PORT=${MASTER_PORT:-29500}

case "$FT" in
  full) ft_args=(model.lora_rank=0 optim.lr="$FULL_LR") ;;
  lora) ft_args=(model.lora_rank="$LORA_RANK" model.lora_alpha="$LORA_ALPHA" optim.lr="$LORA_LR") ;;
  *) echo "FT=$FT: choose full (default, the paper's better setting) or lora" >&2; exit 2 ;;
esac

if [[ "$NNODES" == 1 ]]; then
  launch=(--standalone --nnodes=1 --nproc_per_node="$NPROC_PER_NODE")
else
  launch=(--nnodes="$NNODES" --node_rank="$NODE_RANK" --nproc_per_node="$NPROC_PER_NODE"
          --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT")
fi

"$PYTHON" -m torch.distributed.run "${launch[@]}" -m verl.trainer.sft_trainer \
  +recipe=reflection_sft \
  data.train_files="$SFT_DATA" data.max_length="$MAX_LENGTH" \
  model.path="$MODEL" "${ft_args[@]}" \
  trainer.experiment_name="reflection_sft_$FT" \
  trainer.default_local_dir="$CKPT_DIR" \
  trainer.nnodes="$NNODES" trainer.n_gpus_per_node="$NPROC_PER_NODE" \
  "$@"

if [[ "$NODE_RANK" != 0 || "$MERGE" != 1 ]]; then
  exit 0
fi
step=$(cat "$CKPT_DIR/latest_checkpointed_iteration.txt")
merged="$CKPT_DIR/global_step_${step}/merged_hf"
"$PYTHON" -m verl.model_merger merge --backend fsdp --local_dir "$CKPT_DIR/global_step_${step}" --target_dir "$merged"
if [[ "$FT" == lora ]]; then
  "$PYTHON" - "$merged" "$OUT_MODEL" <<'PY'
import sys
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer
merged, out = sys.argv[1], sys.argv[2]
model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(merged, torch_dtype="auto"), f"{merged}/lora_adapter")
model.merge_and_unload().save_pretrained(out)
AutoTokenizer.from_pretrained(merged).save_pretrained(out)
PY
else
  rm -rf "$OUT_MODEL" && cp -r "$merged" "$OUT_MODEL"
fi
echo "stage 1 ($FT) done: STAGE1_MODEL=$OUT_MODEL bash recipes/reflection/stage2_grpo_acc_format.sh"
