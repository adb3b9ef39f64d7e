"""``verl-multiling eval --fidelity-scope``: ``think`` scores fidelity on the reasoning before ``</think>`` as
the AdaMame authors do (an empty trace, and so a pass, when ``</think>`` is missing); ``all`` stays the
default. Every expected figure below is derived by hand from the traces."""

from __future__ import annotations

import json

import pytest

from verl_multiling.evaluation.scope import SCOPES, fidelity_text

# (lang, response); which scopes each trace passes at the line level (LPR) is in the comment
TRACES = [
    # 1. French reasoning, English answer after </think>: think passes; all and answer fail
    ("fr", "<think>\nJe commence par additionner les deux nombres donnés dans l'énoncé.\n"
           "Ensuite je vérifie soigneusement le résultat obtenu.\n</think>\n"
           "The final answer is clearly \\boxed{5} according to my reasoning."),
    # 2. English reasoning, French answer: think fails; all fails; answer passes
    ("fr", "<think>\nFirst I add the two numbers that the problem gives us.\n"
           "Then I carefully check the result that I obtained.\n</think>\n"
           "La réponse finale est donc \\boxed{5} selon mon raisonnement."),
    # 3. no </think>, all English: think passes trivially (empty trace); all and answer fail
    ("fr", "First I add the two numbers that the problem gives us.\n"
           "The final answer is clearly \\boxed{5} according to my reasoning."),
    # 4. no </think>, all French: every scope passes
    ("fr", "Je commence par additionner les deux nombres donnés dans l'énoncé.\n"
           "La réponse finale est donc \\boxed{5} selon mon raisonnement."),
    # 5. Japanese reasoning with an English word: think/all pass the line level, fail the word level
    ("ja", "<think>\nまず、問題で与えられた二つの数を足し合わせて total を求めます。\n"
           "次に、得られた結果を注意深く確認します。\n</think>\n答えは \\boxed{5} です。"),
    # 6. no </think>, Japanese: every scope passes both levels
    ("ja", "まず、問題で与えられた二つの数を足し合わせます。\n答えは \\boxed{5} です。"),
]

#: scope -> lang -> (LPR, WPR); LCPR = 2 LPR WPR / (LPR + WPR)
EXPECTED = {
    "all": {"fr": (1 / 4, 1.0), "ja": (1.0, 1 / 2)},     # fr: only 4 passes; ja: 5 has "total"
    "think": {"fr": (3 / 4, 1.0), "ja": (1.0, 1 / 2)},   # fr: 1, 3 (empty) and 4 (empty) pass
    "answer": {"fr": (2 / 4, 1.0), "ja": (1.0, 1.0)},    # fr: 2 and 4; ja: the answers have no Latin word
}


def test_fidelity_text_per_scope():
    with_close, without = TRACES[0][1], TRACES[2][1]
    assert fidelity_text(with_close, "all") == with_close
    assert fidelity_text(with_close, "think").startswith("Je commence") and "</think>" not in \
        fidelity_text(with_close, "think") and "<think>" not in fidelity_text(with_close, "think")
    assert fidelity_text(with_close, "answer").startswith("The final answer")
    assert fidelity_text(without, "think") == "" and fidelity_text(without, "answer") == without
    assert fidelity_text("<think>a</think>b</think>c", "think") == "a"  # the first </think>, as theirs
    with pytest.raises(ValueError, match=r"--fidelity-scope must be one of \['all', 'think', 'answer'\]"):
        fidelity_text("x", "trace")


@pytest.fixture(scope="module")
def generations(tmp_path_factory):
    path = tmp_path_factory.mktemp("scope") / "m.jsonl"
    path.write_text("".join(json.dumps({"run": "m", "id": f"q{i}", "lang": lang, "sample_index": 0,
                                        "response": text, "ground_truth": "5", "num_tokens": 50},
                                       ensure_ascii=False) + "\n" for i, (lang, text) in enumerate(TRACES)),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("scope", SCOPES)
def test_eval_cli_scores_the_scope(tmp_path, generations, scope):
    from verl_multiling.evaluation.cli import main

    args = ["eval", str(generations), "--out", str(tmp_path), "--k", "1", "--no-plots"]
    assert main(args + ([] if scope == "all" else ["--fidelity-scope", scope])) == 0
    results = json.loads((tmp_path / "metrics.json").read_text())
    assert results["settings"]["fidelity_scope"] == scope
    run = results["runs"]["m"]
    for lang, (lpr, wpr) in EXPECTED[scope].items():
        got = run["languages"][lang]
        assert (got["lpr"], got["wpr"]) == (pytest.approx(lpr), pytest.approx(wpr)), (scope, lang)
        assert got["lcpr"] == pytest.approx(2 * lpr * wpr / (lpr + wpr))
        assert got["pass@1"] == 1.0  # the answer check does not depend on the scope
    # the pooled figures: 6 traces
    n_line = sum(round(lpr * n) for (lpr, _), n in zip(EXPECTED[scope].values(), (4, 2)))
    assert run["overall"]["lpr"] == pytest.approx(n_line / 6)


def test_think_scope_lets_a_trace_without_close_pass(tmp_path):
    """The reason ``all`` stays our default: an English answer with no ``</think>`` to a French question
    is perfectly faithful under ``think``."""
    from verl_multiling.evaluation.cli import main

    path = tmp_path / "collapsed.jsonl"
    path.write_text(json.dumps({"run": "c", "id": "q", "lang": "fr", "response": TRACES[2][1],
                                "ground_truth": "5", "num_tokens": 9}) + "\n")
    figures = {}
    for scope in SCOPES:
        assert main(["eval", str(path), "--out", str(tmp_path / scope), "--k", "1", "--no-plots",
                     "--fidelity-scope", scope]) == 0
        overall = json.loads((tmp_path / scope / "metrics.json").read_text())["runs"]["c"]["overall"]
        figures[scope] = (overall["lpr"], overall["wpr"], overall["code_switch_rate"])
    assert figures == {"all": (0.0, 0.0, 1.0), "think": (1.0, 1.0, 0.0), "answer": (0.0, 0.0, 1.0)}
