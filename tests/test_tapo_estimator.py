"""Hand-computed TAPO step advantages: zero-variance groups, no U step, λ = 0 / 0.5 / 1, the contrast baseline."""

import math
import re

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from verl_multiling.estimators.tapo import TapoAlgoConfig, compute_tapo_advantage

EPS = 1e-6
LENGTH = 5


def algo(**tapo):
    return OmegaConf.create({"norm_adv_by_std_in_grpo": True, "tapo": tapo})


def outcome_rewards(values, lengths):
    r = torch.zeros(len(values), LENGTH)
    r[torch.arange(len(values)), torch.tensor(lengths) - 1] = torch.tensor(values, dtype=torch.float32)
    return r


def mask_for(lengths):
    return (torch.arange(LENGTH)[None, :] < torch.tensor(lengths)[:, None]).float()


def info(r_trans, u_tokens, r_fmt=None):
    out = {"r_trans": np.array(r_trans, dtype=object), "u_tokens": np.array(u_tokens, dtype=object)}
    out["r_fmt"] = np.array(r_fmt if r_fmt is not None else [float(u > 0) for u in u_tokens], dtype=object)
    return out


# Group "a": 4 rollouts, one without a U step (u = 0) and one cut short (4 valid tokens);
# group "b": zero variance in both rewards; group "c": a group of one.
INDEX = np.array(["a", "a", "a", "a", "b", "b", "c"], dtype=object)
R_ACC = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0]
R_TRANS = [0.8, 0.4, 0.0, 0.6, 0.5, 0.5, 0.3]
U_TOK = [2, 3, 0, 1, 2, 2, 9]  # the singleton's boundary lies beyond its response: all of it is U
LENGTHS = [5, 5, 5, 4, 5, 5, 3]


def hand_normalise(values, groups):
    """(s - mean_g) / (std_g + eps) with Bessel's std; a group of one: s / (1 + eps). Written out by hand."""
    out = []
    for v, g in zip(values, groups):
        members = [x for x, h in zip(values, groups) if h == g]
        if len(members) == 1:
            out.append(v / (1 + EPS))
            continue
        mean = sum(members) / len(members)
        std = math.sqrt(sum((x - mean) ** 2 for x in members) / (len(members) - 1))
        out.append((v - mean) / (std + EPS))
    return out


def expected_step(lam, r_acc=R_ACC, r_trans=R_TRANS):
    adv_u = hand_normalise(r_trans, list(INDEX))
    adv_r = hand_normalise(r_acc, list(INDEX))
    rows = []
    for i in range(len(r_acc)):
        row = []
        for t in range(LENGTH):
            if t >= LENGTHS[i]:
                row.append(0.0)
            elif t < U_TOK[i]:
                row.append(adv_u[i] + lam * adv_r[i])
            else:
                row.append(adv_r[i])
        rows.append(row)
    return torch.tensor(rows)


def run(lam=1.0, **kw):
    return compute_tapo_advantage(outcome_rewards(R_ACC, LENGTHS), mask_for(LENGTHS), index=INDEX,
                                  config=algo(lam=lam, **kw), reward_extra_info=info(R_TRANS, U_TOK))


def test_hand_values_of_group_a():
    # r_acc = [1, 0, 1, 0]: mean 0.5, std sqrt(1/3) -> ±0.8660; r_trans: mean 0.45, std sqrt(0.35/3) = 0.341565
    adv, _ = run(lam=1.0)
    a_u0, a_r0 = 0.35 / math.sqrt(0.35 / 3), 0.5 / math.sqrt(1 / 3)
    assert adv[0, 0].item() == pytest.approx(a_u0 + a_r0, abs=1e-4)  # U token: Â^U + Â^R
    assert adv[0, 2].item() == pytest.approx(a_r0, abs=1e-4)  # R token: Â^R only
    # no U step: every token carries Â^R, whatever its (low) translation reward
    assert torch.allclose(adv[2], torch.full((LENGTH,), a_r0), atol=1e-4)


@pytest.mark.parametrize("lam", [0.0, 0.5, 1.0])
def test_step_advantages_match_the_hand_computation(lam):
    adv, ret = run(lam=lam)
    assert torch.allclose(adv, expected_step(lam), atol=1e-5)
    assert torch.equal(adv, ret)


def test_zero_variance_group_gives_zero_everywhere():
    adv, _ = run()
    assert torch.all(adv[4:6] == 0)


def test_group_of_one_and_boundary_beyond_the_response():
    adv, _ = run(lam=1.0)
    # singleton: Â^U = 0.3 / (1 + eps), Â^R = 1 / (1 + eps); all 3 valid tokens are U, padding 0
    assert torch.allclose(adv[6, :3], torch.full((3,), 1.3 / (1 + EPS)), atol=1e-6)
    assert torch.all(adv[6, 3:] == 0)


def test_lambda_zero_decouples_the_steps():
    # λ = 0: U tokens see only the translation advantage, R tokens only the accuracy advantage
    adv, _ = run(lam=0.0)
    adv_u = hand_normalise(R_TRANS, list(INDEX))
    assert adv[1, :3].tolist() == pytest.approx([adv_u[1]] * 3, abs=1e-5)


def test_translation_reward_never_touches_reasoning_tokens():
    # change every r_trans: R tokens (t >= u_i) keep their advantage
    base, _ = run()
    other, _ = compute_tapo_advantage(outcome_rewards(R_ACC, LENGTHS), mask_for(LENGTHS), index=INDEX,
                                      config=algo(), reward_extra_info=info([0.1, 0.9, 0.3, 0.2, 0.0, 1.0, 0.7], U_TOK))
    in_r = torch.arange(LENGTH)[None, :] >= torch.tensor(U_TOK)[:, None]
    assert torch.equal(base[in_r], other[in_r])
    assert not torch.equal(base[~in_r], other[~in_r])


def test_without_u_steps_it_is_verl_grpo():
    from verl.trainer.ppo.core_algos import compute_grpo_vectorized_outcome_advantage

    g = torch.Generator().manual_seed(0)
    n, length = 64, 12
    lengths = torch.randint(1, length + 1, (n,), generator=g)
    mask = (torch.arange(length)[None, :] < lengths[:, None]).float()
    rewards = torch.zeros(n, length)
    rewards[torch.arange(n), lengths - 1] = torch.randint(0, 2, (n,), generator=g).float()
    index = np.array([f"uid{i // 8}" for i in range(n)], dtype=object)
    index[-1] = "singleton"
    extra = info(np.random.default_rng(0).random(n).tolist(), [0] * n)
    ours, _ = compute_tapo_advantage(rewards, mask, index=index, config=algo(), reward_extra_info=extra)
    ref, _ = compute_grpo_vectorized_outcome_advantage(rewards, mask, index=index)
    assert torch.allclose(ours, ref, atol=1e-5)
    # the contrast baseline with w = 0 is GRPO too
    contrast, _ = compute_tapo_advantage(rewards, mask, index=index, config=algo(mode="contrast", trans_weight=0.0),
                                         reward_extra_info=extra)
    assert torch.allclose(contrast, ref, atol=1e-5)


def test_contrast_baseline_hand_computed():
    adv, _ = compute_tapo_advantage(outcome_rewards(R_ACC, LENGTHS), mask_for(LENGTHS), index=INDEX,
                                    config=algo(mode="contrast", trans_weight=0.5),
                                    reward_extra_info=info(R_TRANS, U_TOK))
    s = [a + 0.5 * t for a, t in zip(R_ACC, R_TRANS)]
    scalars = torch.tensor(hand_normalise(s, list(INDEX)))
    assert torch.allclose(adv, scalars[:, None] * mask_for(LENGTHS), atol=1e-5)


def test_format_weight_adds_r_fmt_to_the_reasoning_reward():
    # r_R = r_acc + 0.5 r_fmt; r_fmt = 1 iff u > 0
    adv, _ = run(format_weight=0.5)
    r_r = [a + 0.5 * float(u > 0) for a, u in zip(R_ACC, U_TOK)]
    assert torch.allclose(adv, expected_step(1.0, r_acc=r_r), atol=1e-5)


def test_dr_grpo_without_std():
    adv, _ = run(norm_by_std=False, lam=1.0)
    # group a, sample 0: Â^U = 0.8 - 0.45, Â^R = 1 - 0.5
    assert adv[0, 0].item() == pytest.approx(0.35 + 0.5, abs=1e-6)
    assert adv[0, 3].item() == pytest.approx(0.5, abs=1e-6)


def test_strange_columns_give_finite_advantages():
    extra = info([None, 0.1, "x", 0.2, 0.5, 0.9, 0.3], [None, -3, 2, 1, 2, 2, "z"],
                 r_fmt=[None, 1, "y", 0, 1, 1, 1])
    r = outcome_rewards([0, 0, 1, 0, 1, 1, 1], LENGTHS)
    adv, _ = compute_tapo_advantage(r, mask_for(LENGTHS), index=INDEX, config=algo(format_weight=0.5),
                                    reward_extra_info=extra)
    assert torch.isfinite(adv).all()
    assert torch.all(adv * (1 - mask_for(LENGTHS)) == 0)


@pytest.mark.parametrize("key, bad, uid, kinds", [
    ("r_trans", float("nan"), "a", "1 NaN, 0 +inf, 0 -inf"), ("r_trans", float("inf"), "a", "0 NaN, 1 +inf, 0 -inf"),
    ("u_tokens", float("-inf"), "a", "0 NaN, 0 +inf, 1 -inf"), ("u_tokens", 10**400, "a", "0 NaN, 1 +inf, 0 -inf"),
    ("r_trans", 1e308, "a", "0 NaN, 1 +inf, 0 -inf"),  # finite in float64, inf in float32
])
def test_a_non_finite_extra_info_value_is_an_error_naming_the_uids(key, bad, uid, kinds):
    """Issue 22 item 6: NaN/±inf in r_trans or u_tokens used to become 0 silently."""
    columns = {"r_trans": list(R_TRANS), "u_tokens": list(U_TOK)}
    columns[key][1] = bad
    extra = info(columns["r_trans"], columns["u_tokens"])
    r = outcome_rewards(R_ACC, LENGTHS)
    with pytest.raises(ValueError, match=rf"tapo: reward_extra_info\['{key}'\] is not finite for 1 of 7 samples, "
                                         rf"uids \['{uid}'\] \({re.escape(kinds)}"):
        compute_tapo_advantage(r, mask_for(LENGTHS), index=INDEX, config=algo(), reward_extra_info=extra)


@pytest.mark.parametrize("mode", ["step", "contrast"])
def test_non_finite_rewards_and_wrong_index_are_errors(mode):
    """Issue 13 item 7: NaN/±inf r_acc used to become 0 silently; a wrong-length index gave a raw torch error."""
    extra = info(R_TRANS, U_TOK)
    r = outcome_rewards([float("nan"), 0, 1, 0, 1, float("inf"), 1], LENGTHS)
    with pytest.raises(ValueError, match=r"tapo: 2 of 7 samples have a non-finite reward .*uids \['a', 'b'\]"):
        compute_tapo_advantage(r, mask_for(LENGTHS), index=INDEX, config=algo(mode=mode), reward_extra_info=extra)
    r = outcome_rewards(R_ACC, LENGTHS)
    with pytest.raises(ValueError, match=r"tapo: index \(the uids.*has 6 labels but token_level_rewards has shape "
                                         r"\(7, 5\)"):
        compute_tapo_advantage(r, mask_for(LENGTHS), index=INDEX[:6], config=algo(mode=mode),
                               reward_extra_info=extra)


def test_without_the_bridge_the_error_says_how_to_fix_it():
    r = outcome_rewards([1, 0], [5, 5])
    with pytest.raises(RuntimeError, match="trainer.v1.trainer_mode=multiling_sync"):
        compute_tapo_advantage(r, torch.ones_like(r), index=np.array([0, 0]), config=algo())


def test_missing_key_names_the_reward_manager():
    r = outcome_rewards([1, 0], [5, 5])
    with pytest.raises(KeyError, match="u_tokens.*TapoRewardManager"):
        compute_tapo_advantage(r, torch.ones_like(r), index=np.array([0, 0]), config=algo(),
                               reward_extra_info={"r_trans": [0.1, 0.2]})


@pytest.mark.parametrize("field, value, message", [
    ("lam", 1.5, r"algorithm.tapo.lam=1.5: must be a finite number in \[0, 1\]"),
    ("lam", "one", "algorithm.tapo.lam"),
    ("mode", "joint", "algorithm.tapo.mode='joint': choose one of step, contrast"),
    ("epsilon", 0.0, "algorithm.tapo.epsilon"),
    ("norm_by_std", "yes", "algorithm.tapo.norm_by_std"),
    ("trans_weight", [1], "algorithm.tapo.trans_weight"),
])
def test_config_errors_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        TapoAlgoConfig.from_algorithm(algo(**{field: value}))


def test_defaults():
    cfg = TapoAlgoConfig.from_algorithm(algo())
    assert (cfg.mode, cfg.lam, cfg.format_weight, cfg.norm_by_std) == ("step", 1.0, 0.0, True)


@pytest.mark.parametrize("u_tokens", [[2, 0, 3, 1], [4, 0, 0, 0], [1, 1, 1, 1]])
def test_dense_and_scattered_u_writes_agree(monkeypatch, u_tokens):
    """step_advantages picks a dense or a scattered write of the U value per batch: both give the same tensor."""
    import verl_multiling.estimators.tapo as tapo

    adv_u, adv_r = torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([10.0, 20.0, 30.0, 40.0])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 1]])
    results = []
    for cost in (0, 10**6):  # 0: always scatter; huge: always dense
        monkeypatch.setattr(tapo, "SCATTER_COST", cost)
        results.append(tapo.step_advantages(adv_u, adv_r, torch.tensor(u_tokens), mask, lam=0.5))
    assert torch.equal(results[0], results[1])
    expected = torch.tensor([[(adv_u[i] + 0.5 * adv_r[i]).item() if t < u_tokens[i] else adv_r[i].item()
                              for t in range(4)] for i in range(4)]) * mask
    assert torch.equal(results[0], expected)
