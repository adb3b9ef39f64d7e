"""The per-language preflight table (pure: numpy in, Markdown text out)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

# Reward parts shown when a recipe's manager reports them, in this order (means per language).
PART_COLUMNS = ("acc", "lang_match", "no_answer", "format", "format_ok", "reflection", "reflection_markers",
                "r_trans", "u_step", "semantic", "r_answer", "r_reasoning")
ADVANTAGE_COLUMNS = ("adv_mean", "adv_std", "adv_min", "adv_max")


def language_rows(langs: np.ndarray, values: Mapping[str, np.ndarray], parts: tuple[str, ...]) -> list[dict]:
    """One dict per language (sorted) plus an ``all`` row: n, the mean of every part in ``parts`` and of
    ``reward`` and ``resp_tokens``, and the spread of the per-sample advantage scalars ``adv``."""
    langs = np.asarray([str(x) if x not in (None, "") else "unknown" for x in langs], dtype=object)
    rows = []
    for lang in [*sorted(set(langs)), "all"]:
        mask = np.ones(len(langs), dtype=bool) if lang == "all" else langs == lang
        adv = values["adv"][mask]
        row = {"lang": lang, "n": int(mask.sum())}
        for key in (*parts, "reward", "resp_tokens"):
            row[key] = float(np.mean(values[key][mask]))
        row.update(adv_mean=float(adv.mean()), adv_std=float(adv.std()), adv_min=float(adv.min()),
                   adv_max=float(adv.max()))
        if "adv_R" in values:  # step-level estimators: the R-step advantage (last token) beside the first token's
            adv_r = values["adv_R"][mask]  # group-normalised r_acc: its mean is ~0 by construction, so the range
            row.update(adv_R_min=float(adv_r.min()), adv_R_max=float(adv_r.max()))
        rows.append(row)
    return rows


def table_columns(parts: tuple[str, ...], step_level: bool = False) -> tuple[str, ...]:
    return ("lang", "n", *parts, "reward", *ADVANTAGE_COLUMNS, *(("adv_R_min", "adv_R_max") if step_level else ()), "resp_tokens")


def markdown_table(rows: list[dict], columns: tuple[str, ...]) -> str:
    """Rows as a Markdown table; floats with 3 decimals (resp_tokens with 1).

    >>> print(markdown_table([{"lang": "fr", "n": 2, "acc": 0.5}], ("lang", "n", "acc")))
    | lang | n | acc |
    |---|---:|---:|
    | fr | 2 | 0.500 |
    """
    head = "| " + " | ".join(columns) + " |"
    rule = "|" + "|".join("---" if c == "lang" else "---:" for c in columns) + "|"
    lines = [head, rule]
    for row in rows:
        cells = []
        for c in columns:
            v = row[c]
            if isinstance(v, float):
                cells.append(f"{v:.1f}" if c == "resp_tokens" else f"{v:.3f}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
