"""Write evaluation results as JSON and as Markdown tables (one overall table, one per metric).

``metrics.json``: ``{"settings": {...}, "runs": {run: {"overall": {...}, "languages": {lang: {...}}}}}``.
``report.md``: the runs side by side: an overall table (one row per run), then for the main metrics
a language x run table. Rates are printed as percentages with one decimal, chrF as is, tokens
as integers; a missing value (``None``) prints as ``-``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

__all__ = ["format_value", "markdown_report", "write_json", "write_markdown"]

_PERCENT = {"lpr", "wpr", "lcpr", "code_switch_rate", "no_answer_rate", "token_efficiency",
            "translation_rate"}
_LABELS = {
    "lpr": "LPR", "wpr": "WPR", "lcpr": "LCPR", "code_switch_rate": "code-switch",
    "no_answer_rate": "no answer", "mean_tokens": "tokens", "token_efficiency": "budget used",
    "translation_rate": "translated", "chrf": "chrF", "n_questions": "questions", "n_samples": "samples",
}


def format_value(key: str, value: Any) -> str:
    """One table cell.

    >>> format_value("pass@1", 0.625), format_value("mean_tokens", 41.5), format_value("chrf", None)
    ('62.5', '42', '-')
    """
    if value is None:
        return "-"
    if key.startswith("pass@") or key in _PERCENT:
        return f"{100.0 * value:.1f}"
    if key == "mean_tokens":
        return f"{value:.0f}"
    if key == "chrf":
        return f"{value:.1f}"
    return str(value)


def _label(key: str) -> str:
    return _LABELS.get(key, key)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _metric_keys(runs: Mapping[str, Any]) -> list[str]:
    keys: list[str] = []
    for run in runs.values():
        for key in run["overall"]:
            if key not in keys:
                keys.append(key)
    passk = sorted((k for k in keys if k.startswith("pass@")), key=lambda k: int(k[5:]))
    rest = [k for k in keys if not k.startswith("pass@") and k not in ("n_questions", "n_samples")]
    return ["n_questions", "n_samples", *passk, *rest]


def markdown_report(results: Mapping[str, Any]) -> str:
    """The Markdown report of ``{"settings": ..., "runs": ...}``."""
    runs = results["runs"]
    settings = results.get("settings", {})
    keys = _metric_keys(runs)
    lines = ["# Evaluation report", ""]
    if settings:
        lines.append("Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
        lines.append("")
    lines.append("Rates in %; budget used = mean min(tokens, budget) / budget; chrF 0-100 (TAPO translations).")
    lines += ["", "## Overall (all languages pooled)", ""]
    lines += _table(["run", *(_label(k) for k in keys)],
                    [[run, *(format_value(k, data["overall"].get(k)) for k in keys)]
                     for run, data in runs.items()])
    languages = sorted({lang for data in runs.values() for lang in data["languages"]})
    main = [k for k in keys if k.startswith("pass@")] + ["lcpr", "lpr", "wpr", "code_switch_rate",
                                                         "token_efficiency"]
    if any(data["overall"].get("chrf") is not None for data in runs.values()):
        main.append("chrf")
    for key in main:
        lines += ["", f"## {_label(key)} per language", ""]
        rows = []
        for lang in languages:
            rows.append([lang, *(format_value(key, data["languages"].get(lang, {}).get(key))
                                 for data in runs.values())])
        lines += _table(["lang", *runs.keys()], rows)
    return "\n".join(lines) + "\n"


def write_json(results: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``results`` as indented UTF-8 JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_markdown(results: Mapping[str, Any], path: str | Path) -> Path:
    """Write :func:`markdown_report` to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown_report(results), encoding="utf-8")
    return path
