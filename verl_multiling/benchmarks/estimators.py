"""Our advantage estimators against verl's ``grpo_vectorized`` (row 2 of the versus_verl table).

``adamame_align``, ``adamame``, ``tapo`` (step, lambda=1) and ``tapo`` (contrast) against verl's
``grpo_vectorized`` on each --sizes batch x --length tokens (outcome rewards, random lengths, groups of
--group; one torch thread), best of --repeats at the largest size (more at smaller ones); then one
``scaling`` row per estimator: its time(largest)/time(smallest) next to grpo_vectorized's. The GPU rows
(:mod:`.gpu`) time the same cases on CUDA.

Not an area of its own: a section of the versus_verl area.

    python -m verl_multiling.benchmarks versus_verl --only estimators --sizes 1024,4096,16384 --length 4096
"""

from __future__ import annotations

import numpy as np
import torch

from verl_multiling.benchmarks.common import fmt_ratio, guarded, interleaved, log, outcome_batch


def estimator_cases(batch: int, length: int, group: int, device: str = "cpu") -> dict:
    """Zero-argument callables: grpo_vectorized (verl) and our estimators on the same outcome batch."""
    from omegaconf import OmegaConf
    from verl.trainer.ppo.core_algos import compute_grpo_vectorized_outcome_advantage

    from verl_multiling.estimators.adamame import compute_adamame_advantage, compute_adamame_align_advantage
    from verl_multiling.estimators.tapo import compute_tapo_advantage

    rewards, mask, index = outcome_batch(batch, length, group)
    rewards, mask = rewards.to(device), mask.to(device)
    rng = np.random.default_rng(0)
    langs = rng.choice(["fr", "en", "ja", ""], size=batch)
    ada = {"lang_match": (langs == "fr").astype(float).tolist(), "response_lang": langs.tolist()}
    u_tokens = np.where(rng.random(batch) < 0.2, 0, rng.integers(10, 200, batch))  # 20 % without a U step
    tap = {"r_trans": rng.random(batch).tolist(), "u_tokens": u_tokens.tolist(),
           "r_fmt": (u_tokens > 0).astype(float).tolist()}
    ada = {k: np.asarray(v, dtype=object) for k, v in ada.items()}  # as the bridge hands it over
    tap = {k: np.asarray(v, dtype=object) for k, v in tap.items()}
    algo = OmegaConf.create({"norm_adv_by_std_in_grpo": True, "adamame": {"bonus": 2.0}})
    bridge = dict(reward_extra_info=ada, global_step=50, total_steps=100)

    def tapo(**node):
        cfg = OmegaConf.create({"norm_adv_by_std_in_grpo": True, "tapo": node})
        return lambda: compute_tapo_advantage(rewards, mask, index=index, config=cfg, reward_extra_info=tap)

    return {
        "grpo_vectorized": lambda: compute_grpo_vectorized_outcome_advantage(rewards, mask, index=index),
        "adamame_align": lambda: compute_adamame_align_advantage(rewards, mask, index=index, config=algo, **bridge),
        "adamame": lambda: compute_adamame_advantage(rewards, mask, index=index, config=algo, **bridge),
        "tapo (step)": tapo(mode="step", lam=1.0),
        "tapo (contrast)": tapo(mode="contrast", trans_weight=1.0),
    }


def bench_estimators(batch: int, length: int, group: int, repeats: int, device: str = "cpu") -> dict:
    """Best and median ms of every estimator case, timed round-robin; ratio to grpo_vectorized."""
    cases = estimator_cases(batch, length, group, device)
    if device != "cpu":
        cases = {k: (lambda f: lambda: (f(), torch.cuda.synchronize()))(f) for k, f in cases.items()}
    results = interleaved(cases, repeats)
    ref = results["grpo_vectorized"]["best_ms"]
    for name in results:
        results[name]["ratio_vs_grpo_vectorized"] = results[name]["best_ms"] / ref
    return results


def estimator_section(args, rows: list, out: dict) -> None:
    out["estimators"] = res = {}
    largest = max(args.sizes)
    for size in args.sizes:
        reps = max(args.repeats, min(50, args.repeats * largest // size))
        log(f"estimators: {size} x {args.length}, best of {reps}")
        r = guarded(lambda: bench_estimators(size, args.length, args.group, reps))
        res[str(size)] = r
        if "error" in r:
            rows.append(("estimator", f"all @ {size} x {args.length}", "error", "grpo_vectorized", "-", r["error"]))
            continue
        base = r["grpo_vectorized"]["best_ms"]
        for name, v in r.items():
            if name == "grpo_vectorized":
                continue
            rows.append(("estimator", f"{name} @ {size} x {args.length}", f"{v['best_ms']:.1f} ms",
                         f"{base:.1f} ms (verl grpo_vectorized)", f"{fmt_ratio(v['ratio_vs_grpo_vectorized'])} time",
                         f"best of {reps}, 1 torch thread; median {v['median_ms']:.1f} vs "
                         f"{r['grpo_vectorized']['median_ms']:.1f} ms"))
        log("  " + ", ".join(f"{k} {v['best_ms']:.1f} ms" for k, v in r.items()))
    lo, hi = str(min(args.sizes)), str(largest)
    if lo != hi and all("error" not in res[s] for s in (lo, hi)):
        base = res[hi]["grpo_vectorized"]["best_ms"] / res[lo]["grpo_vectorized"]["best_ms"]
        for name in res[hi]:
            if name == "grpo_vectorized":
                continue
            ours = res[hi][name]["best_ms"] / res[lo][name]["best_ms"]
            res.setdefault("scaling", {})[name] = {"ours": ours, "grpo_vectorized": base}
            rows.append(("estimator scaling", f"{name}: time({hi}) / time({lo})", f"{ours:.1f}x",
                         f"{base:.1f}x (verl grpo_vectorized)", f"{fmt_ratio(ours / base)} scaling",
                         f"{int(hi) // int(lo)}x the samples; 1.00 = scales like grpo_vectorized"))
