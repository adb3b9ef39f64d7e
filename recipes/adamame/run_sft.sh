#!/usr/bin/env bash
# AdaMame stage 1 (arXiv 2606.15080): filter query-language reasoning traces, then fine-tune
# DeepSeek-R1-Distill-Qwen-1.5B with LoRA using verl's SFT trainer and the adamame_sft recipe.
#
#   TRACES=/data/traces.jsonl NPROC_PER_NODE=8 bash recipes/adamame/run_sft.sh [Hydra overrides...]
#
# Steps: (1) scripts/filter_sft_traces.py -> $DATA/sft_train.parquet (+ rejects and report);
#        (2) torchrun -m verl.trainer.sft_trainer +recipe=adamame_sft (arguments after the script
#            name are forwarded to it as Hydra overrides, e.g. trainer.total_epochs=2);
#        (3) verl.model_merger turns the last checkpoint into the base weights plus a LoRA adapter,
#            and verl_multiling.jobs.lora_merge folds the adapter into the weights ($CKPT_DIR/merged), as the
#            authors' released stage 1 does (llamafactory-cli export): stage 2 (+recipe=adamame, a
#            fresh LoRA) starts from that merged model.
# Every path and size below can be overridden through the environment.
#
# Multi-node: run this on every node with the same NNODES, MASTER_ADDR and MASTER_PORT and its own
# NODE_RANK. Only node 0 filters and merges; the other nodes' torchrun waits for node 0 at the
# rendezvous, so on a very large trace set filter once beforehand and pass SKIP_FILTER=1.
set -euo pipefail

REPO_DIR=${REPO_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PYTHON=${PYTHON:-python}
FILTER_SCRIPT=${FILTER_SCRIPT:-$REPO_DIR/scripts/filter_sft_traces.py}

# data: input traces (space-separated list of .jsonl/.parquet files) and the filter's outputs
DATA=${DATA:-$HOME/data/adamame}
TRACES=${TRACES:-$DATA/sft_traces.jsonl}
SFT_DATA=${SFT_DATA:-$DATA/sft_train.parquet}
# held-out share of the kept traces, validated every VAL_EVERY steps (released: val_size 0.1, eval_steps
# 100; the model trains on the other 90 %); VAL_FRACTION=0: train on every kept trace, no validation
VAL_FRACTION=${VAL_FRACTION:-0.1}
SFT_VAL=${SFT_VAL:-$DATA/sft_val.parquet}
VAL_EVERY=${VAL_EVERY:-100}
REJECTS=${REJECTS:-$DATA/sft_rejects.jsonl}
REPORT=${REPORT:-$DATA/sft_filter_report.json}

# filter options (see `python scripts/filter_sft_traces.py --help`)
LANGUAGES=${LANGUAGES:-"fr ja ko pt th"}
LID_BACKEND=${LID_BACKEND:-lingua}   # the authors' filter and the reward's detector
FIDELITY=${FIDELITY:-first500}
FILTER_WORKERS=${FILTER_WORKERS:-$(nproc)}
# 1: drop traces longer than MAX_LENGTH tokens with the model's tokenizer (data.truncation=error
# would stop training on them); 0: skip the check (no tokenizer download)
LENGTH_CHECK=${LENGTH_CHECK:-1}
SKIP_FILTER=${SKIP_FILTER:-0}

# model and training
MODEL=${MODEL:-deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B}
MAX_LENGTH=${MAX_LENGTH:-8192}   # released cutoff_len
CKPT_DIR=${CKPT_DIR:-$REPO_DIR/checkpoints/verl_multiling/adamame_sft}
MERGE=${MERGE:-1}
MERGED_DIR=${MERGED_DIR:-$CKPT_DIR/merged}   # the stage-2 model (run_grpo_*.sh default to it)

# launch: NNODES x NPROC_PER_NODE GPUs
NNODES=${NNODES:-1}
count_gpus() {
    local n
    n=$(nvidia-smi --list-gpus 2>/dev/null | wc -l) || n=0
    if (( n > 0 )); then echo "$n"; else echo 1; fi
}
NPROC_PER_NODE=${NPROC_PER_NODE:-$(count_gpus)}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
MASTER_PORT=${MASTER_PORT:-29500}

filter_traces() {
    local -a traces languages length_args=() val_args=()
    read -r -a traces <<<"$TRACES"
    read -r -a languages <<<"$LANGUAGES"
    if [[ "$LENGTH_CHECK" == 1 ]]; then
        length_args=(--tokenizer "$MODEL" --max-length "$MAX_LENGTH")
    fi
    if [[ "$VAL_FRACTION" != 0 ]]; then
        val_args=(--val-output "$SFT_VAL" --val-fraction "$VAL_FRACTION")
    fi
    "$PYTHON" "$FILTER_SCRIPT" "${traces[@]}" \
        --languages "${languages[@]}" \
        --backend "$LID_BACKEND" \
        --fidelity "$FIDELITY" \
        --workers "$FILTER_WORKERS" \
        "${length_args[@]}" \
        "${val_args[@]}" \
        --rejects "$REJECTS" \
        --report "$REPORT" \
        --output "$SFT_DATA"
}

train() {
    local -a launch val_args=()
    if [[ "$VAL_FRACTION" != 0 ]]; then
        val_args=(data.val_files="$SFT_VAL" trainer.test_freq="$VAL_EVERY")
    fi
    if [[ "$NNODES" == 1 ]]; then
        launch=(--standalone --nnodes=1 --nproc_per_node="$NPROC_PER_NODE")
    else
        launch=(--nnodes="$NNODES" --node_rank="$NODE_RANK" --nproc_per_node="$NPROC_PER_NODE"
                --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT")
    fi
    "$PYTHON" -m torch.distributed.run "${launch[@]}" -m verl.trainer.sft_trainer \
        +recipe=adamame_sft \
        data.train_files="$SFT_DATA" \
        data.max_length="$MAX_LENGTH" \
        "${val_args[@]}" \
        model.path="$MODEL" \
        trainer.default_local_dir="$CKPT_DIR" \
        trainer.nnodes="$NNODES" \
        trainer.n_gpus_per_node="$NPROC_PER_NODE" \
        "$@"
}

merge_last_checkpoint() {
    local step hf
    step=$(cat "$CKPT_DIR/latest_checkpointed_iteration.txt")
    hf="$CKPT_DIR/global_step_${step}/merged_hf"
    # verl's merger: FSDP shards -> base weights in $hf, the adapter in $hf/lora_adapter
    "$PYTHON" -m verl.model_merger merge --backend fsdp \
        --local_dir "$CKPT_DIR/global_step_${step}" --target_dir "$hf"
    # fold the adapter in: W' = W + (alpha / r) B A
    "$PYTHON" -m verl_multiling.jobs.lora_merge --model "$hf" --adapter "$hf/lora_adapter" --out "$MERGED_DIR"
    echo "stage 1 done. Stage 2: MODEL=$MERGED_DIR bash recipes/adamame/run_grpo_1gpu.sh" \
         "(or +recipe=adamame actor_rollout_ref.model.path=$MERGED_DIR)"
}

if [[ "$NODE_RANK" == 0 && "$SKIP_FILTER" != 1 ]]; then
    filter_traces
fi
train "$@"
if [[ "$NODE_RANK" == 0 && "$MERGE" == 1 ]]; then
    merge_last_checkpoint
fi
