"""Helpers the benchmark areas share: rollout builders, reward-manager construction, round-robin timers,
the markdown table printer and the cell formats of the ``versus_verl`` table. Not an area of its own.

Every batch a helper builds holds unseen strings (a fresh number per rollout), so that no parse, embedding or
translation cache makes a repeat look cheap; timers warm up once, then time the cases round-robin so that a
load spike from another process hits all of them alike.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import statistics
import sys
import time
import warnings

BOXED = re.compile(r"\\boxed\{[^{}]*\}")
_T0 = time.perf_counter()
# verl announces every optional training engine it cannot import (megatron, torchtitan, ...): noise here,
# in this process and in the math-verify pool processes it spawns
_ENGINE_NOISE = "ignore::UserWarning:verl.workers.engine"


def quiet_engine_warnings() -> None:
    """Silence verl's "engine is not available" warnings in this process and the processes it starts."""
    warnings.filterwarnings("ignore", message=".*engine is not available", category=UserWarning)
    if _ENGINE_NOISE not in os.environ.get("PYTHONWARNINGS", ""):
        os.environ["PYTHONWARNINGS"] = ",".join(x for x in (os.environ.get("PYTHONWARNINGS"), _ENGINE_NOISE) if x)


def elapsed() -> float:
    """Seconds since this module was imported (the start of a benchmark run)."""
    return time.perf_counter() - _T0


def log(msg: str) -> None:
    """A progress line on stderr, with the time since the start."""
    s = int(elapsed())
    print(f"[benchmark {s // 60:02d}:{s % 60:02d}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# rollouts and reward managers
# ---------------------------------------------------------------------------------------------------


def unique_rollouts(n: int, seed: int = 0, symbolic_share: float = 0.0) -> list[dict]:
    """n rollouts in 13 languages built from the bundled sample, each with a fresh number, so that
    math-verify's parse cache cannot make repeated strings look cheap. A ``symbolic_share`` of them
    get a surd answer (``\\sqrt{k}``, written as ``\\frac{k}{\\sqrt{k}}`` by correct rollouts), which
    only math-verify can check."""
    from verl_multiling.preflight.rollouts import load_rollouts

    base = [r for r in load_rollouts() if r["kind"] in ("native", "english", "wrong")]
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        row = dict(base[i % len(base)])
        gold = rng.randint(20, 10**6) * 10 + i % 10
        answer = str(gold if row["kind"] != "wrong" else gold + 1)
        gold_text = str(gold)
        if rng.random() < symbolic_share:
            k = rng.choice([2, 3, 5, 6, 7, 10, 11, 13])
            m = rng.randint(2, 999)
            gold_text = f"{m}\\sqrt{{{k}}}"
            answer = f"\\frac{{{m * k}}}{{\\sqrt{{{k}}}}}" if row["kind"] != "wrong" else f"{m + 1}\\sqrt{{{k}}}"
        row["response"] = BOXED.sub(lambda _m: "\\boxed{" + answer + "}", row["response"])
        row["ground_truth"] = gold_text
        row["uid"] = f"{row['uid']}-{i // 8}"
        rows.append(row)
    return rows


def mv_compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    """verl's math-verify scoring in the signature of a ``compute_score`` function."""
    from verl.utils.reward_score import math_verify

    return math_verify.compute_score(solution_str, ground_truth)


async def score_all(rm, data):
    """Every rollout of ``data`` as a concurrent ``run_single`` task, as a RewardLoopWorker drives a manager."""
    return await asyncio.gather(*(rm.run_single(data[i:i + 1]) for i in range(len(data))))


def time_manager(rm, batches: list) -> tuple[float, list]:
    """Best time over ``batches[1:]`` after a warm-up on ``batches[0]``; every batch holds unseen strings,
    so no parse cache helps either side."""
    rm.loop.run_until_complete(score_all(rm, batches[0]))  # warm-up: process pools, models, code paths
    best, outputs = float("inf"), None
    for data in batches[1:]:
        t0 = time.perf_counter()
        outputs = rm.loop.run_until_complete(score_all(rm, data))
        best = min(best, time.perf_counter() - t0)
    return best, outputs


def time_managers(managers: dict[str, tuple]) -> dict[str, tuple[float, list]]:
    """``{label: (manager, batches)}`` -> ``{label: (best seconds, outputs of the last batch)}``: every manager
    warms up on its ``batches[0]``, then round k scores ``batches[k]`` with each manager in turn (round-robin,
    so a load spike from another process hits all managers alike)."""
    for rm, batches in managers.values():
        rm.loop.run_until_complete(score_all(rm, batches[0]))
    rounds = min(len(b) for _, b in managers.values()) - 1
    best = {label: float("inf") for label in managers}
    outputs: dict[str, list] = {}
    for k in range(1, rounds + 1):
        for label, (rm, batches) in managers.items():
            t0 = time.perf_counter()
            outputs[label] = rm.loop.run_until_complete(score_all(rm, batches[k]))
            best[label] = min(best[label], time.perf_counter() - t0)
    return {label: (best[label], outputs[label]) for label in managers}


def reward_env(overrides: list[str]):
    """(tokenizer, our composed config, the same config with verl's naive manager) for a recipe."""
    from omegaconf import OmegaConf, open_dict
    from transformers import AutoTokenizer

    from verl_multiling.plumbing.offline_tokenizer import offline_tokenizer_dir
    from verl_multiling.preflight.compose import compose_config

    tok_dir = str(offline_tokenizer_dir())
    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    cfg = compose_config([*overrides, f"actor_rollout_ref.model.path={tok_dir}"])
    naive_cfg = OmegaConf.create(OmegaConf.to_container(cfg))
    with open_dict(naive_cfg):
        naive_cfg.reward.reward_manager = {"source": "register", "name": "naive", "module": {"path": None}}
    return tokenizer, cfg, naive_cfg


def build_manager(which: str, cfg, naive_cfg, tokenizer):
    """``ours``: verl's ``load_reward_manager`` on the recipe config; ``naive``: verl's NaiveRewardManager
    with verl's math-verify scoring; ``naive_string``: NaiveRewardManager with verl's default scoring."""
    from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager
    from verl.trainer.ppo.reward import load_reward_manager

    if which == "ours":
        return load_reward_manager(cfg, tokenizer)
    if which == "naive":
        return NaiveRewardManager(naive_cfg, tokenizer, compute_score=mv_compute_score)
    if which == "naive_string":
        return NaiveRewardManager(naive_cfg, tokenizer, None)
    raise ValueError(which)


def compare_reward_managers(overrides: list[str], make_batch, n: int, rounds: int,
                            make_string_batch=None) -> tuple[dict, dict, dict]:
    """Our manager and verl's naive + math_verify on the same ``rounds + 1`` batches of ``n`` rollouts
    (``make_batch(n, seed, tokenizer)``; batch 0 warms up), timed round-robin. Returns (figures, outputs
    of the last batch, managers), each keyed ``ours`` / ``naive`` (/ ``naive_string``: verl's default
    scoring on ``make_string_batch``'s batches, the same rollouts as lighteval/MATH, for context)."""
    import numpy as np

    tokenizer, cfg, naive_cfg = reward_env(overrides)
    batches = [make_batch(n, seed, tokenizer) for seed in range(rounds + 1)]
    managers = {which: build_manager(which, cfg, naive_cfg, tokenizer) for which in ("ours", "naive")}
    cases = {which: (rm, batches) for which, rm in managers.items()}
    if make_string_batch is not None:
        managers["naive_string"] = build_manager("naive_string", cfg, naive_cfg, tokenizer)
        cases["naive_string"] = (managers["naive_string"],
                                 [make_string_batch(n, seed, tokenizer) for seed in range(rounds + 1)])
    timed = time_managers(cases)
    figures, outputs = {}, {}
    for which, (seconds, outs) in timed.items():
        outputs[which] = outs
        figures[which] = {"seconds": seconds, "responses_per_s": n / seconds, "us_per_response": 1e6 * seconds / n,
                          "mean_score": float(np.mean([o["reward_score"] for o in outs]))}
    figures["ratio_ours_over_naive_math_verify"] = figures["ours"]["seconds"] / figures["naive"]["seconds"]
    figures["rollouts"], figures["rounds"] = n, rounds
    return figures, outputs, managers


# ---------------------------------------------------------------------------------------------------
# timers and inputs
# ---------------------------------------------------------------------------------------------------


def interleaved(cases: dict, repeats: int) -> dict:
    """Best and median ms per case (no-argument callables), timing the cases round-robin after one warm-up
    call each (a load spike hits all of them alike)."""
    for fn in cases.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: {"best_ms": 1e3 * min(t), "median_ms": 1e3 * statistics.median(t)} for name, t in times.items()}


def interleaved_rounds(cases: dict, rounds: int) -> dict:
    """``{name: fn(k)}``: round 0 warms up, rounds 1..rounds are timed round-robin; ``fn(k)`` works on the
    k-th set of fresh inputs. Returns ``{name: {"best_s", "median_s", "results": [fn(k) for k >= 1]}}``."""
    for fn in cases.values():
        fn(0)
    times: dict[str, list[float]] = {name: [] for name in cases}
    results: dict[str, list] = {name: [] for name in cases}
    for k in range(1, rounds + 1):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            results[name].append(fn(k))
            times[name].append(time.perf_counter() - t0)
    return {name: {"best_s": min(t), "median_s": statistics.median(t), "results": results[name]}
            for name, t in times.items()}


def outcome_batch(batch: int, length: int, group: int):
    """A seeded batch of outcome rewards (0/1 on the last valid token), random response lengths and uid groups
    of size ``group``: the same inputs for every estimator compared (also used by the recipes' benches).
    Returns (rewards, mask, index): two torch tensors and a numpy array of uids."""
    import numpy as np
    import torch

    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, length + 1, (batch,), generator=g)
    mask = (torch.arange(length)[None, :] < lengths[:, None]).float()
    rewards = torch.zeros(batch, length)
    rewards[torch.arange(batch), lengths - 1] = torch.randint(0, 2, (batch,), generator=g).float()
    index = np.array([f"uid-{i // group}" for i in range(batch)], dtype=object)
    return rewards, mask, index


# ---------------------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------------------


def print_table(title: str, rows: list[tuple], header: tuple, align: str | None = None) -> None:
    """A markdown table; ``align`` has one letter per column (l / r), default: first left, others right."""
    align = align or "l" + "r" * (len(header) - 1)
    print(f"\n## {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")


def fmt_ratio(ratio: float) -> str:
    """A ratio with two decimals, or three significant digits below 0.1."""
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def fmt_rate(per_s: float) -> str:
    """Items per second: thousands separated from 100 up, one decimal from 1, two below."""
    return f"{per_s:,.0f}" if per_s >= 100 else f"{per_s:.1f}" if per_s >= 1 else f"{per_s:.2f}"


def error_text(exc: BaseException) -> str:
    """An exception as one table cell (a ``skipped...`` message kept as it is)."""
    text = str(exc).replace("|", "/").replace("\n", " ")
    return text if text.startswith("skipped") else f"error: {type(exc).__name__}: {text[:300]}"


def guarded(fn) -> dict:
    """A section's figures, or ``{"error": ...}`` so one broken case does not stop the run."""
    try:
        return fn()
    except Exception as exc:
        log(f"  failed: {error_text(exc)}")
        return {"error": error_text(exc)}
