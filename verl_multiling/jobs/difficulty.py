r"""Difficulty filter for RL prompts (AdaMame stage 2 data): keep the prompts a model solves sometimes.

For a prompt q with gold answer a_q and k responses y_1..y_k sampled from the model (in AdaMame, the
stage-1 SFT model):

    c(q) = sum_{j=1..k} 1[ check_answer(y_j, a_q) ]          (the GRPO reward's own answer check)
    keep q  iff  lo <= c(q) <= hi                              (released: k = 8, lo = 1, hi = 7)

A GRPO group whose k rewards are all equal (c = 0 or c = k) has zero advantage for every response, so
such a prompt spends rollouts without moving the policy; the released AdaMame data keeps only prompts
with 1 <= c < 8 of 8 (dayeonki/adamame, 3_eval/filter_for_rl.py). A prompt with fewer than k samples
in the generations file is ``incomplete`` and not kept (rerun: generation resumes where it stopped).

Pure functions here (:func:`correct_counts`, :func:`classify`, :func:`select`, :func:`cap_per_language`,
:func:`report_table`); :func:`main` is the command line (``scripts/difficulty_filter.py``), which samples
with :func:`verl_multiling.evaluation.generate.generate` (resumable; vLLM on a GPU, transformers else).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from verl_multiling.plumbing.output_files import check_output_file

__all__ = [
    "INCOMPLETE",
    "KEPT",
    "TOO_EASY",
    "TOO_HARD",
    "cap_per_language",
    "classify",
    "correct_counts",
    "main",
    "report_table",
    "select",
]

KEPT, TOO_HARD, TOO_EASY, INCOMPLETE = "kept", "too_hard", "too_easy", "incomplete"
OUTCOMES: tuple[str, ...] = (KEPT, TOO_HARD, TOO_EASY, INCOMPLETE)
EXIT_BAD_INPUT, EXIT_NOTHING_KEPT = 2, 3


@dataclass(frozen=True)
class Counts:
    """Samples found (``n``, counting sample indices below k only) and correct ones (``c``) of a prompt."""

    n: int
    c: int


def correct_counts(records: Iterable[Mapping[str, Any]], k: int, timeout_s: float = 5.0) -> dict[tuple[str, str], Counts]:
    """``{(lang, id): Counts}`` over generation records (fields ``id``, ``lang``, ``response``,
    ``ground_truth``, ``sample_index``); samples with ``sample_index >= k`` and repeated sample indices
    are ignored.

    Raises:
        ValueError: a record without one of those fields (naming it).
    """
    from verl_multiling.scorers.math_answer import check_answer

    seen: set[tuple[str, str, int]] = set()
    n: Counter = Counter()
    c: Counter = Counter()
    for position, record in enumerate(records):
        missing = [f for f in ("id", "lang", "response", "ground_truth", "sample_index") if record.get(f) is None]
        if missing:
            raise ValueError(f"generation record {position} has no {missing} (write it with verl-multiling generate)")
        lang, qid, index = str(record["lang"]).strip().lower(), str(record["id"]), int(record["sample_index"])
        if index >= k or (lang, qid, index) in seen:
            continue
        seen.add((lang, qid, index))
        n[(lang, qid)] += 1
        verdict = check_answer(str(record["response"]), str(record["ground_truth"]), lang=lang, timeout_s=timeout_s)
        c[(lang, qid)] += bool(verdict.correct)
    return {key: Counts(n[key], c[key]) for key in n}


def classify(counts: Counts | None, k: int, lo: int, hi: int) -> str:
    """The outcome of one prompt: ``kept`` when ``lo <= c <= hi`` over all k samples, ``too_hard`` below,
    ``too_easy`` above, ``incomplete`` with fewer than k samples.

    >>> [classify(Counts(8, c), 8, 1, 7) for c in (0, 1, 7, 8)]
    ['too_hard', 'kept', 'kept', 'too_easy']
    >>> classify(Counts(5, 3), 8, 1, 7), classify(None, 8, 1, 7)
    ('incomplete', 'incomplete')
    """
    if counts is None or counts.n < k:
        return INCOMPLETE
    if counts.c < lo:
        return TOO_HARD
    if counts.c > hi:
        return TOO_EASY
    return KEPT


def select(
    rows: Sequence[Mapping[str, Any]], keys: Sequence[tuple[str, str]], counts: Mapping[tuple[str, str], Counts],
    k: int, lo: int, hi: int,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """``(kept rows, per-language report)``. ``keys[i]`` is row i's ``(lang, id)``. A kept row is a copy
    whose ``extra_info`` gains ``difficulty = {"correct": c, "k": k}``. The report maps each language (and
    ``"all"``) to the number of prompts, each outcome's count and ``mean_correct_kept``.
    """
    if len(rows) != len(keys):
        raise ValueError(f"{len(rows)} rows but {len(keys)} keys")
    kept: list[dict[str, Any]] = []
    tally: dict[str, Counter] = defaultdict(Counter)
    correct_sum: Counter = Counter()
    for row, key in zip(rows, keys):
        found = counts.get(key)
        outcome = classify(found, k, lo, hi)
        for group in (key[0], "all"):
            tally[group]["prompts"] += 1
            tally[group][outcome] += 1
            if outcome == KEPT:
                correct_sum[group] += found.c
        if outcome == KEPT:
            extra = dict(row.get("extra_info") or {})
            extra["difficulty"] = {"correct": found.c, "k": k}
            kept.append({**row, "extra_info": extra})
    report = {}
    for group in sorted(tally, key=lambda g: (g == "all", g)):
        entry = {"prompts": tally[group]["prompts"], **{o: tally[group][o] for o in OUTCOMES}}
        entry["mean_correct_kept"] = correct_sum[group] / entry[KEPT] if entry[KEPT] else None
        report[group] = entry
    return kept, report


def cap_per_language(rows: Sequence[dict[str, Any]], n: int | None, seed: int = 42) -> list[dict[str, Any]]:
    """At most ``n`` rows per ``lang``, drawn with ``random.Random(seed)``, in their original order.

    >>> rows = [{"lang": l, "i": i} for l in ("fr", "ja") for i in range(5)]
    >>> [r["lang"] for r in cap_per_language(rows, 2)]
    ['fr', 'fr', 'ja', 'ja']
    """
    if n is None:
        return list(rows)
    by_lang: dict[str, list[int]] = defaultdict(list)
    for position, row in enumerate(rows):
        by_lang[row["lang"]].append(position)
    chosen: set[int] = set()
    for lang in sorted(by_lang):
        positions = by_lang[lang]
        chosen |= set(positions if len(positions) <= n else random.Random(seed).sample(positions, n))
    return [row for position, row in enumerate(rows) if position in chosen]


def report_table(report: Mapping[str, Mapping[str, Any]], lo: int, hi: int, k: int) -> str:
    """The per-language report as a Markdown table."""
    lines = [f"| lang | prompts | kept ({lo} <= c <= {hi} of {k}) | too hard (c < {lo}) | too easy (c > {hi}) "
             "| incomplete | mean c of kept |", "|---|---:|---:|---:|---:|---:|---:|"]
    for lang, entry in report.items():
        mean = "-" if entry["mean_correct_kept"] is None else f"{entry['mean_correct_kept']:.2f}"
        lines.append(f"| {lang} | {entry['prompts']} | {entry[KEPT]} | {entry[TOO_HARD]} | {entry[TOO_EASY]} "
                     f"| {entry[INCOMPLETE]} | {mean} |")
    return "\n".join(lines)


# --- command line ---------------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/difficulty_filter.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__ + "\nExample (AdaMame: the SFT model, 8 samples, keep 1..7):\n"
        "  python scripts/difficulty_filter.py --data pool/dapomath17k.parquet --model SFT_MERGED \\\n"
        "      --out ~/data/adamame/train.parquet --per-language 1000")
    parser.add_argument("--data", required=True, help="prompts: a verl parquet (scripts/prepare_data.py)")
    parser.add_argument("--model", default=None,
                        help="model to sample with (directory or hub name); omit to count an existing "
                             "--generations file only")
    parser.add_argument("--out", required=True, help="output parquet of the kept prompts (same columns)")
    parser.add_argument("--generations", default=None,
                        help="JSONL of the samples, appended and resumed (default: OUT with .generations.jsonl)")
    parser.add_argument("--report", default=None, help="also write the per-language counts as JSON here")
    parser.add_argument("--k", type=int, default=8, help="samples per prompt (released: 8)")
    parser.add_argument("--min-correct", type=int, default=1, help="keep prompts with at least this many correct "
                                                                  "samples (released: 1)")
    parser.add_argument("--max-correct", type=int, default=None,
                        help="and at most this many (default k - 1; released: 7 of 8)")
    parser.add_argument("--per-language", type=int, default=None,
                        help="then keep at most N prompts per language, drawn with --seed (AdaMame: 1000)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the per-language draw and of sampling")
    sampling = parser.add_argument_group("sampling (ours: as GRPO's rollout samples, n 8, T 0.8, top-p 1, "
                                         "4096 tokens)")
    sampling.add_argument("--temperature", type=float, default=0.8)
    sampling.add_argument("--top-p", type=float, default=1.0)
    sampling.add_argument("--max-new-tokens", type=int, default=4096)
    sampling.add_argument("--backend", default="auto", choices=["auto", "vllm", "transformers"])
    sampling.add_argument("--batch-size", type=int, default=8, help="questions per batch (transformers)")
    sampling.add_argument("--timeout", type=float, default=5.0, help="seconds per math-verify check")
    return parser


def _rows_and_keys(data: Path) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The parquet's rows and each row's ``(lang, id)``, the key ``generate`` writes."""
    import pandas as pd

    from verl_multiling.evaluation.generate import load_questions

    if data.suffix != ".parquet":
        raise ValueError(f"--data {data}: give a verl parquet (scripts/prepare_data.py writes one)")
    questions = load_questions(data)
    rows = pd.read_parquet(data).to_dict("records")
    keys = [(str(q["lang"]).strip().lower(), str(q["id"])) for q in questions]
    duplicated = [key for key, count in Counter(keys).items() if count > 1]
    if duplicated:
        raise ValueError(f"--data {data}: {len(duplicated)} (lang, id) pairs occur twice, e.g. {duplicated[0]}; "
                         "every prompt needs its own id (extra_info.id)")
    return rows, keys


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    hi = args.k - 1 if args.max_correct is None else args.max_correct
    out = Path(args.out)
    generations = Path(args.generations) if args.generations else out.with_suffix(".generations.jsonl")
    try:
        if args.k < 1 or not 0 <= args.min_correct <= hi <= args.k:
            raise ValueError(f"need 0 <= --min-correct ({args.min_correct}) <= --max-correct ({hi}) <= --k ({args.k})")
        if args.per_language is not None and args.per_language < 1:
            raise ValueError(f"--per-language must be >= 1, got {args.per_language}")
        rows, keys = _rows_and_keys(Path(args.data))
        check_output_file(out, "--out", "train.parquet")  # before sampling: a late failure would lose the whole run
        if args.report:
            check_output_file(args.report, "--report", "report.json")
        if args.model is not None:
            from verl_multiling.evaluation.generate import GenerationConfig, generate

            config = GenerationConfig(k=args.k, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                                      top_p=args.top_p, backend=args.backend, batch_size=args.batch_size,
                                      seed=args.seed, run="difficulty_filter")
            written = generate(args.data, args.model, generations, config)
            print(f"sampled {written} new responses into {generations}")
        elif not generations.is_file():
            raise FileNotFoundError(f"--generations {generations} not found: pass --model to sample, or the "
                                    "file `verl-multiling generate` wrote")
        from verl_multiling.evaluation.io import read_generations

        counts = correct_counts(read_generations(generations), args.k, args.timeout)
        kept, report = select(rows, keys, counts, args.k, args.min_correct, hi)
    except (ValueError, OSError) as exc:  # OSError: FileNotFoundError, ConnectionError (an offline hub name)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return _write(args, out, kept, report, hi)
    except OSError as exc:  # the path was writable at the start; a full disk, a permission changed since
        print(f"error: writing the results failed ({exc}); the samples are kept in {generations}: rerun the same "
              "command with a writable --out/--report to count them again without sampling", file=sys.stderr)
        return EXIT_BAD_INPUT


def _write(args: argparse.Namespace, out: Path, kept: list[dict[str, Any]], report: dict, hi: int) -> int:
    kept = cap_per_language(kept, args.per_language, args.seed)
    for lang, entry in report.items():
        entry["written"] = sum(row["lang"] == lang for row in kept) if lang != "all" else len(kept)
    print(report_table(report, args.min_correct, hi, args.k))
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps({"k": args.k, "min_correct": args.min_correct, "max_correct": hi,
                                                 "per_language": args.per_language, "languages": report},
                                                indent=2) + "\n", encoding="utf-8")
    if not kept:
        print(f"error: no prompt kept (see the table); nothing written to {out}", file=sys.stderr)
        return EXIT_NOTHING_KEPT
    from verl_multiling.data_prep.build import write_parquet

    write_parquet(kept, out)
    print(f"{out}: {len(kept)} prompts  " + "  ".join(
        f"{lang}={entry['written']}" for lang, entry in report.items() if lang != "all"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
