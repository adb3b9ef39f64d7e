"""TAPO format parsing and rewards, and the recipe's reward manager run through verl's reward loop on CPU."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf, open_dict

from verl_multiling.preflight.rollouts import build_dataproto, load_rollouts
from verl_multiling.rewards.tapo import DEFAULT_TAGS, TapoConfig, Tags, parse_response, tapo_reward
from verl_multiling.scorers.translation import ChrFScorer, TranslationScorer

SAMPLE = "sample_tapo_rollouts.jsonl"
# kind -> (r_acc, has_u, r_fmt, r_trans bounds)
EXPECTED = {
    "good": (1.0, 1.0, 1.0, (0.999, 1.0)),
    "paraphrase": (1.0, 1.0, 1.0, (0.2, 0.8)),
    "copy": (1.0, 1.0, 1.0, (0.0, 0.35)),
    "wrong": (0.0, 1.0, 1.0, (0.999, 1.0)),
    "no_tag": (1.0, 0.0, 0.0, (0.0, 0.0)),
    "unclosed": (1.0, 0.0, 0.0, (0.0, 0.0)),
}


@pytest.fixture(scope="module")
def sample():
    from verl_multiling.plumbing.paths import DATA_DIR

    return load_rollouts(DATA_DIR / SAMPLE)


@pytest.fixture(scope="module")
def tapo_cfg(compose):
    return compose(["+recipe=tapo"])


@pytest.fixture(scope="module")
def run_cfg(reward_loop_cfg):
    return reward_loop_cfg("+recipe=tapo")


def tapo_dataproto(rows, tokenizer):
    """build_dataproto plus the parallel-data columns TAPO reads (English reference, source question)."""
    data = build_dataproto(rows, tokenizer)
    data.non_tensor_batch["question_en"] = np.array([r["question_en"] for r in rows], dtype=object)
    data.non_tensor_batch["question"] = np.array([r["question"] for r in rows], dtype=object)
    return data


# ---- parsing -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, reason", [
    ("<translation>Q?</translation> A \\boxed{1}", "ok"),
    ("  \n<translation>Q?</translation>\\boxed{1}", "ok"),
    ("", "empty_response"),
    ("   \n", "empty_response"),
    ("no tags \\boxed{1}", "missing_tag"),
    ("Q?</translation> \\boxed{1}", "missing_open"),
    ("<translation>Q? \\boxed{1}", "unclosed"),
    ("<translation>Q?</translation><translation>Q?</translation>\\boxed{1}", "repeated_tag"),
    ("<translation>Q?</translation> see </translation> \\boxed{1}", "repeated_tag"),
    ("</translation>Q?<translation>\\boxed{1}", "close_before_open"),
    ("Sure. <translation>Q?</translation>\\boxed{1}", "text_before_open"),
    ("<translation>  \n </translation>\\boxed{1}", "empty_translation"),
    ("<translation></translation>\\boxed{1}", "empty_translation"),
])
def test_parse_reasons(text, reason):
    parsed = parse_response(text)
    assert parsed.reason == reason
    if reason == "ok":
        assert text[: parsed.u_char_end].endswith("</translation>") and parsed.translation == "Q?"
    else:
        assert parsed.u_char_end == 0 and not parsed.has_u


def test_custom_tags_and_leading_text():
    tags = Tags("[EN]", "[/EN]")
    parsed = parse_response("ok: [EN]Two apples[/EN] so \\boxed{2}", tags, require_leading=False)
    assert (parsed.reason, parsed.translation, parsed.reasoning) == ("ok", "Two apples", " so \\boxed{2}")
    assert parse_response("ok: [EN]x[/EN]", tags, require_leading=True).reason == "text_before_open"


@pytest.mark.parametrize("node, message", [
    ({"tags": {"open": ""}}, "multiling.tapo.tags.open"),
    ({"tags": {"open": "<t>", "close": "<t>"}}, "must not contain each other"),
    ({"require_leading": "yes"}, "multiling.tapo.require_leading"),
    ({"reference_key": 3}, "multiling.tapo.reference_key"),
    ({"translation": {"metric": "bleu"}}, "multiling.tapo.translation.metric='bleu'"),
    ({"translation": {"metric": "comet"}}, "multiling.tapo.translation.comet.checkpoint is required"),
    ({"translation": {"service": {"mode": "remote"}}}, "multiling.tapo.translation.service.mode"),
    ({"translation": {"char_order": 0}}, "multiling.tapo.translation.char_order"),
])
def test_config_errors_name_the_field(node, message):
    with pytest.raises(ValueError, match=message):
        TapoConfig.from_config({"multiling": {"tapo": node}})


def test_recipe_config_parses(tapo_cfg):
    cfg = TapoConfig.from_config(tapo_cfg)
    assert cfg.tags == DEFAULT_TAGS and cfg.translation.metric == "chrf" and cfg.reference_key == "question_en"
    assert tapo_cfg.algorithm.adv_estimator == "tapo" and tapo_cfg.algorithm.tapo.lam == 1.0
    assert tapo_cfg.actor_rollout_ref.rollout.name == "vllm" and tapo_cfg.actor_rollout_ref.actor.use_dynamic_bsz


# ---- rewards (pure) ------------------------------------------------------------------------------------

def test_every_sample_kind(sample):
    cfg, scorer = TapoConfig(), ChrFScorer()
    langs = {r["lang"] for r in sample}
    assert len(langs) >= 8 and set(EXPECTED) == {r["kind"] for r in sample}
    for row in sample:
        parts, _ = tapo_reward(row["response"], row["ground_truth"], row["lang"], row["question_en"], row["question"],
                               cfg, scorer)
        acc, has_u, fmt, (lo, hi) = EXPECTED[row["kind"]]
        assert (parts["r_acc"], parts["u_step"], parts["r_fmt"]) == (acc, has_u, fmt), (row["lang"], row["kind"], parts)
        assert lo <= parts["r_trans"] <= hi, (row["lang"], row["kind"], parts["r_trans"])
        assert parts["score"] == parts["r_acc"]


def test_missing_reference_and_scorer_failure_are_counted_reasons():
    class Broken(TranslationScorer):
        name = "broken"

        def score(self, hypotheses, references=None, sources=None):
            raise RuntimeError("model server down")

    text = "<translation>How many?</translation> \\boxed{3}"
    parts, _ = tapo_reward(text, "3", "fr", None, "Combien ?", TapoConfig(), ChrFScorer())
    assert (parts["r_trans"], parts["trans_reason"], parts["r_acc"]) == (0.0, "no_reference", 1.0)
    parts, _ = tapo_reward(text, "3", "fr", "How many?", "Combien ?", TapoConfig(), Broken())
    assert (parts["r_trans"], parts["trans_reason"], parts["r_fmt"]) == (0.0, "scorer_error", 1.0)


def test_answer_is_read_from_the_reasoning_step():
    # a \boxed{} inside the translation is not an answer
    parts, _ = tapo_reward("<translation>Is it \\boxed{3}?</translation> I do not know.", "3", "en", "Is it 3?",
                           None, TapoConfig(), ChrFScorer())
    assert (parts["r_acc"], parts["no_answer"], parts["r_fmt"]) == (0.0, 1.0, 0.0)


# ---- the manager, loaded by verl from the composed recipe ------------------------------------------------

def test_manager_loaded_by_verl_scores_every_kind(run_cfg, tokenizer, sample):
    from verl.trainer.ppo.reward import load_reward_manager

    rm = load_reward_manager(run_cfg, tokenizer)
    assert type(rm).__name__ == "TapoRewardManager"
    data = tapo_dataproto(sample, tokenizer)
    keys = None
    for i, row in enumerate(sample):
        out = rm.loop.run_until_complete(rm.run_single(data[i:i + 1]))
        info = out["reward_extra_info"]
        keys = keys or set(info)
        assert set(info) == keys, "every sample must return the same reward_extra_info keys"
        acc, has_u, fmt, (lo, hi) = EXPECTED[row["kind"]]
        assert (out["reward_score"], info["u_step"], info["r_fmt"]) == (acc, has_u, fmt), (row["lang"], row["kind"])
        assert lo <= info["r_trans"] <= hi and info["reward_error"] == 0.0
        ids = data.batch["responses"][i][: int(data.batch["response_mask"][i].sum())].tolist()
        if has_u:
            u = info["u_tokens"]
            assert info["split_reason"] == "ok" and 0 < u < len(ids)
            assert "</translation>" in tokenizer.decode(ids[:u])
            assert "</translation>" not in tokenizer.decode(ids[:u - 1])
        else:
            assert info["u_tokens"] == 0
    assert rm.reasons["format_reason=unclosed"] == sum(r["kind"] == "unclosed" for r in sample)


def test_broken_row_scores_zero_with_reward_error(run_cfg, tokenizer, sample):
    from verl.trainer.ppo.reward import load_reward_manager

    rm = load_reward_manager(run_cfg, tokenizer)
    data = tapo_dataproto(sample[:1], tokenizer)
    data.non_tensor_batch["reward_model"] = np.array([{}], dtype=object)  # no ground truth
    out = rm.loop.run_until_complete(rm.run_single(data[0:1]))
    assert out["reward_score"] == 0.0 and out["reward_extra_info"]["reward_error"] == 1.0
    assert set(out["reward_extra_info"]) == set(rm.extra_keys) | {"reward_error"}


@pytest.mark.parametrize("on_failure", ["fallback", "zero", "stop"])
def test_unavailable_comet_follows_the_fault_policy(run_cfg, tokenizer, sample, on_failure):
    """A COMET checkpoint that cannot load: accuracy still counts; r_trans comes from chrF (fallback, counted),
    is 0 (zero, counted), or the manager raises ScorerFailure naming the knob (stop)."""
    from verl.trainer.ppo.reward import load_reward_manager

    from verl_multiling.config.faults import ScorerFailure
    from verl_multiling.scorers.translation import ChrFScorer

    cfg = OmegaConf.create(OmegaConf.to_container(run_cfg))
    with open_dict(cfg):
        cfg.multiling.tapo.translation.metric = "comet"
        cfg.multiling.tapo.translation.comet.checkpoint = "/nonexistent/wmt22-comet-da"
        cfg.multiling.tapo.translation.service.mode = "local"
        cfg.multiling.faults = {"retries": 1, "backoff_s": 0.0, "on_failure": on_failure}
    rm = load_reward_manager(cfg, tokenizer)
    rows = [r for r in sample if r["lang"] == "de" and r["kind"] in ("good", "wrong", "no_tag")]
    data = tapo_dataproto(rows, tokenizer)
    for i, row in enumerate(rows):
        if on_failure == "stop" and row["kind"] != "no_tag":
            with pytest.raises(ScorerFailure, match="multiling.faults.on_failure=stop"):
                rm.loop.run_until_complete(rm.run_single(data[i:i + 1]))
            continue
        info = rm.loop.run_until_complete(rm.run_single(data[i:i + 1]))["reward_extra_info"]
        assert info["r_acc"] == EXPECTED[row["kind"]][0] and info["reward_error"] == 0.0
        assert info["u_tokens"] > 0 or row["kind"] == "no_tag"
        if row["kind"] == "no_tag":
            assert (info["trans_reason"], info["r_trans"], info["scorer_fallback"]) == ("no_u_step", 0.0, 0.0)
        elif on_failure == "fallback":
            translation = row["response"].split("<translation>")[1].split("</translation>")[0].strip()
            chrf = ChrFScorer().score([translation], [row["question_en"]])[0]
            assert (info["trans_reason"], info["scorer_fallback"], info["scorer_error"]) == ("scorer_fallback", 1.0, 0.0)
            assert info["r_trans"] == pytest.approx(chrf) and info["r_trans"] > 0.3
        else:
            assert (info["trans_reason"], info["r_trans"], info["scorer_error"]) == ("scorer_error", 0.0, 1.0)
    n_u = sum(row["kind"] != "no_tag" for row in rows)
    stats = rm.scorer.guard.stats()  # 1 retry per call until the breaker opens after 3 failed calls
    assert stats["failures"] == n_u and stats["error:FileNotFoundError"] == 2 * min(n_u, 3)
    assert stats["breaker_skips"] == max(n_u - 3, 0)


@pytest.mark.ray
def test_reward_loop_in_ray_workers_then_tapo_advantages(ray_cluster, run_cfg, tokenizer, sample):
    """verl's RewardLoopManager (2 Ray reward workers) -> rm_scores + reward_extra_info -> the tapo
    estimator through verl's compute_advantage, bound as the per-sample bridge binds it."""
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager
    from verl.trainer.ppo import core_algos
    from verl.trainer.ppo.ray_trainer import compute_advantage

    from verl_multiling.bridge.per_sample import accepted_kwargs, bound_estimator

    data = tapo_dataproto(sample, tokenizer)
    out = RewardLoopManager(run_cfg).compute_rm_score(data)
    info = out.non_tensor_batch
    assert {"r_acc", "r_trans", "r_fmt", "u_tokens", "format_reason"} <= set(out.meta_info["reward_extra_keys"])
    scores = out.batch["rm_scores"].sum(-1).numpy()
    assert np.array_equal(scores, np.array([EXPECTED[r["kind"]][0] for r in sample]))

    data.batch["token_level_rewards"] = out.batch["rm_scores"]
    data.batch["token_level_scores"] = out.batch["rm_scores"]
    name = run_cfg.algorithm.adv_estimator
    assert accepted_kwargs(core_algos.get_adv_estimator_fn(name)) == ("reward_extra_info",)
    columns = {k: np.asarray(v, dtype=object) for k, v in info.items()}
    with bound_estimator(core_algos.ADV_ESTIMATOR_REGISTRY, name, reward_extra_info=columns):
        adv = compute_advantage(data, adv_estimator=name, config=run_cfg.algorithm,
                                num_repeat=run_cfg.actor_rollout_ref.rollout.n).batch["advantages"]
    # hand check on group fr-q1: 6 rollouts
    group = [i for i, r in enumerate(sample) if r["uid"] == "tapo-fr-q1"]
    r_acc = torch.tensor([float(scores[i]) for i in group])
    r_trans = torch.tensor([float(info["r_trans"][i]) for i in group])

    def norm(x):
        return (x - x.mean()) / (x.std() + 1e-6)

    a_u, a_r = norm(r_trans), norm(r_acc)
    for j, i in enumerate(group):
        valid = int(data.batch["response_mask"][i].sum())
        u = int(info["u_tokens"][i])
        expected = torch.full((valid,), a_r[j].item())
        expected[:u] += a_u[j].item()  # λ = 1
        assert torch.allclose(adv[i, :valid], expected, atol=1e-5), sample[i]["kind"]
        assert torch.all(adv[i, valid:] == 0)


def test_reference_and_source_come_from_prepared_rows():
    """Rows written by data preparation carry question_en (column and extra_info) and question (extra_info)."""
    from verl_multiling.data_prep.schema import make_row
    from verl_multiling.rewards.tapo import row_text

    row = make_row(dataset="mgsm", lang="fr", index=0, question="Combien ?", answer=3, question_en="How many?",
                   prompt=[{"role": "user", "content": "Combien ?"}])
    cfg = TapoConfig()
    assert row_text(row, cfg.reference_key) == "How many?" and row_text(row, cfg.source_key) == "Combien ?"
    row = dict(row, question_en=None, extra_info={**row["extra_info"], "question_en": " "})
    assert row_text(row, cfg.reference_key) is None  # blank -> no reference -> trans_reason=no_reference
