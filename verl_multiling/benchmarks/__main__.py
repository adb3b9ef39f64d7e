"""``python -m verl_multiling.benchmarks AREA [ARGS...]``: run one benchmark area (no area: list them)."""

import sys

from verl_multiling.benchmarks import main

if __name__ == "__main__":
    sys.exit(main())
