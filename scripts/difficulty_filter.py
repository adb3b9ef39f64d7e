#!/usr/bin/env python
"""Keep the RL prompts a model solves sometimes (AdaMame: 1..7 of 8 samples of the SFT model).

    python scripts/difficulty_filter.py --data pool.parquet --model SFT_MERGED --out train.parquet \
        [--k 8] [--min-correct 1] [--max-correct 7] [--per-language 1000] [--generations GEN.jsonl]

The logic and every option: ``verl_multiling/jobs/difficulty.py`` (``--help``). Exit status 2 on bad
input, 3 when no prompt is kept.
"""

import sys

from verl_multiling.jobs.difficulty import main

if __name__ == "__main__":
    sys.exit(main())
