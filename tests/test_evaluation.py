"""Evaluation: pass@k, per-language metrics on the bundled sample (values computed by hand), the
report and plots, and the resumable generator on a tiny random-init Qwen2 model (CPU)."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from verl_multiling.evaluation.metrics import extract_translation, token_efficiency, translation_chrf
from verl_multiling.evaluation.passk import pass_at_k, pass_at_k_mean
from verl_multiling.evaluation.plots import pareto_front

SAMPLE = Path(__file__).resolve().parents[1] / "verl_multiling" / "data" / "sample_generations.jsonl"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# ---------------------------------------------------------------------------------------------
# Hand computation for the bundled sample (12 languages: bn de es fr ja ko pt ru sw te th zh;
# 2 questions each, k = 4 samples per question, 3 runs; the `kind` field records how each
# sample was written). Per sample: correct? / line-consistent? / word-consistent? / code-switch
#   native, wrong(answer 17 or 50), no_answer (truncated <think>, no \boxed) : in-language lines
#   english   : every line English                    -> line-inconsistent, switch rate 1
#   mixword   : one foreign-script word in a line ("总共" in Latin-script languages, "total" in
#               the others), lines still in the language -> line-consistent, word-INconsistent
#   switch    : 3 lines: native, English, native      -> line-inconsistent, switch rate 1/3
#   translated/empty_translation/no_tag (tapo): English reasoning -> inconsistent, rate 1
#
# base (per question): high-resource fr de es pt ru zh: [english, native, native, wrong]
#                      others bn ja ko sw te th:         [english, english, native, wrong]
#   correct 3/4 on every question -> pass@1 = 0.75; pass@2 = 1 - C(1,2)/C(4,2) = 1; pass@4 = 1
#   high: LPR = 6/8 = 0.75, WPR = 6/6 = 1, LCPR = 2*0.75*1/1.75 = 6/7, switch = 2/8 = 0.25
#   low:  LPR = 4/8 = 0.5,  WPR = 1,       LCPR = 2*0.5/1.5 = 2/3,   switch = 4/8 = 0.5
#   overall (96 samples): LPR = (6*6 + 6*4)/96 = 0.625, WPR = 1, LCPR = 1.25/1.625 = 10/13,
#                         switch = (6*2 + 6*4)/96 = 0.375, no answer 0
# adamame (every language): q1 [native, mixword, switch, no_answer], q2 [native, native, wrong, no_answer]
#   correct q1 3/4, q2 2/4 -> pass@1 = (0.75 + 0.5)/2 = 0.625;
#   pass@2 = (1 + (1 - C(2,2)/C(4,2)))/2 = (1 + 5/6)/2 = 11/12; pass@4 = 1
#   line-consistent 7 of 8 (all but switch) -> LPR = 7/8; word-consistent among them 6 of 7
#   (mixword fails) -> WPR = 6/7; LCPR = 2*(7/8)(6/7)/((7/8)+(6/7)) = 1.5/(97/56) = 84/97;
#   switch = (1/3)/8 = 1/24; no answer = 2/8 = 0.25. Same values overall.
# tapo (every language, per question): [translated ok, translated ok, empty translation + wrong,
#   no tag]: pass@1 = 0.75, pass@2 = 1, pass@4 = 1; LPR = WPR = LCPR = 0; switch = 1;
#   translated (well-formed TAPO step) = 2/4; chrF over the 3 tagged samples = (100 + 100 + 0)/3
#   (exact copies of question_en score 100, the empty span 0 as in TAPO's r_trans; the untagged
#   sample is not scored).
# Pareto front (LCPR, pass@1): base (10/13, .75), adamame (84/97, .625), tapo (0, .75):
#   tapo is dominated by base (same accuracy, lower LCPR) -> front = {base, adamame}.
# ---------------------------------------------------------------------------------------------
HIGH = {"fr", "de", "es", "pt", "ru", "zh"}
LOW = {"bn", "ja", "ko", "sw", "te", "th"}
EXPECTED_OVERALL = {
    "base": {"pass@1": 0.75, "pass@2": 1.0, "pass@4": 1.0, "lpr": 0.625, "wpr": 1.0, "lcpr": 10 / 13,
             "code_switch_rate": 0.375, "no_answer_rate": 0.0, "translation_rate": None, "chrf": None},
    "adamame": {"pass@1": 0.625, "pass@2": 11 / 12, "pass@4": 1.0, "lpr": 7 / 8, "wpr": 6 / 7,
                "lcpr": 84 / 97, "code_switch_rate": 1 / 24, "no_answer_rate": 0.25,
                "translation_rate": None, "chrf": None},
    "tapo": {"pass@1": 0.75, "pass@2": 1.0, "pass@4": 1.0, "lpr": 0.0, "wpr": 0.0, "lcpr": 0.0,
             "code_switch_rate": 1.0, "no_answer_rate": 0.0, "translation_rate": 0.5, "chrf": 200 / 3},
}
EXPECTED_BASE_LANG = {
    "high": {"lpr": 0.75, "wpr": 1.0, "lcpr": 6 / 7, "code_switch_rate": 0.25, "pass@1": 0.75},
    "low": {"lpr": 0.5, "wpr": 1.0, "lcpr": 2 / 3, "code_switch_rate": 0.5, "pass@1": 0.75},
}


def _close(actual, expected):
    if expected is None:
        return actual is None
    return actual is not None and math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)


# --- pass@k ------------------------------------------------------------------------------------
def test_pass_at_k_matches_closed_form_on_small_cases():
    cases = [(n, c, k) for n in range(1, 9) for c in range(0, n + 1) for k in range(1, n + 1)]
    n, c, k_values = zip(*cases)
    for k in set(k_values):
        subset = [(nn, cc) for nn, cc, kk in cases if kk == k]
        got = pass_at_k([s[0] for s in subset], [s[1] for s in subset], k)
        want = [1.0 - math.comb(nn - cc, k) / math.comb(nn, k) for nn, cc in subset]
        assert got.tolist() == pytest.approx(want, abs=1e-12)


def test_pass_at_k_hand_values_and_errors():
    assert pass_at_k([4], [1], 2)[0] == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert pass_at_k([10], [3], 5)[0] == pytest.approx(1 - 21 / 252)  # C(7,5) = 21, C(10,5) = 252
    assert pass_at_k_mean([4, 4], [0, 4], 1) == 0.5
    with pytest.raises(ValueError, match="at least 4 samples"):
        pass_at_k([2], [1], 4)
    with pytest.raises(ValueError, match="0 <= c <= n"):
        pass_at_k([2], [3], 1)


# --- small pure metrics ------------------------------------------------------------------------
def test_token_efficiency_translation_and_pareto_by_hand(tokenizer_dir):
    from verl_multiling.evaluation.io import token_counter

    # Qwen2.5 encodes "Hello world" as [9707, 1879]: 2 tokens of a budget of 4 -> 0.5
    tokens = token_counter(tokenizer_dir)("Hello world")
    assert tokens == 2
    assert token_efficiency([tokens], 4) == 0.5
    assert token_efficiency([1, 10], 4) == (0.25 + 1.0) / 2  # over budget counts as the full budget
    assert extract_translation("<translation>A B</translation>\n\\boxed{1}") == "A B"
    assert translation_chrf("Tom has 5 boxes.", "Tom has 5 boxes.") == 100.0
    assert translation_chrf("", "Tom has 5 boxes.") == 0.0
    assert pareto_front([(0.5, 0.5), (0.4, 0.4), (0.6, 0.3)]) == [0, 2]


# --- the bundled sample ------------------------------------------------------------------------
def test_bundled_sample_shape():
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    fields = {"id", "lang", "question", "question_en", "response", "ground_truth", "sample_index", "run"}
    assert all(fields <= set(row) for row in rows)
    assert len({row["lang"] for row in rows}) >= 10
    assert {row["run"] for row in rows} == {"base", "adamame", "tapo"}
    per_question = Counter((row["run"], row["lang"], row["id"]) for row in rows)
    assert set(per_question.values()) == {4}


@pytest.fixture(scope="module")
def eval_out(tmp_path_factory, tokenizer_dir):
    from verl_multiling.evaluation.cli import main

    out = tmp_path_factory.mktemp("eval")
    status = main(["eval", str(SAMPLE), "--out", str(out), "--k", "1,2,4", "--tokenizer", str(tokenizer_dir)])
    assert status == 0
    return out


def test_eval_overall_metrics_match_hand_computation(eval_out):
    runs = json.loads((eval_out / "metrics.json").read_text())["runs"]
    assert list(runs) == ["base", "adamame", "tapo"]
    for run, expected in EXPECTED_OVERALL.items():
        overall = runs[run]["overall"]
        assert overall["n_questions"] == 24 and overall["n_samples"] == 96
        for key, value in expected.items():
            assert _close(overall[key], value), (run, key, overall[key], value)


def test_eval_per_language_metrics_match_hand_computation(eval_out):
    runs = json.loads((eval_out / "metrics.json").read_text())["runs"]
    base = runs["base"]["languages"]
    assert set(base) == HIGH | LOW
    for lang, metrics in base.items():
        for key, value in EXPECTED_BASE_LANG["high" if lang in HIGH else "low"].items():
            assert _close(metrics[key], value), (lang, key)
    for lang, metrics in runs["adamame"]["languages"].items():
        assert metrics["n_samples"] == 8
        for key in ("pass@1", "pass@2", "lpr", "wpr", "lcpr", "code_switch_rate", "no_answer_rate"):
            assert _close(metrics[key], EXPECTED_OVERALL["adamame"][key]), (lang, key)
    for lang, metrics in runs["tapo"]["languages"].items():
        assert _close(metrics["chrf"], 200 / 3) and _close(metrics["translation_rate"], 0.5), lang


def test_eval_token_efficiency_is_tokens_over_budget(eval_out, tokenizer_dir):
    from transformers import AutoTokenizer

    runs = json.loads((eval_out / "metrics.json").read_text())["runs"]
    # counted independently of the CLI's counter, with the transformers tokenizer
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    counts = [len(tokenizer.encode(r["response"], add_special_tokens=False)) for r in rows if r["run"] == "base"]
    overall = runs["base"]["overall"]
    assert overall["mean_tokens"] == pytest.approx(sum(counts) / len(counts))
    # every sample is far below the 4096 budget, so efficiency = mean tokens / budget
    assert max(counts) < 4096
    assert overall["token_efficiency"] == pytest.approx(overall["mean_tokens"] / 4096)


def test_eval_writes_report_and_non_empty_pngs(eval_out):
    report = (eval_out / "report.md").read_text()
    assert "| base | 24 | 96 | 75.0 | 100.0 | 100.0 | 62.5 | 100.0 | 76.9 | 37.5 |" in report
    assert "| adamame | 24 | 96 | 62.5 | 91.7 | 100.0 | 87.5 | 85.7 | 86.6 | 4.2 |" in report
    assert "## LCPR per language" in report
    for name in ("accuracy_vs_lcpr.png", "pareto.png", "per_language_bars.png"):
        data = (eval_out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000, name
    runs = json.loads((eval_out / "metrics.json").read_text())["runs"]
    points = [(runs[r]["overall"]["lcpr"], runs[r]["overall"]["pass@1"]) for r in runs]
    assert [list(runs)[i] for i in pareto_front(points)] == ["base", "adamame"]


def test_eval_errors_are_clear(tmp_path, capsys):
    from verl_multiling.evaluation.cli import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "q", "lang": "fr", "response": "x"}) + "\n")
    assert main(["eval", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "['ground_truth']" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")]) == 2
    # fewer samples than k: pass@k is reported as missing, not invented
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps({"id": "q", "lang": "fr", "response": "Donc \\boxed{3}", "ground_truth": "3",
                               "num_tokens": 5}) + "\n")
    assert main(["eval", str(one), "--out", str(tmp_path / "o1"), "--k", "1,4", "--no-plots"]) == 0
    overall = json.loads((tmp_path / "o1" / "metrics.json").read_text())["runs"]["one"]["overall"]
    assert overall["pass@1"] == 1.0 and overall["pass@4"] is None and overall["token_efficiency"] == 5 / 4096


# --- the resumable generator on CPU ------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, tokenizer_dir):
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    vocab = (len(tokenizer) + 63) // 64 * 64
    torch.manual_seed(0)
    config = Qwen2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=vocab, tie_word_embeddings=True,
                         max_position_embeddings=1024, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    path = tmp_path_factory.mktemp("tiny_qwen2")
    Qwen2ForCausalLM(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


@pytest.mark.slow
def test_generator_resumes_without_duplicates(tmp_path, tiny_model):
    from verl_multiling.evaluation.generate import GenerationConfig, generate
    from verl_multiling.evaluation.io import read_jsonl_tolerant

    from verl_multiling.data_prep import build_rows, load_records, write_parquet

    # the input is a verl parquet made by data_prep (prompt = chat messages with the template)
    source = tmp_path / "translated.jsonl"
    questions = [{"id": f"q{i}", "lang": lang, "question": f"{i} + {i} = ?", "answer": str(2 * i)}
                 for lang in ("fr", "ja") for i in range(3)]
    source.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in questions) + "\n")
    data = write_parquet(build_rows(load_records("translated", ["fr", "ja"], local=source), "translated",
                                    "adamame"), tmp_path / "questions.parquet")
    out = tmp_path / "run.jsonl"
    config = dict(k=2, max_new_tokens=4, batch_size=4, temperature=0.8)
    # first run "killed" after 5 of the 12 samples
    assert generate(data, str(tiny_model), out, GenerationConfig(limit=5, **config)) == 5
    # a writer killed mid-line leaves a fragment: it must be cut, not duplicated or fatal
    with open(out, "a", encoding="utf-8") as handle:
        handle.write('{"run": "run", "id": "q2", "lang"')
    # resume through the command line: the 7 missing samples only
    from verl_multiling.evaluation.cli import main

    args = ["generate", "--data", str(data), "--model", str(tiny_model), "--out", str(out), "--k", "2",
            "--max-new-tokens", "4", "--batch-size", "4", "--temperature", "0.8"]
    assert main(args) == 0
    assert generate(data, str(tiny_model), out, GenerationConfig(**config)) == 0  # nothing left
    records = read_jsonl_tolerant(out)
    keys = [(r["lang"], r["id"], r["sample_index"]) for r in records]
    assert len(keys) == len(set(keys)) == 12
    assert set(keys) == {(q["lang"], f"translated-{q['id']}", s) for q in questions for s in range(2)}
    assert {r["ground_truth"] for r in records} == {"0", "2", "4"}
    assert all(1 <= r["num_tokens"] <= 4 and r["run"] == "run" for r in records)
    assert out.read_text(encoding="utf-8").endswith("\n")


def test_generator_vllm_backend_needs_gpu(tmp_path, capsys):
    import importlib.util

    import torch

    from verl_multiling.evaluation.cli import main
    from verl_multiling.evaluation.generate import pick_backend

    if importlib.util.find_spec("vllm") is not None and torch.cuda.is_available():
        assert pick_backend("auto") == "vllm"
        return
    assert pick_backend("auto") == "transformers"
    data = tmp_path / "q.jsonl"
    data.write_text(json.dumps({"id": "q", "lang": "fr", "question": "1+1 ?", "ground_truth": "2"}) + "\n")
    assert main(["generate", "--data", str(data), "--model", "unused", "--out", str(tmp_path / "o.jsonl"),
                 "--backend", "vllm"]) == 2
    assert "--backend vllm needs the vllm package and a CUDA GPU" in capsys.readouterr().err
