"""Tests for verl_multiling.scorers.text_cleaning (math stripping before language ID)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from verl_multiling.scorers.text_cleaning import letter_count, strip_math

EVAL_SET = Path(__file__).resolve().parents[1] / "verl_multiling" / "data" / "lid_eval.jsonl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # inline and display math in every delimiter style
        ("Janet verkauft $16-3-4=9$ Eier.", "Janet verkauft Eier."),
        ("Il reste $$\\frac{16}{2}\n= 8$$ œufs", "Il reste\nœufs"),
        ("Итак \\(x^2 + 1\\) равно", "Итак равно"),
        ("donc \\[ 2x = 6 \\] et fin", "donc et fin"),
        ("Hence \\begin{align} a &= 2 \\\\ b &= 3 \\end{align} done", "Hence done"),
        ("Also \\begin{cases} x \\\\ y \\end{cases} \\begin{matrix} p \\end{matrix} ok",
         "Also ok"),
        # boxed answers, nested braces included
        ("Die Antwort ist \\boxed{18}", "Die Antwort ist"),
        ("答案是 \\boxed{\\frac{1}{2}} 对吧", "答案是 对吧"),
        ("The answer is \\boxed {\\text{Monday}} indeed", "The answer is indeed"),
        # leftover LaTeX commands, braces, operators, digits
        ("soit \\frac{a}{b} \\times 3 \\cdot 4", "soit a b"),
        ("16 - 3 - 4 = 9", ""),
        ("(12 + 8) / 4 = 5 ≤ 6 ± 1 × 2 ÷ 3 → ok", "ok"),
        # native digits: Thai, Bengali, Devanagari, Arabic-Indic, fullwidth
        ("ดังนั้น ๑๖ - ๓ ฟอง", "ดังนั้น ฟอง"),
        ("মোট ১৬টি ডিম", "মোট টি ডিম"),
        ("कुल १८ डॉलर", "कुल डॉलर"),
        ("المجموع ١٨ دولارًا", "المجموع دولارًا"),
        ("合計１８ドル", "合計 ドル"),
        ("x² + ½ = ①", "x"),
        # tags and code fences
        ("<think>\nWe compute.\n</think>\nDone", "We compute.\nDone"),
        ("<answer>42</answer> <step id=\"1\">Schritt</step>", "Schritt"),
        ("Voici:\n```python\nprint('hello world')\n```\nFin", "Voici:\nFin"),
        # operators and punctuation-only runs go, words with punctuation stay
        ("Wait ... let me check !!! **Step** -> ok", "Wait let me check Step ok"),
        ("- first item\n- second item", "first item\nsecond item"),
        # hyphenated words survive, digit-hyphen runs go
        ("vingt-deux 16-3-4 3-jährig", "vingt-deux jährig"),
        # prose dollars (pandoc rule) and escaped dollars are not math
        ("She pays $5 and gets $3 back.", "She pays and gets back."),
        ("Preis: \\$5 und $x$ Euro", "Preis: und Euro"),
        # whitespace: runs collapse, newlines stay, blank lines drop
        ("  a  \t b \n\n\n  c  ", "a b\nc"),
    ],
)
def test_strip_math_cases(text: str, expected: str) -> None:
    assert strip_math(text) == expected


@pytest.mark.parametrize(
    "word",
    [
        "ก่อนอื่นเราหาจำนวนหน้า",  # Thai with combining vowels and tone marks
        "नाश्ते",  # Devanagari with virama and matra
        "నోట్‌బుక్",  # Telugu with ZWNJ (must be kept)
        "জ্যানেটের",
        "يوميًا",  # Arabic with tanwin
        "œufs",
        "Frühstück",
        "재닛의",
        "ジャネットのアヒル",
    ],
)
def test_letters_of_every_script_survive(word: str) -> None:
    assert strip_math(f"$x$ {word} \\boxed{{3}}") == word


def test_math_in_a_model_response_is_removed_and_language_kept() -> None:
    response = (
        "<think>\nLes canes de Janet pondent 16 œufs par jour.\n"
        "Il reste donc $16 - 3 - 4 = 9$ œufs.\n"
        "Elle gagne $9 \\times 2 = 18$ dollars.\n</think>\nLa réponse est \\boxed{18}."
    )
    assert strip_math(response) == (
        "Les canes de Janet pondent œufs par jour.\n"
        "Il reste donc œufs.\n"
        "Elle gagne dollars.\n"
        "La réponse est"
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t  ",
        "\x00\x01\x02 text \x7f\x9f",
        "ab\ud800cd\udfffef",  # lone surrogates
        "\u200b\ufeffzero\u200bwidth",
        "$",
        "$$",
        "\\",
        "\\(",
        "\\[ unclosed",
        "\\begin{align} never closed",
        "\\end{align} without begin",
        "\\boxed{",
        "\\boxed{ { }",
        "}}}{{{",
        "```",
        "<think",
        "</",
    ],
)
def test_degenerate_input_never_raises(text: str) -> None:
    result = strip_math(text)
    assert isinstance(result, str)
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in result)
    assert not any(ord(ch) < 32 and ch != "\n" for ch in result)


def test_non_string_input_is_converted() -> None:
    assert strip_math(None) == ""  # type: ignore[arg-type]
    assert strip_math(12345) == ""  # type: ignore[arg-type]


def test_unbalanced_delimiters_keep_the_text() -> None:
    assert strip_math("Das \\( ist \\[ nicht \\boxed{ zu") == "Das ist nicht zu"
    assert strip_math("Il manque $x la fin") == "Il manque x la fin"


@pytest.mark.parametrize(
    "text",
    [
        "\\(" * 500_000,
        "$a " * 330_000,
        "\\boxed{ {}" * 100_000,
        "\\boxed{\\frac{1}{2}" * 60_000,
        "".join(f"\\begin{{e{i}}} x " for i in range(60_000)),
        "<a " * 330_000,
        "{" * 1_000_000,
        "-" * 1_000_000,
        ". " * 500_000,
        "\n" * 1_000_000,
        "$x\n" * 330_000,
        "Das ist ein ganz normaler Satz ohne Mathematik. " * 21_000,
        "ab\ud800cd\udfff" * 150_000,
    ],
    ids=["parens", "dollars", "boxed", "nested-boxed", "envs", "tags", "braces", "hyphens",
         "punct", "newlines", "dollar-lines", "prose", "surrogates"],
)
def test_one_megabyte_adversarial_input_is_cleaned(text: str) -> None:
    """The documented output on each megabyte input (its time, 0.02-0.1 s against a 5 s bound that a quadratic
    path would break by minutes, is measured by python -m verl_multiling.benchmarks bounds --only text)."""
    result = strip_math(text)
    assert isinstance(result, str) and len(result) <= len(text)
    assert result == strip_math(result)  # idempotent
    assert not any(0xD800 <= ord(ch) <= 0xDFFF or ch in "{}$\\" for ch in result)


def test_strip_math_is_idempotent_on_the_eval_set() -> None:
    with EVAL_SET.open(encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle]
    assert len(texts) >= 100
    for text in texts:
        once = strip_math(text)
        assert strip_math(once) == once


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        ("Die Antwort ist 18.", 13),
        ("答案是18。", 3),
        ("= 9 ...", 0),
        ("x_1 + y_2", 2),
        ("ก่อน", 3),  # the tone mark is not a letter
        ("Ответ", 5),
    ],
)
def test_letter_count(text: str, count: int) -> None:
    assert letter_count(text) == count
