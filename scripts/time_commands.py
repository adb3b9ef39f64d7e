#!/usr/bin/env python
"""Time the everyday commands as a user runs them (wall clock, fresh process each run) and print a table.

    python scripts/time_commands.py                      # every command, 3 runs each
    python scripts/time_commands.py --only static,full --runs 5

Commands (run from the repository root, with this interpreter's ``verl-multiling``):

* ``static``: ``verl-multiling preflight +recipe=adamame --static`` (config, data and scorer checks; no Ray)
* ``full``: ``verl-multiling preflight +recipe=adamame`` (adds the Ray reward loop on 104 rollouts)
* ``main_ppo_error``: ``python -m verl.trainer.main_ppo +recipe=adamame`` with two bad knobs (the startup
  check stops it before Ray starts; exit status 1)
* ``eval``: ``verl-multiling eval`` on the bundled sample generations (288 responses, 3 runs)

Each row gives the wall time of every run, the CPU time of the command's own process tree (user + sys of
the waited-for children: for ``full`` this leaves out the Ray workers, which Ray's daemon starts), the load
average (1 min) seen just before each run, and for preflight the stage times it reported in ``--json``.
Wall times from a machine that is busy with other work are larger (the load column says how busy it
was); the CPU time of ``static`` is close to the wall time the same command takes on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _commands(tmp: Path) -> dict[str, tuple[list[str], int]]:
    cli = str(BIN / "verl-multiling")
    return {
        "static": ([cli, "preflight", "+recipe=adamame", "--static", "--json", str(tmp / "static.json")], 0),
        "full": ([cli, "preflight", "+recipe=adamame", "--json", str(tmp / "full.json")], 0),
        "main_ppo_error": ([sys.executable, "-m", "verl.trainer.main_ppo", "+recipe=adamame",
                            "algorithm.adv_estimator=adamame_algn", "multiling.faults.retries=two"], 1),
        "eval": ([cli, "eval", str(ROOT / "verl_multiling" / "data" / "sample_generations.jsonl"),
                  "--out", str(tmp / "eval"), "--k", "1,2,4", "--quiet"], 0),
    }


def _stages(path: Path) -> str:
    if not path.exists():
        return ""
    timings = json.loads(path.read_text())["timings"]
    parts = [f"{s['stage']}: {s['seconds']:.1f}" for s in timings["stages"]]
    if "startup_s" in timings:
        parts.insert(0, f"start-up {timings['startup_s']:.1f}")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=None, help="comma-separated: static,full,main_ppo_error,eval")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        commands = _commands(tmp)
        names = [n for n in (args.only.split(",") if args.only else commands) if n]
        unknown = [n for n in names if n not in commands]
        if unknown:
            parser.error(f"unknown command(s) {unknown}; choose from {', '.join(commands)}")
        print(f"{os.cpu_count()} CPUs; {args.runs} run(s) each\n")
        print("| command | wall s (each run) | CPU s (each run) | load before (each run) | preflight stage s (last run) |")
        print("|---|---|---|---|---|")
        for name in names:
            command, expected = commands[name]
            walls, cpus, loads = [], [], []
            for _ in range(args.runs):
                loads.append(os.getloadavg()[0])
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
                walls.append(time.perf_counter() - start)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
                if done.returncode != expected:
                    print(f"{name}: exit status {done.returncode} (expected {expected})\n{done.stdout[-2000:]}"
                          f"{done.stderr[-2000:]}", file=sys.stderr)
                    return 1
            stages = _stages(tmp / f"{name}.json") if name in ("static", "full") else ""
            print(f"| `{name}` | {', '.join(f'{w:.1f}' for w in walls)} | {', '.join(f'{c:.1f}' for c in cpus)} "
                  f"| {', '.join(f'{x:.1f}' for x in loads)} | {stages} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
