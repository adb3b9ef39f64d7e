"""The miniature's verl data files: train and held-out parquet in the row format verl's ``RLHFDataset`` reads.

Columns: ``data_source`` (``miniature``), the chat ``prompt``, ``reward_model.ground_truth`` (the gold answer),
``lang`` (ℓ_q), ``extra_info`` (``uid``, ``question``, ``question_en``: TAPO's translation reference and
PB-RLSVR's pivot input) and, for PB-RLSVR, ``pivot_response`` (y_en from the pivot job).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from verl_multiling.miniature.task import Problem

DATA_SOURCE = "miniature"


def rows(items: Sequence[Problem], pivots: Mapping[str, str] | None = None) -> list[dict]:
    """One verl row per problem; ``pivots`` maps a problem's uid to its pivot reference y_en."""
    out = []
    for p in items:
        row = {
            "data_source": DATA_SOURCE,
            "prompt": [{"role": "user", "content": p.question}],
            "reward_model": {"ground_truth": str(p.answer), "style": "rule"},
            "lang": p.lang,
            "extra_info": {"uid": p.uid, "question": p.question, "question_en": p.question_en},
        }
        if pivots is not None:
            row["pivot_response"] = pivots[p.uid]
        out.append(row)
    return out


def write_parquet(items: Sequence[Problem], path: Path, pivots: Mapping[str, str] | None = None) -> Path:
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(path.name + ".tmp")
    pd.DataFrame(rows(items, pivots)).to_parquet(staging, index=False)
    staging.replace(path)
    return path
