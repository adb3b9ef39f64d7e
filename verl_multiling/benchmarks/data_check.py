"""Peak memory and time of the data-file check (``check_data_file``) on a large parquet, per recipe.

Builds (once; ``--file`` reuses it) a parquet of about ``--mb`` MB of long prompts, written in small row
groups, as scripts/prepare_data.py lays it out: ``prompt`` (one user message), ``reward_model``, ``lang``,
``data_source``, ``question_en`` (TAPO's reference) and ``extra_info`` {index, question}. Then, for each
recipe, composes main_ppo's config with the file as data.train_files and measures one check:

* peak RSS growth = VmHWM after the check - VmRSS before it, with VmHWM reset just before
  (``/proc/self/clear_refs`` = 5; where that is refused, VmHWM before is the base), after a first check of a
  tiny file so that module imports are not counted;
* wall time of the check.

``--old REV`` also measures the pandas implementation of that git revision (``git show REV:...checks.py``
loaded as a temporary module), e.g. ``--old c5f735d`` (the last one before data_check.py). It reads the git
checkout of this package that the current directory is in (``git -C .``), so run it from inside one.

    python -m verl_multiling.benchmarks data_check --recipes adamame,tapo --old c5f735d

Prints one JSON line per (recipe, implementation) and, with ``--json``, nothing else.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OLD_CHECKS = "verl_multiling/preflight/checks.py"  # the pandas check_data_file lived here until data_check.py
LANGS = ("fr", "ja", "de", "es", "zh", "ru", "sw", "th")


def build(path: Path, mb: int, prompt_chars: int = 8000, group_rows: int = 512) -> int:
    """Write about ``mb`` MB of rows with incompressible ~``prompt_chars``-character prompts; returns the rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    per_row = prompt_chars + prompt_chars // 4 + prompt_chars // 2  # prompt + question_en + extra_info.question
    rows = max(1, mb * 1_000_000 // per_row)
    writer = None
    done = 0
    while done < rows:
        n = min(group_rows, rows - done)
        text = [base64.b64encode(os.urandom(prompt_chars * 3 // 4)).decode() for _ in range(n)]
        table = pa.table({
            "data_source": ["bench"] * n,
            "prompt": [[{"role": "user", "content": t}] for t in text],
            "reward_model": [{"ground_truth": str(i), "style": "rule"} for i in range(done, done + n)],
            "lang": [LANGS[i % len(LANGS)] for i in range(done, done + n)],
            "question_en": [t[: prompt_chars // 4] for t in text],
            "extra_info": [{"index": i, "question": t[: prompt_chars // 2]} for i, t in zip(range(done, done + n), text)],
        })
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=group_rows)
        done += n
    writer.close()
    return rows


def _status(key: str) -> int:
    """A /proc/self/status field in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def old_source(rev: str) -> str:
    """``verl_multiling/preflight/checks.py`` at git revision ``rev`` of the checkout the current directory is
    in; a ValueError that says what to do when there is no such checkout or revision."""
    try:
        proc = subprocess.run(["git", "-C", os.getcwd(), "show", f"{rev}:{OLD_CHECKS}"], capture_output=True,
                              text=True, check=False)
    except FileNotFoundError as exc:  # no git on PATH
        raise ValueError(f"--old {rev} needs git to read {OLD_CHECKS} at that revision: {exc}") from exc
    if proc.returncode != 0:
        raise ValueError(f"--old {rev}: `git -C {os.getcwd()} show {rev}:{OLD_CHECKS}` failed "
                         f"({proc.stderr.strip() or 'exit ' + str(proc.returncode)}); run this from inside a git "
                         "checkout of verl_multiling that has that revision")
    return proc.stdout


def _old_check(rev: str):
    """check_data_file as it was at ``rev`` (pandas), loaded from ``git show`` into a temporary module."""
    source = old_source(rev)
    handle = tempfile.NamedTemporaryFile("w", suffix="_old_checks.py", delete=False)
    handle.write(source)
    handle.close()
    spec = importlib.util.spec_from_file_location("old_checks", handle.name)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_checks"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.check_data_file


def measure(path: str, recipe: str, old_rev: str | None) -> list[dict]:
    """Run in a fresh process per recipe (see main): compose, then one check per implementation."""
    from verl_multiling.preflight import checks
    from verl_multiling.preflight.compose import compose_config
    from verl_multiling.preflight.data_check import check_data_file

    cfg = compose_config([f"+recipe={recipe}", f"data.train_files={path}", f"data.val_files={path}"])
    settings, _ = checks.check_multiling(cfg)
    impls = [("new", check_data_file)] + ([("old " + old_rev, _old_check(old_rev))] if old_rev else [])
    tiny = Path(tempfile.mkdtemp()) / "tiny.parquet"
    build(tiny, 1, prompt_chars=400, group_rows=64)
    out = []
    for name, check in impls:
        check(str(tiny), cfg, settings, "data.train_files")  # imports (pyarrow.parquet, pandas) are not data cost
        base = _status("VmRSS")
        reset = _reset_peak()
        base_peak = base if reset else _status("VmHWM")
        t0 = time.perf_counter()
        findings, summary = check(path, cfg, settings, "data.train_files")
        seconds = time.perf_counter() - t0
        growth = _status("VmHWM") - base_peak
        rows = None if summary is None else len(summary)
        out.append({"recipe": recipe, "impl": name, "rows": rows, "peak_rss_growth_mb": round(growth / 2**20, 1),
                    "seconds": round(seconds, 2), "peak_reset": reset,
                    "errors": [str(f) for f in findings if f.level == "error"]})
        del findings, summary
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", help="parquet to check (built when missing)")
    parser.add_argument("--mb", type=int, default=200, help="size of the built file, MB of text (default 200)")
    parser.add_argument("--group-rows", type=int, default=512, help="rows per row group of the built file")
    parser.add_argument("--recipes", default="adamame,tapo", help="comma-separated recipes (default adamame,tapo)")
    parser.add_argument("--old", metavar="REV", help="also measure the pandas check of this git revision")
    parser.add_argument("--json", action="store_true", help="print only the JSON lines")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: one recipe in this process
    args = parser.parse_args(argv)
    if args.child:
        for row in measure(args.file, args.child, args.old):
            print(json.dumps(row), flush=True)
        return 0
    if args.old:
        try:
            old_source(args.old)  # before any file is built: a clear error outside a git checkout
        except ValueError as exc:
            print(f"data_check: {exc}", file=sys.stderr)
            return 2
    path = Path(args.file or Path(tempfile.gettempdir()) / f"bench_data_check_{args.mb}mb.parquet")
    if not path.exists():
        t0 = time.perf_counter()
        rows = build(path, args.mb, group_rows=args.group_rows)
        if not args.json:
            print(f"built {path}: {rows} rows, {path.stat().st_size / 2**20:.0f} MiB in {time.perf_counter() - t0:.1f}s",
                  file=sys.stderr)
    for recipe in args.recipes.split(","):  # a fresh process each: one recipe's check cannot raise the next's base
        cmd = [sys.executable, "-m", "verl_multiling.benchmarks", "data_check", "--file", str(path), "--child",
               recipe] + (["--old", args.old] if args.old else [])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            print(proc.stderr[-3000:], file=sys.stderr)
            return proc.returncode
        sys.stdout.write("".join(line + "\n" for line in proc.stdout.splitlines() if line.startswith("{")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
