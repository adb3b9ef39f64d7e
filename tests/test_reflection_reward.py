"""The reflection recipe's reward r = r_acc + r_fmt + r_ref: hand-computed values and anti-hacking rules."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verl_multiling.rewards.reflection import (
    MARKERS,
    ReflectionConfig,
    count_markers,
    fold,
    format_reason,
    is_word_char,
    marker_languages,
    question_from_row,
    reflection_reward,
    split_think,
    strip_quoted,
)

CFG = ReflectionConfig()  # w = 0.5, c = 3, gated, format weight 1
THIRD = 0.5 / 3


def reward(response, gold="18", lang="en", cfg=CFG, question=""):
    return reflection_reward(response, gold, lang, cfg, question=question, timeout_s=5.0)


# --- hand-computed rewards in several languages ------------------------------------------------------
# (lang, response, gold, n markers): r = 1 (correct) + 1 (format) + 0.5 * min(1, n / 3)
HAND = [
    ("en", "<think>16 - 3 - 4 = 9 eggs, 9 * 2 = 18. Wait, let me verify: 9 + 3 + 4 = 16. "
           "Double-check the price: 2 dollars each.</think> The answer is \\boxed{18}.", "18", 3),
    ("fr", "<think>On a 12 × 5 = 60 crayons, puis 60 - 7 = 53. Attends, vérifions : 53 + 7 = 60.</think> "
           "La réponse est \\boxed{53}.", "53", 2),
    ("de", "<think>Er hat 5 Schachteln mit je 12 Stiften, also 60. Warte, prüfen wir: 60 - 7 = 53. "
           "Die Wartezeit spielt keine Rolle.</think> \\boxed{53}", "53", 2),
    ("es", "<think>Tiene 60 lápices y regala 7, quedan 53. Espera, verifiquemos: 53 + 7 = 60.</think> \\boxed{53}",
     "53", 2),
    ("pt", "<think>São 60 lápis e ele dá 7, restam 53. Espere, vamos verificar: 53 + 7 = 60.</think> \\boxed{53}",
     "53", 2),
    ("ru", "<think>Всего 5 коробок по 12 карандашей, то есть 60. Подождите, проверим: 60 − 7 = 53. "
           "Перепроверка: 53 + 7 = 60.</think> \\boxed{53}", "53", 3),
    ("zh", "<think>5个盒子，每盒12支，共60支，送出7支。等等，让我检查一下：60-7=53。</think>答案是 \\boxed{53}", "53", 2),
    ("ja", "<think>12本入りの箱が5箱で60本、7本あげると53本。ちょっと待って、確認しよう：53+7=60。</think> \\boxed{53}",
     "53", 2),
    ("ko", "<think>한 상자에 12자루씩 5상자면 60자루이고, 7자루를 주면 53자루입니다. 잠깐, 다시 확인해 보자: "
           "53 + 7 = 60.</think> \\boxed{53}", "53", 2),
    ("th", "<think>กล่องละ 12 แท่ง 5 กล่องเป็น 60 แท่ง ให้ไป 7 แท่งเหลือ 53 แท่ง เดี๋ยวก่อน ตรวจสอบอีกครั้ง 53 + 7 = 60"
           "</think> \\boxed{53}", "53", 2),
    ("bn", "<think>প্রতি বাক্সে ১২টি করে ৫টি বাক্সে ৬০টি পেন্সিল, ৭টি দিলে থাকে ৫৩টি। এক মিনিট, আবার যাচাই করি: "
           "৫৩ + ৭ = ৬০।</think> \\boxed{৫৩}", "53", 2),
    ("sw", "<think>Masanduku 5 ya penseli 12 ni penseli 60, akitoa 7 anabaki na 53. Ngoja, nikague: "
           "53 + 7 = 60. Hmm, sawa.</think> \\boxed{53}", "53", 3),
    ("te", "<think>ఒక్కో పెట్టెలో 12 చొప్పున 5 పెట్టెల్లో 60 పెన్సిళ్లు, 7 ఇస్తే 53 మిగులుతాయి. ఒక్క నిమిషం, "
           "సరిచూద్దాం: 53 + 7 = 60. బస్సు ఆగుతుంది.</think> \\boxed{53}", "53", 2),
]


@pytest.mark.parametrize("lang,response,gold,n", HAND, ids=[h[0] for h in HAND])
def test_hand_computed_rewards(lang, response, gold, n):
    r = reward(response, gold, lang)
    expected_ref = 0.5 * min(1.0, n / 3)
    assert (r["acc"], r["format"], r["reflection_markers"]) == (1.0, 1.0, n), r
    assert r["reflection"] == pytest.approx(expected_ref)
    assert r["score"] == pytest.approx(2.0 + expected_ref)
    assert r["reflection_reason"] == "counted" and r["format_reason"] == "ok"
    assert r["query_lang"] == lang and r["query_lang_missing"] == 0.0


def test_every_project_language_has_markers():
    required = {"en", "zh", "ja", "ko", "fr", "de", "es", "ru", "pt", "th", "bn", "sw", "te"}
    assert required <= set(MARKERS)
    for lang, groups in MARKERS.items():
        assert set(groups) <= {"word", "prefix", "none"} and all(groups.values()), lang


def test_no_reflection_is_acc_plus_format():
    r = reward("<think>16 - 3 - 4 = 9 eggs and 9 * 2 = 18 dollars.</think> \\boxed{18}")
    assert (r["score"], r["acc"], r["format"], r["reflection"], r["reflection_reason"]) == (2.0, 1.0, 1.0, 0.0, "no_markers")


def test_wrong_answer_with_format_only():
    r = reward("<think>16 - 3 - 4 = 9 eggs and 9 * 2 = 17 dollars.</think> \\boxed{17}")
    assert (r["score"], r["acc"], r["format"], r["answer_reason"]) == (1.0, 0.0, 1.0, "numeric_mismatch")


# --- boundaries ---------------------------------------------------------------------------------------


def test_word_boundaries_and_stems():
    count = lambda text, lang: count_markers(fold(text), (lang,))[0]  # noqa: E731
    assert count("waiting for the bus, he said wait.", "en") == 1  # "waiting" is not "wait"
    assert count("the await keyword; wait!", "en") == 1
    assert count("let me double-check this sum of apples", "en") == 1  # longest marker, counted once
    assert count("Wartezeit und warten, doch warte kurz: 12 Äpfel", "de") == 1
    assert count("проверка и перепроверка: 12 яблок", "ru") == 2  # stems take suffixes
    assert count("хмурый день, хм, 12 яблок", "ru") == 1  # "хм" is a word marker
    assert count("재확인과 확인, 12개의 사과", "ko") == 2
    assert count("బస్సు ఆగుతుంది, ఆగు! 12 ఆపిల్స్", "te") == 1
    # Bengali vowel signs are combining marks: \b would cut যাচাই in two, is_word_char does not
    assert is_word_char("\u09be") and not is_word_char("।")
    assert count("পুনর্যাচাই নয়, যাচাই করি: ১২টি আপেল", "bn") == 1


def test_marker_language_selection():
    assert marker_languages("fr") == ("fr",)
    assert marker_languages("fr", "all") == tuple(sorted(MARKERS))
    assert marker_languages("", "query") == tuple(sorted(MARKERS))  # unknown l_q: every list
    english_in_french = "<think>On a 60 crayons, puis 60 - 7 = 53. Wait, let me verify: 53 + 7 = 60.</think> \\boxed{53}"
    assert reward(english_in_french, "53", "fr")["reflection_markers"] == 0
    cfg = ReflectionConfig(extra_marker_languages=("en",))
    assert reward(english_in_french, "53", "fr", cfg)["reflection_markers"] == 2
    missing = reward(english_in_french, "53", None)
    assert missing["reflection_markers"] == 2 and missing["query_lang_missing"] == 1.0


# --- anti-hacking -------------------------------------------------------------------------------------

BODY = "16 - 3 - 4 = 9 eggs, 9 * 2 = 18 dollars."


def test_wait_spam_cannot_exceed_the_cap():
    # distinct sentences, so every "wait" is its own event: the cap is what stops them
    spam = reward(f"<think>{BODY} " + "".join(f"wait, step {i}. " for i in range(200)) + "</think> \\boxed{18}")
    assert (spam["reflection_markers"], spam["reflection_repeats"]) == (200, 0)
    assert spam["reflection"] == 0.5 and spam["score"] == 2.5


def test_repeated_marker_in_one_sentence_counts_once():
    spam = reward(f"<think>{BODY} " + "wait " * 200 + "</think> \\boxed{18}")
    assert (spam["reflection_markers"], spam["reflection_repeats"]) == (1, 199)
    assert spam["reflection"] == pytest.approx(THIRD)
    assert reward(f"<think>{BODY} wait wait</think> \\boxed{{18}}")["reflection"] == pytest.approx(THIRD)


@pytest.mark.parametrize("lang, check", [
    ("en", "Wait, let me check: 18 is right."),
    ("fr", "Attends, vérifions : 18 est correct."),
    ("zh", "等等，让我检查一下：18 是对的。"),
    ("ru", "Подожди, проверим: 18 верно."),
])
@pytest.mark.parametrize("times", [2, 3, 10])
def test_repeating_a_self_check_gains_nothing_over_writing_it_once(lang, check, times):
    once = reward(f"<think>{BODY} {check}</think> \\boxed{{18}}", "18", lang)
    repeated = reward(f"<think>{BODY} " + f"{check} " * times + "</think> \\boxed{18}", "18", lang)
    assert once["reflection_markers"] >= 1 and once["reflection_repeats"] == 0
    assert repeated["score"] == once["score"] and repeated["reflection"] == once["reflection"]
    assert repeated["reflection_repeats"] == once["reflection_markers"] * (times - 1)


def test_count_repeats_true_counts_every_marker():
    cfg = ReflectionConfig(count_repeats=True)
    check = "Wait, let me check: 18 is right. "
    r = reward(f"<think>{BODY} {check * 3}</think> \\boxed{{18}}", "18", "en", cfg)
    assert (r["reflection_markers"], r["reflection_repeats"], r["reflection"]) == (6, 4, 0.5)


def test_different_checks_with_the_same_marker_each_count():
    think = f"{BODY} wait, 9 * 2 = 18. wait, 16 - 7 = 9. wait, 18 / 2 = 9."
    r = reward(f"<think>{think}</think> \\boxed{{18}}")
    assert (r["reflection_markers"], r["reflection_repeats"], r["reflection"]) == (3, 0, 0.5)


def test_markers_outside_the_think_part_do_not_count():
    after = reward(f"<think>{BODY}</think> Wait, let me verify. Double-check: \\boxed{{18}}")
    assert (after["reflection_markers"], after["reflection"], after["score"]) == (0, 0.0, 2.0)
    before = reward(f"Wait, verify, double-check. <think>{BODY}</think> \\boxed{{18}}")
    assert before["reflection_markers"] == 0 and before["format_reason"] == "text_before_think"
    unclosed = reward(f"<think>{BODY} wait, verify, double-check. \\boxed{{18}}")
    assert (unclosed["reflection"], unclosed["reflection_reason"], unclosed["format"]) == (0.0, "no_think", 0.0)
    second_block = reward(f"<think>{BODY}</think><think>wait verify double-check</think> \\boxed{{18}}")
    assert second_block["reflection_markers"] == 0 and second_block["format_reason"] == "repeated_think_tag"


def test_markers_in_the_copied_question_do_not_count():
    question = ("Verify your work: Janet waits for her ducks to lay 16 eggs. She eats 3 and bakes with 4. "
                "Wait until she sells the rest at $2 each. How much does she make?")
    think = ("The problem: Verify your work: Janet waits for her ducks to lay 16 eggs. She eats 3 and bakes "
             "with 4. Wait until she sells the rest at $2 each. So 16 - 3 - 4 = 9 and 9 * 2 = 18.")
    r = reward(f"<think>{think}</think> \\boxed{{18}}", question=question)
    assert r["reflection_markers"] == 0 and r["question_missing"] == 0.0
    # the same think with one genuine self-check after the copy
    r = reward(f"<think>{think} Hmm, let me check again: 9 + 3 + 4 = 16.</think> \\boxed{{18}}", question=question)
    assert r["reflection_markers"] == 2 and r["reflection"] == pytest.approx(2 * THIRD)
    # without the question, the copy's "Verify" and "Wait" are counted (nothing to compare with)
    assert reward(f"<think>{think}</think> \\boxed{{18}}")["reflection_markers"] == 2


@pytest.mark.parametrize("quoted", [
    '"wait, verify and double-check"', "«attends, vérifions»", "“wait, verify, double-check”",
    "「待って、確認」", "『待って、確認』", "„warte, prüfen“",
])
def test_markers_inside_quotation_marks_do_not_count(quoted):
    lang = {"«": "fr", "「": "ja", "『": "ja", "„": "de"}.get(quoted[0], "en")
    r = reward(f"<think>The problem says {quoted} and then 16 - 3 - 4 = 9, 9 * 2 = 18.</think> \\boxed{{18}}",
               lang=lang)
    assert r["reflection_markers"] == 0, r
    assert strip_quoted(fold(quoted)).strip() == ""


@pytest.mark.parametrize("think", ["", "   ", "wait", "Wait, wait! Hmm... verify; double-check?"])
def test_empty_think_earns_no_reflection(think):
    r = reward(f"<think>{think}</think> \\boxed{{18}}")
    assert r["reflection"] == 0.0 and r["reflection_markers"] == 0
    assert r["reflection_reason"] == ("empty_think")
    assert r["format"] == (0.0 if not think.strip() else 1.0)


def test_wrong_answer_gets_no_reflection_when_gated():
    response = f"<think>{BODY} Wait, let me verify. Double-check: fine.</think> \\boxed{{17}}"
    gated = reward(response)
    assert (gated["acc"], gated["reflection"], gated["reflection_markers"], gated["reflection_reason"]) == (
        0.0, 0.0, 3, "gated_wrong")
    assert gated["score"] == 1.0  # format only
    ungated = reward(response, cfg=ReflectionConfig(gate_on_correct=False))
    assert ungated["reflection"] == 0.5 and ungated["score"] == 1.5


def test_disabled_reflection_still_reports_markers():
    r = reward(f"<think>{BODY} Wait, let me verify. Double-check.</think> \\boxed{{18}}",
               cfg=ReflectionConfig(enabled=False))
    assert (r["score"], r["reflection"], r["reflection_markers"], r["reflection_reason"]) == (2.0, 0.0, 3, "disabled")


# --- format -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("response,reason", [
    ("<think>x = 1 + 1</think> \\boxed{2}", "ok"),
    ("\n <think>x = 1 + 1</think>\n\\boxed{2}", "ok"),
    ("<think>x = 1 + 1</think> 2", "no_boxed_answer"),
    ("<think>x = 1 + 1</think> \\boxed{}", "no_boxed_answer"),
    ("<think>x = 1 + 1 \\boxed{2}", "no_think_close"),
    ("x = 1 + 1</think> \\boxed{2}", "no_think_open"),
    ("<think>x</think> <think>y</think> \\boxed{2}", "repeated_think_tag"),
    ("<think>x <think> y</think> \\boxed{2}", "repeated_think_tag"),
    ("<think> </think> \\boxed{2}", "empty_think"),
    ("\\boxed{2}", "no_think_close"),
    ("", "no_think_close"),
])
def test_format_rule(response, reason):
    assert format_reason(response, CFG)[1] == reason


def test_format_is_configurable():
    assert format_reason("x = 1 + 1</think> \\boxed{2}", ReflectionConfig(prompt_opens_think=True)) == ("x = 1 + 1", "ok")
    assert format_reason("<think>x</think> 2", ReflectionConfig(require_boxed=False))[1] == "ok"
    tags = ReflectionConfig(think_open="<reasoning>", think_close="</reasoning>", format_weight=0.5)
    r = reward(f"<reasoning>{BODY} Wait, verify: 9 + 7 = 16.</reasoning> \\boxed{{18}}", cfg=tags)
    assert (r["format"], r["reflection_markers"], r["score"]) == (0.5, 2, pytest.approx(1.5 + 2 * THIRD))
    assert split_think("<think>a</think>b</think>") == ("a", "b</think>", "repeated_think_tag")


# --- the question of a dataset row -------------------------------------------------------------------


def test_question_from_every_row_shape():
    msgs = [{"role": "system", "content": "Think first."}, {"role": "user", "content": "What is 2+2?"}]
    assert question_from_row({"raw_prompt": msgs}) == "What is 2+2?"
    assert question_from_row({"prompt": np.array(msgs, dtype=object)}) == "What is 2+2?"
    parts = [{"role": "user", "content": [{"type": "text", "text": "What is"}, {"type": "image"}, {"type": "text", "text": "3+3?"}]}]
    assert question_from_row({"raw_prompt": parts}) == "What is\n3+3?"
    assert question_from_row({"prompt": "plain prompt"}) == "plain prompt"
    assert question_from_row({"prompt": None, "extra_info": {"question": "4+4?"}}) == "4+4?"
    assert question_from_row({"extra_info": {"index": 3}}) == ""
    assert question_from_row({"prompt": 5, "raw_prompt": [None, 3]}) == ""
    assert question_from_row(None) == ""


# --- config -------------------------------------------------------------------------------------------


def test_config_defaults_and_nodes():
    assert ReflectionConfig.from_config({}) == CFG
    node = {"weight": 1.0, "cap": 5, "gate_on_correct": False, "extra_marker_languages": ["en"]}
    for cfg in ({"multiling": {"reflection": node}}, {"reflection": node}, node):
        parsed = ReflectionConfig.from_config(cfg)
        assert (parsed.weight, parsed.cap, parsed.gate_on_correct, parsed.extra_marker_languages) == (1.0, 5, False, ("en",))
    assert CFG.max_score == 2.5
    assert ReflectionConfig.from_config({"reflection": {"weight": 2.0}}).weight == 2.0
    assert ReflectionConfig.from_config({"weight": 2.0}).weight == 2.0  # a bare node
    assert ReflectionConfig.from_config({"multiling": {"lang_key": "lang"}, "trainer": {}}) == CFG
    assert ReflectionConfig.from_config({"trainer": {}, "algorithm": {}}) == CFG  # no node: defaults


def test_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match=r"multiling\.reflection\.gate_on_corect: unknown key"):
        ReflectionConfig.from_config({"multiling": {"reflection": {"gate_on_corect": False}}})


@pytest.mark.parametrize("field,value", [
    ("cap", 0), ("cap", 2.5), ("weight", -0.1), ("weight", "big"), ("format_weight", float("inf")),
    ("gate_on_correct", "yes"), ("enabled", 1), ("marker_languages", "english"), ("extra_marker_languages", "en"),
    ("extra_marker_languages", ["xx"]), ("think_open", ""), ("think_close", 3), ("min_think_chars", -1),
])
def test_config_errors_name_the_field(field, value):
    with pytest.raises(ValueError, match=rf"multiling\.reflection\.{field}"):
        ReflectionConfig.from_config({"multiling": {"reflection": {field: value}}})


def test_config_rejects_identical_tags():
    with pytest.raises(ValueError, match="think_open and think_close"):
        ReflectionConfig.from_config({"reflection": {"think_open": "##", "think_close": "##"}})


# --- fuzz ---------------------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from([
    "<think>", "</think>", "\\boxed{18}", "\\boxed{", "}", "wait", "Wait, ", "let me verify", "double-check",
    "等等", "確認", "잠깐", "проверим", "যাচাই", "సరిచూ", "ตรวจสอบ", '"', "«", "»", "“", "”", "「", "」",
    " ", "\n", "16 - 3 - 4 = 9 eggs", "18", "\u09be", "ß", "İ", "ﬁ", "＂",
])
KEYS = set(reward("")) | {"score"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(st.text(max_size=300), st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=40).map("".join)),
    lang=st.sampled_from(["en", "fr", "zh", "ja", "ko", "ru", "bn", "te", "th", "sw", "", None, "xx-YY", 3]),
    question=st.one_of(st.text(max_size=80), st.just("wait, verify the sum 16 - 3 - 4 = 9 eggs")),
    gate=st.booleans(),
)
def test_fuzz_never_raises_and_stays_in_range(text, lang, question, gate):
    cfg = ReflectionConfig(gate_on_correct=gate)
    r = reflection_reward(text, "18", lang, cfg, question=question, timeout_s=5.0)
    assert set(r) == KEYS
    assert 0.0 <= r["score"] <= 1.0 + cfg.format_weight + cfg.weight
    assert 0.0 <= r["reflection"] <= cfg.weight and r["format"] in (0.0, cfg.format_weight) and r["acc"] in (0.0, 1.0)
    assert r["score"] == pytest.approx(r["acc"] + r["format"] + r["reflection"])
    if gate and not r["acc"]:
        assert r["reflection"] == 0.0
