"""Tail latency of the math verifier in one reward worker (row 3b of the versus_verl table).

AdaMame's manager (verl's ``load_reward_manager``, every rollout a concurrent ``run_single``, math-verify through
the worker pool) scores --tail-rollouts unique rollouts with --tail-share of their boxed answers replaced by
pathological ones, against the same batch without them: towers like ``9^{9^{9^{9}}}``, factorials, huge
products, 5000-digit numerals and deep nesting (which the pre-check and the exact numeral path handle; target
<= 3x), and a shape the pre-check does not know (bounded only by the pool's time limits and slow budget).

Not an area of its own: a section of the versus_verl area.

    python -m verl_multiling.benchmarks versus_verl --only math_tail --repeats 4
"""

from __future__ import annotations

from collections import Counter

from verl_multiling.benchmarks.common import (
    BOXED,
    build_manager,
    fmt_ratio,
    guarded,
    log,
    reward_env,
    time_managers,
    unique_rollouts,
)
from verl_multiling.benchmarks.reward_managers import ADAMAME_OVERRIDES

# tail latency of the math verifier: 6 % pathological answers in a 256-rollout batch (issues 13 and 22). Every shape
# found so far, each answer unique (math-verify caches parses): what each one costs without the pre-check and the
# exact numeral path is in docs/benchmarks.md
TOWERS = [rf"{a}^{{{b}^{{{c}^{{{d}}}}}}}" for a, b, c, d in
          ((9, 9, 9, 9), (8, 9, 9, 9), (9, 8, 9, 9), (7, 9, 9, 9), (9, 9, 8, 9), (6, 9, 9, 9), (9, 7, 9, 9),
           (5, 9, 9, 9), (9, 9, 7, 9), (4, 9, 9, 9), (9, 6, 9, 9), (3, 9, 9, 9), (9, 9, 6, 9), (9, 5, 9, 9),
           (9, 9, 9, 8), (9, 9, 5, 9))]
FACTORIALS = [rf"({k}\cdot 10^{{{e}}})!" for k in (1, 2, 3, 7) for e in (7, 8, 9, 10)]
HUGE_PRODUCTS = ([rf"\prod_{{k=1}}^{{10^{{6}}}} {m}k" for m in range(2, 10)]
                 + [rf"\sum_{{k=1}}^{{10^{{{e}}}}} \frac{{1}}{{k+{e}}}" for e in range(4, 8)]
                 + [rf"{p}^{{{p}}}" for p in (1000000007, 998244353, 1000000009, 999999937)])
LONG_NUMERALS = [str(7 + i % 3) * (5000 - i) for i in range(16)]  # 5000-digit numbers: 5000 tokens each
DEEP_NESTING = ([r"\frac{1}{" + f"{i}+" + r"\frac{1}{1+" * (10 + i) + "1" + "}" * (11 + i) for i in range(6)]
                + ["(" * (11 + i) + f"{i}+2" + ")" * (11 + i) for i in range(5)]
                + ["{" * (11 + i) + f"{i}+2" + "}" * (11 + i) for i in range(5)])
SHAPES = {"towers": TOWERS, "factorials": FACTORIALS, "huge products": HUGE_PRODUCTS,
          "long numerals": LONG_NUMERALS, "deep nesting": DEEP_NESTING}
ALL_SHAPES = [answers[i] for i in range(16) for answers in SHAPES.values()]  # interleaved: a batch takes 3-4 of each
# slow for sympy, and of no shape the pre-check knows (a \prod whose bound sits in \lfloor..\rfloor): only the
# pool's limits and the slow budget bound them. Not a target of the 3x goal: it shows what an unknown shape costs
SLOW_UNKNOWN = [rf"\prod_{{k=1}}^{{\lfloor 10^{{6}} \rfloor}} {k}k" for k in range(2, 18)]
TAIL_MAX_TOKENS = 16384  # both batches: a 5000-digit answer is 5000 tokens, more than build_dataproto's 4096


def tail_batches(n: int, share: float, answers: list[str], rounds: int, tokenizer,
                 symbolic_share: float = 0.25, seed: int = 300) -> tuple[list, list, int]:
    """``rounds + 1`` batches of ``n`` unique adamame rollouts (numbers, ``symbolic_share`` surds; seeds ``seed``,
    ``seed + 1``...), and the same batches with ``round(n * share)`` of their numeric boxed answers replaced by
    ``answers`` (spread evenly)."""
    from verl_multiling.preflight.rollouts import build_dataproto

    bad = max(1, round(n * share))
    clean, patho = [], []
    for k in range(rounds + 1):
        rows = unique_rollouts(n, seed=seed + k, symbolic_share=symbolic_share)
        worse = [dict(r) for r in rows]
        plain = [i for i, r in enumerate(rows) if BOXED.search(r["response"])]  # a boxed answer BOXED can swap
        for j, i in enumerate(plain[k * len(plain) // bad] for k in range(bad)):
            worse[i]["response"] = BOXED.sub(lambda _m: "\\boxed{" + answers[j % len(answers)] + "}",
                                             worse[i]["response"])
        clean.append(build_dataproto(rows, tokenizer, max_response_tokens=TAIL_MAX_TOKENS))
        patho.append(build_dataproto(worse, tokenizer, max_response_tokens=TAIL_MAX_TOKENS))
    return clean, patho, bad


TAIL_BATCHES = {"numeric": 0.0, "mixed": 0.25}  # the batch's share of symbolic (surd) answers
TAIL_CASES = [(batch, label) for batch in TAIL_BATCHES for label in ("all shapes", *SHAPES)] + [
    ("mixed", "unknown shape")]


def bench_math_tail(n: int, share: float, rounds: int) -> dict:
    """One reward worker's code path (AdaMame's manager from verl's ``load_reward_manager``, every rollout a
    concurrent ``run_single``; math-verify off the main thread, so through the worker pool): each batch with
    ``share`` pathological answers of one shape (or of every shape) against the same batch without them,
    round-robin, best of ``rounds``; for a numeric-only batch (every gold and predicted answer a number) and one
    with 25 % surd answers. The unknown-shape case runs last: it spends the slow budget."""
    tokenizer, cfg, naive_cfg = reward_env(ADAMAME_OVERRIDES)
    rm = build_manager("ours", cfg, naive_cfg, tokenizer)
    out = {"rollouts": n, "rounds": rounds}
    for case, (batch, label) in enumerate(TAIL_CASES):
        answers = {"all shapes": ALL_SHAPES, "unknown shape": SLOW_UNKNOWN}.get(label) or SHAPES[label]
        # fresh rollouts for every case: math-verify's parse cache must not make a later case's batches cheap
        clean, patho, bad = tail_batches(n, share, answers, rounds, tokenizer, TAIL_BATCHES[batch],
                                         seed=300 + 100 * case)
        timed = time_managers({"clean": (rm, clean), "pathological": (rm, patho)})
        reasons = Counter(o["reward_extra_info"]["answer_reason"] for o in timed["pathological"][1])
        f = {"batch": batch, "shape": label, "clean_s": timed["clean"][0], "pathological_s": timed["pathological"][0],
             "bad": bad, "ratio": timed["pathological"][0] / timed["clean"][0], "reasons": dict(reasons),
             "example": answers[0] if len(answers[0]) < 60 else answers[0][:25] + "..."}
        out[f"{batch}: {label}"] = f
        log(f"  {batch} batch, {label}: clean {f['clean_s']:.2f} s, with {bad} pathological "
            f"{f['pathological_s']:.2f} s (ratio {f['ratio']:.2f}x); reasons {dict(reasons)}")
    return out


def math_tail_section(args, rows: list, out: dict) -> None:
    n, share = args.tail_rollouts, args.tail_share
    log(f"math tail latency: {n} rollouts, {share:.2%} pathological answers, {args.rounds} rounds")
    r = guarded(lambda: bench_math_tail(n, share, args.rounds))
    out["math_tail"] = r
    if "error" in r:
        rows.append(("math tail latency", "all", "error", "-", "-", r["error"]))
        return
    for batch, label in TAIL_CASES:
        f = r[f"{batch}: {label}"]
        kind = "numeric-only batch" if batch == "numeric" else "25 % surd answers"
        target = "not a target: the slow budget bounds it" if label == "unknown shape" else "target <= 3x"
        rows.append(("math tail latency", f"{kind}, {f['bad']}/{n} ({f['bad'] / n:.1%}) {label}",
                     f"{f['pathological_s']:.2f} s", f"{f['clean_s']:.2f} s (same batch, no pathological answer)",
                     f"{fmt_ratio(f['ratio'])} time",
                     f"one reward worker's path (adamame manager, concurrent run_single, math-verify pool); "
                     f"best of {r['rounds']}; e.g. {f['example']}; {target}"))
