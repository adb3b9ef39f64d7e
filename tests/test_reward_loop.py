"""The AdaMame reward manager loaded by verl from the composed config: directly and in Ray workers."""

import numpy as np
import pytest

from verl_multiling.preflight.rollouts import build_dataproto, load_rollouts

# expected (acc, lang_match) per rollout kind of the bundled sample (see scripts/make_sample_rollouts.py)
EXPECTED = {"native": (1.0, 1.0), "english": (1.0, 0.0), "wrong": (0.0, 1.0), "numeral": (1.0, 1.0),
            "no_answer": (0.0, 1.0)}


@pytest.fixture(scope="module")
def run_cfg(reward_loop_cfg):
    # the sample has 13 languages; lingua-style restriction must not hide them
    return reward_loop_cfg("+recipe=adamame", "multiling.languages=[en,fr,de,es,pt,ru,zh,ja,ko,th,bn,sw,te]")


@pytest.fixture(scope="module")
def sample():
    return load_rollouts()


def expected_for(row):
    acc, match = EXPECTED[row["kind"]]
    if row["kind"] == "english" and row["lang"] == "en":
        match = 1.0
    return acc, match


def test_manager_loaded_by_verl_scores_every_kind(run_cfg, tokenizer, sample):
    from verl.trainer.ppo.reward import load_reward_manager

    rm = load_reward_manager(run_cfg, tokenizer)
    data = build_dataproto(sample, tokenizer)
    keys = None
    for i, row in enumerate(sample):
        out = rm.loop.run_until_complete(rm.run_single(data[i:i + 1]))
        info = out["reward_extra_info"]
        keys = keys or set(info)
        assert set(info) == keys, "every sample must return the same reward_extra_info keys"
        assert (out["reward_score"], info["lang_match"]) == expected_for(row), (row["lang"], row["kind"], info)
        assert info["reward_error"] == 0.0


@pytest.mark.ray
def test_reward_loop_manager_in_ray_workers(ray_cluster, run_cfg, tokenizer, sample):
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager

    data = build_dataproto(sample, tokenizer)
    out = RewardLoopManager(run_cfg).compute_rm_score(data)
    scores = out.batch["rm_scores"].sum(-1).numpy()
    expected = np.array([expected_for(r) for r in sample])
    assert np.array_equal(scores, expected[:, 0])
    assert np.array_equal(out.non_tensor_batch["lang_match"].astype(float), expected[:, 1])
    assert {"acc", "lang_match", "response_lang", "query_lang", "answer_reason"} <= set(out.meta_info["reward_extra_keys"])
    # the score sits on the last valid response token, as verl places rewards
    last = data.batch["response_mask"].sum(-1) - 1
    assert np.array_equal(out.batch["rm_scores"][np.arange(len(sample)), last].numpy(), scores)
