"""PB-RLSVR with ``multiling.pb_rlsvr.gold=none`` (the paper's label-free setting, the recipe's default) needs no
gold answer anywhere: not in the data check, not in preflight's rollouts and probes, not in the reward manager.
With ``gold=gate|sum`` a missing gold answer stays an error naming the knob."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from omegaconf import open_dict

from verl_multiling.plumbing.paths import DATA_DIR
from verl_multiling.preflight import checks
from verl_multiling.preflight.data_check import check_data_file, gold_required
from verl_multiling.preflight.rollouts import build_dataproto, load_rollouts, rows_as_dataset

FIELD = "data.train_files"


def row(i: int, **over):
    base = {"data_source": "mgsm", "prompt": [{"role": "user", "content": f"Question {i} ?"}],
            "reward_model": {"ground_truth": "18", "style": "rule"}, "lang": "fr",
            "pivot_response": "She sells 9 eggs at $2: \\boxed{18}", "extra_info": {"index": i}}
    return {**base, **over}


@pytest.fixture(scope="module")
def pb(compose):
    return compose(["+recipe=pb_rlsvr"])


def with_gold(cfg, gold: str):
    cfg = copy.deepcopy(cfg)
    with open_dict(cfg):
        cfg.multiling.pb_rlsvr.gold = gold
    return cfg


def check(cfg, path):
    settings, _ = checks.check_multiling(cfg)
    return check_data_file(str(path), cfg, settings, FIELD)


def test_gold_required_only_where_the_reward_reads_it(pb, adamame_cfg):
    settings = checks.check_multiling(pb)[0]
    assert pb.multiling.pb_rlsvr.gold == "none" and not gold_required(pb, settings)
    assert gold_required(with_gold(pb, "gate"), settings) and gold_required(with_gold(pb, "sum"), settings)
    assert gold_required(adamame_cfg, checks.check_multiling(adamame_cfg)[0])


def test_data_without_gold_is_a_note_with_gold_none_and_an_error_naming_the_knob_otherwise(pb, tmp_path):
    rows = [row(0, reward_model={"ground_truth": None, "style": "rule"}),
            row(1, reward_model={"ground_truth": " ", "style": "rule"}), row(2)]
    path = tmp_path / "some_gold.parquet"
    pd.DataFrame(rows).to_parquet(path)
    found, summary = check(pb, path)
    assert [f.message for f in found if f.level == "error"] == []
    [note] = [f for f in found if "without a gold answer" in f.message]
    assert note.level == "note" and "2/3 rows have no reward_model.ground_truth" in note.message
    assert summary.usable == 3

    found, _ = check(with_gold(pb, "gate"), path)
    [error] = [f.message for f in found if f.level == "error"]
    assert error.startswith("2/3 rows have no reward_model.ground_truth (the gold answer): "
                            "multiling.pb_rlsvr.gold=gate|sum uses it in every row")

    no_column = tmp_path / "no_reward_model.parquet"
    pd.DataFrame([{k: v for k, v in row(i).items() if k != "reward_model"} for i in range(2)]).to_parquet(no_column)
    found, summary = check(pb, no_column)
    assert [f.message for f in found if f.level == "error"] == [] and summary.usable == 2
    assert any(f.level == "note" and "no 'reward_model' column" in f.message for f in found)
    found, _ = check(with_gold(pb, "sum"), no_column)
    assert any("has no 'reward_model' column" in f.message for f in found if f.level == "error")


def test_rollouts_without_ground_truth_load_where_gold_is_not_needed(tmp_path, tokenizer):
    rows = [json.loads(line) for line in (DATA_DIR / "sample_pb_rlsvr_rollouts.jsonl").read_text().splitlines()
            if line.strip()]
    path = tmp_path / "label_free.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "ground_truth"}) + "\n" for r in rows))
    with pytest.raises(ValueError, match=r"label_free.jsonl:1: missing field\(s\) \['ground_truth'\]"):
        load_rollouts(path)
    loaded = load_rollouts(path, need_gold=False)
    assert len(loaded) == len(rows)
    data = build_dataproto(loaded[:3], tokenizer)
    assert [g["ground_truth"] for g in data.non_tensor_batch["reward_model"]] == [None] * 3  # not the text "None"
    frame = rows_as_dataset(loaded)
    assert frame["reward_model"].map(lambda g: g["ground_truth"]).isna().all()


def test_the_gate_and_the_reward_manager_score_label_free_rollouts(pb, tmp_path, tokenizer, reward_loop_cfg):
    """Preflight's gate (its bundled-prompt data check and its probes through the real manager) on rollouts
    without ground_truth, and the manager on rows without a gold answer: no error, has_gold=0, acc=0."""
    from verl.trainer.ppo.reward import load_reward_manager

    from verl_multiling.preflight.gate import run_gate

    rows = [json.loads(line) for line in (DATA_DIR / "sample_pb_rlsvr_rollouts.jsonl").read_text().splitlines()
            if line.strip()]
    path = tmp_path / "label_free.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "ground_truth"}) + "\n" for r in rows))
    gate = run_gate(pb, at_startup=False, rollouts=str(path), rollout_engine=False)
    assert [f.message for f in gate.findings if f.level == "error"] == []
    assert any(f.field == "reward probe" and f.level == "ok" for f in gate.findings)

    cfg = reward_loop_cfg("+recipe=pb_rlsvr")
    manager = load_reward_manager(cfg, tokenizer)
    chosen = [r for r in load_rollouts(path, need_gold=False) if r["kind"] == "native"][:2]
    data = build_dataproto(chosen, tokenizer)
    data.non_tensor_batch["pivot_response"] = np.array([r["pivot_response"] for r in chosen], dtype=object)
    del data.non_tensor_batch["reward_model"]  # no reward_model column at all
    out = [manager.loop.run_until_complete(manager.run_single(data[i:i + 1])) for i in range(len(chosen))]
    info = [o["reward_extra_info"] for o in out]
    assert [(i["reward_error"], i["has_gold"], i["acc"]) for i in info] == [(0.0, 0.0, 0.0)] * 2
    assert all(o["reward_score"] > 0.5 for o in out)  # faithful answers earn the semantic reward without labels
