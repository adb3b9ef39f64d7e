"""Config errors: every recipe knob with a wrong value, unknown names, missing columns and references are
reported with their field, by preflight's static checks and at the start of main_ppo, before any model loads."""

import copy
import os
import subprocess
import sys

import pandas as pd
import pytest
from omegaconf import OmegaConf, open_dict

from verl_multiling.preflight.startup import ConfigError, check_startup, startup_findings

RECIPES = ("adamame", "reflection", "tapo", "pb_rlsvr")
# string knobs that take any name (a column, a tag, a path): only a wrong type is an error
FREE_TEXT = {"lang_key", "ground_truth_key", "open", "close", "reference_key", "source_key", "pivot_key", "checkpoint",
             "model_path", "preflight_rollouts", "think_open", "think_close", "recipe"}


def leaves(node, prefix):
    out = []
    for key, value in node.items():
        path = f"{prefix}.{key}"
        out += leaves(value, path) if OmegaConf.is_dict(value) else [(path, value)]
    return out


def wrong_values(path, value):
    """Values of the wrong type for the knob, and an unknown name for choice knobs."""
    key = path.rsplit(".", 1)[1]
    if isinstance(value, bool):
        return ["maybe"]
    if isinstance(value, (int, float)):
        return ["lots"]
    if isinstance(value, str):
        return [12345] if key in FREE_TEXT else [12345, "no_such_choice"]
    if OmegaConf.is_list(value):
        return [7]
    return []  # null knobs (checkpoint, model_path): any value may be right until it is used


def recipe_knobs(cfg):
    knobs = leaves(cfg.multiling, "multiling")
    for node in ("adamame", "tapo"):
        if node in cfg.algorithm:
            knobs += leaves(cfg.algorithm[node], f"algorithm.{node}")
    return knobs


def errors(cfg):
    return [f for f in startup_findings(cfg) if f.level == "error" and not f.field.startswith("data.")]


@pytest.mark.parametrize("recipe", RECIPES)
def test_every_recipe_knob_with_a_wrong_value_is_an_error_naming_it(compose, recipe):
    base = compose([f"+recipe={recipe}"])
    assert errors(base) == []
    knobs = recipe_knobs(base)
    assert len(knobs) >= 20
    missed, tried = [], 0
    for path, value in knobs:
        for bad in wrong_values(path, value):
            cfg = copy.deepcopy(base)
            with open_dict(cfg):
                OmegaConf.update(cfg, path, bad, force_add=True)
            found = errors(cfg)
            key = path.rsplit(".", 1)[1]
            tried += 1
            if not any(path in f.field or path in f.message or key in f.message for f in found):
                missed.append((path, bad, [str(f) for f in found]))
    assert not missed, missed
    assert tried >= len(knobs)


@pytest.mark.parametrize("override, field", [
    ("algorithm.adv_estimator=adamame_algn", "'adamame_algn' is not registered"),
    ("trainer.v1.trainer_mode=multiling_snyc", "trainer.v1.trainer_mode"),
    ("multiling.language_id.backend=cld3", "multiling.language_id.backend"),
    ("multiling.tapo.translation.metric=bleurt", "multiling.tapo.translation.metric"),
    ("multiling.pb_rlsvr.semantic.backend=labse", "multiling.pb_rlsvr.semantic.backend"),
    ("reward.reward_manager.name=NoSuchManager", "reward.reward_manager"),
    ("+multiling.faults.retry=3", "multiling.faults.retry"),
    ("multiling.recipe=adamam", "multiling.recipe"),
])
def test_unknown_names_are_errors(compose, override, field):
    recipe = {"tapo": "tapo", "pb_rlsvr": "pb_rlsvr"}.get(override.split(".")[1], "adamame")
    found = errors(compose([f"+recipe={recipe}", override]))
    assert any(field in f.field or field in f.message for f in found), [str(f) for f in found]


def write_parquet(path, rows):
    pd.DataFrame(rows).to_parquet(path)
    return str(path)


def good_row(**extra):
    return {"prompt": [{"role": "user", "content": "Combien ?"}], "reward_model": {"ground_truth": "18"},
            "lang": "fr", "data_source": "mgsm", "extra_info": {"index": 0}, **extra}


@pytest.mark.parametrize("recipe, row, message", [
    ("adamame", {k: v for k, v in good_row().items() if k != "lang"}, "no 'lang' column"),
    ("adamame", good_row(reward_model={"style": "rule"}), "reward_model.ground_truth"),
    ("adamame", good_row(lang="French"), "not ISO 639-1"),
    ("tapo", good_row(), "no 'question_en' text"),
    ("pb_rlsvr", good_row(), "pivot_response"),
    ("pb_rlsvr", good_row(pivot_response=""), "pivot_response"),
])
def test_missing_columns_and_references_are_errors(compose, tmp_path, recipe, row, message):
    path = write_parquet(tmp_path / "train.parquet", [row])
    cfg = compose([f"+recipe={recipe}", f"data.train_files={path}", f"data.val_files={path}"])
    found = [f for f in startup_findings(cfg) if f.level == "error"]
    assert any(message in f.message and f.field == "data.train_files" for f in found), [str(f) for f in found]


def test_a_good_config_passes_and_errors_are_listed_together(compose, tmp_path, capsys):
    path = write_parquet(tmp_path / "train.parquet", [good_row(question_en="How many?")])
    check_startup(compose(["+recipe=tapo", f"data.train_files={path}", f"data.val_files={path}",
                           "data.train_batch_size=1"]))  # one row: a batch of 1 (verl drops an incomplete one)
    assert "startup check passed" in capsys.readouterr().err
    bad = compose(["+recipe=tapo", f"data.train_files={path}", f"data.val_files={path}", "data.train_batch_size=1",
                   "algorithm.tapo.lam=2",
                   "multiling.faults.on_failure=ignore"])
    with pytest.raises(ConfigError, match=r"2 config error\(s\)[\s\S]*on_failure[\s\S]*algorithm.tapo.lam"):
        check_startup(bad)


# ---- the same checks at the start of main_ppo (the recipes' Hydra callback) -------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("recipe, override, expected", [
    ("adamame", "algorithm.adamame.schedule=cosin", "algorithm.adamame.schedule"),
    ("reflection", "multiling.reflection.weight=high", "multiling.reflection.weight"),
    ("tapo", "multiling.tapo.translation.service.mode=remote", "multiling.tapo.translation.service.mode"),
    ("pb_rlsvr", "data.train_files=/nonexistent/train.parquet", "/nonexistent/train.parquet does not exist"),
])
def test_main_ppo_stops_before_any_model_loads(tmp_path, recipe, override, expected):
    env = dict(os.environ, HYDRA_FULL_ERROR="1")
    env.pop("VERL_MULTILING_SKIP_STARTUP_CHECK", None)
    proc = subprocess.run([sys.executable, "-m", "verl.trainer.main_ppo", f"+recipe={recipe}", override,
                           f"hydra.run.dir={tmp_path}"], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "config error(s), found before any model loads" in proc.stderr and expected in proc.stderr
    assert "ray.init" not in proc.stderr and "Started a local Ray instance" not in proc.stderr
