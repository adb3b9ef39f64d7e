"""What runaway user task functions cost the calls after them: 30 normal calls, 4 spinning ones, 30 normal calls.

The user's ``reward.custom_reward_function`` runs under ``multiling.task.timeout_s``. Two ways to bound it:

* ``thread``: the call on a daemon thread, abandoned at the timeout (how the plugin ran it before issue 22): a
  spinning function keeps its thread and the GIL, and every later call slows down;
* ``process``: the call in a killable worker process (:mod:`verl_multiling.rewards.task_worker`, the plugin's
  way now): the spinning worker is killed at the timeout and a warm spare takes over.

Prints, for each, the seconds of 30 normal calls before and after the 4 spinning ones, their ratio, and the
threads and task worker processes alive at the end::

    python -m verl_multiling.benchmarks task_function [--timeout-s 1.0] [--calls 30] [--spins 4]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import threading
import time
from pathlib import Path

FUNCTION = '''
def compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    while data_source == "spin":
        pass
    return 1.0 if solution_str.strip() == str(ground_truth) else 0.0
'''


def _calls(score, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        score("ok", str(i), str(i))
    return time.perf_counter() - started


def run(mode: str, path: Path, timeout_s: float, calls: int, spins: int) -> dict:
    from verl_multiling.config.faults import FaultPolicy, ScorerGuard
    from verl_multiling.reward_managers.task import CustomTask
    from verl_multiling.rewards.task import TaskSchema
    from verl_multiling.rewards.task_worker import FunctionSpec, load_function

    policy = FaultPolicy(retries=0, backoff_s=0.0, timeout_s=timeout_s, breaker_failures=10**6)
    threads_before = threading.active_count()
    if mode == "thread":
        fn = load_function(str(path), "compute_score")
        guard = ScorerGuard("bench", policy)

        def score(data_source, solution, gold):
            try:
                return guard.call(lambda: fn(data_source=data_source, solution_str=solution, ground_truth=gold,
                                             extra_info={})).value
            except Exception:  # noqa: BLE001 - the timed-out spins
                return None
        task = None
    else:
        task = CustomTask(FunctionSpec(str(path), "compute_score"), policy, TaskSchema())

        def score(data_source, solution, gold):
            return task.score(data_source, solution, gold, {})
        score("ok", "0", "0")  # start the pool (a reward worker's first call; not counted)
    _calls(score, 3)  # warm
    before = _calls(score, calls)
    spin_started = time.perf_counter()
    for _ in range(spins):
        score("spin", "x", "y")
    spin_s = time.perf_counter() - spin_started
    if task is not None:  # let the replacement spare finish starting (a reward worker's idle moment)
        for thread in threading.enumerate():
            if thread.name == "task-function-spare":
                thread.join(timeout=60)
    after = _calls(score, calls)
    workers = [p for p in multiprocessing.active_children() if p.name == "verl-multiling-task-function"]
    result = {"mode": mode, "before_s": before, "spins_s": spin_s, "after_s": after, "ratio": after / before,
              "threads": threading.active_count() - threads_before, "task_processes": len(workers),
              "kills": None if task is None else task.pool.kills}
    if task is not None:
        task.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout-s", type=float, default=1.0, help="multiling.task.timeout_s (default 1.0)")
    parser.add_argument("--calls", type=int, default=30, help="normal calls before and after (default 30)")
    parser.add_argument("--spins", type=int, default=4, help="spinning calls between them (default 4)")
    parser.add_argument("--only", choices=("thread", "process"), help="one mode only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spinning_task.py"
        path.write_text(FUNCTION)
        print(f"{'mode':8} {'30 before':>10} {'4 spins':>8} {'30 after':>9} {'after/before':>12} {'threads+':>8} "
              f"{'workers':>7} {'kills':>5}".replace("30", str(args.calls)).replace("4 spins", f"{args.spins} spins"))
        # the process mode first: the thread mode leaves its spinning threads behind for good
        for mode in ("process", "thread"):
            if args.only and mode != args.only:
                continue
            r = run(mode, path, args.timeout_s, args.calls, args.spins)
            print(f"{r['mode']:8} {r['before_s']:10.3f} {r['spins_s']:8.2f} {r['after_s']:9.3f} {r['ratio']:12.2f} "
                  f"{r['threads']:8d} {r['task_processes']:7d} {'-' if r['kills'] is None else r['kills']:>5}")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
