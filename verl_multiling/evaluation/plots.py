"""PNG plots of evaluation results (matplotlib, Agg backend: no display needed).

* ``accuracy_vs_lcpr.png``: one point per (run, language), x = LCPR, y = accuracy (pass@1),
  colour = run, labelled with the language code; each run's overall point as a large marker.
* ``pareto.png``: each run's overall (LCPR, accuracy) and the Pareto front across runs: the runs
  no other run beats on both axes (:func:`pareto_front`), joined by a line.
* ``per_language_bars.png``: grouped bars per language, one bar per run: accuracy (top) and LCPR
  (bottom). A value of 0 is drawn as a low hatched bar labelled "0", so a run that scored zero is
  not mistaken for a run that is absent; a missing value (the run has no data for that language) is
  labelled "n/a" (:func:`bar_heights`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = ["ZERO_BAR", "bar_heights", "pareto_front", "write_plots"]

#: height of the bar drawn for a value of exactly 0 (on the 0..1.05 axis), so that it is visible
ZERO_BAR = 0.02


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points not dominated on both coordinates (higher is better on both),
    sorted by the first coordinate. A point is dominated when another is >= on both and > on one.

    >>> pareto_front([(0.6, 0.75), (0.87, 0.62), (0.0, 0.75), (0.5, 0.5)])
    [0, 1]
    """
    front = []
    for i, (x, y) in enumerate(points):
        dominated = any(
            (ox >= x and oy >= y) and (ox > x or oy > y) for j, (ox, oy) in enumerate(points) if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def bar_heights(values: Sequence[float]) -> tuple[list[float], list[str]]:
    """Bar heights and labels for metric values in [0, 1]: 0 gets a visible :data:`ZERO_BAR` and the
    label "0", a missing value (NaN) no bar and the label "n/a", any other value its own height and no label.

    >>> bar_heights([0.5, 0.0, float("nan")])
    ([0.5, 0.02, 0.0], ['', '0', 'n/a'])
    """
    heights, labels = [], []
    for value in values:
        if value != value:  # NaN
            heights.append(0.0)
            labels.append("n/a")
        elif value == 0:
            heights.append(ZERO_BAR)
            labels.append("0")
        else:
            heights.append(float(value))
            labels.append("")
    return heights, labels


def _group_labels(labels: Sequence[str], xs: Sequence[float], ys: Sequence[float]) -> dict:
    """``{(x, y): [labels at that point]}`` (rounded to 3 decimals) so that coinciding points get
    one label.

    >>> _group_labels(["fr", "de", "ja"], [0.5, 0.5, 0.2], [0.7, 0.7, 0.1])
    {(0.5, 0.7): ['fr', 'de'], (0.2, 0.1): ['ja']}
    """
    groups: dict = {}
    for label, x, y in zip(labels, xs, ys):
        groups.setdefault((round(x, 3), round(y, 3)), []).append(label)
    return groups


def _accuracy_key(metrics: Mapping[str, Any]) -> str:
    return "pass@1" if metrics.get("pass@1") is not None else next(
        (k for k in metrics if k.startswith("pass@") and metrics[k] is not None), "pass@1")


def _value(metrics: Mapping[str, Any], key: str) -> float:
    value = metrics.get(key)
    return float(value) if value is not None else float("nan")


def write_plots(runs: Mapping[str, Mapping[str, Any]], out_dir: str | Path) -> list[Path]:
    """Write the three PNGs for ``runs`` (``{run: {"overall": ..., "languages": ...}}``) into
    ``out_dir``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(runs)
    colours = {run: plt.get_cmap("tab10")(i % 10) for i, run in enumerate(names)}
    first = runs[names[0]]["overall"]
    acc = _accuracy_key(first)
    paths = []

    # 1. per-language scatter
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    for run in names:
        langs = runs[run]["languages"]
        xs = [_value(m, "lcpr") for m in langs.values()]
        ys = [_value(m, acc) for m in langs.values()]
        ax.scatter(xs, ys, color=colours[run], alpha=0.75, label=run)
        for (x, y), codes in _group_labels(list(langs), xs, ys).items():
            ax.annotate(",".join(codes), (x, y), textcoords="offset points", xytext=(4, 4 + 9 * names.index(run)),
                        fontsize=7, color=colours[run])
        overall = runs[run]["overall"]
        ax.scatter([_value(overall, "lcpr")], [_value(overall, acc)], color=colours[run], marker="*",
                   s=260, edgecolors="black", linewidths=0.8)
    ax.set_xlabel("language fidelity (LCPR)")
    ax.set_ylabel(f"accuracy ({acc})")
    ax.set_title("Accuracy vs language fidelity (points: languages; stars: overall)")
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(title="run")
    fig.tight_layout()
    paths.append(out / "accuracy_vs_lcpr.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    # 2. Pareto front across runs
    points = [(_value(runs[r]["overall"], "lcpr"), _value(runs[r]["overall"], acc)) for r in names]
    front = pareto_front(points)
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for i, run in enumerate(names):
        ax.scatter([points[i][0]], [points[i][1]], color=colours[run], s=90,
                   marker="o" if i in front else "x", label=run + (" (front)" if i in front else ""))
        ax.annotate(run, points[i], textcoords="offset points", xytext=(5, 5), fontsize=9)
    ax.plot([points[i][0] for i in front], [points[i][1] for i in front], "k--", linewidth=1,
            label="Pareto front")
    ax.set_xlabel("language fidelity (LCPR)")
    ax.set_ylabel(f"accuracy ({acc})")
    ax.set_title("Pareto front across runs (overall)")
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    paths.append(out / "pareto.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    # 3. per-language bars
    languages = sorted({lang for run in names for lang in runs[run]["languages"]})
    width = 0.8 / max(len(names), 1)
    fig, axes = plt.subplots(2, 1, figsize=(min(16.0, max(7.0, 0.45 * len(languages) * max(len(names), 1))), 7),
                             sharex=True)
    for axis, key, label in ((axes[0], acc, f"accuracy ({acc})"), (axes[1], "lcpr", "LCPR")):
        for i, run in enumerate(names):
            values = [_value(runs[run]["languages"].get(lang, {}), key) for lang in languages]
            positions = [p + (i - (len(names) - 1) / 2) * width for p in range(len(languages))]
            heights, labels = bar_heights(values)
            bars = axis.bar(positions, heights, width=width, color=colours[run], label=run)
            for bar, text in zip(bars, labels):
                if text == "0":
                    bar.set_facecolor("white")
                    bar.set_edgecolor(colours[run])
                    bar.set_hatch("////")
                if text:
                    axis.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                                  va="bottom", textcoords="offset points", xytext=(0, 1), fontsize=7,
                                  color=colours[run])
        axis.set_ylabel(label)
        axis.set_ylim(0, 1.05)
        axis.grid(axis="y", alpha=0.3)
    axes[1].set_xticks(range(len(languages)))
    axes[1].set_xticklabels(languages)
    from matplotlib.patches import Patch

    axes[0].legend(handles=[Patch(color=colours[run], label=run) for run in names], ncol=len(names), fontsize=8)
    axes[0].set_title("Per-language accuracy and language fidelity")
    fig.tight_layout()
    paths.append(out / "per_language_bars.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths
