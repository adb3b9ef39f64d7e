"""TAPO benchmarks (estimators, translation scoring, reward path), side by side on the same inputs in one run.

1. estimators: ``tapo`` (step mode, λ = 1 and 0.5; contrast mode) against verl's ``grpo_vectorized``
   (and ``grpo``) on a B x L batch (default 4096 x 4096), best and median of --repeats, the cases timed
   round-robin so that load from other processes hits all alike; the target is tapo <= 1.5x
   grpo_vectorized;
2. translation scoring on CPU: segments/s of chrF (sacrebleu, batched through our scorer and one
   ``sentence_score`` call at a time) and, when a COMET checkpoint directory is given (``--comet DIR``,
   e.g. one built by ``verl_multiling.scorers.comet.build_random_checkpoint``; ``--build-comet-large DIR``
   builds one with wmt22-comet-da's compute: XLM-R large, 24 x 1024, random weights), of our COMET loader;
3. reward path (``--only reward``): responses/s of ``TapoRewardManager`` (``+recipe=tapo``, chrF) against
   verl's naive manager with verl's math-verify scoring on the same unique TAPO rollouts (``tapo_rollouts``),
   driven like a RewardLoopWorker; this is the tapo row of ``python -m verl_multiling.benchmarks versus_verl``.

    python -m verl_multiling.benchmarks tapo                        # estimators + chrF
    python -m verl_multiling.benchmarks tapo --only reward --rollouts 1024
    python -m verl_multiling.benchmarks tapo --only estimators --batch 4096 --length 4096
    python -m verl_multiling.benchmarks tapo --only translation --segments 2000 --comet /tmp/comet-tiny
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import time

import numpy as np
import torch

# the batch builder, timer and table printer every estimator bench shares, so all use the same inputs
from verl_multiling.benchmarks.common import (
    compare_reward_managers,
    interleaved,  # round-robin best/median ms (kept under this name for callers)
    outcome_batch,
    print_table,
    quiet_engine_warnings,
)


def best_of(fn, repeats: int) -> dict:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"best_ms": 1e3 * min(times), "median_ms": 1e3 * statistics.median(times)}


def bench_estimators(batch: int, length: int, group: int, repeats: int) -> dict:
    from omegaconf import OmegaConf
    from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage, compute_grpo_vectorized_outcome_advantage

    from verl_multiling.estimators.tapo import compute_tapo_advantage

    rewards, mask, index = outcome_batch(batch, length, group)
    rng = np.random.default_rng(0)
    u_tokens = np.where(rng.random(batch) < 0.2, 0, rng.integers(10, 200, batch))  # 20 % without a U step
    info = {"r_trans": rng.random(batch).tolist(), "u_tokens": u_tokens.tolist(),
            "r_fmt": (u_tokens > 0).astype(float).tolist()}
    info = {k: np.asarray(v, dtype=object) for k, v in info.items()}  # as the bridge hands it over

    def tapo(**node):
        cfg = OmegaConf.create({"norm_adv_by_std_in_grpo": True, "tapo": node})
        return lambda: compute_tapo_advantage(rewards, mask, index=index, config=cfg, reward_extra_info=info)

    cases = {
        "grpo_vectorized (verl)": lambda: compute_grpo_vectorized_outcome_advantage(rewards, mask, index=index),
        "grpo (verl)": lambda: compute_grpo_outcome_advantage(rewards, mask, index=index),
        "tapo step, lam=1": tapo(mode="step", lam=1.0),
        "tapo step, lam=0.5, format_weight=0.2": tapo(mode="step", lam=0.5, format_weight=0.2),
        "tapo contrast": tapo(mode="contrast", trans_weight=1.0),
    }
    results = interleaved(cases, repeats)
    ref = results["grpo_vectorized (verl)"]["best_ms"]
    for name in results:
        results[name]["ratio_vs_grpo_vectorized"] = results[name]["best_ms"] / ref
    return results


def translation_segments(n: int, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    """n unique (hypothesis, reference, source) triples from the bundled TAPO sample, each with fresh numbers."""
    from verl_multiling.rewards.tapo import DEFAULT_TAGS, parse_response

    rows = load_rollouts(_sample_path())
    rng = random.Random(seed)
    hyps, refs, srcs = [], [], []
    for i in range(n):
        row = rows[i % len(rows)]
        parsed = parse_response(row["response"], DEFAULT_TAGS)
        hyp = parsed.translation if parsed.translation else row["response"][:200]
        a, b = rng.randint(2, 999), rng.randint(2, 999)
        hyps.append(f"{hyp} ({a} and {b})")
        refs.append(f"{row['question_en']} ({a} and {b + (i % 3)})")
        srcs.append(row["question"])
    return hyps, refs, srcs


def load_rollouts(path):
    from verl_multiling.preflight.rollouts import load_rollouts as load

    return load(path)


def _sample_path():
    from verl_multiling.plumbing.paths import DATA_DIR

    return DATA_DIR / "sample_tapo_rollouts.jsonl"


def bench_translation(segments: int, comet_dir: str | None, batch_size: int, repeats: int,
                      comet_segments: int = 256) -> dict:
    from sacrebleu.metrics import CHRF

    from verl_multiling.scorers.translation import ChrFScorer

    hyps, refs, srcs = translation_segments(segments)
    results: dict[str, dict] = {}
    scorer = ChrFScorer()
    t = best_of(lambda: scorer.score(hyps, refs, srcs), repeats)
    results["chrF (ours, batched)"] = {**t, "segments_per_s": segments / (t["best_ms"] / 1e3)}
    chrf = CHRF()
    t = best_of(lambda: [chrf.sentence_score(h, [r]).score for h, r in zip(hyps, refs)], repeats)
    results["chrF (sacrebleu sentence_score loop)"] = {**t, "segments_per_s": segments / (t["best_ms"] / 1e3)}
    if comet_dir:
        from verl_multiling.scorers.comet import CometScorer

        t0 = time.perf_counter()
        comet = CometScorer(comet_dir, device="cpu", batch_size=batch_size)
        load_s = time.perf_counter() - t0
        n = min(segments, comet_segments)
        t = best_of(lambda: comet.score(hyps[:n], refs[:n], srcs[:n]), max(1, repeats // 2))
        tokens = sum(len(x) for x in comet._ids(hyps[:n])) / n
        results[f"COMET ({comet.describe()}, cpu; {n} segments, {tokens:.0f} tokens/hyp)"] = {
            **t, "segments_per_s": n / (t["best_ms"] / 1e3), "segments": n, "load_s": load_s,
            "tokens_per_hypothesis": tokens}
    return results


OVERRIDES = ["+recipe=tapo"]  # the recipe's default translation metric: chrF, scored in the reward worker
BOXED = re.compile(r"\\boxed\{[^{}]*\}")


def tapo_rollouts(n: int, seed: int = 0) -> list[dict]:
    """n rollouts built from the bundled TAPO sample (12 languages; good / paraphrase / copy / wrong / no_tag /
    unclosed), each unique: a fresh gold number in the boxed answer (wrong ones off by one) and a fresh
    "(case a-b)" tag in the translation step and in both questions, so no cache helps."""
    rows = load_rollouts(_sample_path())
    rng = random.Random(seed)
    out = []
    for i in range(n):
        row = dict(rows[i % len(rows)])
        gold = rng.randint(20, 10**6) * 10 + i % 10
        answer = str(gold + 1 if row["kind"] == "wrong" else gold)
        tag = f"(case {rng.randint(2, 999)}-{i})"
        response = BOXED.sub(lambda _m: "\\boxed{" + answer + "}", row["response"])
        row.update(response=response.replace("</translation>", f" {tag}</translation>", 1), ground_truth=str(gold),
                   question=f"{row['question']} {tag}", question_en=f"{row['question_en']} {tag}",
                   uid=f"{row['uid']}-{i // 8}")
        out.append(row)
    return out


def make_batch(n: int, seed: int, tokenizer):
    from verl_multiling.preflight.rollouts import build_dataproto

    return build_dataproto(tapo_rollouts(n, seed), tokenizer)


def bench_reward_path(n: int, repeats: int) -> dict:
    """``TapoRewardManager`` (verl's ``load_reward_manager`` on ``+recipe=tapo``, chrF) against verl's naive
    manager with verl's math-verify scoring on the same rollouts (``compare_reward_managers``: concurrent
    ``run_single`` tasks, round-robin, best of ``repeats``)."""
    figures, outputs, _ = compare_reward_managers(OVERRIDES, make_batch, n, repeats)
    info = [o["reward_extra_info"] for o in outputs["ours"]]
    figures["ours"]["mean_r_trans"] = float(np.mean([i["r_trans"] for i in info]))
    figures["ours"]["u_step_share"] = float(np.mean([i["u_tokens"] > 0 for i in info]))
    return figures


def reward_note(r: dict) -> str:
    return f"mean r_trans {r['ours']['mean_r_trans']:.2f}, U step found in {r['ours']['u_step_share']:.0%}"


def _rate(per_s: float) -> str:
    return f"{per_s:.0f}" if per_s >= 10 else f"{per_s:.2f}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=("estimators", "translation", "reward"))
    p.add_argument("--rollouts", type=int, default=1024, help="rollouts per reward-path batch")
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--length", type=int, default=4096)
    p.add_argument("--group", type=int, default=8)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--segments", type=int, default=2000)
    p.add_argument("--comet", default=None, help="COMET checkpoint directory (hparams.yaml + checkpoints/model.ckpt)")
    p.add_argument("--comet-batch-size", type=int, default=32)
    p.add_argument("--comet-segments", type=int, default=256, help="segments for COMET (slow on CPU)")
    p.add_argument("--build-comet-large", default=None, metavar="DIR",
                   help="build a random COMET checkpoint with XLM-R large's shape in DIR and benchmark it")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    quiet_engine_warnings()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = {"torch_threads": torch.get_num_threads()}
    if args.build_comet_large:
        from verl_multiling.scorers.comet import build_random_checkpoint

        t0 = time.perf_counter()
        args.comet = str(build_random_checkpoint(args.build_comet_large, hidden_size=1024, num_layers=24, heads=16,
                                                 hidden_sizes=(3072, 1024)))
        print(f"built a random XLM-R-large-shaped COMET checkpoint in {time.perf_counter() - t0:.1f}s")
    if args.only in (None, "estimators"):
        est = bench_estimators(args.batch, args.length, args.group, args.repeats)
        out["estimators"] = est
        print_table(f"estimators on {args.batch} x {args.length} (group {args.group}, best of {args.repeats}, "
                    f"{torch.get_num_threads()} torch threads)",
                    [(k, f"{v['best_ms']:.1f}", f"{v['median_ms']:.1f}", f"{v['ratio_vs_grpo_vectorized']:.2f}x")
                     for k, v in est.items()], ("estimator", "best ms", "median ms", "vs grpo_vectorized"))
    if args.only in (None, "translation"):
        tr = bench_translation(args.segments, args.comet, args.comet_batch_size, max(1, args.repeats // 2),
                               args.comet_segments)
        out["translation"] = tr
        print_table(f"translation scoring on CPU ({args.segments} unique segments unless noted)",
                    [(k, f"{v['best_ms']:.0f}", _rate(v["segments_per_s"])) for k, v in tr.items()],
                    ("scorer", "best ms", "segments/s"))
    if args.only == "reward":
        rp = bench_reward_path(args.rollouts, max(1, args.repeats // 2))
        out["reward_path"] = rp
        print_table(f"Reward path on {args.rollouts} unique TAPO rollouts (chrF; best of {max(1, args.repeats // 2)})",
                    [(k, f"{rp[k]['responses_per_s']:.0f}", f"{rp[k]['us_per_response']:.0f}",
                      f"{rp[k]['mean_score']:.3f}") for k in ("ours", "naive")],
                    ("manager (ours: tapo; naive: verl naive + math_verify)", "responses/s", "us/response",
                     "mean score"))
        print(f"\nratio ours / verl naive+math_verify (time per response): "
              f"{rp['ratio_ours_over_naive_math_verify']:.2f}x; {reward_note(rp)}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
