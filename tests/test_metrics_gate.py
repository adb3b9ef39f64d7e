"""The smoke metrics regression gate (:mod:`verl_multiling.smoke.metrics_gate`) without running a smoke.

The gate itself runs inside ``tests/test_e2e_recipes.py`` on the runs that file already makes; these tests
check its pieces: which metrics it reads, the per-response advantages, the tolerance rules, the messages,
and that the stored values exist for every gated recipe and would catch a change beyond tolerance.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from verl_multiling.smoke import metrics_gate as gate

STORED = Path(__file__).resolve().parent / "data" / "smoke_metrics"


def test_stored_values_exist_for_every_gated_recipe_and_every_metric_has_a_rule():
    assert sorted(p.stem for p in STORED.glob("*.json")) == sorted(gate.RECIPES)
    for recipe in gate.RECIPES:
        steps = gate.load_baseline(recipe, STORED)
        assert sorted(steps) == [str(k) for k in range(1, gate.STEPS + 1)], recipe
        for step, values in steps.items():
            assert values["multiling/bridge/global_step"] == int(step)
            assert any(k.startswith("multiling/") and k.count("/") == 2 and not k.startswith("multiling/faults/")
                       for k in values), f"{recipe} step {step}: no per-language parts stored"
            assert len(values[gate.ADVANTAGES]) == 4 * gate.N  # 4 prompts a step, N responses each
            assert values[gate.ADVANTAGES] == sorted(values[gate.ADVANTAGES])
            assert min(values[gate.ADVANTAGES]) < max(values[gate.ADVANTAGES])
            for name in values:
                gate.tolerance_for(name)  # raises for a metric no rule covers


def test_a_stored_value_moved_beyond_its_tolerance_fails_with_recipe_step_metric_and_update_command(tmp_path):
    recipe = "tapo"
    stored = gate.load_baseline(recipe, STORED)
    assert gate.compare(recipe, stored, stored) == []
    step = "2"
    name = min(k for k in stored[step] if k.endswith("/r_trans"))  # a model-scored part: the 1e-5 rule
    rule = gate.tolerance_for(name)
    record = json.loads((STORED / f"{recipe}.json").read_text())
    original = record["steps"][step][name]
    record["steps"][step][name] = original + 2 * rule.abs_tol
    (tmp_path / f"{recipe}.json").write_text(json.dumps(record))
    problems = gate.compare(recipe, gate.load_baseline(recipe, tmp_path), stored)
    assert len(problems) == 1
    assert problems[0].startswith(f"recipe={recipe} step={step} metric={name}: stored=")
    assert f"got={original:.9g}" in problems[0] and rule.describe() in problems[0]
    message = gate.failure_message(recipe, problems, tmp_path)
    assert f"{gate.UPDATE_COMMAND} {recipe}" in message and str(tmp_path / f"{recipe}.json") in message
    record["steps"][step][name] = original + 0.5 * rule.abs_tol  # within tolerance
    (tmp_path / f"{recipe}.json").write_text(json.dumps(record))
    assert gate.compare(recipe, gate.load_baseline(recipe, tmp_path), stored) == []


def test_compare_reports_missing_and_new_metrics_and_steps_and_list_lengths():
    stored = {"1": {"multiling/en/acc": 0.5, gate.ADVANTAGES: [-1.0, 1.0]}, "2": {"multiling/en/acc": 0.25}}
    got = {"1": {"multiling/en/lang_match": 1.0, gate.ADVANTAGES: [-1.0, 0.0, 1.0]}, "3": {}}
    assert gate.compare("r", stored, got) == [
        "recipe=r step=1 metric=advantages/response_mean_sorted: stored=[-1, 1] got=[-1, 0, 1] "
        "(a different number of values)",
        "recipe=r step=1 metric=multiling/en/acc: stored=0.5 but not logged by this run",
        "recipe=r step=1 metric=multiling/en/lang_match: got=1 but no stored value (a new metric)",
        "recipe=r step=2: stored but not logged by this run",
        "recipe=r step=3: logged by this run but not stored",
    ]


def test_list_values_fail_on_one_element_and_nan_never_passes():
    rule = gate.tolerance_for(gate.ADVANTAGES)
    stored = {"1": {gate.ADVANTAGES: [-1.0, 0.5, 1.0], "critic/advantages/mean": 0.1}}
    moved = {"1": {gate.ADVANTAGES: [-1.0, 0.5 + 3 * rule.abs_tol, 1.0], "critic/advantages/mean": float("nan")}}
    problems = gate.compare("r", stored, moved)
    assert [p.split(":")[0] for p in problems] == ["recipe=r step=1 metric=advantages/response_mean_sorted",
                                                  "recipe=r step=1 metric=critic/advantages/mean"]
    assert "|diff|=3e-05" in problems[0] and "|diff|=inf" in problems[1]


@pytest.mark.parametrize("name, abs_tol", [
    ("multiling/en/count", 1e-9), ("multiling/th/u_tokens", 1e-9), ("multiling/faults/reward_error_count", 1e-9),
    ("multiling/bridge/global_step", 1e-9), ("multiling/en/acc", 1e-5), ("multiling/faults/reward_error_rate", 1e-5),
    ("critic/advantages/mean", 1e-5), (gate.ADVANTAGES, 1e-5)])
def test_each_metric_family_gets_its_stated_tolerance(name, abs_tol):
    assert gate.tolerance_for(name).abs_tol == abs_tol


def test_a_metric_outside_every_rule_is_an_error_naming_it():
    with pytest.raises(gate.MetricsGateError, match=r"'actor/grad_norm' matches no rule of metrics_gate.TOLERANCES"):
        gate.tolerance_for("actor/grad_norm")


def test_snapshot_keeps_rewards_and_advantages_and_drops_the_actors_numbers(tmp_path):
    (tmp_path / "advantages").mkdir()
    # two responses: tokens [2, 2, pad] -> mean 2; [-1, -3, -5] over all three -> mean -3
    dump = {"advantages": torch.tensor([[2.0, 2.0, 9.0], [-1.0, -3.0, -5.0]]),
            "response_mask": torch.tensor([[1, 1, 0], [1, 1, 1]])}
    torch.save(dump, tmp_path / "advantages" / "step_1.pt")
    metrics = {"multiling/en/acc": 0.5, "multiling/faults/unscored_count": 0, "critic/advantages/mean": 0.1,
               "critic/score/mean": 0.7, "critic/returns/mean": 0.1, "critic/values/mean": 0.0,
               "actor/grad_norm": 0.01, "timing_s/step": 40.0, "training/rollout_probs_diff_max": 1e-11}
    values = gate.snapshot([{"step": 1, "metrics": metrics}], tmp_path)
    assert values == {"1": {"multiling/en/acc": 0.5, "multiling/faults/unscored_count": 0.0,
                            "critic/advantages/mean": 0.1, "critic/score/mean": 0.7, gate.ADVANTAGES: [-3.0, 2.0]}}
    with pytest.raises(gate.MetricsGateError, match="step 2: no advantage dump"):
        gate.snapshot([{"step": 2, "metrics": metrics}], tmp_path)


def test_stored_values_for_another_run_or_none_at_all_name_the_update_command(tmp_path):
    with pytest.raises(gate.MetricsGateError, match=r"no stored smoke metrics .* --update adamame` from the repo"):
        gate.load_baseline("adamame", tmp_path)
    gate.write_baseline("adamame", {"1": {"multiling/en/acc": 0.5}}, tmp_path)
    assert gate.load_baseline("adamame", tmp_path) == {"1": {"multiling/en/acc": 0.5}}
    record = json.loads((tmp_path / "adamame.json").read_text())
    record["run"]["steps"] = 3
    (tmp_path / "adamame.json").write_text(json.dumps(record))
    with pytest.raises(gate.MetricsGateError, match=r"stored for run .*'steps': 3.* regenerate with `python -m"):
        gate.load_baseline("adamame", tmp_path)


def test_the_command_refuses_a_recipe_it_does_not_gate(capsys):
    with pytest.raises(SystemExit) as exc:
        gate.main(["--update", "adamame_sft"])
    assert exc.value.code == 2
    assert "not a gated recipe: adamame_sft; choose from adamame, tapo, pb_rlsvr, reflection" in capsys.readouterr().err
