"""The translated DAPO-Math-17k source (AdaMame's RL prompts): released layout, plain pools, the released
instruction per language, 1,000 per language, the download path and its offline error."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from verl_multiling.data_prep import SchemaError, load_records
from verl_multiling.data_prep.dapo_math import RELEASE_FILES, URL_ENV, question_from_prompt
from verl_multiling.data_prep.templates import INSTRUCTIONS

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("fr", "ja", "ko", "pt", "th")
#: the released instruction sentences (dayeonki/adamame, 3_eval/convert_to_parquet.py), typed here again so
#: that a change to templates.py cannot pass unnoticed
RELEASED = {
    "fr": "Veuillez raisonner étape par étape et placer votre réponse finale dans \\boxed{}.",
    "ja": "段階的に考えて、最終的な答えを \\boxed{} の中に入れてください。",
    "ko": "단계별로 추론하고, 최종 답을 \\boxed{} 안에 넣어주세요.",
    "pt": "Por favor, justifique passo a passo e coloque a sua resposta final dentro de \\boxed{}.",
    "th": "กรุณาให้เหตุผลทีละขั้นตอน และใส่คำตอบสุดท้ายของคุณไว้ภายใน \\boxed{}",
}


def _prepare_main():
    spec = importlib.util.spec_from_file_location("vm_prepare_data", ROOT / "scripts" / "prepare_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _released_frame(per_lang: int, split: str = "train") -> pd.DataFrame:
    """Rows in the layout of the authors' train_dapomath17k_5k.parquet."""
    rows = []
    for lang in LANGS:
        for i in range(per_lang):
            question = f"[{lang}] Trouvez $x$ si $x + {i} = {2 * i}$.\n\n$$x^2$$"
            rows.append({"data_source": "zoey/gsm8k",
                         "prompt": [{"content": RELEASED[lang] + "\n\n" + question, "role": "user"}],
                         "reward_model": {"ground_truth": str(i), "lang": lang, "style": "rule"},
                         "extra_info": {"index": len(rows), "split": split, "type": "None"}, "lang": lang})
    return pd.DataFrame(rows)


def test_adamame_template_is_the_released_wording():
    for lang, sentence in RELEASED.items():
        assert INSTRUCTIONS["adamame"][lang] == sentence


def test_released_parquet_round_trips_to_the_same_prompts(tmp_path, capsys):
    source = tmp_path / "train_dapomath17k_5k.parquet"
    frame = _released_frame(3)
    frame.to_parquet(source)
    assert _prepare_main()(["--dataset", "dapomath17k", "--languages", "all", "--local", str(source),
                            "--out", str(tmp_path / "out")]) == 0
    out = pd.read_parquet(tmp_path / "out" / "dapomath17k.parquet")
    assert "fr=3" in capsys.readouterr().out and len(out) == 15
    # the rebuilt prompt is the released one, character for character, and the gold answer travels
    assert sorted(p[0]["content"] for p in out["prompt"]) == sorted(p[0]["content"] for p in frame["prompt"])
    assert sorted(out["reward_model"].map(lambda r: (r["ground_truth"]))) == sorted(
        frame["reward_model"].map(lambda r: r["ground_truth"]))
    assert set(out["data_source"]) == {f"dapomath17k/{lang}" for lang in LANGS}
    ko = out[out["lang"] == "ko"].iloc[0]
    assert ko["extra_info"]["question"].startswith("[ko] Trouvez")


def test_a_translated_pool_gives_1000_distinct_questions_per_language(tmp_path, capsys):
    pool = tmp_path / "pool.jsonl"
    with open(pool, "w", encoding="utf-8") as handle:
        for lang in LANGS:
            for i in range(1003):
                handle.write(json.dumps({"question": f"{lang} q{i}", "answer": i, "lang": lang}) + "\n")
            handle.write(json.dumps({"question": f"{lang} q0", "answer": 0, "lang": lang}) + "\n")  # duplicate
        handle.write(json.dumps({"question": "th only", "answer": 1, "lang": "th"}) + "\n")
    main = _prepare_main()
    assert main(["--dataset", "dapomath17k", "--languages", "fr,ja,ko,pt,th", "--local", str(pool),
                 "--out", str(tmp_path / "a"), "--seed", "42"]) == 0
    out = pd.read_parquet(tmp_path / "a" / "dapomath17k.parquet")
    assert out["lang"].value_counts().to_dict() == {lang: 1000 for lang in LANGS}
    assert out.groupby("lang")["extra_info"].apply(lambda e: len({x["question"] for x in e})).eq(1000).all()
    first = out[out["lang"] == "th"].iloc[0]["prompt"][0]["content"]
    assert first.startswith(RELEASED["th"] + "\n\n") and first.split("\n\n", 1)[1].startswith("th q")
    # the same seed draws the same questions
    assert main(["--dataset", "dapomath17k", "--languages", "fr,ja,ko,pt,th", "--local", str(pool),
                 "--out", str(tmp_path / "b"), "--seed", "42"]) == 0
    again = pd.read_parquet(tmp_path / "b" / "dapomath17k.parquet")
    assert list(again["extra_info"].map(lambda e: e["question"])) == list(out["extra_info"].map(lambda e: e["question"]))
    # --per-language 0 keeps the whole pool (distinct questions only once kept by a cap; here all rows)
    capsys.readouterr()
    assert main(["--dataset", "dapomath17k", "--languages", "fr", "--local", str(pool), "--per-language", "1005",
                 "--out", str(tmp_path / "c")]) == 0
    assert "fr has 1003 distinct questions, 1005 wanted" in capsys.readouterr().err


def test_download_path_and_offline_error(tmp_path, monkeypatch):
    """The release is fetched from $VERL_MULTILING_ADAMAME_DATA_URL (here a file:// mirror) into the cache;
    an unreachable source names --local."""
    mirror = tmp_path / "mirror"
    for split, per_lang in (("train", 2), ("val", 1)):
        path = mirror / RELEASE_FILES[split]
        path.parent.mkdir(parents=True, exist_ok=True)
        _released_frame(per_lang, split).to_parquet(path)
    monkeypatch.setenv("VERL_MULTILING_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(URL_ENV, mirror.as_uri())
    records = load_records("dapomath17k", ["ja", "th"], splits=["train", "val"])
    assert [len(records[lang]) for lang in ("ja", "th")] == [3, 3]
    assert [r.split for r in records["ja"]] == ["train", "train", "val"]
    assert len({r.index for r in records["ja"]}) == 3  # indices continue across splits
    assert (tmp_path / "cache" / "adamame_release" / RELEASE_FILES["val"]).is_file()
    monkeypatch.setenv(URL_ENV, (tmp_path / "nowhere").as_uri())
    monkeypatch.setenv("VERL_MULTILING_CACHE", str(tmp_path / "empty_cache"))
    with pytest.raises(ConnectionError, match="pass --local FILE"):
        load_records("dapomath17k", ["fr"])
    with pytest.raises(SchemaError, match="released splits"):
        load_records("dapomath17k", ["fr"], splits=["test"])


def test_a_prompt_without_the_released_instruction_is_refused():
    assert question_from_prompt(RELEASED["pt"] + "\n\nQuanto é 2+2?", "pt") == "Quanto é 2+2?"
    with pytest.raises(SchemaError, match="does not start with the released AdaMame instruction"):
        question_from_prompt("Quanto é 2+2?\n\n" + RELEASED["pt"], "pt")
    with pytest.raises(SchemaError, match="unknown language code 'de'"):
        load_records("dapomath17k", ["de"])
