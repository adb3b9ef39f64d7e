"""The preflight CLI: a full dry run on the bundled data, and every config mistake it must catch."""

import io
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from verl_multiling.preflight.run import run_preflight


def preflight(*overrides, **kwargs):
    out = io.StringIO()
    code = run_preflight(list(overrides), stream=out, **kwargs)
    return code, out.getvalue()


@pytest.mark.ray
def test_full_dry_run_on_bundled_data(ray_cluster, tmp_path):
    report = tmp_path / "preflight.json"
    code, text = preflight("+recipe=adamame", "multiling.languages=[en,fr,de,es,pt,ru,zh,ja,ko,th,bn,sw,te]",
                           json_path=str(report))
    assert code == 0, text
    result = json.loads(report.read_text())
    rows = {r["lang"]: r for r in result["languages"]}
    assert len(rows) == 14  # 13 languages + all
    assert rows["fr"]["n"] == 8 and rows["fr"]["acc"] == 0.75 and rows["fr"]["lang_match"] == 0.75
    assert rows["en"]["no_answer"] == 0.25
    assert abs(rows["all"]["adv_mean"]) < 1e-5  # group-normalised
    # as g(t) grows, correct in-language rollouts gain on correct English ones
    first, last = result["schedule"][0], result["schedule"][-1]
    gap = lambda r: r["correct_matched"] - r["correct_unmatched"]  # noqa: E731
    assert gap(last) > gap(first) > 0
    assert "| fr |" in text and "preflight passed" in text
    # the table says what it was computed on: the bundled rollouts, not the user's data
    assert "Per-language results on the bundled sample rollouts (sample_rollouts.jsonl): 104 rollouts in 13 " \
           "languages" in text and "not your data" in text
    assert [t["stage"] for t in result["timings"]["stages"]] == [1, 2, 3, 4, 5]


@pytest.mark.ray
def test_pb_rlsvr_table_by_response_kind(ray_cluster, tmp_path):
    """PB-RLSVR's preflight shows the reward per response kind of the bundled rollouts: nothing earns nothing
    (empty, unrelated <= 0.05), a bare answer no more than its answer part + 0.1, a faithful answer >= 0.85."""
    report = tmp_path / "preflight.json"
    code, text = preflight("+recipe=pb_rlsvr", json_path=str(report))
    assert code == 0, text
    kinds = {r["kind"]: r for r in json.loads(report.read_text())["kinds"]}
    assert {"empty", "unrelated", "spam", "bare", "wrong", "native", "english"} <= set(kinds)
    assert kinds["empty"]["n"] == kinds["bare"]["n"] == kinds["spam"]["n"] == 13
    assert kinds["empty"]["reward"] <= 0.05 and kinds["unrelated"]["reward"] <= 0.05
    assert kinds["bare"]["reward"] <= 0.5 * kinds["bare"]["r_answer"] + 0.1 and kinds["bare"]["coverage"] == 0.0
    assert kinds["native"]["reward"] >= 0.85 and kinds["english"]["reward"] >= 0.85
    assert "Mean reward by response kind" in text and "| bare |" in text


@pytest.mark.parametrize("override, field", [
    ("algorithm.adv_estimator=adamame_algin", "algorithm.adv_estimator"),
    ("trainer.v1.trainer_mode=sync", "trainer.v1.trainer_mode"),
    ("trainer.v1.trainer_mode=synk", "trainer.v1.trainer_mode"),
    ("algorithm.adamame.bonus=big", "algorithm.adamame"),
    ("algorithm.adamame.schedule=cosinus", "algorithm.adamame"),
    ("multiling.language_id.backend=cld9", "multiling"),
    ("multiling.math.timeout_s=0", "multiling"),
    ("reward.reward_manager.name=NoSuchManager", "reward.reward_manager"),
    ("actor_rollout_ref.rollout.n=1", "actor_rollout_ref.rollout.n"),
    ("trainer.use_v1=false", "trainer.use_v1"),
])
def test_config_mistakes_fail_before_any_model_loads(override, field):
    code, text = preflight("+recipe=adamame", override)
    assert code == 1, text
    assert f"[ERROR] {field}" in text, text
    assert "scoring rollouts" not in text  # stopped before the reward loop


def test_hydra_errors_are_reported(tmp_path):
    code, text = preflight("+recipe=no_such_recipe")
    assert code == 1 and "[ERROR] hydra" in text


def _frame(**drop):
    frame = pd.DataFrame({
        "data_source": ["mgsm/fr", "mgsm/ja"],
        "prompt": [[{"role": "user", "content": "Combien ?"}], [{"role": "user", "content": "いくつ？"}]],
        "reward_model": [{"ground_truth": "18", "style": "rule"}, {"ground_truth": "53", "style": "rule"}],
        "lang": ["fr", "ja"],
    })
    return frame.drop(columns=list(drop))


@pytest.mark.parametrize("mutate, message", [
    (lambda f: f.drop(columns=["lang"]), "has no 'lang' column"),
    (lambda f: f.drop(columns=["reward_model"]), "has no 'reward_model' column"),
    (lambda f: f.assign(lang=["fr", "japanese"]), "not ISO 639-1"),
    (lambda f: f.assign(reward_model=[{"ground_truth": ""}, {"ground_truth": "53"}]), "no reward_model.ground_truth"),
    (lambda f: f.assign(lang=["fr", "de"]), "not in multiling.languages"),
])
def test_data_mistakes_name_the_column(tmp_path, mutate, message):
    path = tmp_path / "train.parquet"
    mutate(_frame()).to_parquet(path)
    code, text = preflight("+recipe=adamame", f"data.train_files={path}", f"data.val_files={path}")
    assert code == 1 and message in text, text  # each is an error: preflight fails


def test_missing_data_file(tmp_path):
    code, text = preflight("+recipe=adamame", f"data.train_files={tmp_path}/nope.parquet")
    assert code == 1 and "does not exist" in text


def test_language_outside_lingua_set_is_an_error(tmp_path):
    path = tmp_path / "train.parquet"
    _frame().assign(lang=["fr", "it"]).to_parquet(path)  # it: outside the task and benchmark languages
    code, text = preflight("+recipe=adamame", "multiling.language_id.backend=lingua", f"data.train_files={path}",
                           f"data.val_files={path}")
    assert code == 1 and "can never match: lingua only detects" in text


def test_cli_entry_point_help():
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "verl-multiling"), "recipes"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "adamame" in out.stdout.split()


@pytest.mark.slow
def test_broken_install_fails_loudly(tmp_path):
    """verl swallows entry-point errors; ours are printed, and preflight stops with an error."""
    shadow = tmp_path / "transfer_queue"
    shadow.mkdir()
    (shadow / "__init__.py").write_text('raise ImportError("simulated broken install")\n')
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    cfg = subprocess.run([sys.executable, "-m", "verl.trainer.main_ppo", "+recipe=adamame", "--cfg", "job"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert "plugin registration FAILED" in cfg.stderr and "simulated broken install" in cfg.stderr
    cli = os.path.join(os.path.dirname(sys.executable), "verl-multiling")
    pre = subprocess.run([cli, "preflight", "+recipe=adamame"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    assert pre.returncode == 1, pre.stdout[-2000:]
    assert "[ERROR] plugin" in pre.stdout


def test_static_checks_summarise_user_data_and_time_each_stage(tmp_path):
    path = tmp_path / "train.parquet"
    pd.concat([_frame(), _frame().iloc[:1]]).to_parquet(path)  # fr 2, ja 1
    report = tmp_path / "preflight.json"
    code, text = preflight("+recipe=adamame", f"data.train_files={path}", f"data.val_files={path}",
                           "data.train_batch_size=3",  # 3 rows: one batch (verl drops an incomplete one)
                           "actor_rollout_ref.actor.ppo_mini_batch_size=3", static=True, json_path=str(report))
    assert code == 0, text
    assert "Your data files:" in text
    assert f"| data.train_files | {path} | 3 | fr 2, ja 1 | data_source, prompt, reward_model, lang |" in text
    result = json.loads(report.read_text())
    assert result["data"][0]["languages"] == {"fr": 2, "ja": 1}
    # each stage's own time, not the time elapsed since the start
    stages = result["timings"]["stages"]
    assert [s["stage"] for s in stages] == [1, 2, 3]
    assert sum(s["seconds"] for s in stages) <= result["timings"]["total_s"] + 0.05
    for s in stages:
        assert f"... stage {s['stage']} took {s['seconds']:.1f}s" in text
    assert "static checks passed" in text and "scoring" not in text and "Per-language results" not in text


def test_megatron_strategy_without_megatron_is_a_note():
    import importlib.util

    from omegaconf import OmegaConf

    from verl_multiling.preflight.checks import check_engines

    cfg = OmegaConf.create({"actor_rollout_ref": {"actor": {"strategy": "megatron"}}})
    found = check_engines(cfg)
    if importlib.util.find_spec("megatron") is None:
        assert [f.level for f in found] == ["note"] and "verl[megatron]" in found[0].message
    else:
        assert found == []
    assert check_engines(OmegaConf.create({"actor_rollout_ref": {"actor": {"strategy": "fsdp"}}})) == []

