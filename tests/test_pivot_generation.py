"""Pivot-reference generation end to end on CPU with a tiny randomly initialised Qwen2 built offline:
dedup across languages, sharding, gold check, metadata, and resumability (a crash and a real SIGKILL)."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from verl_multiling.jobs.pivot_generation import (
    JobSettings,
    SamplingSettings,
    TransformersGenerator,
    english_question,
    merge,
    plan,
    read_done,
    read_metadata,
    run_job,
)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "generate_pivot_references.py"
QUESTIONS = [f"Tom has {n} apples and buys {n + 3} more. How many apples does he have?" for n in range(1, 7)]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, tokenizer_dir):
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    cfg = Qwen2Config(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                      num_key_value_heads=1, vocab_size=64 * math.ceil(len(tok) / 64), tie_word_embeddings=True,
                      max_position_embeddings=1024, eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"))
    path = tmp_path_factory.mktemp("tiny_qwen2")
    Qwen2ForCausalLM(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def training_frame() -> pd.DataFrame:
    """6 English questions x (en, fr, de): 18 rows, 6 unique references; gold on the fr rows only."""
    rows = []
    for i, q in enumerate(QUESTIONS):
        for lang in ("en", "fr", "de"):
            rows.append({
                "data_source": f"toy/{lang}",
                "prompt": [{"role": "user", "content": q if lang == "en" else f"[{lang}] {q}"}],
                "reward_model": {"style": "rule", "ground_truth": str(2 * i + 4) if lang == "fr" else ""},
                "lang": lang,
                "question_en": None if lang == "en" else q,  # English rows give their prompt
                "extra_info": {"index": len(rows), "lang": lang},
            })
    return pd.DataFrame(rows)


@pytest.fixture()
def train_parquet(tmp_path):
    path = tmp_path / "train.parquet"
    training_frame().to_parquet(path)
    return path


def settings_for(model, **sampling):
    return JobSettings(model=str(model), backend="transformers",
                       sampling=SamplingSettings(max_new_tokens=sampling.pop("max_new_tokens", 6), **sampling))


@pytest.fixture(scope="module")
def generator(tiny_model):
    return TransformersGenerator(str(tiny_model), device="cpu", dtype="float32")


class CountingGenerator:
    """The real transformers generator, counting the prompts it is asked for and optionally crashing."""

    def __init__(self, inner, crash_after_batches=None):
        self.inner = inner
        self.prompts: list[str] = []
        self.batches = 0
        self.crash_after = crash_after_batches

    def generate(self, prompts, sampling):
        if self.crash_after is not None and self.batches >= self.crash_after:
            raise RuntimeError("simulated crash (node lost)")
        self.batches += 1
        self.prompts.extend(prompts)
        return self.inner.generate(prompts, sampling)


def test_pure_helpers():
    row = {"lang": "en", "prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": " Q? "}]}
    assert english_question(row, "question_en") == "Q?"
    assert english_question({"lang": "fr", "extra_info": {"question_en": "E"}}, "question_en") == "E"
    assert english_question({"lang": "fr", "prompt": [{"role": "user", "content": "F"}]}, "question_en") is None
    p = plan(training_frame().to_dict("records"), JobSettings(model="m"))
    assert len(p.prompts) == 6 and len(set(p.row_keys)) == 6 and not p.missing_rows
    with pytest.raises(ValueError, match="template must contain"):
        JobSettings(model="m", template="no placeholder")
    with pytest.raises(ValueError, match="--temperature"):
        SamplingSettings(temperature=-1)


def test_gold_check_keep_flag_drop():
    rows = [{"reward_model": {"ground_truth": "7"}, "lang": "fr", "question_en": "q1"},
            {"reward_model": {"ground_truth": "8"}, "lang": "de", "question_en": "q2"},
            {"reward_model": {}, "lang": "de", "question_en": "q3"}]
    p = plan(rows, JobSettings(model="m"))
    answers = {"q1": "so \\boxed{7}", "q2": "so \\boxed{9}", "q3": "\n\n"}
    done = {k: {"response": answers[prompt.split("\n")[0]]} for k, prompt in p.prompts.items()}
    kept, counts = merge(rows, p, done, "keep")
    assert len(kept) == 3 and "pivot_correct" not in kept[0]
    assert counts["pivot_no_answer"] == 1 and counts["empty_response"] == 1
    flagged, counts = merge(rows, p, done, "flag")
    assert [r["pivot_correct"] for r in flagged] == [True, False, None]
    assert [r["pivot_answer"] for r in flagged] == ["7", "9", None]
    assert (counts["pivot_correct"], counts["pivot_wrong"], counts["no_gold"]) == (1, 1, 1)
    dropped, counts = merge(rows, p, done, "drop")
    assert [r["question_en"] for r in dropped] == ["q1", "q3"] and counts["dropped"] == 1


@pytest.mark.slow
def test_end_to_end_with_a_tiny_model_and_resume_after_a_crash(tiny_model, generator, train_parquet, tmp_path):
    out, work = tmp_path / "out.parquet", tmp_path / "work"
    settings = settings_for(tiny_model)
    crashing = CountingGenerator(generator, crash_after_batches=2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_job(train_parquet, out, work, settings, lambda: crashing, batch_size=2, progress=False)
    assert not out.exists()
    done_before, _ = read_done(work)
    assert len(done_before) == 4  # two durable batches survived the crash

    resumed = CountingGenerator(generator)
    result = run_job(train_parquet, out, work, settings, lambda: resumed, batch_size=2, progress=False)
    assert (result.generated, result.resumed, result.merged) == (2, 4, True)
    assert len(resumed.prompts) == 2 and not set(resumed.prompts) & set(crashing.prompts)
    done_after, _ = read_done(work)
    assert {k: v["response"] for k, v in done_before.items()} == \
           {k: done_after[k]["response"] for k in done_before}  # nothing written was lost or redone

    frame = pd.read_parquet(out)
    assert len(frame) == 18 and frame["pivot_response"].map(lambda s: isinstance(s, str)).all()
    # one reference per English question, shared by its three languages
    assert frame.groupby(frame.index // 3)["pivot_response"].nunique().eq(1).all()
    assert frame["pivot_correct"].isna().sum() == 12  # en/de rows have no gold
    meta = read_metadata(out)
    assert meta["settings"]["sampling"] == {"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 6, "seed": 0}
    assert meta["settings"]["model"] == str(tiny_model) and meta["questions"] == 6
    assert meta["counts"]["rows_out"] == 18 and meta["gold_check"] == "flag"

    # a finished job loads no model and regenerates nothing
    def no_model():
        raise AssertionError("a finished job must not load the model")

    again = run_job(train_parquet, out, work, settings, no_model, progress=False)
    assert (again.generated, again.resumed, again.merged) == (0, 6, True)
    # other settings cannot silently mix into the same work directory
    with pytest.raises(ValueError, match="other settings"):
        run_job(train_parquet, out, work, settings_for(tiny_model, temperature=0.7), no_model, progress=False)


def test_torn_last_line_is_dropped_and_regenerated(tiny_model, generator, train_parquet, tmp_path):
    work = tmp_path / "work"
    settings = settings_for(tiny_model)
    gen = CountingGenerator(generator)
    run_job(train_parquet, tmp_path / "a.parquet", work, settings, lambda: gen, batch_size=3, merge_output=False,
            progress=False)
    part = next(work.glob("part-*.jsonl"))
    lines = part.read_text(encoding="utf-8").splitlines(keepends=True)
    part.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2], encoding="utf-8")  # torn by a kill
    done, torn = read_done(work)
    assert len(done) == 5 and torn == 1
    again = CountingGenerator(generator)
    result = run_job(train_parquet, tmp_path / "a.parquet", work, settings, lambda: again, progress=False)
    assert (result.generated, result.torn, result.merged) == (1, 1, True)
    assert len(part.read_text(encoding="utf-8").splitlines()) == 6
    assert read_done(work)[1] == 0  # the torn tail was cut in place


def test_shards_split_the_work_and_the_last_run_merges(tiny_model, generator, train_parquet, tmp_path):
    out, work = tmp_path / "out.parquet", tmp_path / "work"
    settings = settings_for(tiny_model, max_new_tokens=2)
    gens = [CountingGenerator(generator) for _ in range(2)]
    first = run_job(train_parquet, out, work, settings, lambda: gens[0], shard_index=0, num_shards=2,
                    progress=False)
    assert not first.merged and first.waiting_for == 6 - first.generated and not out.exists()
    second = run_job(train_parquet, out, work, settings, lambda: gens[1], shard_index=1, num_shards=2,
                     progress=False)
    assert second.merged and first.generated + second.generated == 6
    assert not set(gens[0].prompts) & set(gens[1].prompts)
    assert len(list(work.glob("part-*.jsonl"))) == 2


@pytest.mark.slow
def test_killed_script_restarts_where_it_stopped(tiny_model, train_parquet, tmp_path):
    """The real thing: SIGKILL the command-line job mid-run, rerun the same command, lose nothing."""
    out, work = tmp_path / "out.parquet", tmp_path / "work"
    cmd = [sys.executable, str(SCRIPT), "--input", str(train_parquet), "--output", str(out), "--work-dir", str(work),
           "--model", str(tiny_model), "--batch-size", "1", "--max-new-tokens", "32", "--device", "cpu",
           "--dtype", "float32", "--no-progress"]
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        parts = list(work.glob("part-*.jsonl"))
        if parts and len(parts[0].read_text(encoding="utf-8").splitlines()) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the job ended before it could be killed: {proc.communicate()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before, _ = read_done(work)
    assert 2 <= len(before) < 6 and not out.exists()
    finished = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-2000:]
    summary = json.loads(finished.stdout.strip().splitlines()[-1])
    assert summary["merged"] and summary["resumed"] == len(before)
    assert summary["generated"] == 6 - len(before)
    after, _ = read_done(work)
    assert all(after[k]["response"] == v["response"] for k, v in before.items())
    assert len(pd.read_parquet(out)) == 18


# --- issue 22 item 5: --restart touches only the job's files; bad arguments are messages, not tracebacks ----


def _cli(train_parquet, tmp_path, work, *extra, model="verl-multiling-tests/no-such-model"):
    return ["--input", str(train_parquet), "--output", str(tmp_path / "out.parquet"), "--work-dir", str(work),
            "--model", model, "--no-progress", *extra]


@pytest.fixture()
def offline(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def test_restart_refuses_a_directory_that_is_not_its_work_dir(train_parquet, tmp_path, capsys, offline):
    from verl_multiling.jobs.pivot_generation import main

    work = tmp_path / "mywork"
    (work / "sub").mkdir(parents=True)
    (work / "notes.txt").write_text("precious")
    (work / "sub" / "a.txt").write_text("x")
    (work / "part-00000-of-00001.jsonl").write_text("not the job's\n")  # a job's name, but no settings.json
    assert main(_cli(train_parquet, tmp_path, work, "--restart")) == 2
    err = capsys.readouterr().err
    assert f"--restart --work-dir {work}: not a work directory of this job" in err and "nothing was deleted" in err
    assert "pass a new --work-dir" in err and "Traceback" not in err
    assert (work / "notes.txt").read_text() == "precious" and (work / "sub" / "a.txt").read_text() == "x"
    assert (work / "part-00000-of-00001.jsonl").read_text() == "not the job's\n"


def test_restart_deletes_only_the_files_the_job_wrote(train_parquet, tmp_path, capsys, offline):
    from verl_multiling.jobs.pivot_generation import check_settings, main

    work, outside = tmp_path / "work", tmp_path / "outside.jsonl"
    check_settings(work, settings_for("verl-multiling-tests/no-such-model"))  # the job's settings.json
    (work / "part-00000-of-00001.jsonl").write_text('{"key": "old"}\n')
    (work / "part-00000-of-00001.jsonl.rejected").write_text("null\n")
    (work / "part-00001-of-00002.jsonl.repair-tmp").write_text("")
    (work / "notes.txt").write_text("mine")
    (work / "sub").mkdir()
    (work / "sub" / "part-00000-of-00001.jsonl").write_text("mine too")
    outside.write_text("outside")
    (work / "part-00001-of-00002.jsonl").symlink_to(outside)  # not a file the job writes
    assert main(_cli(train_parquet, tmp_path, work, "--restart")) == 2  # the model is not there (offline)
    err = capsys.readouterr().err
    assert "--restart: deleted 4 work file(s)" in err and "kept 3 entries that are not the job's" in err
    assert "could not load the model" in err and "Traceback" not in err
    assert (work / "notes.txt").read_text() == "mine" and (work / "sub" / "part-00000-of-00001.jsonl").is_file()
    assert (work / "part-00001-of-00002.jsonl").is_symlink() and outside.read_text() == "outside"
    assert not (work / "part-00000-of-00001.jsonl.rejected").exists()
    assert not (work / "part-00001-of-00002.jsonl.repair-tmp").exists()
    assert (work / "part-00000-of-00001.jsonl").read_text() == ""  # the old reference is gone


@pytest.mark.parametrize("case, wanted", [
    ("settings_dir", "settings.json is a directory, not the job's settings file"),
    ("hub_name", "could not load the model 'verl-multiling-tests/no-such-model'"),
    ("work_dir_file", "is not a directory; give a directory for the job's work files"),
    ("output_dir", "is a directory; give a file path, e.g. --output"),
    ("temperature", "--temperature=-1.0: must be >= 0"),
])
def test_bad_arguments_are_messages_with_exit_2(train_parquet, tmp_path, capsys, offline, case, wanted):
    from verl_multiling.jobs.pivot_generation import main

    work, extra = tmp_path / "work", []
    if case == "settings_dir":
        (work / "settings.json").mkdir(parents=True)
    elif case == "work_dir_file":
        work.write_text("a file")
    elif case == "output_dir":
        (tmp_path / "out.parquet").mkdir()
    elif case == "temperature":
        extra = ["--temperature", "-1"]
    assert main(_cli(train_parquet, tmp_path, work, *extra)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and wanted in err and "Traceback" not in err, err
    if case == "settings_dir":
        assert (work / "settings.json").is_dir() and not list((work / "settings.json").iterdir())
    if case == "hub_name":
        assert "pass --model DIR" in err
