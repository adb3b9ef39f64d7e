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
            row[key] = _mean(values[key][mask])
        row.update(adv_mean=float(adv.mean()), adv_std=float(adv.std()), adv_min=float(adv.min()),
                   adv_max=float(adv.max()))
        if "adv_R" in values:  # step-level estimators: the R-step advantage (last token) beside the first token's
            adv_r = values["adv_R"][mask]  # group-normalised r_acc: its mean is ~0 by construction, so the range
            row.update(adv_R_min=float(adv_r.min()), adv_R_max=float(adv_r.max()))
        rows.append(row)
    return rows


#: PB-RLSVR's parts shown per response kind (rollouts with a ``kind`` field: empty, bare, unrelated, native, ...)
KIND_COLUMNS = ("r_answer", "r_reasoning", "coverage", "semantic")


def kind_rows(kinds: np.ndarray, values: Mapping[str, np.ndarray], parts: tuple[str, ...]) -> list[dict]:
    """One dict per rollout kind, in order of first appearance: n and the mean of ``reward`` and each part."""
    kinds = np.asarray([str(k) for k in kinds], dtype=object)
    rows = []
    for kind in dict.fromkeys(kinds):
        mask = kinds == kind
        rows.append({"kind": kind, "n": int(mask.sum()), "reward": _mean(values["reward"][mask]),
                     **{key: _mean(values[key][mask]) for key in parts}})
    return rows


def _mean(values: np.ndarray) -> float:
    """The mean over the samples that report a value (NaN: not reported); NaN when none does."""
    values = np.asarray(values, dtype=np.float64)
    seen = ~np.isnan(values)
    return float(values[seen].mean()) if seen.any() else float("nan")


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
    rule = "|" + "|".join("---" if c in ("lang", "kind") else "---:" for c in columns) + "|"
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


def rollouts_title(rows: list[dict], label: str, user_given: bool) -> str:
    """The first line of the per-language table's heading: which rollouts it was computed on, and
    whether they are the user's.

    >>> print(rollouts_title([{"lang": "fr"}, {"lang": "ja"}, {"lang": "fr"}], "the bundled sample rollouts (x.jsonl)", False))
    Per-language results on the bundled sample rollouts (x.jsonl): 3 rollouts in 2 languages, hand-written to exercise the scorers (not your data: --rollouts FILE scores your own).
    """
    langs = {str(r.get("lang")) for r in rows}
    head = f"Per-language results on {label}: {len(rows)} rollouts in {len(langs)} languages"
    if user_given:
        return head + "."
    return head + ", hand-written to exercise the scorers (not your data: --rollouts FILE scores your own)."


def data_summary_table(summary: list[dict]) -> str:
    """The user's data files as a Markdown table: rows, rows per language, columns found.

    >>> print(data_summary_table([{"field": "data.train_files", "path": "t.parquet", "rows": 3,
    ...                            "languages": {"fr": 2, "ja": 1}, "columns": ["prompt", "lang"]}]))
    | field | file | rows | rows per language | columns |
    |---|---|---:|---|---|
    | data.train_files | t.parquet | 3 | fr 2, ja 1 | prompt, lang |
    """
    lines = ["| field | file | rows | rows per language | columns |", "|---|---|---:|---|---|"]
    for item in summary:
        langs = ", ".join(f"{k} {v}" for k, v in item["languages"].items()) or "-"
        lines.append(f"| {item['field']} | {item['path']} | {item['rows']} | {langs} | {', '.join(item['columns'])} |")
    return "\n".join(lines)
