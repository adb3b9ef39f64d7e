"""Turn loaded :class:`~verl_multiling.data_prep.sources.Record` lists into verl parquet files.

``build_rows`` applies the recipe's prompt template (:mod:`.templates`) and the row schema
(:mod:`.schema`); ``split_rows`` holds out a per-language validation share; ``write_parquet``
writes them. With ``data_source = f"{dataset}/{lang}"``, verl's validation metrics
(``val-core/{data_source}/...``) come out one line per language.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from verl_multiling.data_prep.schema import make_row, validate_rows
from verl_multiling.data_prep.sources import Record
from verl_multiling.data_prep.templates import build_messages, instruction

__all__ = ["build_rows", "language_counts", "sample_per_language", "split_rows", "write_parquet"]


def build_rows(
    records: Mapping[str, Sequence[Record]], dataset: str, recipe: str
) -> list[dict[str, Any]]:
    """One verl row per record, in language order then record order.

    Raises:
        ValueError: the recipe has no template for a language (checked before any row is built).
    """
    for lang in records:
        instruction(recipe, lang)  # fail fast on an unknown recipe or language
    rows = []
    for lang, items in records.items():
        for record in items:
            rows.append(make_row(
                dataset=dataset, lang=lang, index=record.index, question=record.question,
                answer=record.answer, prompt=build_messages(record.question, recipe, lang),
                question_en=record.question_en, split=record.split, qid=record.qid,
                extra={"recipe": recipe},
            ))
    validate_rows(rows)
    return rows


def sample_per_language(
    records: Mapping[str, Sequence[Record]], n: int | None, seed: int = 0
) -> tuple[dict[str, list[Record]], dict[str, int]]:
    """At most ``n`` distinct questions per language, and how many each language lacks.

    Within a language, a question text seen before is dropped (the first copy stays); then, when more
    than ``n`` remain, ``n`` are drawn with ``random.Random(seed)`` and kept in their original order.
    ``n=None`` keeps every record as it is. The second value maps each language that has fewer than
    ``n`` distinct questions to the shortfall.

    >>> from verl_multiling.data_prep.sources import Record
    >>> recs = {"fr": [Record(f"q{i}", i, "fr", f"Q{i % 4}", i) for i in range(6)]}
    >>> kept, short = sample_per_language(recs, 3, seed=1)
    >>> len(kept["fr"]), len({r.question for r in kept["fr"]}), short
    (3, 3, {})
    >>> sample_per_language(recs, 5)[1]
    {'fr': 1}
    """
    if n is None:
        return {lang: list(items) for lang, items in records.items()}, {}
    if n < 1:
        raise ValueError(f"--per-language must be >= 1, got {n}")
    kept: dict[str, list[Record]] = {}
    short: dict[str, int] = {}
    for lang, items in records.items():
        seen: set[str] = set()
        distinct = [r for r in items if not (r.question in seen or seen.add(r.question))]
        if len(distinct) > n:
            chosen = set(random.Random(seed).sample(range(len(distinct)), n))
            distinct = [r for i, r in enumerate(distinct) if i in chosen]
        elif len(distinct) < n:
            short[lang] = n - len(distinct)
        kept[lang] = distinct
    return kept, short


def split_rows(
    rows: Sequence[Mapping[str, Any]], val_fraction: float, seed: int = 0
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """``(train, val)``: per language, ``round(n * val_fraction)`` rows (at least 1 when the
    fraction is positive and the language has 2+ rows) go to validation, chosen with ``seed``.

    With parallel data the same question index is held out in every language, so no
    translation of a validation question leaks into training.

    >>> rows = [{"lang": l, "extra_info": {"index": i}} for l in ("fr", "de") for i in range(4)]
    >>> train, val = split_rows(rows, 0.25)
    >>> len(train), len(val)
    (6, 2)
    >>> len({r["extra_info"]["index"] for r in val})   # the same question held out in both languages
    1
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    if val_fraction == 0.0:
        return list(rows), []
    by_lang: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_lang[row["lang"]].append(row)
    indices = sorted({row["extra_info"]["index"] for row in rows})
    rng = random.Random(seed)
    order = indices[:]
    rng.shuffle(order)
    smallest = min(len(items) for items in by_lang.values())
    n_val = max(1, round(smallest * val_fraction)) if smallest >= 2 else 0
    held = set(order[:n_val])
    train = [row for row in rows if row["extra_info"]["index"] not in held]
    val = [row for row in rows if row["extra_info"]["index"] in held]
    return train, val


def language_counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """``{lang: number of rows}``, sorted by language.

    >>> language_counts([{"lang": "fr"}, {"lang": "de"}, {"lang": "fr"}])
    {'de': 1, 'fr': 2}
    """
    return dict(sorted(Counter(row["lang"] for row in rows).items()))


def write_parquet(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write rows to ``path`` (parent directories created); returns the path."""
    import pandas as pd

    if not rows:
        raise ValueError(f"no rows to write to {path}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(list(rows)).to_parquet(path, index=False)
    return path
