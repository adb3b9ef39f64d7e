"""The estimator / reward-manager contract (verl_multiling.preflight.contract) and the rollout-engine check.

1. The declarations are true: each real manager, run on bundled rollouts, writes every key it declares; each
   estimator runs on exactly its declared keys and fails without any one of them.
2. Every mismatched pair is an error on the composed config; every recipe's own pair passes.
3. main_ppo with a mismatched pair stops at its startup check, before Ray starts, naming the field (and, on a
   machine without vLLM, the rollout engine).
4. The rollout engine: an error at main_ppo's startup, a warning in preflight, hf_cpu only under VERL_PLATFORM=cpu.
"""

import asyncio
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from verl_multiling.preflight.contract import (
    ESTIMATOR_NEEDS,
    check_contract,
    estimator_needs,
    manager_writes,
    recipe_pairs,
)
from verl_multiling.plumbing.paths import DATA_DIR
from verl_multiling.preflight.engines import CPU_PLATFORM, HF_CPU, check_rollout_engine
from verl_multiling.preflight.rollouts import build_dataproto, load_rollouts

# recipe -> (bundled rollouts, uids scored: prompt groups with several rollout kinds, not English queries)
SAMPLES = {
    "adamame": ("sample_rollouts.jsonl", ("fr-q1", "ja-q1")),
    "tapo": ("sample_tapo_rollouts.jsonl", ("tapo-bn-q1", "tapo-bn-q2")),
    "pb_rlsvr": ("sample_pb_rlsvr_rollouts.jsonl", ("fr-q1",)),
    "reflection": ("sample_reflection_rollouts.jsonl", ("fr-q1", "ja-q1")),
}


@pytest.fixture(scope="module")
def scored(reward_loop_cfg, tokenizer):
    """Each recipe's real manager (loaded by verl from the composed recipe) run on its bundled rollouts:
    recipe -> (manager class, dataproto, per-sample reward_extra_info dicts, scores)."""
    from verl.trainer.ppo.reward import load_reward_manager

    out = {}
    for recipe, (sample, uids) in SAMPLES.items():
        rows = [r for r in load_rollouts(DATA_DIR / sample) if r["uid"] in uids]
        assert len({r["uid"] for r in rows}) == len(uids) and len(rows) >= 4
        cfg = reward_loop_cfg(f"+recipe={recipe}", "multiling.languages=[en,fr,ja,bn]")
        rm = load_reward_manager(cfg, tokenizer)
        data = build_dataproto(rows, tokenizer)

        async def score_all(rm=rm, data=data):  # concurrently, as verl's reward loop calls them
            return await asyncio.gather(*(rm.run_single(data[i:i + 1]) for i in range(len(data))))

        results = rm.loop.run_until_complete(score_all())
        out[recipe] = (type(rm), data, [r["reward_extra_info"] for r in results],
                       [r["reward_score"] for r in results])
    return out


# ---- 1. the declarations are true -------------------------------------------------------------------------

def test_every_manager_and_estimator_of_ours_is_declared(scored):
    import verl_multiling.reward_managers as managers
    from verl.trainer.ppo import core_algos

    from verl_multiling.bridge.per_sample import accepted_kwargs
    from verl_multiling.bridge.registration import ESTIMATORS

    assert set(ESTIMATOR_NEEDS) == set(ESTIMATORS)
    for name, needs in ESTIMATOR_NEEDS.items():  # the bridge inputs are what the bridge would pass
        assert needs.bridge == accepted_kwargs(core_algos.get_adv_estimator_fn(name)), name
    ours = {getattr(managers, n) for n in managers.__all__ if n != "MultilingRewardManager"}
    assert ours == {cls for cls, *_ in scored.values()}  # every manager is run below
    assert {p.manager for p in recipe_pairs()} == {cls.__name__ for cls in ours}
    assert manager_writes(dict) is None


@pytest.mark.parametrize("recipe", sorted(SAMPLES))
def test_each_manager_writes_every_key_it_declares(scored, recipe):
    cls, _, infos, _ = scored[recipe]
    declared = set(manager_writes(cls))
    assert declared >= {"score", "reward_error"}
    for info in infos:
        assert declared <= set(info), (cls.__name__, sorted(declared - set(info)))
        assert info["reward_error"] == 0.0  # the scored path, not the failure fill-in
    if recipe == "tapo":  # the sample exercises the keys the estimator reads with real values
        assert any(i["u_tokens"] > 0 for i in infos) and any(i["u_tokens"] == 0 for i in infos)


def estimator_inputs(entry):
    """verl's estimator inputs from a manager's output: the score on the last valid token, the uids."""
    _, data, infos, scores = entry
    mask = data.batch["response_mask"].to(torch.float32)
    rewards = torch.zeros_like(mask)
    last = mask.sum(-1).long() - 1
    rewards[torch.arange(len(scores)), last] = torch.tensor(scores, dtype=torch.float32)
    columns = {k: np.array([i.get(k) for i in infos], dtype=object) for k in infos[0]}
    return rewards, mask, data.non_tensor_batch["uid"], columns


def run_estimator(name, algorithm, entry, keys):
    """The estimator as the bridge calls it, given only the reward_extra_info columns ``keys``."""
    from verl.trainer.ppo import core_algos

    rewards, mask, index, columns = estimator_inputs(entry)
    passed = {"reward_extra_info": {k: columns[k] for k in keys}, "global_step": 3, "total_steps": 10}
    fn = core_algos.get_adv_estimator_fn(name)
    return fn(token_level_rewards=rewards, response_mask=mask, index=index, config=algorithm,
              **{k: passed[k] for k in estimator_needs(name).bridge})


@pytest.mark.parametrize("name, recipe, overrides, expected", [
    ("adamame_align", "adamame", [], ("lang_match",)),
    ("adamame", "adamame", ["algorithm.adv_estimator=adamame"], ("lang_match", "response_lang")),
    ("tapo", "tapo", [], ("r_trans", "u_tokens")),
    ("tapo", "tapo", ["algorithm.tapo.format_weight=0.5"], ("r_trans", "u_tokens", "r_fmt")),
    ("tapo", "tapo", ["algorithm.tapo.mode=contrast"], ("r_trans",)),
])
def test_each_estimator_runs_on_its_declared_keys_and_fails_without_any(compose, scored, name, recipe, overrides,
                                                                       expected):
    algorithm = compose([f"+recipe={recipe}", *overrides]).algorithm
    declared = estimator_needs(name, algorithm).extra_info
    assert declared == expected
    advantages, _ = run_estimator(name, algorithm, scored[recipe], declared)
    assert torch.isfinite(advantages).all() and advantages.abs().sum() > 0
    for key in declared:
        with pytest.raises(KeyError, match=key):
            run_estimator(name, algorithm, scored[recipe], [k for k in declared if k != key])


# ---- 2. check_contract on composed configs ----------------------------------------------------------------

@pytest.mark.parametrize("overrides, field, says", [
    (["+recipe=adamame", "algorithm.adv_estimator=tapo"], "algorithm.adv_estimator",
     ["['r_trans', 'u_tokens']", "AdaMameRewardManager does not write", "reward.reward_manager.name=TapoRewardManager "
      "(+recipe=tapo)", "algorithm.adv_estimator=adamame_align or adamame"]),
    (["+recipe=tapo", "algorithm.adv_estimator=adamame_align"], "algorithm.adv_estimator",
     ["['lang_match']", "TapoRewardManager does not write", "reward.reward_manager.name=AdaMameRewardManager",
      "algorithm.adv_estimator=tapo"]),
    (["+recipe=reflection", "algorithm.adv_estimator=tapo"], "algorithm.adv_estimator",
     ["ReflectionRewardManager does not write", "TapoRewardManager (+recipe=tapo)", "algorithm.adv_estimator=grpo"]),
    (["+recipe=reflection", "algorithm.adv_estimator=adamame"], "algorithm.adv_estimator",
     ["['lang_match', 'response_lang']", "AdaMameRewardManager (+recipe=adamame)"]),
    (["+recipe=tapo", "algorithm.tapo.mode=contrast", "reward.reward_manager.name=PbRlsvrRewardManager"],
     "algorithm.adv_estimator", ["['r_trans']", "PbRlsvrRewardManager does not write"]),
    (["+recipe=pb_rlsvr", "reward.reward_manager.name=AdaMameRewardManager"], "reward.reward_manager.name",
     ["not the reward manager of multiling.recipe=pb_rlsvr", "reward.reward_manager.name=PbRlsvrRewardManager",
      "+recipe=adamame"]),
])
def test_mismatched_pairs_are_errors_naming_both_fields_and_the_fix(compose, overrides, field, says):
    errors = [f for f in check_contract(compose(overrides)) if f.level == "error"]
    assert [f.field for f in errors][:1] == [field], [str(f) for f in errors]
    assert all(s in errors[0].message for s in says), errors[0].message
    assert "reward.reward_manager.name" in errors[0].message


@pytest.mark.parametrize("overrides", [
    [f"+recipe={r}"] for r in ("adamame", "tapo", "pb_rlsvr", "reflection")] + [
    ["+recipe=adamame", "algorithm.adv_estimator=adamame"],
    ["+recipe=tapo", "algorithm.tapo.mode=contrast"],
    ["+recipe=adamame", "algorithm.adv_estimator=grpo"],  # verl's estimators read nothing
])
def test_each_recipes_own_pair_passes(compose, overrides):
    found = check_contract(compose(overrides))
    assert [f.level for f in found] == ["ok"], [str(f) for f in found]


def test_recipe_pairs_are_read_from_the_recipes():
    pairs = {p.recipe: (p.estimator, p.manager) for p in recipe_pairs()}
    assert pairs == {"adamame": ("adamame_align", "AdaMameRewardManager"), "tapo": ("tapo", "TapoRewardManager"),
                     "pb_rlsvr": ("grpo", "PbRlsvrRewardManager"), "reflection": ("grpo", "ReflectionRewardManager")}


def test_a_manager_of_someone_elses_is_a_warning_that_keys_cannot_be_checked(compose):
    cfg = compose(["+recipe=adamame", "reward.reward_manager.source=register", "reward.reward_manager.name=naive"])
    found = check_contract(cfg)
    assert [f.level for f in found] == ["warning"] and "cannot be checked" in found[0].message
    assert "['lang_match']" in found[0].message
    grpo = compose(["+recipe=pb_rlsvr", "reward.reward_manager.source=register", "reward.reward_manager.name=naive",
                    "multiling.recipe=null"])
    assert [f.level for f in check_contract(grpo)] == ["ok"]


def test_startup_findings_include_the_contract(compose):
    from verl_multiling.preflight.startup import startup_findings

    found = startup_findings(compose(["+recipe=adamame", "algorithm.adv_estimator=tapo"]))
    assert any(f.level == "error" and f.field == "algorithm.adv_estimator" and "TapoRewardManager" in f.message
               for f in found)


# ---- 3. main_ppo stops before Ray starts ------------------------------------------------------------------

@pytest.mark.slow
def test_main_ppo_with_a_mismatched_pair_stops_before_ray_starts(tmp_path):
    from verl_multiling.preflight.rollouts import rows_as_dataset

    path = tmp_path / "sample.parquet"
    rows_as_dataset(load_rollouts()).to_parquet(path)
    env = dict(os.environ, HYDRA_FULL_ERROR="1")
    env.pop("VERL_MULTILING_SKIP_STARTUP_CHECK", None)
    env.pop("VERL_PLATFORM", None)
    proc = subprocess.run([sys.executable, "-m", "verl.trainer.main_ppo", "+recipe=adamame",
                           "algorithm.adv_estimator=tapo", f"data.train_files={path}", f"data.val_files={path}",
                           "data.train_batch_size=4", f"hydra.run.dir={tmp_path}"], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=300)
    assert proc.returncode != 0, proc.stderr[-3000:]
    assert "config error(s), found before any model loads" in proc.stderr, proc.stderr[-3000:]
    assert "- algorithm.adv_estimator: algorithm.adv_estimator=tapo needs reward_extra_info keys" in proc.stderr
    assert "reward.reward_manager.name=TapoRewardManager" in proc.stderr
    assert "Started a local Ray instance" not in proc.stderr and "ray.init" not in proc.stderr
    if importlib.util.find_spec("vllm") is None:  # the same run also reports the rollout engine (section 4)
        assert "- actor_rollout_ref.rollout.name: vllm: training needs the vllm rollout engine" in proc.stderr


# ---- 4. the rollout engine --------------------------------------------------------------------------------

def test_cpu_names_match_the_cpu_backend():
    from verl_multiling.cpu.cpu_platform import PLATFORM_NAME, ROLLOUT_NAME

    assert (HF_CPU, CPU_PLATFORM) == (ROLLOUT_NAME, PLATFORM_NAME)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_missing_engine_is_a_startup_error_and_a_preflight_warning(compose):
    cfg = compose(["+recipe=tapo"])
    assert cfg.actor_rollout_ref.rollout.name == "vllm"
    [at_startup] = check_rollout_engine(cfg, at_startup=True)
    assert at_startup.level == "error" and at_startup.field == "actor_rollout_ref.rollout.name"
    for says in ("training needs the vllm rollout engine and a GPU", 'pip install "verl[vllm]==0.9.1"',
                 "`verl-multiling smoke +recipe=tapo`"):
        assert says in at_startup.message
    [in_preflight] = check_rollout_engine(cfg, at_startup=False)
    assert in_preflight.level == "warning" and "verl-multiling smoke +recipe=tapo" in in_preflight.message


def test_hf_cpu_only_under_the_cpu_platform(compose, monkeypatch):
    cfg = compose(["+recipe=adamame", f"actor_rollout_ref.rollout.name={HF_CPU}"])
    monkeypatch.setenv("VERL_PLATFORM", "cpu")
    assert [f.level for f in check_rollout_engine(cfg, at_startup=True)] == ["ok"]
    monkeypatch.delenv("VERL_PLATFORM")
    [found] = check_rollout_engine(cfg, at_startup=True)
    assert found.level == "error" and "VERL_PLATFORM=cpu" in found.message and "verl-multiling smoke" in found.message


def test_an_unknown_engine_is_an_error_listing_the_known_ones(compose):
    cfg = compose(["+recipe=adamame", "actor_rollout_ref.rollout.name=vlm"])
    for at_startup in (True, False):
        [found] = check_rollout_engine(cfg, at_startup=at_startup)
        assert found.level == "error" and "'vlm' is not a rollout engine" in found.message and "sglang" in found.message
