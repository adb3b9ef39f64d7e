"""AdaMame reward parts on strange inputs: defined scores with counted reasons, never an exception."""

import pytest

from verl_multiling.config.multiling import MultilingConfig
from verl_multiling.rewards.adamame import adamame_reward, language_id_text
from verl_multiling.scorers.language_id import normalise_lang

CFG = MultilingConfig.from_config({"multiling": {"languages": ["fr", "ja", "ko", "pt", "th"]}})


def test_correct_and_in_language():
    r = adamame_reward("Il reste 16 - 3 - 4 = 9 œufs, donc elle gagne 18 dollars. La réponse est \\boxed{18}.",
                       "18", "fr", CFG)
    assert (r["score"], r["lang_match"], r["response_lang"], r["answer_reason"]) == (1.0, 1.0, "fr", "numeric_match")


def test_correct_but_reasoned_in_english():
    r = adamame_reward("She has 9 eggs left and earns 9 times 2 dollars. The answer is \\boxed{18}.", "18", "ja", CFG)
    assert (r["score"], r["lang_match"], r["response_lang"]) == (1.0, 0.0, "en")


@pytest.mark.parametrize("response, reason", [
    ("", "empty_response"),
    ("La réponse est dix-huit.", "no_answer"),
    ("\\boxed{" * 50000, "no_answer"),
])
def test_bad_responses_score_zero_with_a_reason(response, reason):
    r = adamame_reward(response, "18", "fr", CFG)
    assert r["score"] == 0.0 and r["answer_reason"] == reason
    assert r["no_answer"] == 1.0


def test_huge_response_is_bounded_and_scored():
    text = "Calculons pas à pas. " * 60000 + "La réponse est \\boxed{18}."
    r = adamame_reward(text, "18", "fr", CFG)
    assert r["score"] == 1.0 and r["response_lang"] == "fr"


def test_missing_or_unknown_query_language_is_counted():
    r = adamame_reward("La réponse est \\boxed{18}, car il reste neuf œufs.", "18", None, CFG)
    assert (r["score"], r["lang_match"], r["query_lang_missing"]) == (1.0, 0.0, 1.0)
    r = adamame_reward("La réponse est \\boxed{18}, car il reste neuf œufs.", "18", "xx", CFG)
    assert r["lang_match"] == 0.0 and r["query_lang_missing"] == 0.0


def test_pure_math_has_no_language_and_never_matches():
    r = adamame_reward("16 - 3 - 4 = 9, 9 \\times 2 = 18, \\boxed{18}", "18", "fr", CFG)
    assert r["response_lang"] == "" and r["lang_match"] == 0.0 and r["score"] == 1.0


def test_non_string_response_and_gold():
    r = adamame_reward(None, None, "fr", CFG)
    assert r["score"] == 0.0


def test_language_is_detected_on_the_first_500_characters():
    text = "Calculons : il reste neuf œufs à vendre. " * 13 + "\n" + "The answer is clearly eighteen. " * 40
    assert len(language_id_text(text, CFG)) == 500
    assert adamame_reward(text + "\\boxed{18}", "18", "fr", CFG)["lang_match"] == 1.0


def test_normalise_lang():
    assert normalise_lang("FR") == "fr" and normalise_lang("zh-CN") == "zh" and normalise_lang(None) == ""
