"""Launcher: ``python scripts/benchmark.py AREA [ARGS...]`` runs ``python -m verl_multiling.benchmarks AREA [ARGS...]``.

With no area (or --help) it lists the areas. What this script printed with no arguments before the benchmarks
became a package (every component against verl's counterpart, one table) is the area ``versus_verl``:
``python scripts/benchmark.py versus_verl [--quick] [--only estimators] ...``.
"""

import sys

from verl_multiling.benchmarks import main

if __name__ == "__main__":
    sys.exit(main())
