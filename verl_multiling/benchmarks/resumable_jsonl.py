"""Cost of one append to a large output of a resumable job (``verl-multiling generate``, pivot references).

    python -m verl_multiling.benchmarks resumable_jsonl --mb 400 --appends 20 --batch 8
    # any other append function (path, records) for comparison, e.g. an older version of a writer:
    python -m verl_multiling.benchmarks resumable_jsonl --mb 400 --legacy /tmp/old_io.py:append_jsonl

Builds a JSONL file of ``--mb`` MB of generate-shaped records (about 8 KB each, multi-byte text), then
appends ``--appends`` batches of ``--batch`` records and reports, per append: wall time, bytes the process
read (the kernel's ``rchar`` from /proc/self/io, page cache included) and the growth of peak memory.
The default writer is :class:`verl_multiling.plumbing.resumable_jsonl.AppendOnlyJsonl` (opened once: its one
streaming pass is reported as ``open_s``); ``--legacy`` calls the given function once per batch instead.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path


def rchar() -> int | None:
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def record(i: int) -> dict:
    text = ("Réponse 答え 🙂 step %d: 2 + 2 = 4. " % i) * 220  # ~8 KB of UTF-8
    return {"run": "bench", "id": f"q{i // 4}", "lang": "ja", "sample_index": i % 4, "question": "2 + 2 = ?",
            "question_en": "2 + 2 = ?", "ground_truth": "4", "response": text + "\\boxed{4}", "num_tokens": 2048}


def build(path: Path, megabytes: float) -> int:
    from verl_multiling.plumbing.resumable_jsonl import encode_record

    target, count, size = int(megabytes * 2**20), 0, 0
    with open(path, "wb") as handle:
        while size < target:
            line = encode_record(record(count))
            handle.write(line)
            size += len(line)
            count += 1
        handle.flush()
        os.fsync(handle.fileno())  # else the first measured fsync would write the whole file out
    return count


def load_legacy(spec: str):
    file, _, name = spec.partition(":")
    module_spec = importlib.util.spec_from_file_location("legacy_writer", file)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["legacy_writer"] = module  # dataclasses look their module up
    module_spec.loader.exec_module(module)
    return getattr(module, name or "append_jsonl")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=400, help="size of the existing output (MB)")
    parser.add_argument("--appends", type=int, default=20)
    parser.add_argument("--batch", type=int, default=8, help="records per append (generate's default batch)")
    parser.add_argument("--dir", default=None, help="where to build the file (default: a temporary directory)")
    parser.add_argument("--legacy", default=None, help="FILE.py:FUNCTION, an append function (path, records)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "run.jsonl"
        t0 = time.perf_counter()
        existing = build(path, args.mb)
        size_mb = path.stat().st_size / 2**20
        print(f"built {path} ({size_mb:.0f} MB, {existing} records) in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
        open_s = None
        if args.legacy:
            legacy = load_legacy(args.legacy)

            def append(batch):
                legacy(path, batch)
        else:
            from verl_multiling.evaluation.generate import sample_key
            from verl_multiling.plumbing.resumable_jsonl import AppendOnlyJsonl

            t0 = time.perf_counter()
            writer = AppendOnlyJsonl(path, sample_key)
            open_s = time.perf_counter() - t0
            append = writer.append
        rss0 = peak_rss_mb()
        seconds, reads = [], []
        for n in range(args.appends):
            batch = [record(existing + n * args.batch + j) for j in range(args.batch)]
            r0, t0 = rchar(), time.perf_counter()
            append(batch)
            seconds.append(time.perf_counter() - t0)
            r1 = rchar()
            reads.append(None if r0 is None else r1 - r0)
        if not args.legacy:
            writer.close()
        result = {
            "writer": args.legacy or "AppendOnlyJsonl", "file_mb": round(size_mb, 1), "batch": args.batch,
            "appends": args.appends, "open_s": None if open_s is None else round(open_s, 3),
            "append_ms_median": round(statistics.median(seconds) * 1e3, 2),
            "append_ms_max": round(max(seconds) * 1e3, 2),
            "read_mb_per_append": None if reads[0] is None else round(statistics.median(reads) / 2**20, 3),
            "peak_rss_growth_mb": round(peak_rss_mb() - rss0, 1),
        }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
