"""Side-by-side benchmark of the AdaMame reward path and estimators against verl's built-ins.

Prints, on the same inputs in one run:
1. reward path: responses/s of ``AdaMameRewardManager`` (math-verify + numeral normaliser + language ID)
   against verl's ``naive`` manager with verl's math-verify scoring
   (``verl.utils.reward_score.math_verify``), both loaded by ``load_reward_manager`` and driven like a
   RewardLoopWorker (all rollouts of the batch as concurrent ``run_single`` tasks on the manager's loop);
   verl's string-match default (``lighteval/MATH``) is printed for context;
2. estimators: ``adamame_align`` and ``adamame`` against ``grpo_vectorized`` (and ``grpo``) on a
   B x L batch (default 4096 x 4096), best of --repeats;
3. language ID backends: accuracy and throughput (scripts/bench_language_id.py).

    python scripts/benchmark.py                      # everything (about 2-3 minutes on 2 CPU cores)
    python scripts/benchmark.py --only estimators --batch 4096 --length 4096
    python scripts/benchmark.py --json bench.json
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import random
import re
import runpy
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
BOXED = re.compile(r"\\boxed\{[^{}]*\}")


# ---------------------------------------------------------------------------------------------------
# 1. reward path
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


def _mv_compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs):
    from verl.utils.reward_score import math_verify

    return math_verify.compute_score(solution_str, ground_truth)


def time_manager(rm, batches: list) -> tuple[float, list]:
    """Best time over ``batches[1:]`` after a warm-up on ``batches[0]``; every batch holds unseen strings,
    so no parse cache helps either side."""

    async def score_all(data):
        return await asyncio.gather(*(rm.run_single(data[i:i + 1]) for i in range(len(data))))

    rm.loop.run_until_complete(score_all(batches[0]))  # warm-up: process pools, models, code paths
    best, outputs = float("inf"), None
    for data in batches[1:]:
        t0 = time.perf_counter()
        outputs = rm.loop.run_until_complete(score_all(data))
        best = min(best, time.perf_counter() - t0)
    return best, outputs


def bench_reward_path(n: int, repeats: int, symbolic_share: float = 0.0) -> dict:
    from omegaconf import OmegaConf, open_dict
    from transformers import AutoTokenizer
    from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager
    from verl.trainer.ppo.reward import load_reward_manager

    from verl_multiling.offline_tokenizer import offline_tokenizer_dir
    from verl_multiling.preflight.compose import compose_config
    from verl_multiling.preflight.rollouts import build_dataproto

    tok_dir = str(offline_tokenizer_dir())
    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    row_sets = [unique_rollouts(n, seed=seed, symbolic_share=symbolic_share) for seed in range(repeats + 1)]
    cfg = compose_config(["+recipe=adamame", f"actor_rollout_ref.model.path={tok_dir}",
                          "multiling.languages=[en,fr,de,es,pt,ru,zh,ja,ko,th,bn,sw,te]"])
    naive_cfg = OmegaConf.create(OmegaConf.to_container(cfg))
    with open_dict(naive_cfg):
        naive_cfg.reward.reward_manager = {"source": "register", "name": "naive", "module": {"path": None}}
    math_batches = [build_dataproto(rows, tokenizer) for rows in row_sets]
    string_batches = [build_dataproto([{**r, "data_source": "lighteval/MATH"} for r in rows], tokenizer)
                      for rows in row_sets]
    managers = {
        OURS: (load_reward_manager(cfg, tokenizer), math_batches),
        NAIVE_MV: (NaiveRewardManager(naive_cfg, tokenizer, compute_score=_mv_compute_score), math_batches),
        NAIVE_STRING: (NaiveRewardManager(naive_cfg, tokenizer, None), string_batches),
    }
    results = {}
    for label, (rm, batches) in managers.items():
        seconds, outputs = time_manager(rm, batches)
        results[label] = {"seconds": seconds, "responses_per_s": n / seconds, "us_per_response": 1e6 * seconds / n,
                          "mean_score": float(np.mean([o["reward_score"] for o in outputs]))}
    results["ratio_ours_over_naive_math_verify"] = results[OURS]["us_per_response"] / results[NAIVE_MV]["us_per_response"]
    return results


OURS = "adamame (ours: math-verify + normaliser + language ID)"
NAIVE_MV = "verl naive + verl math_verify"
NAIVE_STRING = "verl naive + lighteval/MATH string match (context)"


# ---------------------------------------------------------------------------------------------------
# 2. estimators
# ---------------------------------------------------------------------------------------------------


def outcome_batch(batch: int, length: int, group: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """A seeded batch of outcome rewards (0/1 on the last valid token), random response lengths and uid groups
    of size ``group``: the same inputs for every estimator compared (also used by the recipes' benches)."""
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, length + 1, (batch,), generator=g)
    mask = (torch.arange(length)[None, :] < lengths[:, None]).float()
    rewards = torch.zeros(batch, length)
    rewards[torch.arange(batch), lengths - 1] = torch.randint(0, 2, (batch,), generator=g).float()
    index = np.array([f"uid-{i // group}" for i in range(batch)], dtype=object)
    return rewards, mask, index


def bench_estimators(batch: int, length: int, group: int, repeats: int) -> dict:
    from omegaconf import OmegaConf
    from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage, compute_grpo_vectorized_outcome_advantage

    from verl_multiling.estimators.adamame import compute_adamame_advantage, compute_adamame_align_advantage

    rewards, mask, index = outcome_batch(batch, length, group)
    rng = np.random.default_rng(0)
    langs = rng.choice(["fr", "en", "ja", ""], size=batch)
    info = {"lang_match": (langs == "fr").astype(float).tolist(), "response_lang": langs.tolist()}
    info = {k: np.asarray(v, dtype=object) for k, v in info.items()}  # as the bridge hands it over
    algo = OmegaConf.create({"norm_adv_by_std_in_grpo": True, "adamame": {"bonus": 2.0}})
    bridge = dict(reward_extra_info=info, global_step=50, total_steps=100)
    cases = {
        "grpo_vectorized (verl)": lambda: compute_grpo_vectorized_outcome_advantage(rewards, mask, index=index),
        "grpo (verl)": lambda: compute_grpo_outcome_advantage(rewards, mask, index=index),
        "adamame_align": lambda: compute_adamame_align_advantage(rewards, mask, index=index, config=algo, **bridge),
        "adamame": lambda: compute_adamame_advantage(rewards, mask, index=index, config=algo, **bridge),
    }
    results = {}
    for name, fn in cases.items():
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        results[name] = {"best_ms": 1e3 * min(times), "median_ms": 1e3 * statistics.median(times)}
    ref = results["grpo_vectorized (verl)"]["best_ms"]
    for name in results:
        results[name]["ratio_vs_grpo_vectorized"] = results[name]["best_ms"] / ref
    return results


# ---------------------------------------------------------------------------------------------------


def print_table(title: str, rows: list[tuple], header: tuple) -> None:
    print(f"\n## {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["reward", "estimators", "language_id"], action="append")
    parser.add_argument("--rollouts", type=int, default=1024, help="rollouts for the reward path (default 1024)")
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--length", type=int, default=4096)
    parser.add_argument("--group", type=int, default=8, help="rollouts per prompt (rollout.n)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--symbolic-share", type=float, default=0.25,
                        help="also time the reward path with this share of symbolic (math-verify-only) answers")
    parser.add_argument("--json", help="write all figures to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    only = set(args.only or ["reward", "estimators", "language_id"])
    out: dict = {"torch_threads": 1}
    if "estimators" in only:
        est = bench_estimators(args.batch, args.length, args.group, args.repeats)
        out["estimators"] = est
        print_table(f"Estimators on a {args.batch} x {args.length} batch (G={args.group}, 1 thread)",
                    [(k, f"{v['best_ms']:.1f}", f"{v['median_ms']:.1f}", f"{v['ratio_vs_grpo_vectorized']:.2f}x")
                     for k, v in est.items()], ("estimator", "best ms", "median ms", "vs grpo_vectorized"))
    if "reward" in only:
        for share in sorted({0.0, args.symbolic_share}):
            rew = bench_reward_path(args.rollouts, max(1, args.repeats // 2), share)
            out[f"reward_path_symbolic_{share:g}"] = rew
            rows = [(k, f"{v['responses_per_s']:.0f}", f"{v['us_per_response']:.0f}", f"{v['mean_score']:.3f}")
                    for k, v in rew.items() if isinstance(v, dict)]
            print_table(f"Reward path on {args.rollouts} unique rollouts in 13 languages, {share:.0%} symbolic "
                        "answers (one process)", rows, ("manager", "responses/s", "us/response", "mean score"))
            print(f"\nratio ours / verl naive+math_verify (per response): "
                  f"{rew['ratio_ours_over_naive_math_verify']:.2f}x")
    if "language_id" in only:
        print("\n## Language ID backends (scripts/bench_language_id.py)\n", flush=True)
        bench = runpy.run_path(str(ROOT / "scripts" / "bench_language_id.py"))
        result = bench["main"]([]) if "main" in bench else None
        out["language_id"] = result
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
