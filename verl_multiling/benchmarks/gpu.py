"""GPU rows of the versus_verl table: COMET bf16 (ours) against unbabel-comet on the GPU (an XLM-R-large-shaped
random checkpoint), sentence-transformers on the GPU against the same model on CPU, and the estimators on the
GPU at the largest --sizes.

They run when ``torch.cuda.is_available()``; otherwise every row says "skipped: no GPU". unbabel-comet's
environment is found as :mod:`.comet_parity` says; without it, or when its torch has no CUDA, the COMET row
gives our figure alone and says why.

Not an area of its own: a section of the versus_verl area.

    python -m verl_multiling.benchmarks versus_verl --only gpu
"""

from __future__ import annotations

import subprocess
import tempfile

import torch

from verl_multiling.benchmarks.comet_parity import comet_compare, comet_missing, comet_python
from verl_multiling.benchmarks.common import error_text, fmt_rate, fmt_ratio, interleaved_rounds, log
from verl_multiling.benchmarks.estimators import bench_estimators
from verl_multiling.benchmarks.pb_rlsvr import unique_texts
from verl_multiling.benchmarks.scorers import semantic_backends


def gpu_section(args, rows: list, out: dict) -> None:
    cases = ["COMET bf16 (ours) on GPU", "sentence-transformers on GPU",
             *[f"estimators on GPU: {k} @ {max(args.sizes)} x {args.length}"
               for k in ("adamame_align", "adamame", "tapo (step)", "tapo (contrast)")]]
    if not torch.cuda.is_available():
        for case in cases:
            rows.append(("GPU", case, "skipped: no GPU", "-", "-", "torch.cuda.is_available() is False"))
        out["gpu"] = "skipped: no GPU"
        return
    out["gpu"] = res = {"device": torch.cuda.get_device_name(0)}
    # COMET bf16, XLM-R-large-shaped random checkpoint
    log("GPU: COMET bf16 vs unbabel-comet")
    try:
        why_not = comet_missing()
        if why_not is None:
            probe = subprocess.run([comet_python(), "-c", "import torch; print(torch.cuda.is_available())"],
                                   capture_output=True, text=True)
            if probe.stdout.strip() != "True":
                why_not = "the torch in unbabel-comet's venv has no CUDA"
        from verl_multiling.scorers.comet import build_random_checkpoint

        with tempfile.TemporaryDirectory(prefix="bench-comet-large-") as tmp:
            ckpt = build_random_checkpoint(tmp, hidden_size=1024, num_layers=24, heads=16, hidden_sizes=(3072, 1024),
                                           vocab_size=2000)
            r = comet_compare(ckpt, args.gpu_comet_segments, args.rounds, 64, "cuda", "bfloat16", 1,
                              with_unbabel=why_not is None)
        res["comet"] = r
        case = f"COMET bf16 (ours; {r['describe']})"
        note = (f"XLM-R-large-shaped random checkpoint, {r['segments']} segments, batch 64, best of {r['rounds']}")
        if why_not:
            rows.append(("GPU", case, f"{fmt_rate(r['ours_segments_per_s'])} segments/s",
                         f"skipped: {why_not}", "-", note))
        else:
            rows.append(("GPU", case, f"{fmt_rate(r['ours_segments_per_s'])} segments/s",
                         f"{fmt_rate(r['unbabel_segments_per_s'])} segments/s (unbabel-comet predict, GPU, fp32)",
                         f"{fmt_ratio(r['ratio_time'])} time",
                         f"{note}; largest |score diff| {r['max_abs_diff']:.1e} (bf16 vs fp32)"))
    except Exception as exc:
        rows.append(("GPU", cases[0], "error", "unbabel-comet on GPU", "-", error_text(exc)))
    # sentence-transformers: GPU against the same model on CPU, same pairs
    log("GPU: sentence-transformers GPU vs CPU")
    try:
        from verl_multiling.scorers.semantic import build_scorer

        gpu_cfg = semantic_backends("cuda")["sentence_transformers"]
        cpu_cfg = semantic_backends()["sentence_transformers"]
        n, batch = args.gpu_semantic_pairs, 32
        sets = [unique_texts(n * (k + 1))[0:3] for k in range(args.rounds + 1)]
        sets = [(h[n * k:], r[n * k:], g[n * k:]) for k, (h, r, g) in enumerate(sets)]
        scorers = {"gpu": build_scorer(gpu_cfg), "cpu": build_scorer(cpu_cfg)}

        def run(which):
            def fn(k):
                h, r, g = sets[k]
                out_ = [scorers[which].similarity(h[s:s + batch], r[s:s + batch], g[s:s + batch])
                        for s in range(0, n, batch)]
                torch.cuda.synchronize()
                return out_
            return fn

        t = interleaved_rounds({"gpu": run("gpu"), "cpu": run("cpu")}, args.rounds)
        res["sentence_transformers"] = {k: n / v["best_s"] for k, v in t.items()}
        rows.append(("GPU", "sentence-transformers all-MiniLM-L6-v2 on GPU",
                     f"{fmt_rate(n / t['gpu']['best_s'])} pairs/s",
                     f"{fmt_rate(n / t['cpu']['best_s'])} pairs/s (same model on CPU)",
                     f"{fmt_ratio(t['gpu']['best_s'] / t['cpu']['best_s'])} time",
                     f"{n} unique pairs at batch {batch}, best of {args.rounds}; CPU at 1 torch thread"))
    except Exception as exc:
        rows.append(("GPU", cases[1], "error", "same model on CPU", "-", error_text(exc)))
    # estimators on the GPU, largest size
    size = max(args.sizes)
    log(f"GPU: estimators @ {size} x {args.length}")
    try:
        r = bench_estimators(size, args.length, args.group, max(args.repeats, 10), device="cuda")
        res["estimators"] = r
        base = r["grpo_vectorized"]["best_ms"]
        for name, v in r.items():
            if name != "grpo_vectorized":
                rows.append(("GPU", f"estimator {name} @ {size} x {args.length}", f"{v['best_ms']:.2f} ms",
                             f"{base:.2f} ms (verl grpo_vectorized, GPU)",
                             f"{fmt_ratio(v['ratio_vs_grpo_vectorized'])} time",
                             f"best of {max(args.repeats, 10)}, synchronised"))
        torch.cuda.empty_cache()
    except Exception as exc:
        rows.append(("GPU", "estimators on GPU", "error", "grpo_vectorized on GPU", "-", error_text(exc)))
