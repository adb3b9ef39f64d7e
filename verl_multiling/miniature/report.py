"""The miniature's before/after table (per language, both arms) and its curves PNG."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from verl_multiling.miniature.figures import mean_over


SIGNATURE = {
    "adamame": ("acc", "lpr"),
    "tapo": ("acc", "format_rate", "trans_chrf"),
    "reflection": ("acc", "format_rate", "reflection_rate"),
    "pb_rlsvr": ("acc", "pivot_sim", "lpr"),
}
"""The figures each recipe's table shows (its paper's claim, and accuracy)."""

CURVE_KEYS = {
    "adamame": ("heldout/lpr_non_en", "heldout/acc"),
    "tapo": ("heldout/format_rate", "heldout/trans_chrf", "heldout/acc"),
    "reflection": ("heldout/reflection_rate", "heldout/format_rate", "heldout/acc"),
    "pb_rlsvr": ("heldout/pivot_sim", "heldout/acc"),
}
TRAIN_KEYS = ("critic/score/mean", "response_length/mean")


def _fmt(value: Any, figure: str) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if figure == "trans_chrf" else f"{100 * value:.0f}" if figure != "pivot_sim" else f"{value:.3f}"


def table_rows(result: Mapping[str, Any]) -> list[list[str]]:
    """Header + one row per language (and the mean) with start -> end of each figure for each arm."""
    figures = SIGNATURE[result["recipe"]]
    arms = result["arms"]
    header = ["lang"] + [f"{arm}: {fig}" for arm in arms for fig in figures]
    langs = sorted(next(iter(arms.values()))["start"])
    rows = [header]
    for lang in [*langs, "mean"]:
        row = [lang]
        for arm in arms:
            for fig in figures:
                start, end = arms[arm]["start"], arms[arm]["end"]
                if lang == "mean":
                    a, b = mean_over(start, fig), mean_over(end, fig)
                else:
                    a, b = start.get(lang, {}).get(fig), end.get(lang, {}).get(fig)
                row.append(f"{_fmt(a, fig)} -> {_fmt(b, fig)}")
        rows.append(row)
    return rows


def print_table(result: Mapping[str, Any], stream: TextIO) -> None:
    rows = table_rows(result)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    stream.write(f"\n{result['recipe']} miniature, seed {result['seed']}, {result['steps']} steps: held-out split, "
                 "start -> end (acc, lpr, rates in %; chrF 0-100; pivot_sim cosine)\n")
    for k, row in enumerate(rows):
        stream.write("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |\n")
        if k == 0:
            stream.write("|" + "|".join("-" * (w + 2) for w in widths) + "|\n")
    stream.flush()


def write_plot(result: Mapping[str, Any], path: Path) -> Path:
    """Both arms' held-out curves (the recipe's figures) and training curves (score, response length)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = CURVE_KEYS[result["recipe"]] + TRAIN_KEYS
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4))
    for ax, key in zip(axes, keys):
        for arm, data in result["arms"].items():
            points = [(c["step"], c["metrics"][key]) for c in data["curve"] if key in c["metrics"]]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="o" if key.startswith("heldout/") else None, label=arm)
        if result["recipe"] == "adamame" and key == "heldout/lpr_non_en":
            _plot_schedule(ax, result)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    fig.suptitle(f"{result['recipe']} miniature (seed {result['seed']})", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _plot_schedule(ax, result: Mapping[str, Any]) -> None:
    """AdaMame's g(t) (the recipe's default schedule) beside the LPR curve, on the same 0-1 axis."""
    import math

    steps = result["steps"]
    xs = list(range(0, steps + 1))
    ys = [max(0.5 * (1 - math.cos(math.pi * t / steps)), 0.1) for t in xs]
    ax.plot(xs, ys, linestyle="--", color="grey", label="g(t)")

