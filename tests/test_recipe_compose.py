"""+recipe=adamame through Hydra: the compose API and main_ppo's own CLI."""

import os
import subprocess
import sys

import pytest


def test_recipe_sets_published_settings(adamame_cfg):
    cfg = adamame_cfg
    assert cfg.algorithm.adv_estimator == "adamame_align"
    assert cfg.algorithm.adamame.bonus == 2.0 and cfg.algorithm.adamame.floor == 0.1
    assert cfg.trainer.v1.trainer_mode == "multiling_sync"
    assert cfg.reward.reward_manager.source == "importlib"
    assert cfg.reward.reward_manager.name == "AdaMameRewardManager"
    assert cfg.actor_rollout_ref.rollout.n == 8 and cfg.actor_rollout_ref.rollout.temperature == 0.8
    assert cfg.actor_rollout_ref.actor.kl_loss_coef == 0.001
    assert cfg.actor_rollout_ref.actor.kl_loss_type == "low_var_kl"
    assert cfg.actor_rollout_ref.model.lora_rank == 32 and cfg.actor_rollout_ref.model.lora_alpha == 64
    assert cfg.actor_rollout_ref.actor.optim.lr == 1e-5
    assert cfg.data.train_batch_size == 512 and cfg.data.max_response_length == 4096
    assert list(cfg.multiling.languages) == ["fr", "ja", "ko", "pt", "th"]


def test_command_line_overrides_win(compose):
    cfg = compose(["+recipe=adamame", "algorithm.adamame.bonus=0.5", "algorithm.adv_estimator=adamame",
                   "multiling.language_id.backend=lingua"])
    assert cfg.algorithm.adamame.bonus == 0.5
    assert cfg.algorithm.adv_estimator == "adamame"
    assert cfg.multiling.language_id.backend == "lingua"


def test_recipe_without_plus_is_a_hydra_error(compose):
    with pytest.raises(Exception, match="recipe"):
        compose(["recipe=adamame"])


def test_unknown_recipe_lists_the_choices(compose):
    with pytest.raises(Exception, match="adamame"):
        compose(["+recipe=adamam"])


def test_reward_manager_resolves_from_the_composed_config(adamame_cfg):
    from verl.trainer.ppo.reward import resolve_reward_manager_cls

    from verl_multiling.reward_managers import AdaMameRewardManager

    assert resolve_reward_manager_cls(adamame_cfg) is AdaMameRewardManager


@pytest.mark.slow
def test_main_ppo_cfg_job_prints_the_recipe(tmp_path):
    """The real CLI, from a directory that is not the checkout."""
    out = subprocess.run([sys.executable, "-m", "verl.trainer.main_ppo", "+recipe=adamame", "--cfg", "job"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": ""})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "adv_estimator: adamame_align" in out.stdout
    assert "trainer_mode: multiling_sync" in out.stdout
    assert "plugin registration FAILED" not in out.stderr
