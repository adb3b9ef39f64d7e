"""Cost of the reflection reward path against verl's naive manager with verl's math-verify scoring.

Both managers are built from the composed ``+recipe=reflection`` config (ours through verl's
``load_reward_manager``) and timed round-robin by :func:`verl_multiling.benchmarks.common.compare_reward_managers`
(also the source of this recipe's row in ``python -m verl_multiling.benchmarks versus_verl``) on the same unique
rollouts (its ``unique_rollouts``: 13 languages, a fresh number per rollout so no parse cache helps),
each wrapped as ``<think>reasoning + self-checks</think> answer`` so that the format check and the
marker counter do real work. Prints responses/s, microseconds per response and the ratio.

    python -m verl_multiling.benchmarks reflection          # 1024 rollouts, best of 2 timed batches
    python -m verl_multiling.benchmarks reflection --rollouts 4096 --repeats 3 --json bench_reflection.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from verl_multiling.benchmarks.common import compare_reward_managers, quiet_engine_warnings, unique_rollouts

# one self-check sentence per language, appended to every second rollout's think part
CHECKS = {
    "en": "Wait, let me verify this.", "fr": "Attends, vérifions.", "de": "Warte, prüfen wir das.",
    "es": "Espera, verifiquemos.", "pt": "Espere, vamos verificar.", "ru": "Подождите, проверим.",
    "zh": "等等，让我检查一下。", "ja": "ちょっと待って、確認しよう。", "ko": "잠깐, 다시 확인해 보자.",
    "th": "เดี๋ยวก่อน ตรวจสอบอีกครั้ง", "bn": "এক মিনিট, আবার যাচাই করি।", "sw": "Ngoja, nikague.",
    "te": "ఒక్క నిమిషం, సరిచూద్దాం.",
}


def with_think(rows: list[dict]) -> list[dict]:
    """Each response as ``<think>{reasoning}[ self-check]</think> {response}``: half with a self-check."""
    out = []
    for i, row in enumerate(rows):
        lines = row["response"].splitlines()
        reasoning = " ".join(lines[:-1]) or lines[0]
        check = f" {CHECKS.get(row['lang'], CHECKS['en'])}" if i % 2 else ""
        out.append({**row, "response": f"<think>{reasoning}{check}</think> {row['response']}"})
    return out


OVERRIDES = ["+recipe=reflection"]


def make_batch(n: int, seed: int, tokenizer):
    """n unique rollouts (``unique_rollouts``) in the reflection format, with the question in extra_info."""
    from verl_multiling.preflight.rollouts import build_dataproto

    rows = with_think(unique_rollouts(n, seed=seed))
    batch = build_dataproto(rows, tokenizer)
    batch.non_tensor_batch["extra_info"] = np.array(  # the question, for the copy rule
        [{"index": i, "question": r["question"]} for i, r in enumerate(rows)], dtype=object)
    return batch


def bench_reward_path(n: int, repeats: int) -> dict:
    """Figures keyed ``ours`` / ``naive`` (``compare_reward_managers``, round-robin)."""
    figures, outputs, _ = compare_reward_managers(OVERRIDES, make_batch, n, repeats)
    for which, outs in outputs.items():
        info = [o["reward_extra_info"] for o in outs]
        figures[which]["mean_acc"] = float(np.mean([i.get("acc", 0.0) for i in info]))
        if which == "ours":
            figures[which]["mean_reflection_markers"] = float(np.mean([i["reflection_markers"] for i in info]))
            figures[which]["format_ok"] = float(np.mean([i["format_reason"] == "ok" for i in info]))
    return figures


def reward_note(r: dict) -> str:
    return (f"format ok {r['ours']['format_ok']:.2f}, reflection markers {r['ours']['mean_reflection_markers']:.2f}"
            "/response")


def bench(n: int, repeats: int) -> dict:
    figures = bench_reward_path(n, repeats)
    results = {OURS: figures.pop("ours"), NAIVE_MV: figures.pop("naive")}
    results.update(figures)
    return results


OURS = "reflection (ours: math scorer + format + markers)"
NAIVE_MV = "verl naive + verl math_verify"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rollouts", type=int, default=1024, help="rollouts per batch (default 1024)")
    parser.add_argument("--repeats", type=int, default=2, help="timed batches after the warm-up (best is kept)")
    parser.add_argument("--json", help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    quiet_engine_warnings()
    torch.set_num_threads(1)
    res = bench(args.rollouts, max(1, args.repeats))
    print(f"\n## Reward path on {args.rollouts} unique rollouts in 13 languages (one process, best of {args.repeats})\n")
    print("| manager | responses/s | us/response | mean score | mean acc |")
    print("|---|---:|---:|---:|---:|")
    for label, v in res.items():
        if isinstance(v, dict):
            print(f"| {label} | {v['responses_per_s']:.0f} | {v['us_per_response']:.0f} | {v['mean_score']:.3f} "
                  f"| {v['mean_acc']:.3f} |")
    ours = res[OURS]
    print(f"\nours: format ok {ours['format_ok']:.3f}, mean reflection markers {ours['mean_reflection_markers']:.3f}")
    print(f"ratio ours / verl naive+math_verify (time per response): {res['ratio_ours_over_naive_math_verify']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
