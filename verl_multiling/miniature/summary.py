"""Summarise miniature results across seeds: the effect each recipe claims, per seed, recipe arm vs baseline arm.

    python -m verl_multiling.miniature.summary RESULT.json [RESULT.json ...]

For every result (``verl-multiling miniature --json``) and every figure of the recipe (non-English languages for
``lpr``, all languages otherwise), prints start -> end of each arm, the change Δ, and Δ(recipe) − Δ(baseline);
then the minimum of that difference over the files (the margin a test may assert).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from verl_multiling.miniature.figures import mean_over
from verl_multiling.miniature.report import SIGNATURE


def effect(result: Mapping[str, Any], figure: str) -> dict[str, float | None]:
    """Start, end and change of ``figure`` for each arm (mean over languages; non-English ones for lpr)."""
    out: dict[str, float | None] = {}
    for arm, data in result["arms"].items():
        langs = [lang for lang in data["start"] if lang != "en"] if figure == "lpr" else None
        start, end = mean_over(data["start"], figure, langs), mean_over(data["end"], figure, langs)
        out[f"{arm}_start"], out[f"{arm}_end"] = start, end
        out[f"{arm}_delta"] = None if start is None or end is None else end - start
    if out.get("recipe_delta") is not None and out.get("baseline_delta") is not None:
        out["difference"] = out["recipe_delta"] - out["baseline_delta"]
    if out.get("recipe_end") is not None and out.get("baseline_end") is not None:
        out["end_gap"] = out["recipe_end"] - out["baseline_end"]
    return out


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}" if abs(value) < 1.5 else f"{value:+.1f}"


def summary_lines(results: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = []
    recipe = results[0]["recipe"]
    for figure in SIGNATURE[recipe]:
        lines.append(f"{recipe}: {figure}{' (non-English)' if figure == 'lpr' else ''}")
        lines.append("| seed | overrides | recipe start -> end (Δ) | baseline start -> end (Δ) | Δ recipe − Δ baseline |"
                     " end gap |")
        lines.append("|---|---|---|---|---|---|")
        diffs = []
        for r in results:
            e = effect(r, figure)
            diffs.append(e.get("difference"))
            arm = lambda a: (f"{_f(e.get(a + '_start'))} -> {_f(e.get(a + '_end'))} ({_f(e.get(a + '_delta'))})"
                             if e.get(a + "_start") is not None else "-")
            lines.append(f"| {r['seed']} | {' '.join(r.get('overrides') or []) or '-'} | {arm('recipe')} | "
                         f"{arm('baseline')} | {_f(e.get('difference'))} | {_f(e.get('end_gap'))} |")
        known = [d for d in diffs if d is not None]
        if known:
            lines.append(f"minimum Δ recipe − Δ baseline over {len(known)} run(s): {_f(min(known))}")
        lines.append("")
    return lines


def _read(path: str) -> dict[str, Any]:
    """One ``--json`` result; a clear error naming the file when it is missing or not a result."""
    try:
        with open(path, encoding="utf-8") as handle:
            result = json.load(handle)
    except OSError as error:
        raise SystemExit(f"summary: cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise SystemExit(f"summary: {path} is not JSON ({error}); pass the files written by "
                         "`verl-multiling miniature --json PATH`") from None
    if not isinstance(result, dict) or "arms" not in result or "recipe" not in result:
        raise SystemExit(f"summary: {path} has no 'recipe' and 'arms': pass the files written by "
                         "`verl-multiling miniature --json PATH`")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m verl_multiling.miniature.summary",
        description="Per seed: each arm's start -> end of the recipe's figures, and Δ recipe − Δ baseline.")
    parser.add_argument("results", nargs="+", metavar="RESULT.json",
                        help="files written by `verl-multiling miniature --json PATH`")
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    print("\n".join(summary_lines([_read(p) for p in args.results])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
