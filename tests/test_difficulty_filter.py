"""The RL-prompt difficulty filter: sampling with a tiny random Qwen2 end to end on CPU, and the counting
and selection driven by a generations file whose correct counts are known."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from verl_multiling.jobs.difficulty import main

ROOT = Path(__file__).resolve().parents[1]


def _prepare(tmp_path: Path, per_lang: int, langs=("fr", "ja")) -> Path:
    """A dapomath17k-style verl parquet built by scripts/prepare_data.py from a local pool."""
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"question": f"{lang}: {i} + {i} = ?", "answer": str(2 * i), "lang": lang})
                            + "\n" for lang in langs for i in range(per_lang)), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("vm_prepare_data", ROOT / "scripts" / "prepare_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--dataset", "dapomath17k", "--languages", ",".join(langs), "--local", str(pool),
                        "--out", str(tmp_path / "pool")]) == 0
    return tmp_path / "pool" / "dapomath17k.parquet"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, tokenizer_dir):
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    torch.manual_seed(0)
    config = Qwen2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=(len(tokenizer) + 63) // 64 * 64,
                         tie_word_embeddings=True, max_position_embeddings=1024,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    path = tmp_path_factory.mktemp("tiny_qwen2")
    Qwen2ForCausalLM(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


@pytest.mark.slow
def test_samples_with_a_model_then_counts(tmp_path, tiny_model, capsys):
    """The whole path: k samples per prompt from the model (resumable generate), each checked, the
    prompts classified. A random model never writes the right \\boxed{} answer: every prompt is too hard."""
    data = _prepare(tmp_path, 2)
    out, report = tmp_path / "train.parquet", tmp_path / "report.json"
    args = ["--data", str(data), "--model", str(tiny_model), "--out", str(out), "--k", "2",
            "--max-new-tokens", "4", "--batch-size", "4", "--report", str(report)]
    assert main(args) == 3  # nothing kept
    generations = [json.loads(line) for line in (tmp_path / "train.generations.jsonl").read_text().splitlines()]
    assert len(generations) == 8 and {g["sample_index"] for g in generations} == {0, 1}
    assert all(1 <= g["num_tokens"] <= 4 for g in generations)
    counts = json.loads(report.read_text())["languages"]
    assert counts["fr"] == {"prompts": 2, "kept": 0, "too_hard": 2, "too_easy": 0, "incomplete": 0,
                            "mean_correct_kept": None, "written": 0}
    assert counts["all"]["too_hard"] == 4 and not out.exists()
    assert "| fr | 2 | 0 | 2 | 0 | 0 | - |" in capsys.readouterr().out
    # the same samples counted again (no new sampling: generation resumes and finds nothing to do), with a
    # range that admits c = 0: every prompt is kept, with its count in extra_info
    assert main([*args, "--min-correct", "0", "--max-correct", "0"]) == 0
    assert "sampled 0 new responses" in capsys.readouterr().out
    kept = pd.read_parquet(out)
    assert len(kept) == 4 and all(e["difficulty"] == {"correct": 0, "k": 2} for e in kept["extra_info"])


def _generations(tmp_path: Path, data: Path, correct: dict[int, int], k: int = 8) -> Path:
    """A generations file giving prompt i of each language ``correct[i]`` right answers among ``k``
    samples (``-n`` means only n samples, i.e. incomplete)."""
    from verl_multiling.evaluation.generate import load_questions

    lines = []
    per_lang: dict[str, int] = {}
    for question in load_questions(data):
        i = per_lang.setdefault(question["lang"], 0)
        per_lang[question["lang"]] += 1
        c = correct[i]
        n = k if c >= 0 else -c
        for s in range(n):
            answer = question["ground_truth"] if s < c else "999"
            lines.append({"id": question["id"], "lang": question["lang"], "sample_index": s,
                          "ground_truth": question["ground_truth"],
                          "response": f"<think>\nCalcul.\n</think>\nRéponse : \\boxed{{{answer}}}"})
    path = tmp_path / "gen.jsonl"
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path


def test_keeps_one_to_seven_of_eight_and_reports_per_language(tmp_path, capsys):
    data = _prepare(tmp_path, 6, langs=("fr", "ja", "th"))
    # per language: c = 0, 1, 4, 7, 8 of 8, and a prompt with only 5 samples
    gen = _generations(tmp_path, data, {0: 0, 1: 1, 2: 4, 3: 7, 4: 8, 5: -5})
    out, report = tmp_path / "kept.parquet", tmp_path / "report.json"
    assert main(["--data", str(data), "--generations", str(gen), "--out", str(out), "--report", str(report)]) == 0
    kept = pd.read_parquet(out)
    assert sorted(e["difficulty"]["correct"] for e in kept[kept["lang"] == "fr"]["extra_info"]) == [1, 4, 7]
    assert list(kept.columns) == list(pd.read_parquet(data).columns)  # the rows travel unchanged
    languages = json.loads(report.read_text())["languages"]
    for lang in ("fr", "ja", "th"):
        assert {key: languages[lang][key] for key in ("prompts", "kept", "too_hard", "too_easy", "incomplete")} \
            == {"prompts": 6, "kept": 3, "too_hard": 1, "too_easy": 1, "incomplete": 1}
        assert languages[lang]["mean_correct_kept"] == pytest.approx(4.0)
    assert languages["all"]["kept"] == 9
    printed = capsys.readouterr().out
    assert "| ja | 6 | 3 | 1 | 1 | 1 | 4.00 |" in printed and "kept.parquet: 9 prompts  fr=3  ja=3  th=3" in printed

    # a narrower range and a per-language cap (drawn with the seed)
    assert main(["--data", str(data), "--generations", str(gen), "--out", str(out), "--min-correct", "4",
                 "--max-correct", "8", "--per-language", "2"]) == 0
    capped = pd.read_parquet(out)
    assert capped["lang"].value_counts().to_dict() == {"fr": 2, "ja": 2, "th": 2}
    assert {e["difficulty"]["correct"] for e in capped["extra_info"]} <= {4, 7, 8}


def test_bad_input_is_named(tmp_path, capsys):
    data = _prepare(tmp_path, 1)
    assert main(["--data", str(data), "--out", str(tmp_path / "o.parquet")]) == 2
    assert "--generations" in capsys.readouterr().err
    assert main(["--data", str(data), "--out", str(tmp_path / "o.parquet"), "--min-correct", "5",
                 "--max-correct", "2"]) == 2
    assert "need 0 <= --min-correct (5) <= --max-correct (2) <= --k (8)" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x", "lang": "fr", "response": "r"}) + "\n")
    assert main(["--data", str(data), "--generations", str(bad), "--out", str(tmp_path / "o.parquet")]) == 2
    assert "has no ['ground_truth', 'sample_index']" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["out_dir", "parent_is_a_file", "report_dir"])
def test_an_unwritable_output_is_named_before_any_work(tmp_path, capsys, case):
    """Issue 22 item 5: was a traceback after the whole run (an IsADirectoryError from the parquet writer)."""
    data = _prepare(tmp_path, 2)
    gen = _generations(tmp_path, data, {0: 4, 1: 4})
    before = gen.read_bytes()
    out, extra = tmp_path / "kept.parquet", []
    if case == "out_dir":
        out.mkdir()
        wanted = f"error: --out {out} is a directory; give a file path, e.g. --out {out / 'train.parquet'}"
    elif case == "parent_is_a_file":
        (tmp_path / "afile").write_text("x")
        out = tmp_path / "afile" / "kept.parquet"
        wanted = f"error: --out {out} cannot be written (Not a directory: {out.parent} is a file); choose a writable"
    else:
        (tmp_path / "report").mkdir()
        extra = ["--report", str(tmp_path / "report")]
        wanted = f"error: --report {tmp_path / 'report'} is a directory"
    assert main(["--data", str(data), "--generations", str(gen), "--out", str(out), *extra]) == 2
    captured = capsys.readouterr()
    assert wanted in captured.err and "Traceback" not in captured.err, captured.err
    assert "| lang |" not in captured.out  # refused before counting
    assert gen.read_bytes() == before and not (tmp_path / "afile").is_dir()
