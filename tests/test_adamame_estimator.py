"""Hand-computed AdaMame advantages, and equality with verl's GRPO when the bonus is off."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from verl_multiling.estimators.adamame import (
    AdaMameConfig,
    compute_adamame_advantage,
    compute_adamame_align_advantage,
)


def algo(**adamame):
    return OmegaConf.create({"norm_adv_by_std_in_grpo": True, "adamame": {"bonus": 2.0, "schedule": "cosine",
                                                                            "floor": 0.1, **adamame}})


def outcome_rewards(values, length=5):
    """Token-level rewards with the scalar on the last valid token (as verl places rm_scores)."""
    r = torch.zeros(len(values), length)
    r[:, -1] = torch.tensor(values, dtype=torch.float32)
    return r


def info(match, langs=None):
    out = {"lang_match": np.array(match, dtype=object)}
    if langs is not None:
        out["response_lang"] = np.array(langs, dtype=object)
    return out


def scalar(adv):
    return adv[:, -1]


def test_align_hand_computed_at_half_training():
    # t = T/2 -> g = 0.5; s = r (1 + 2 * 0.5 * m) = [2, 1, 0, 1]; mean 1, unbiased std sqrt(2/3)
    r = outcome_rewards([1, 1, 0, 1])
    mask = torch.ones_like(r)
    adv, ret = compute_adamame_align_advantage(r, mask, index=np.array(["a"] * 4), config=algo(),
                                               reward_extra_info=info([1, 0, 1, 0]), global_step=50, total_steps=100)
    std = np.sqrt(2 / 3)
    expected = torch.tensor([1 / std, 0, -1 / std, 0], dtype=torch.float32)
    assert torch.allclose(scalar(adv), expected, atol=1e-5)
    assert torch.equal(adv, ret)
    assert torch.allclose(adv, scalar(adv).unsqueeze(-1) * mask)


@pytest.mark.parametrize("step, g", [(0, 0.1), (50, 0.5), (100, 1.0)])
def test_schedule_scales_the_bonus(step, g):
    # two correct rollouts, one matched: s = [1 + 2g, 1]; a group of two normalises to +-0.7071 whatever g>0,
    # so check the Dr.GRPO (un-normalised) advantage, which is +-g
    r = outcome_rewards([1, 1])
    adv, _ = compute_adamame_align_advantage(r, torch.ones_like(r), index=np.array([0, 0]),
                                             config=algo(norm_by_std=False), reward_extra_info=info([1, 0]),
                                             global_step=step, total_steps=100)
    assert torch.allclose(scalar(adv), torch.tensor([g, -g]), atol=1e-6)


def test_bonus_only_on_correct_and_matched():
    # wrong + matched gets s = 0: identical to wrong + unmatched
    r = outcome_rewards([0, 0, 1, 1])
    adv, _ = compute_adamame_align_advantage(r, torch.ones_like(r), index=np.zeros(4, dtype=int),
                                             config=algo(norm_by_std=False), reward_extra_info=info([1, 0, 1, 0]),
                                             global_step=100, total_steps=100)
    s = torch.tensor([0.0, 0.0, 3.0, 1.0])
    assert torch.allclose(scalar(adv), s - s.mean())


def test_bonus_off_equals_verl_grpo_on_the_same_batch():
    from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage, compute_grpo_vectorized_outcome_advantage

    g = torch.Generator().manual_seed(0)
    n, length = 64, 12
    rewards = torch.zeros(n, length)
    lengths = torch.randint(1, length + 1, (n,), generator=g)
    mask = (torch.arange(length)[None, :] < lengths[:, None]).float()
    rewards[torch.arange(n), lengths - 1] = torch.randint(0, 2, (n,), generator=g).float()
    index = np.array([f"uid{i // 8}" for i in range(n)], dtype=object)
    index[-1] = "singleton"  # a group of one too
    match = np.random.default_rng(0).integers(0, 2, n)
    ours, _ = compute_adamame_align_advantage(rewards, mask, index=index, config=algo(bonus=0.0),
                                              reward_extra_info=info(match), global_step=3, total_steps=10)
    ref, _ = compute_grpo_outcome_advantage(rewards, mask, index=index)
    vec, _ = compute_grpo_vectorized_outcome_advantage(rewards, mask, index=index)
    assert torch.allclose(ours, ref, atol=1e-5)
    assert torch.allclose(ours, vec, atol=1e-5)


def test_dr_grpo_when_norm_by_std_false_matches_verl():
    from verl.trainer.ppo.core_algos import compute_grpo_outcome_advantage

    r = outcome_rewards([1, 0, 0, 1, 1, 0])
    mask = torch.ones_like(r)
    index = np.array([0, 0, 0, 1, 1, 1])
    ours, _ = compute_adamame_align_advantage(r, mask, index=index, config=algo(bonus=0.0, norm_by_std=False),
                                              reward_extra_info=info([0] * 6), global_step=1, total_steps=2)
    ref, _ = compute_grpo_outcome_advantage(r, mask, index=index, norm_adv_by_std_in_grpo=False)
    assert torch.allclose(ours, ref, atol=1e-6)


def test_zero_variance_group_and_group_of_one():
    r = outcome_rewards([1, 1, 1])
    adv, _ = compute_adamame_align_advantage(r, torch.ones_like(r), index=np.array(["g", "g", "solo"]),
                                             config=algo(), reward_extra_info=info([1, 1, 0]), global_step=10,
                                             total_steps=10)
    # group g: s = [3, 3] -> 0; solo: mean 0, std 1 -> s / (1 + eps) = 1
    assert torch.allclose(scalar(adv), torch.tensor([0.0, 0.0, 1.0]), atol=1e-5)


def test_full_adamame_exploration_weight_hand_computed():
    # t = 0: e = 1, g = floor 0.1 -> bonus factor 1 + 0.2 m. Group of 4 with languages [fr, fr, fr, en];
    # a = 1 + (4/3 - 1) = 4/3 for fr, 1 + (4/1 - 1) = 4 for en; unknown language -> a = 1.
    r = outcome_rewards([1, 1, 0, 1, 1, 1])
    index = np.array([0, 0, 0, 0, 1, 1])
    langs = ["fr", "fr", "fr", "en", "", "ja"]
    match = [1, 0, 1, 0, 0, 1]
    adv, _ = compute_adamame_advantage(r, torch.ones_like(r), index=index, config=algo(norm_by_std=False),
                                       reward_extra_info=info(match, langs), global_step=0, total_steps=10)
    s0 = torch.tensor([4 / 3 * 1.2, 4 / 3 * 1.0, 0.0, 4.0])
    s1 = torch.tensor([1.0 * 1.0, 2.0 * 1.2])  # unknown: a = 1; ja alone in a group of 2: a = 1 + (2/1 - 1) = 2
    expected = torch.cat([s0 - s0.mean(), s1 - s1.mean()])
    assert torch.allclose(scalar(adv), expected, atol=1e-5)


def test_full_adamame_reduces_to_align_at_the_end():
    r = outcome_rewards([1, 1, 0, 1])
    kwargs = dict(index=np.zeros(4, dtype=int), config=algo(), global_step=10, total_steps=10)
    full, _ = compute_adamame_advantage(r, torch.ones_like(r), reward_extra_info=info([1, 0, 1, 0], ["fr", "en", "fr", "fr"]),
                                        **kwargs)
    align, _ = compute_adamame_align_advantage(r, torch.ones_like(r), reward_extra_info=info([1, 0, 1, 0]), **kwargs)
    assert torch.allclose(full, align, atol=1e-6)


def test_masked_tokens_stay_zero():
    r = outcome_rewards([1, 0])
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.float32)
    adv, _ = compute_adamame_align_advantage(r, mask, index=np.array([0, 0]), config=algo(),
                                             reward_extra_info=info([1, 1]), global_step=1, total_steps=10)
    assert torch.all(adv[0, 3:] == 0)


@pytest.mark.parametrize("fn", [compute_adamame_align_advantage, compute_adamame_advantage])
def test_missing_lang_match_cells_read_as_zero_and_nan_is_an_error(fn):
    """A None cell (no detection) gives exactly the advantages of a 0 cell, not those of a 1; a NaN cell is an
    error naming the column, the count and the uid (estimators.extra_info), never a silent 0."""
    r = outcome_rewards([1.0, 1.0, 1.0, 0.0])
    index = np.array(["g0", "g0", "g1", "g1"], dtype=object)

    def advantages(match):
        return fn(r, torch.ones_like(r), index=index, config=algo(), reward_extra_info=info(match, ["fr"] * 4),
                  global_step=5, total_steps=10)[0]

    as_none, as_zero, as_one = advantages([None, 1, 1, 0]), advantages([0, 1, 1, 0]), advantages([1, 1, 1, 0])
    torch.testing.assert_close(as_none, as_zero, rtol=0, atol=0)
    assert not torch.equal(as_none, as_one)
    with pytest.raises(ValueError, match=r"reward_extra_info\['lang_match'\] is not finite for 1 of 4 samples, "
                                         r"uids \['g1'\] \(1 NaN, 0 \+inf, 0 -inf"):
        advantages([None, 1, 1, float("nan")])


@pytest.mark.parametrize("fn", [compute_adamame_align_advantage, compute_adamame_advantage])
def test_non_finite_rewards_are_an_error_naming_count_and_uids(fn):
    """Issue 13 item 7: NaN/±inf token rewards used to become 0 silently (a +inf reward then got the lowest
    advantage of its group); now the estimator stops with how many samples and which uids."""
    r = outcome_rewards([float("nan"), 1.0, float("inf"), 0.0, 1.0, -float("inf")])
    index = np.array(["q-0", "q-0", "q-1", "q-1", "q-2", "q-2"], dtype=object)
    langs = ["fr"] * 6
    with pytest.raises(ValueError, match=r"3 of 6 samples have a non-finite reward .*uids \['q-0', 'q-1', 'q-2'\] "
                                         r"\(1 NaN, 1 \+inf, 1 -inf\)"):
        fn(r, torch.ones_like(r), index=index, config=algo(), reward_extra_info=info([1] * 6, langs),
           global_step=1, total_steps=10)
    r = outcome_rewards([1.0, float("inf")] * 10)
    with pytest.raises(ValueError, match=r"10 of 20 samples .*'u7', '... 2 more'\]"):
        fn(r, torch.ones_like(r), index=np.array([f"u{i // 2}" for i in range(20)], dtype=object), config=algo(),
           reward_extra_info=info([1] * 20, ["fr"] * 20), global_step=1, total_steps=10)


def test_finite_rewards_whose_float32_sum_overflows_are_not_an_error():
    r = torch.tensor([[3e38, 3e38], [0.0, 1.0]])
    adv, _ = compute_adamame_align_advantage(r, torch.ones_like(r), index=np.array([0, 0]), config=algo(),
                                             reward_extra_info=info([0, 0]), global_step=1, total_steps=10)
    assert torch.isfinite(adv).all() and adv[0, 0] > 0 > adv[1, 0]


@pytest.mark.parametrize("fn", [compute_adamame_align_advantage, compute_adamame_advantage])
def test_wrong_shapes_name_the_arguments(fn):
    r = outcome_rewards([1.0, 0.0, 1.0, 0.0])
    kwargs = dict(config=algo(), reward_extra_info=info([1] * 4, ["fr"] * 4), global_step=1, total_steps=10)
    with pytest.raises(ValueError, match=r"index \(the uids.*has 3 labels but token_level_rewards has shape "
                                         r"\(4, 5\) \(4 samples\)"):
        fn(r, torch.ones_like(r), index=np.array([0, 0, 1]), **kwargs)
    with pytest.raises(ValueError, match=r"response_mask has shape \(4, 3\) but token_level_rewards has \(4, 5\)"):
        fn(r, torch.ones(4, 3), index=np.array([0, 0, 1, 1]), **kwargs)


def test_without_the_bridge_the_error_says_how_to_fix_it():
    r = outcome_rewards([1, 0])
    with pytest.raises(RuntimeError, match="trainer.v1.trainer_mode=multiling_sync"):
        compute_adamame_align_advantage(r, torch.ones_like(r), index=np.array([0, 0]), config=algo())


def test_missing_language_key_names_the_reward_manager():
    r = outcome_rewards([1, 0])
    with pytest.raises(KeyError, match="lang_match"):
        compute_adamame_align_advantage(r, torch.ones_like(r), index=np.array([0, 0]), config=algo(),
                                        reward_extra_info={"acc": [1, 0]}, global_step=1, total_steps=2)


def test_unknown_T_is_an_error():
    r = outcome_rewards([1, 0])
    with pytest.raises(ValueError, match="total_steps"):
        compute_adamame_align_advantage(r, torch.ones_like(r), index=np.array([0, 0]), config=algo(),
                                        reward_extra_info=info([1, 0]), global_step=1, total_steps=None)


@pytest.mark.parametrize("field, value, message", [
    ("bonus", "two", "algorithm.adamame.bonus"),
    ("bonus", -1.0, r"algorithm.adamame.bonus=-1.0: must be a finite number in \[0, 1000\]"),
    ("floor", 1.5, "floor"),
    ("schedule", "cosinus", "choose one of"),
    ("total_steps", 0, r"algorithm.adamame.total_steps=0: must be an integer in \[1, "),
    ("norm_by_std", "yes", "true or false"),
])
def test_config_errors_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        AdaMameConfig.from_algorithm(algo(**{field: value}))


def test_recipe_values_are_the_papers(adamame_cfg):
    cfg = AdaMameConfig.from_algorithm(adamame_cfg.algorithm)
    assert (cfg.bonus, cfg.schedule, cfg.floor) == (2.0, "cosine", 0.1)
