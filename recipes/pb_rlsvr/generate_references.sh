#!/usr/bin/env bash
# Write PB-RLSVR pivot references (y_en) into the training parquet: one vLLM process per GPU (data parallel),
# on any number of nodes that share a filesystem, then one merge. Resumable: rerun the same command after a
# crash and only the missing questions are generated. Settings are stored in the output's parquet metadata.
#   one node:  INPUT=train.parquet OUTPUT=train_pivot.parquet PIVOT=Qwen/Qwen2.5-72B-Instruct bash generate_references.sh
#   N nodes:   run on every node with NNODES=N NODE_RANK=<0..N-1> (same WORK dir on shared storage);
#              node 0 merges once every shard is done.
#   CPU/small: BACKEND=transformers GPUS_PER_NODE=1 PIVOT=<small local model> bash generate_references.sh
set -euo pipefail

INPUT=${INPUT:?set INPUT=the training parquet}
OUTPUT=${OUTPUT:?set OUTPUT=the parquet to write}
PIVOT=${PIVOT:-Qwen/Qwen2.5-72B-Instruct}   # the paper's pivot model is not public: our default
BACKEND=${BACKEND:-vllm}                     # vllm | transformers
WORK=${WORK:-$OUTPUT.work}
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
GPUS_PER_NODE=${GPUS_PER_NODE:-$(nvidia-smi -L 2>/dev/null | wc -l | awk '{print ($1 > 0) ? $1 : 1}')}
TP=${TP:-1}                                  # GPUs per vLLM engine (72B: 4 or 8)
BATCH=${BATCH:-512}
TEMPERATURE=${TEMPERATURE:-0.0}
MAX_NEW_TOKENS=${MAX_NEW_TOKENS:-2048}
GOLD_CHECK=${GOLD_CHECK:-flag}               # keep | flag | drop
REPAIR=${REPAIR:-0}                          # 1: move bad work-file lines aside and go on (docs/resumable-jobs.md)
SCRIPT=${SCRIPT:-$(python -c "import verl_multiling, pathlib; print(pathlib.Path(verl_multiling.__file__).parent.parent / 'scripts' / 'generate_pivot_references.py')")}
[[ -f "$SCRIPT" ]] || SCRIPT="python -m verl_multiling.jobs.pivot_generation"

ENGINES=$((GPUS_PER_NODE / TP))
NUM_SHARDS=$((NNODES * ENGINES))
ARGS=(--input "$INPUT" --output "$OUTPUT" --work-dir "$WORK" --model "$PIVOT" --backend "$BACKEND"
      --batch-size "$BATCH" --temperature "$TEMPERATURE" --max-new-tokens "$MAX_NEW_TOKENS"
      --gold-check "$GOLD_CHECK" --num-shards "$NUM_SHARDS" --tensor-parallel-size "$TP")
if [[ "$REPAIR" == 1 ]]; then ARGS+=(--repair); fi
run() { if [[ "$SCRIPT" == python* ]]; then $SCRIPT "$@"; else python "$SCRIPT" "$@"; fi; }

pids=()
for ((e = 0; e < ENGINES; e++)); do
  shard=$((NODE_RANK * ENGINES + e))
  first_gpu=$((e * TP))
  gpus=$(seq -s, "$first_gpu" $((first_gpu + TP - 1)))
  CUDA_VISIBLE_DEVICES="$gpus" run "${ARGS[@]}" --shard-index "$shard" --no-merge \
    > "$WORK.shard$shard.log" 2>&1 &
  pids+=($!)
done
mkdir -p "$WORK"
for pid in "${pids[@]}"; do wait "$pid"; done
echo "node $NODE_RANK: shards done (logs: $WORK.shard*.log)"

if [[ "$NODE_RANK" == 0 ]]; then
  # merge once every shard of every node is done (a run of shard 0 has nothing left and merges)
  until run "${ARGS[@]}" --shard-index 0 --no-progress | tail -n1 | grep -q '"merged": true'; do
    echo "waiting for other nodes' shards..."; sleep 30
  done
  echo "wrote $OUTPUT"
fi
