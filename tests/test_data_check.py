"""The data-file check (verl_multiling/preflight/data_check.py): what verl 0.9.1's RLHFDataset and dataloader will
do with each row, as errors naming the field and the fix, read in bounded memory."""

import copy
import json
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from omegaconf import open_dict

from verl_multiling.preflight import checks
from verl_multiling.preflight.data_check import check_data_file, check_recipe_columns, check_train_rows
from verl_multiling.preflight.startup import startup_findings

FIELD = "data.train_files"


def row(**over):
    base = {"data_source": "mgsm", "prompt": [{"role": "user", "content": "Combien ?"}],
            "reward_model": {"ground_truth": "18", "style": "rule"}, "lang": "fr",
            "extra_info": {"index": 0, "lang": "fr"}}
    return {**base, **over}


def write(path, rows):
    pd.DataFrame(rows).to_parquet(path)
    return str(path)


@pytest.fixture(scope="module")
def cfgs(compose):
    return {r: compose([f"+recipe={r}"]) for r in ("adamame", "tapo", "pb_rlsvr")}


def run(cfg, path, **data):
    cfg = copy.deepcopy(cfg)
    with open_dict(cfg):
        cfg.data.train_files = path
        cfg.data.val_files = path
        cfg.data.update(data)
    settings, _ = checks.check_multiling(cfg)
    found, summary = check_data_file(path, cfg, settings, FIELD)
    return cfg, found, summary


def errors(found):
    return [f.message for f in found if f.level == "error"]


@pytest.mark.parametrize("prompt, what", [
    (None, "1 without a prompt (null)"),
    ([], "1 with an empty message list []"),
    ([{"role": "user", "content": None}], "1 whose 'prompt' is not a list of"),
])
def test_prompts_verl_cannot_use_are_counted_errors(cfgs, tmp_path, prompt, what):
    path = write(tmp_path / "t.parquet", [row(), row(prompt=prompt), row()])
    cfg, found, summary = run(cfgs["adamame"], path)
    [message] = [m for m in errors(found) if "cannot use" in m]
    assert message.startswith(f"{path}: 1/3 rows verl 0.9.1 cannot use: {what}") and "remove those rows" in message
    assert "data.filter_overlong_prompts=true" in message  # the recipes' setting: verl drops them
    assert (summary.rows, summary.usable) == (3, 2)


def test_string_and_all_null_prompts(cfgs, tmp_path):
    path = write(tmp_path / "s.parquet", [row(prompt="Combien ?"), row(prompt="x")])
    _, found, summary = run(cfgs["adamame"], path)
    assert any("2/2 rows verl 0.9.1 cannot use: 2 whose 'prompt' is not a list" in m for m in errors(found))
    assert summary.usable == 0
    path = write(tmp_path / "n.parquet", [row(prompt=None), row(prompt=None)])
    _, found, _ = run(cfgs["adamame"], path, filter_overlong_prompts=False)
    assert any("2 without a prompt (null)" in m and "fails on them" in m for m in errors(found))


def test_empty_file_names_the_field(cfgs, tmp_path):
    schema = pa.Table.from_pandas(pd.DataFrame([row()]), preserve_index=False).schema
    pq.write_table(schema.empty_table(), tmp_path / "empty.parquet")
    path = str(tmp_path / "empty.parquet")
    _, found, summary = run(cfgs["adamame"], path)
    assert summary.rows == 0
    assert [f.field for f in found if f.level == "error"] == [FIELD]
    assert "has no rows" in errors(found)[0] and FIELD in errors(found)[0]


def test_train_set_smaller_than_a_batch_is_an_error(cfgs, tmp_path):
    path = write(tmp_path / "t.parquet", [row()] * 5 + [row(prompt=[])])
    cfg, _, summary = run(cfgs["adamame"], path, train_batch_size=6)
    [error] = [f for f in check_train_rows(cfg, [summary]) if f.level == "error"]
    assert error.field == "data.train_batch_size"
    assert error.message.startswith("6 is more than the 5 usable training rows (6 rows in data.train_files, 1 of them")
    assert "set data.train_batch_size to at most 5" in error.message
    assert not [f for f in check_train_rows(cfg, [summary, summary]) if f.level == "error"]  # 10 rows, 2 files
    capped, _, _ = run(cfgs["adamame"], path, train_batch_size=4, train_max_samples=3)
    assert "data.train_max_samples=3" in errors(check_train_rows(capped, [summary]))[0]
    # the same at main_ppo's start (recipe default 512), and no 'T unknown' in its place
    found = startup_findings(cfg)  # train_batch_size=6
    assert any(f.field == "data.train_batch_size" and f.level == "error" for f in found)


def test_null_lang_falls_back_to_extra_info_as_the_manager_does(cfgs, tmp_path):
    rows = [row(lang=None, extra_info={"index": 0, "lang": "ja"}), row(lang="FR"), row(lang="zh-CN")]
    _, found, summary = run(cfgs["adamame"], write(tmp_path / "l.parquet", rows))
    assert errors(found) == []
    assert summary.languages == {"ja": 1, "fr": 1, "zh": 1}  # normalise_lang, as the reward compares
    rows = [row(lang=None, extra_info={"index": 0, "lang": None}), row(lang="French")]
    _, found, _ = run(cfgs["adamame"], write(tmp_path / "m.parquet", rows))
    assert any(m.startswith("1 rows have no lang") for m in errors(found))
    assert any("['French'] are not ISO 639-1" in m for m in errors(found))


def test_lang_only_in_extra_info_and_missing_everywhere(cfgs, tmp_path):
    rows = [{k: v for k, v in row().items() if k != "lang"}]
    _, found, summary = run(cfgs["adamame"], write(tmp_path / "e.parquet", rows))
    assert errors(found) == [] and summary.languages == {"fr": 1}
    rows = [{k: v for k, v in row(extra_info={"index": 0}).items() if k != "lang"}]
    _, found, _ = run(cfgs["adamame"], write(tmp_path / "f.parquet", rows))
    assert any("has no 'lang' column (nor extra_info.lang)" in m for m in errors(found))


def test_gold_and_recipe_texts_per_row(cfgs, tmp_path):
    rows = [row(reward_model={"ground_truth": " ", "style": "rule"}), row(reward_model=None), row()]
    _, found, _ = run(cfgs["adamame"], write(tmp_path / "g.parquet", rows))
    assert "2/3 rows have no reward_model.ground_truth (the gold answer)" in errors(found)
    # TAPO's reference: a column, else extra_info (row_text); PB-RLSVR's pivot: a null column falls back too
    rows = [row(question_en="How many?"), row(question_en=None, extra_info={"index": 1, "question_en": "How?"})]
    _, found, _ = run(cfgs["tapo"], write(tmp_path / "t.parquet", rows))
    assert errors(found) == [] and any("every row has 'question_en'" in f.message for f in found)
    _, found, _ = run(cfgs["tapo"], write(tmp_path / "u.parquet", [row(question_en=" "), row(question_en="x")]))
    assert any("1/2 rows have no 'question_en' text" in m for m in errors(found))
    rows = [row(pivot_response=None, extra_info={"index": 0, "pivot_response": "so \\boxed{18}"}),
            row(pivot_response="It is 18")]
    _, found, _ = run(cfgs["pb_rlsvr"], write(tmp_path / "p.parquet", rows))
    assert errors(found) == [] and any("2 pivot references, 1 with a boxed answer" in f.message for f in found)
    _, found, _ = run(cfgs["pb_rlsvr"], write(tmp_path / "q.parquet", [row(), row()]))
    assert any("no 'pivot_response' column (nor extra_info.pivot_response)" in m for m in errors(found))


def test_in_memory_frames_and_file_formats(cfgs, tmp_path):
    frame = pd.DataFrame([row(question_en="How many?"), row()])
    found = check_recipe_columns(frame, cfgs["tapo"], checks.check_multiling(cfgs["tapo"])[0], "rollouts", "sample")
    assert [f.message for f in found if f.level == "error"] == [
        "sample: 1/2 rows have no 'question_en' text (the English question (scripts/prepare_data.py --recipe tapo "
        "writes question_en)), needed by metric='chrf'; add the column or set multiling.tapo.reference_key"]
    (tmp_path / "d.csv").write_text("a\n")
    _, found, summary = run(cfgs["adamame"], str(tmp_path / "d.csv"))
    assert summary is None and "loads only .parquet, .json, .jsonl" in errors(found)[0]
    (tmp_path / "d.jsonl").write_text('{"prompt": [{"role": "user", "content": "x"}]\n')  # cut short
    _, found, summary = run(cfgs["adamame"], str(tmp_path / "d.jsonl"))
    assert summary is None and [f.level for f in found] == ["error"]  # JSON is read and checked as verl reads it
    assert found[0].message.startswith(f"{tmp_path / 'd.jsonl'} is not a JSON file verl can load")


@pytest.mark.slow
def test_a_200_mb_file_is_checked_in_bounded_memory(tmp_path):
    """The data_check benchmark (verl_multiling/benchmarks/data_check.py) builds ~200 MB of long prompts (row
    groups of 512 rows) and measures the check's peak RSS growth in a fresh process. Whole columns in memory
    cost ~260 MB on this file for TAPO (the pandas check of c5f735d); the streamed check ~50 MB. It runs from
    the installed package: any working directory will do."""
    proc = subprocess.run([sys.executable, "-m", "verl_multiling.benchmarks", "data_check", "--file",
                           str(tmp_path / "big.parquet"), "--recipes", "tapo", "--json"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [result] = [json.loads(line) for line in proc.stdout.splitlines()]
    assert (tmp_path / "big.parquet").stat().st_size > 180e6
    assert result["rows"] > 10_000 and result["errors"] == []
    assert result["peak_rss_growth_mb"] < 150, result
