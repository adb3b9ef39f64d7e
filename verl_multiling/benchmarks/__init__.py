"""Benchmarks, the top layer beside the miniature: measurements the tests must not make (no wall-clock
assertion lives in a test; a time goes here). One entry point runs every area:

    python -m verl_multiling.benchmarks                  # list the areas, one line each
    python -m verl_multiling.benchmarks AREA [ARGS...]   # run one, e.g. `versus_verl --quick`, `bounds --only math`
    python -m verl_multiling.benchmarks AREA --help      # its flags and what it measures

``verl-multiling benchmark AREA ...`` and ``python scripts/benchmark.py AREA ...`` are the same command. Each
area is a module here with a ``main(argv)`` (see :data:`AREAS`); ``versus_verl`` is the one table of every
component against verl's counterpart, split by what it measures into :mod:`.reward_managers`,
:mod:`.estimators`, :mod:`.scorers`, :mod:`.comet_parity`, :mod:`.math_tail`, :mod:`.gpu` and :mod:`.e2e_step`,
over the shared helpers of :mod:`.common`. :mod:`.sizing` holds the pure sizing arithmetic of the reward side
(docs/scaling.md) that the ``scaling`` area feeds with measured costs.

Nothing here depends on the repository checkout: child processes start ``python -m verl_multiling.benchmarks``,
data files come from the installed package. Two areas use a checkout when asked: ``data_check --old REV`` (git)
and the COMET rows of ``versus_verl`` (unbabel-comet's venv, ``.venv-comet`` or ``VERL_MULTILING_COMET_PYTHON``).
"""

from __future__ import annotations

import ast
import difflib
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

PROG = "python -m verl_multiling.benchmarks"
# area -> its module in this package (the same name); listed in this order
AREAS = ("versus_verl", "bounds", "data_check", "language_id", "pb_rlsvr", "reflection", "resumable_jsonl",
         "scaling", "semantic_service", "tapo", "task_function")


def describe(area: str) -> str:
    """The first line of the area module's docstring, read without importing the module (no torch, no verl)."""
    source = (Path(__file__).resolve().parent / f"{area}.py").read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source)) or ""
    return doc.splitlines()[0].replace("``", "") if doc else ""


def usage(prog: str = PROG) -> str:
    width = max(map(len, AREAS))
    lines = [f"usage: {prog} AREA [ARGS...]", "", "Run one benchmark area; `AREA --help` gives its flags.", "",
             "areas:"]
    lines += [f"  {area:<{width}}  {describe(area)}" for area in AREAS]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    """``AREA [ARGS...]``: run that area's ``main(ARGS)``; nothing, ``-h`` or ``--help``: list the areas.
    An unknown area exits 2 with the valid ones named."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage(prog))
        return 0
    area, rest = args[0], args[1:]
    if area not in AREAS:
        if area.startswith("-"):
            hint = (f"name an area first ({prog} AREA {' '.join(args)}); the one table that "
                    "scripts/benchmark.py printed with no area is the area versus_verl")
        else:
            close = difflib.get_close_matches(area, AREAS, n=1)
            hint = f"unknown area {area!r}" + (f" (did you mean {close[0]}?)" if close else "")
        print(f"{prog}: {hint}\nvalid areas: {', '.join(AREAS)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"{__name__}.{area}")
    saved = sys.argv[:1]
    sys.argv[:1] = [f"{prog} {area}"]  # argparse's prog: the area's --help and errors show this command
    try:
        return module.main(rest)
    finally:
        sys.argv[:1] = saved
