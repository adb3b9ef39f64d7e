"""The per-language preflight table (pure: numpy in, Markdown text out)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

COLUMNS = ("lang", "n", "acc", "lang_match", "no_answer", "reward", "adv_mean", "adv_std", "adv_min", "adv_max",
           "resp_tokens")


def language_rows(langs: np.ndarray, values: Mapping[str, np.ndarray]) -> list[dict]:
    """One dict per language (sorted) plus an ``all`` row; each value is the mean over that language,
    except adv_std/min/max (spread of the per-sample advantage scalars) and n (count)."""
    langs = np.asarray([str(x) if x not in (None, "") else "unknown" for x in langs], dtype=object)
    rows = []
    for lang in [*sorted(set(langs)), "all"]:
        mask = np.ones(len(langs), dtype=bool) if lang == "all" else langs == lang
        adv = values["adv"][mask]
        row = {"lang": lang, "n": int(mask.sum())}
        for key in ("acc", "lang_match", "no_answer", "reward", "resp_tokens"):
            row[key] = float(np.mean(values[key][mask]))
        row.update(adv_mean=float(adv.mean()), adv_std=float(adv.std()), adv_min=float(adv.min()),
                   adv_max=float(adv.max()))
        rows.append(row)
    return rows


def markdown_table(rows: list[dict], columns: tuple[str, ...] = COLUMNS) -> str:
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
