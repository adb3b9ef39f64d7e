"""Preflight's data check on JSON/JSONL files (the same checks as parquet, read as verl reads them) and its count
of the prompts verl's ``filter_overlong_prompts`` drops, checked against verl 0.9.1's own ``RLHFDataset``."""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pandas as pd
import pytest
from omegaconf import OmegaConf, open_dict

from verl_multiling.preflight import checks
from verl_multiling.preflight.data_check import check_data_file, check_train_rows
from verl_multiling.preflight.prompt_length import load_prompt_lengths

FIELD = "data.train_files"
#: a template that refuses one prompt, as a model's own template may (role order, a forbidden message)
REFUSING_TEMPLATE = ("{% for m in messages %}{% if m['content'] == 'refused' %}{{ raise_exception('no such "
                     "prompt') }}{% endif %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"
                     "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def row(i: int, content="Combien d'oeufs ?", lang="fr", gold="18", **over):
    base = {"data_source": "mgsm", "prompt": [{"role": "user", "content": content}],
            "reward_model": {"ground_truth": gold, "style": "rule"}, "lang": lang,
            "pivot_response": "She sells 9 eggs: \\boxed{18}", "extra_info": {"index": i, "lang": lang}}
    return {**base, **over}


def write(path, rows):
    """``rows`` as the file format its suffix names (parquet; JSON Lines; one JSON array)."""
    if path.suffix == ".parquet":
        pd.DataFrame(rows).to_parquet(path)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def configured(cfg, **data):
    cfg = copy.deepcopy(cfg)
    with open_dict(cfg):
        cfg.data.update(data)
    return cfg


def check(cfg, path, lengths=None):
    settings, _ = checks.check_multiling(cfg)
    return check_data_file(str(path), cfg, settings, FIELD, lengths)


# ---- JSON / JSONL: the same checks as parquet ------------------------------------------------------------


@pytest.mark.parametrize("recipe", ["adamame", "pb_rlsvr"])
def test_json_and_jsonl_get_the_same_findings_and_summary_as_parquet(compose, tmp_path, recipe):
    cfg = compose([f"+recipe={recipe}"])
    rows = [row(0), row(1, lang="ja"), row(2, prompt=None), row(3, prompt=[]), row(4, lang="French"),
            row(5, gold=" "), row(6, lang=None, extra_info={"index": 6, "lang": None}), row(7, pivot_response=" ")]
    results = {}
    for suffix in (".parquet", ".jsonl", ".json"):
        path = write(tmp_path / f"train{suffix}", rows)
        found, summary = check(cfg, path)
        assert summary is not None, [f.message for f in found]
        results[suffix] = ([(f.level, f.field, f.message.replace(str(path), "FILE")) for f in found],
                           {**summary.as_dict(), "path": None, "usable": summary.usable})
    assert results[".jsonl"] == results[".parquet"] == results[".json"]
    found, summary = results[".parquet"]
    errors = [m for level, _, m in found if level == "error"]
    assert "FILE: 2/8 rows verl 0.9.1 cannot use: 1 without a prompt (null), 1 with an empty message list []" \
        in " ".join(errors)
    assert any("are not ISO 639-1" in m for m in errors) and any("1 rows have no lang" in m for m in errors)
    assert summary["rows"] == 8 and summary["usable"] == 6 and summary["languages"] == {"fr": 5, "ja": 1}
    if recipe == "pb_rlsvr":  # gold=none: a note; the blank pivot is an error
        assert any("1/8 rows have an empty or missing pivot_response" in m for m in errors)
        assert not any("ground_truth" in m for m in errors)
    else:
        assert "1/8 rows have no reward_model.ground_truth (the gold answer)" in errors


# ---- over-long prompts, against verl's RLHFDataset ----------------------------------------------------------


def verl_kept(path, tokenizer, max_prompt_length: int, tmp_path) -> int:
    """How many rows verl 0.9.1's RLHFDataset keeps after filter_overlong_prompts."""
    from verl.utils.dataset.rl_dataset import RLHFDataset

    config = OmegaConf.create({"prompt_key": "prompt", "max_prompt_length": max_prompt_length,
                               "filter_overlong_prompts": True, "filter_overlong_prompts_workers": 1,
                               "cache_dir": str(tmp_path / "verl_cache")})
    return len(RLHFDataset(data_files=str(path), tokenizer=tokenizer, config=config))


@pytest.fixture(scope="module")
def length_rows():
    """Prompts from 1 to ~160 words, one the template refuses, two verl cannot use at all."""
    rows = [row(i, content=" ".join(["Combien d'oeufs ?"] * (1 + 7 * i))) for i in range(8)]
    rows.append(row(8, content="refused"))
    rows += [row(9, prompt=None), row(10, prompt=[])]
    return rows


@pytest.fixture(scope="module")
def refusing_tokenizer(tokenizer_dir):
    """The tokenizer verl builds for the model, with the custom chat template (HFModelConfig does the same)."""
    from verl.utils import hf_tokenizer

    tokenizer = hf_tokenizer(str(tokenizer_dir))
    tokenizer.chat_template = REFUSING_TEMPLATE
    return tokenizer


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_overlong_prompts_counted_as_verl_drops_them(compose, tokenizer_dir, refusing_tokenizer, tmp_path,
                                                     length_rows, suffix):
    path = write(tmp_path / f"long{suffix}", length_rows)
    tokenizer = refusing_tokenizer
    limit = 120
    kept = verl_kept(path, tokenizer, limit, tmp_path)  # the independent answer: verl's own filter
    cfg = configured(compose(["+recipe=adamame", f"actor_rollout_ref.model.path={tokenizer_dir}",
                              f"+actor_rollout_ref.model.custom_chat_template={json.dumps(REFUSING_TEMPLATE)}"]),
                     max_prompt_length=limit, train_batch_size=2)
    lengths, note = load_prompt_lengths(cfg)
    assert note is None and lengths.max_length == limit and lengths.tokenizer.chat_template == REFUSING_TEMPLATE
    found, summary = check(cfg, path, lengths)
    assert 0 < kept < 8 and summary.usable == kept and summary.lengths_counted
    [warning] = [f for f in found if f.field == FIELD and f.level == "warning"]
    dropped = 9 - kept
    assert warning.message.startswith(f"{path}: {dropped}/9 prompts verl drops when it loads the data "
                                      f"(data.filter_overlong_prompts=true): {dropped - 1} longer than "
                                      f"data.max_prompt_length={limit} tokens with the chat template of "
                                      f"{tokenizer_dir} (longest ")
    assert "1 that the chat template refuses (first: TemplateError: no such prompt)" in warning.message
    assert not [f for f in check_train_rows(cfg, [summary]) if f.field == "data.max_prompt_length"]  # counted

    found, summary = check(configured(cfg, max_prompt_length=3), path, replace(lengths, max_length=3))
    [error] = [f.message for f in found if f.level == "error" and "prompts verl drops" in f.message]
    assert "9/9 prompts" in error and "no row is left to train on" in error and summary.usable == 0


def test_a_tokenizer_that_does_not_load_offline_is_a_note_and_the_old_note_stays(compose, tmp_path, length_rows):
    cfg = compose(["+recipe=adamame", "actor_rollout_ref.model.path=verl-multiling-test/no-such-model"])
    lengths, note = load_prompt_lengths(cfg)
    assert lengths is None and note.level == "note" and note.field == "data.max_prompt_length"
    assert note.message.startswith("over-long prompts not counted: the tokenizer of verl-multiling-test/no-such-model "
                                   "could not be loaded offline (not a local directory, and not in the local Hugging "
                                   "Face cache)")
    _, summary = check(cfg, write(tmp_path / "t.parquet", length_rows))
    assert summary.usable == 9 and not summary.lengths_counted
    assert any("did not load" in f.message for f in check_train_rows(cfg, [summary]))
    assert load_prompt_lengths(configured(cfg, filter_overlong_prompts=False)) == (None, None)  # nothing dropped


def test_preflight_counts_and_the_startup_check_does_not(compose, tokenizer_dir, tmp_path, length_rows):
    from verl_multiling.preflight.gate import Gate

    path = write(tmp_path / "train.jsonl", length_rows)
    cfg = configured(compose(["+recipe=adamame", f"actor_rollout_ref.model.path={tokenizer_dir}"]),
                     train_files=str(path), val_files=str(path), max_prompt_length=60, train_batch_size=2)
    for at_startup in (False, True):
        gate = Gate(cfg, at_startup=at_startup, rollout_engine=False)
        gate.config_checks()
        found = gate.data_checks()
        warnings = [f.message for f in found if f.level == "warning" and "prompts verl drops" in f.message]
        if at_startup:
            assert warnings == [] and gate.n_train == 9
            assert any("did not load" in f.message for f in found)
        else:
            assert len(warnings) == 2  # train and val file
            assert 0 < gate.n_train < 9 and not any("did not load" in f.message for f in found)
