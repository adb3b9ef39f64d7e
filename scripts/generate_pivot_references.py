#!/usr/bin/env python
"""Write PB-RLSVR pivot references (y_en) into a training parquet: resumable, data-parallel, vLLM or transformers.

    python scripts/generate_pivot_references.py --input train.parquet --output train_pivot.parquet \
        --model Qwen/Qwen2.5-7B-Instruct --backend vllm --batch-size 512
    # data parallel: one process per GPU, then merge (recipes/pb_rlsvr/generate_references.sh does this)
    CUDA_VISIBLE_DEVICES=i python scripts/generate_pivot_references.py ... --shard-index i --num-shards N --no-merge
    python scripts/generate_pivot_references.py ...            # same flags, no --no-merge: merges when all done

A killed job restarts where it stopped (rerun the same command); a damaged work file stops it with the file and
line, and --repair keeps the finished references (docs/resumable-jobs.md). See verl_multiling/jobs/pivot_generation.py.
"""

import sys

from verl_multiling.jobs.pivot_generation import main

if __name__ == "__main__":
    sys.exit(main())
