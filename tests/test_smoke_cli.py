"""``verl-multiling smoke``'s own parts, fast: arguments, overrides, reading verl's metrics, the report.

The runs through main_ppo are in test_e2e_recipes.py and test_e2e_trainer_modes.py."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from verl_multiling.smoke.overrides import smoke_env, smoke_overrides
from verl_multiling.smoke.report import language_table, print_report
from verl_multiling.smoke.run import SmokeError, read_metrics, split_recipe


def test_recipe_argument_is_required_once_and_must_exist():
    assert split_recipe(["+recipe=tapo", "trainer.total_epochs=1"]) == ("tapo", ["trainer.total_epochs=1"])
    for bad in ([], ["+recipe=tapo", "+recipe=adamame"]):
        with pytest.raises(SmokeError, match="exactly one"):
            split_recipe(bad)
    with pytest.raises(SmokeError, match="no such recipe.*adamame"):
        split_recipe(["+recipe=adamme"])


def test_cli_reports_a_misspelt_recipe_without_a_traceback():
    proc = subprocess.run([sys.executable, "-m", "verl_multiling.cli", "smoke", "+recipe=tapoo"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "no such recipe" in proc.stderr and "Traceback" not in proc.stderr


def test_flags_and_overrides_may_be_intermixed(capsys):
    from verl_multiling.cli import main

    assert main(["smoke", "--scripted", "+recipe=adamme", "--steps", "1", "trainer.save_freq=1"]) == 2
    assert "no such recipe" in capsys.readouterr().err  # parsed: the misspelt recipe is what stopped it
    with pytest.raises(SystemExit):
        main(["smoke", "+recipe=adamame", "--stepz", "1"])
    assert "unrecognized arguments: --stepz" in capsys.readouterr().err


def test_user_overrides_come_last_and_the_cpu_backend_is_selected(tmp_path):
    overrides = smoke_overrides(model_dir=tmp_path / "m", train=tmp_path / "t", val=tmp_path / "v",
                                workdir=tmp_path, steps=3, n=4, scripted=tmp_path / "r.jsonl", ray_tmp=tmp_path)
    keys = [o.lstrip("+").split("=", 1)[0] for o in overrides]
    assert len(keys) == len(set(keys)), "an override is given twice"
    assert "actor_rollout_ref.rollout.name=hf_cpu" in overrides and "trainer.device=cpu" in overrides
    assert "trainer.total_training_steps=3" in overrides and "actor_rollout_ref.rollout.n=4" in overrides
    assert any(o.endswith(f"scripted_rollouts={tmp_path / 'r.jsonl'}") for o in overrides)
    env = smoke_env(tmp_path)
    assert env["VERL_PLATFORM"] == "cpu" and env["VERL_USE_EXTERNAL_MODULES"] == "verl_multiling.cpu"
    assert env["VERL_FILE_LOGGER_PATH"] == str(tmp_path / "metrics.jsonl")


def test_read_metrics_merges_calls_and_skips_a_torn_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(json.dumps({"step": 1, "data": {"a": 1.0}}) + "\n" + json.dumps({"step": 1, "data": {"b": 2}})
                    + "\n" + json.dumps({"step": 2, "data": {"a": 3.0}}) + '\n{"step": 3, "da')
    assert read_metrics(path) == [{"step": 1, "metrics": {"a": 1.0, "b": 2}}, {"step": 2, "metrics": {"a": 3.0}}]
    assert read_metrics(tmp_path / "missing.jsonl") == []


def test_report_has_a_row_per_language_and_the_step_columns():
    metrics = {"multiling/fr/acc": 1.0, "multiling/fr/lang_match": 0.5, "multiling/ja/acc": 0.0,
               "multiling/faults/reward_error_count": 0.0, "multiling/bridge/global_step": 1,
               "timing_s/step": 41.5, "actor/grad_norm": 0.02}
    header, rows = language_table(metrics)
    assert header == ["lang", "acc", "lang_match"] and [r[0] for r in rows] == ["fr", "ja"]
    assert rows[1] == ["ja", "0", "-"]
    out = io.StringIO()
    print_report({"recipe": "adamame", "steps": [{"step": 1, "metrics": metrics}]}, out)
    text = out.getvalue()
    assert "41.5" in text and "0.02" in text and "reward_error_count=0" in text


def test_prompt_length_is_fitted_to_the_longest_templated_prompt(tmp_path, tokenizer_dir):
    import pandas as pd
    from transformers import AutoTokenizer

    from verl_multiling.preflight.rollouts import BUNDLED_ROLLOUTS
    from verl_multiling.smoke.assets import fitted_prompt_length, write_recipe_data

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    train, _ = write_recipe_data(BUNDLED_ROLLOUTS, tmp_path / "bundled")
    lengths = [len(tokenizer(tokenizer.apply_chat_template(list(p), add_generation_prompt=True, tokenize=False),
                             add_special_tokens=False)["input_ids"]) for p in pd.read_parquet(train)["prompt"]]
    assert max(lengths) == 292  # the longest bundled prompt (Bengali)
    assert fitted_prompt_length(train, tokenizer_dir) == 320  # 292 + 16 -> the next multiple of 64

    one = tmp_path / "one.parquet"  # another length: the same rule
    words = " ".join(["cat"] * 200)
    text = tokenizer.apply_chat_template([{"role": "user", "content": words}], add_generation_prompt=True,
                                         tokenize=False)
    base = len(tokenizer(text, add_special_tokens=False)["input_ids"])
    pd.DataFrame({"prompt": [[{"role": "user", "content": words}]]}).to_parquet(one)
    fitted = fitted_prompt_length(one, tokenizer_dir)
    assert fitted % 64 == 0 and base + 16 <= fitted < base + 16 + 64, (base, fitted)


def test_the_fitted_prompt_length_reaches_main_ppo(tmp_path):
    common = dict(model_dir=tmp_path / "m", train=tmp_path / "t", val=tmp_path / "v", workdir=tmp_path, steps=1,
                  n=2, scripted=None, ray_tmp=tmp_path)
    assert "data.max_prompt_length=512" in smoke_overrides(**common)
    assert "data.max_prompt_length=320" in smoke_overrides(**common, max_prompt_length=320)


def test_the_small_vocabulary_round_trips_every_bundled_text_in_fewer_tokens(tmp_path, monkeypatch, tokenizer_dir):
    """--vocab small: a real saved tokenizer + model that verl loads like the Qwen one; every bundled text decodes
    back exactly, the bundled responses need fewer tokens than with Qwen2.5's tokenizer (so no scripted response
    that fits the smoke's 256 tokens with Qwen is cut with it), and the embedding is about 4.4k rows, not 151,665."""
    import json as _json

    from transformers import AutoConfig, AutoTokenizer

    from verl_multiling.smoke.assets import (
        SMALL_VOCAB_SIZE,
        small_vocab_texts,
        tiny_model_dir,
    )

    monkeypatch.setenv("VERL_MULTILING_CACHE", str(tmp_path))
    model = tiny_model_dir(vocab="small")
    assert "bpe" in model.name and tiny_model_dir(vocab="small") == model  # cached: the second call reuses it
    small = AutoTokenizer.from_pretrained(str(model))
    qwen = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    config = AutoConfig.from_pretrained(str(model))
    assert config.vocab_size == len(small) and 3000 < len(small) <= SMALL_VOCAB_SIZE
    assert small.eos_token == "<|im_end|>" and config.eos_token_id == small.convert_tokens_to_ids("<|im_end|>")
    texts = small_vocab_texts()
    assert len(texts) > 1000
    for text in texts:
        assert small.decode(small(text, add_special_tokens=False)["input_ids"]) == text
    unseen = "Ωμέγα ünïcödé 🙂 \\frac{1}{2}"  # byte fallback: text the BPE never saw still round-trips
    assert small.decode(small(unseen, add_special_tokens=False)["input_ids"]) == unseen
    from verl_multiling.plumbing.paths import DATA_DIR

    responses = [_json.loads(line)["response"] for path in sorted(DATA_DIR.glob("sample_*rollouts.jsonl"))
                 for line in path.read_text(encoding="utf-8").splitlines() if '"response"' in line]
    ours = sum(len(small(r, add_special_tokens=False)["input_ids"]) for r in responses)
    theirs = sum(len(qwen(r, add_special_tokens=False)["input_ids"]) for r in responses)
    assert ours < theirs, (ours, theirs)
    prompt = small.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True,
                                       tokenize=False)
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    with pytest.raises(ValueError, match="choose one of qwen, small"):
        tiny_model_dir(vocab="tiny")


def test_a_misspelt_vocab_is_refused_with_the_choices(capsys):
    from verl_multiling.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["smoke", "+recipe=adamame", "--vocab", "smal"])
    assert stop.value.code == 2
    assert "invalid choice: 'smal'" in capsys.readouterr().err
    with pytest.raises(SmokeError, match="--vocab tiny: choose one of qwen, small"):
        from verl_multiling.smoke.run import run_smoke

        run_smoke(["+recipe=adamame"], vocab="tiny", workdir="/nonexistent-never-created")
