"""AdaMame stage 1 (SFT): the trace filter, its CLI, the adamame_sft recipe and its launcher."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from verl_multiling.jobs import sft_filter as sf
from verl_multiling.plumbing.paths import DATA_DIR, recipes_dir

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "filter_sft_traces.py"
RUN_SFT = REPO / "recipes" / "adamame" / "run_sft.sh"
SAMPLE = DATA_DIR / "sample_sft_traces.jsonl"

K, WL, INC, NB, EMPTY, UNS = (sf.KEPT, sf.WRONG_LANGUAGE, sf.INCORRECT, sf.NO_BOXED_AFTER_THINK, sf.EMPTY,
                              sf.UNSUPPORTED_LANGUAGE)
# Hand-computed outcome of every bundled sample trace with the default options
# (first500 fidelity, </think> required); see each row's "note".
EXPECTED_DEFAULT = {
    "fr-01": K, "fr-02": K, "fr-03": K, "fr-04": WL, "fr-05": WL, "fr-06": INC, "fr-07": NB, "fr-08": K,
    "ja-01": K, "ja-02": K, "ja-03": K, "ja-04": WL, "ja-05": INC, "ja-06": NB,
    "ko-01": K, "ko-02": K, "ko-03": K, "ko-04": WL, "ko-05": INC, "ko-06": EMPTY,
    "pt-01": K, "pt-02": K, "pt-03": K, "pt-04": WL, "pt-05": INC, "pt-06": NB, "pt-07": NB, "pt-08": K,
    "th-01": K, "th-02": K, "th-03": K, "th-04": WL, "th-05": INC, "th-06": EMPTY,
    "en-01": UNS, "en-02": UNS,
}
# lang: (input, kept, wrong_language, incorrect, no_boxed_after_think, empty, unsupported_language)
EXPECTED_TABLE = {
    "fr": (8, 4, 2, 1, 1, 0, 0),
    "ja": (6, 3, 1, 1, 1, 0, 0),
    "ko": (6, 3, 1, 1, 0, 1, 0),
    "pt": (8, 4, 1, 1, 2, 0, 0),
    "th": (6, 3, 1, 1, 0, 1, 0),
    "en": (2, 0, 0, 0, 0, 0, 2),
}
TABLE_COLUMNS = ("input", K, WL, INC, NB, EMPTY, UNS)


# --- helpers --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def detector():
    return sf.build_detector(sf.FilterConfig())


@pytest.fixture(scope="module")
def sample_rows():
    return sf.read_traces(SAMPLE)


@pytest.fixture(scope="module")
def cli():
    """The CLI module, loaded by path (the verl wheel ships its own top-level ``scripts``)."""
    spec = importlib.util.spec_from_file_location("verl_multiling_filter_sft_traces_cli", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reasons_by_id(rows, **config):
    kept, rejects, report = sf.filter_traces(rows, sf.FilterConfig(**config))
    outcome = {rows[r["index"]]["id"]: r["reason"] for r in rejects}
    rejected = {r["index"] for r in rejects}
    outcome.update({row["id"]: K for i, row in enumerate(rows) if i not in rejected})
    return outcome, kept, rejects, report


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def good_row(**changes):
    row = {"question": "Marie a 12 pommes et en donne 5. Combien lui en reste-t-il ?",
           "response": "<think>\nMarie a 12 pommes et en donne 5, il lui en reste donc 12 - 5 = 7.\n</think>\n\n"
                       "Il lui reste 7 pommes.\n\n\\boxed{7}",
           "ground_truth": "7", "lang": "fr"}
    row.update(changes)
    return row


# --- the bundled sample ---------------------------------------------------------------------------
def test_sample_is_large_and_covers_every_language(sample_rows):
    assert len(sample_rows) >= 30
    assert {r["id"] for r in sample_rows} == set(EXPECTED_DEFAULT)
    assert {sf.normalize_code(r["lang"]) for r in sample_rows} == {"fr", "ja", "ko", "pt", "th", "en"}
    assert set(EXPECTED_DEFAULT.values()) == {K, WL, INC, NB, EMPTY, UNS}


def test_sample_default_outcomes_and_report(sample_rows):
    outcome, kept, rejects, report = reasons_by_id(sample_rows)
    assert outcome == EXPECTED_DEFAULT
    table = {lang: tuple(counts[c] for c in TABLE_COLUMNS) for lang, counts in report["languages"].items()}
    assert table == EXPECTED_TABLE
    assert report["total"]["input"] == 36 and report["total"][K] == 17 == len(kept)
    assert len(rejects) == 19 and report["total"][sf.INVALID_ROW] == report["total"][sf.TOO_LONG] == 0


def test_sample_line_fidelity_rejects_late_code_switching(sample_rows):
    outcome, _, _, report = reasons_by_id(sample_rows, fidelity="lines")
    changed = {k for k in outcome if outcome[k] != EXPECTED_DEFAULT[k]}
    assert changed == {"fr-08", "pt-08"} and outcome["fr-08"] == outcome["pt-08"] == WL
    assert report["total"][K] == 15 and report["total"][WL] == 8


def test_sample_without_think_close_keeps_the_unclosed_trace(sample_rows):
    outcome, kept, _, report = reasons_by_id(sample_rows, require_think_close=False)
    changed = {k for k in outcome if outcome[k] != EXPECTED_DEFAULT[k]}
    assert changed == {"pt-07"} and outcome["pt-07"] == K
    assert report["total"][K] == 18 and report["total"][NB] == 3
    # the unclosed trace is kept as written (no </think>, so nothing to open)
    pt07 = next(r for r in kept if r["messages"][0]["content"].split("\n\n", 1)[1].startswith("Carla"))
    assert not pt07["messages"][1]["content"].startswith("<think>")


def test_kept_rows_are_verl_multiturn_messages(sample_rows):
    kept, _, _ = sf.filter_traces(sample_rows)
    from verl_multiling.data_prep.templates import INSTRUCTIONS

    by_question = {r["question"].strip(): r for r in sample_rows}
    for row in kept:
        assert set(row) == {"messages", "lang", "ground_truth", "data_source"}
        user, assistant = row["messages"]
        # the released SFT prompt: the language's AdaMame instruction, a blank line, the question
        instruction, question = user["content"].split("\n\n", 1)
        source = by_question[question]
        assert instruction == INSTRUCTIONS["adamame"][row["lang"]]
        assert user == {"role": "user", "content": f"{instruction}\n\n{source['question'].strip()}"}
        assert assistant == {"role": "assistant", "content": source["response"].strip()}
        assert row["lang"] == sf.normalize_code(source["lang"]) and row["data_source"] == "sample_sft_traces"
        assert row["ground_truth"] == str(source["ground_truth"])
    assert {r["lang"] for r in kept} == {"fr", "ja", "ko", "pt", "th"}  # "pt-BR" is stored as "pt"


def test_prompt_template_none_keeps_the_bare_question(sample_rows, tmp_path, cli):
    kept, _, _ = sf.filter_traces(sample_rows, sf.FilterConfig(prompt_template=None))
    questions = {r["question"].strip() for r in sample_rows}
    assert kept and all(r["messages"][0]["content"] in questions for r in kept)
    out = tmp_path / "bare.parquet"
    assert cli.main([str(SAMPLE), "--output", str(out), "--prompt-template", "none", "--no-progress"]) == 0
    assert all(m[0]["content"] in questions for m in pd.read_parquet(out)["messages"])


def test_workers_give_the_same_result_as_in_process(sample_rows):
    assert sf.filter_traces(sample_rows, workers=2) == sf.filter_traces(sample_rows, workers=1)


# --- judge_trace ----------------------------------------------------------------------------------
def judge_row_fields(row, detector, **options):
    """judge_trace on a row dict (its ``ground_truth`` is judge_trace's ``gold``)."""
    return sf.judge_trace(row["question"], row["response"], row["ground_truth"], row["lang"], detector, **options)


def test_judge_trace_reasons(detector):
    row = good_row()

    def judge(**changes):
        return judge_row_fields({**row, **changes}, detector)

    assert judge() == K
    assert judge(ground_truth=7) == K and judge(ground_truth=7.0) == K and judge(lang="FR-ca") == K
    assert judge(ground_truth="8") == INC
    assert judge(lang="ja") == WL  # French text for a Japanese query
    assert judge(response=row["response"].replace("\\boxed{7}", "7")) == NB
    assert judge(response=row["response"].replace("</think>", "")) == NB
    unclosed = {**row, "response": row["response"].replace("</think>", "")}
    assert judge_row_fields(unclosed, detector, require_think_close=False) == K
    assert judge(response="   ") == EMPTY and judge(question=None) == EMPTY and judge(ground_truth="") == EMPTY
    assert judge(response=42) == sf.INVALID_ROW and judge(response=["x"]) == sf.INVALID_ROW
    assert judge(ground_truth=True) == sf.INVALID_ROW and judge(ground_truth=math.inf) == sf.INVALID_ROW
    assert judge(lang="en") == UNS
    assert judge_row_fields(row, detector, languages=("fr",), token_counter=lambda q, r: 99,
                            max_length=98) == sf.TOO_LONG


def test_first500_only_looks_at_the_start(detector):
    french = good_row()["response"].split("</think>")[0]
    padding = "Je recommence le calcul pour être sûr du résultat final. " * 10
    english_tail = "\nNow I double check this in English: twelve minus five is seven, so the answer is seven.\n"
    response = french + padding + english_tail + "</think>\n\n\\boxed{7}"
    assert len(french + padding) > 500
    row = good_row(response=response)
    assert judge_row_fields(row, detector) == K
    assert judge_row_fields(row, detector, fidelity="lines") == WL


def test_judge_row_never_raises(detector):
    class Boom:
        def detect(self, text):
            raise RuntimeError("detector exploded")

    config = sf.FilterConfig()
    verdict = sf.judge_row(good_row(), config, Boom())
    assert verdict.reason == sf.INVALID_ROW and "detector exploded" in verdict.detail
    assert sf.judge_row([1, 2], config, detector).reason == sf.INVALID_ROW
    assert sf.judge_row(sf.MalformedLine("x.jsonl", 3, "invalid JSON"), config, detector).reason == sf.INVALID_ROW
    assert sf.judge_row({}, config, detector).reason == EMPTY
    assert sf.judge_row(good_row(ground_truth=float("nan")), config, detector).reason == EMPTY


def test_canonical_response_opens_an_unopened_think():
    assert sf.canonical_response("Je calcule.\n</think>\n\\boxed{7}\n") == "<think>\nJe calcule.\n</think>\n\\boxed{7}"
    assert sf.canonical_response("<think>\nx\n</think> \\boxed{7}") == "<think>\nx\n</think> \\boxed{7}"
    assert sf.canonical_response("x\n</think> \\boxed{7}", open_think=False) == "x\n</think> \\boxed{7}"
    assert sf.canonical_response("\\boxed{7}") == "\\boxed{7}"


def test_length_check_with_a_real_tokenizer(sample_rows, tokenizer_dir):
    counter = sf.make_token_counter(str(tokenizer_dir))
    assert counter("Hello world", "") == 2 + sf.CHAT_TEMPLATE_MARGIN
    config = sf.FilterConfig(tokenizer=str(tokenizer_dir), max_length=210)
    kept, rejects, report = sf.filter_traces(sample_rows, config)
    assert report["total"][sf.TOO_LONG] > 0 and 0 < len(kept) < 17
    for row in kept:
        assert counter(row["messages"][0]["content"], row["messages"][1]["content"]) <= 210


def test_config_rejects_bad_options():
    with pytest.raises(sf.SftInputError, match=r"\['xx'\]"):
        sf.FilterConfig(languages=("fr", "xx"))
    with pytest.raises(sf.SftInputError, match="fidelity"):
        sf.FilterConfig(fidelity="words")
    with pytest.raises(sf.SftInputError, match="backend"):
        sf.FilterConfig(backend="cld3")
    with pytest.raises(sf.SftInputError, match="tokenizer"):
        sf.FilterConfig(max_length=4096)
    assert sf.FilterConfig(languages=("pt-BR", "fr", "pt")).languages == ("pt", "fr")
    with pytest.raises(sf.SftInputError, match="workers"):
        sf.filter_traces([], workers=0)


# --- input files ------------------------------------------------------------------------------------
def test_read_traces_names_a_missing_column(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [json.dumps({"question": "q", "response": "r", "ground_truth": "1"})])
    with pytest.raises(sf.SftInputError, match=r"missing column\(s\) \['lang'\]"):
        sf.read_traces(path)
    table = pa.table({"question": ["q"], "answer": ["r"], "ground_truth": ["1"], "lang": ["fr"]})
    pq.write_table(table, tmp_path / "t.parquet")
    with pytest.raises(sf.SftInputError, match="'response'"):
        sf.read_traces(tmp_path / "t.parquet")
    assert len(sf.read_traces(tmp_path / "t.parquet", sf.FilterConfig(response_key="answer"))) == 1
    with pytest.raises(sf.SftInputError, match="no such file"):
        sf.read_traces(tmp_path / "missing.jsonl")
    with pytest.raises(sf.SftInputError, match="unknown input format"):
        sf.read_traces(write_jsonl(tmp_path / "t.csv", ["a,b"]))


def test_strange_rows_are_counted_not_raised(tmp_path):
    good = good_row()
    lines = [
        "{not json",
        "[1, 2]",
        json.dumps(good_row(response=42)),
        json.dumps(good_row(response=["a"])),
        json.dumps(good_row(question=None)),
        json.dumps(good_row(ground_truth=[7])),
        json.dumps(good_row(ground_truth=True)),
        json.dumps(good_row(lang=5)),
        json.dumps(good_row(lang="zz")),
        json.dumps({k: v for k, v in good.items() if k != "response"}),
        json.dumps(good).replace('"ground_truth": "7"', '"ground_truth": NaN'),
        json.dumps(good),
    ]
    rows = sf.read_traces(write_jsonl(tmp_path / "strange.jsonl", lines))
    kept, rejects, report = sf.filter_traces(rows)
    assert len(kept) == 1 and report["total"]["input"] == 12
    assert report["total"][sf.INVALID_ROW] == 7 and report["total"][EMPTY] == 3 and report["total"][UNS] == 1
    assert report["languages"]["?"][sf.INVALID_ROW] == 3 and report["languages"]["fr"]["input"] == 8
    assert list(report["languages"])[-1] == "?"


# --- the command line ---------------------------------------------------------------------------------
def test_cli_end_to_end(tmp_path):
    out = tmp_path / "out" / "sft_train.parquet"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(SAMPLE), "--output", str(out), "--rejects", str(tmp_path / "rej.jsonl"),
         "--report", str(tmp_path / "report.json")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "kept 17 of 36" in result.stdout and "wrong_language" in result.stdout
    assert "filtering traces" in result.stderr  # tqdm progress bar
    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["messages", "lang", "ground_truth", "data_source"] and len(frame) == 17
    schema = pq.read_schema(out)
    assert schema.field("messages").type == pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    for messages in pq.read_table(out).column("messages").to_pylist():
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert messages[1]["content"].startswith("<think>\n") and "</think>" in messages[1]["content"]
    rejects = [json.loads(line) for line in (tmp_path / "rej.jsonl").read_text().splitlines()]
    assert len(rejects) == 19 and {r["reason"] for r in rejects} == {WL, INC, NB, EMPTY, UNS}
    assert all(r["row"]["id"] in EXPECTED_DEFAULT and r["detail"] for r in rejects)
    report = json.loads((tmp_path / "report.json").read_text())
    assert {lang: tuple(c[k] for k in TABLE_COLUMNS) for lang, c in report["languages"].items()} == EXPECTED_TABLE


def test_cli_output_loads_in_verls_sft_dataset(tmp_path, cli, tokenizer_dir):
    from transformers import AutoTokenizer
    from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset

    out = tmp_path / "sft.parquet"
    assert cli.main([str(SAMPLE), "--output", str(out), "--no-progress"]) == 0
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))  # Qwen2.5 ChatML template
    dataset = MultiTurnSFTDataset(str(out), tokenizer, {"max_length": 4096, "pad_mode": "no_padding"})
    assert len(dataset) == 17
    item = dataset[0]
    trained = tokenizer.decode(item["input_ids"][item["loss_mask"].bool()])
    assert trained == pd.read_parquet(out)["messages"][0][1]["content"] + "<|im_end|>\n"


def test_cli_help_documents_every_option(cli, capsys):
    parser = cli.build_parser()
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    assert all(a.help and a.help.strip() for a in options)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--lang-key", "--languages", "--backend", "--fidelity", "--require-think-close",
                 "--no-require-think-close", "--output", "--rejects", "--workers", "--report"):
        assert flag in text


def test_cli_missing_column_and_lang_key(tmp_path, cli, capsys):
    rows = [{**good_row(), "language": "fr"}]
    del rows[0]["lang"]
    path = write_jsonl(tmp_path / "t.jsonl", [json.dumps(r) for r in rows])
    assert cli.main([str(path), "--output", str(tmp_path / "o.parquet"), "--no-progress"]) == cli.EXIT_BAD_INPUT
    assert "missing column(s) ['lang']" in capsys.readouterr().err
    assert cli.main([str(path), "--output", str(tmp_path / "o.parquet"), "--lang-key", "language",
                     "--no-progress"]) == 0
    assert len(pd.read_parquet(tmp_path / "o.parquet")) == 1


def test_cli_unknown_language_code(tmp_path, cli, capsys):
    code = cli.main([str(SAMPLE), "--output", str(tmp_path / "o.parquet"), "--languages", "fr", "xx"])
    assert code == cli.EXIT_BAD_INPUT
    assert "unknown language code(s) ['xx']" in capsys.readouterr().err
    assert not (tmp_path / "o.parquet").exists()


def test_cli_non_string_responses_keep_nothing(tmp_path, cli, capsys):
    path = tmp_path / "ints.parquet"
    pq.write_table(pa.table({"question": ["q1", "q2"], "response": [1, 2], "ground_truth": ["1", "2"],
                             "lang": ["fr", "ja"]}), path)
    report = tmp_path / "report.json"
    assert cli.main([str(path), "--output", str(tmp_path / "o.parquet"), "--report", str(report),
                     "--no-progress"]) == cli.EXIT_NOTHING_KEPT
    captured = capsys.readouterr()
    assert "no trace was kept" in captured.err and "invalid_row" in captured.out
    assert json.loads(report.read_text())["total"][sf.INVALID_ROW] == 2
    assert pq.read_table(tmp_path / "o.parquet").num_rows == 0


# --- the recipe -------------------------------------------------------------------------------------------
def compose_sft(*overrides: str):
    """verl's SFT trainer config (``sft_trainer_engine``) with ``+recipe=adamame_sft`` and ``overrides``."""
    import verl
    from hydra import compose, initialize_config_dir

    config_dir = Path(verl.__file__).parent / "trainer" / "config"
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        return compose(config_name="sft_trainer_engine", overrides=["+recipe=adamame_sft", *overrides])


@pytest.fixture(scope="module")
def sft_cfg():
    return compose_sft()


def test_recipe_composes_with_the_sft_trainer(sft_cfg):
    assert (recipes_dir() / "recipe" / "adamame_sft.yaml").read_text().startswith("# @package _global_")
    model, data, optim, trainer = sft_cfg.model, sft_cfg.data, sft_cfg.optim, sft_cfg.trainer
    assert model.path == "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"
    # the released LLaMA-Factory run: lora_target all, rank/alpha unset (its defaults 8 / 16), lr 2e-4
    assert (model.lora_rank, model.lora_alpha, model.target_modules) == (8, 16, "all-linear")
    assert optim.lr == pytest.approx(2e-4) and optim.lr_scheduler_type == "cosine"
    assert data.messages_key == "messages" and data.max_length >= 4096
    assert data.max_token_len_per_gpu >= data.max_length and data.truncation == "error"
    assert data.pad_mode == "no_padding" and model.use_remove_padding
    assert data.enable_thinking_default is None and data.ignore_input_ids_mismatch is False
    assert trainer.test_freq == -1 and data.val_files is None
    assert trainer.save_freq == "after_each_epoch" and list(trainer.logger) == ["console"]
    assert r'{{ "<｜Assistant｜><think>\n" }}' in model.custom_chat_template  # Jinja unescapes the \n


def test_recipe_overrides_still_win():
    cfg = compose_sft("optim.lr=3e-5", "model.lora_rank=8")
    assert cfg.optim.lr == pytest.approx(3e-5) and cfg.model.lora_rank == 8


# R1-Distill's own assistant clause: everything up to the last </think> is dropped.
_R1_STRIP = ('{% set content = message["content"] %}{% if "</think>" in content %}'
             '{% set content = content.split("</think>")[-1] %}{% endif %}'
             '{{ "<｜Assistant｜>" + content + "<｜end▁of▁sentence｜>" }}')
_RECIPE_ASSISTANT = '{{ "<｜Assistant｜>" + message["content"] + "<｜end▁of▁sentence｜>" }}'


@pytest.fixture(scope="module")
def r1_like_model_dir(tmp_path_factory, tokenizer_dir, sft_cfg):
    """A model folder verl's HFModelConfig loads offline: the Qwen2.5 vocabulary with
    DeepSeek-R1-Distill's special tokens and a template that strips the reasoning as R1-Distill's
    does, plus a 2-layer Qwen2 config (building the configs loads no weights)."""
    from transformers import AutoTokenizer, Qwen2Config

    path = tmp_path_factory.mktemp("r1_like_model")
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    tokenizer.add_special_tokens({"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>",
                                  "additional_special_tokens": ["<｜User｜>", "<｜Assistant｜>"]})
    tokenizer.add_tokens(["<think>", "</think>"])
    assert _RECIPE_ASSISTANT in sft_cfg.model.custom_chat_template
    tokenizer.chat_template = sft_cfg.model.custom_chat_template.replace(_RECIPE_ASSISTANT, _R1_STRIP)
    tokenizer.save_pretrained(path)
    Qwen2Config(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, architectures=["Qwen2ForCausalLM"]).save_pretrained(path)
    return path


def _trained_texts(cfg, indices):
    """What verl's SFT trainer trains on, built by its own code: the config dataclasses and
    ``create_sft_dataset`` (``MultiTurnSFTDataset``), decoded where the loss mask is 1."""
    from verl.trainer.sft_trainer import create_sft_dataset
    from verl.utils.config import omega_conf_to_dataclass

    model = omega_conf_to_dataclass(cfg.model)
    for name in ("engine", "optim", "checkpoint", "profiler"):
        omega_conf_to_dataclass(cfg[name])  # every recipe key is accepted by verl's dataclasses
    dataset = create_sft_dataset(cfg.data.train_files, cfg.data, model.tokenizer, model.processor)
    texts = []
    for index in indices:
        item = dataset[index]  # runs verl's per-turn vs whole-conversation sanity check
        texts.append(model.tokenizer.decode(item["input_ids"][item["loss_mask"].bool()]))
    return model, texts


def test_recipe_template_trains_on_the_whole_trace(tmp_path, cli, r1_like_model_dir):
    """With R1-Distill's template verl's SFT would train on the final answer only; the recipe's
    template keeps the trace, and the loss mask starts after the generation prompt "<think>\\n"."""
    out = tmp_path / "sft.parquet"
    assert cli.main([str(SAMPLE), "--output", str(out), "--no-progress"]) == 0
    responses = [m[1]["content"] for m in pd.read_parquet(out)["messages"]]
    indices = (0, 8, 16)
    paths = (f"model.path={r1_like_model_dir}", f"data.train_files={out}")

    model, trained = _trained_texts(compose_sft(*paths), indices)
    assert model.lora_rank == 8 and model.lora_alpha == 16
    prompt = model.tokenizer.apply_chat_template([{"role": "user", "content": "Q"}], tokenize=False,
                                                 add_generation_prompt=True)
    assert prompt == "<｜begin▁of▁sentence｜><｜User｜>Q<｜Assistant｜><think>\n"
    for index, text in zip(indices, trained, strict=True):
        assert text == responses[index].removeprefix("<think>\n") + "<｜end▁of▁sentence｜>"

    _, stock = _trained_texts(compose_sft(*paths, "model.custom_chat_template=null"), indices)
    for index, text in zip(indices, stock, strict=True):
        answer = responses[index].split("</think>")[1]
        body = text.removesuffix("<｜end▁of▁sentence｜>")
        # only the answer is trained, and its first tokens are masked as if they were "<think>\n"
        assert "</think>" not in text and answer.endswith(body) and len(body) < len(answer)


# --- the launcher ---------------------------------------------------------------------------------------
def _fake_python(tmp_path: Path) -> Path:
    """A ``python`` that logs each call and runs only the filter script for real."""
    fake = tmp_path / "fakebin" / "python"
    fake.parent.mkdir()
    fake.write_text(
        "#!/usr/bin/env bash\n"
        'printf "%s\\n" "---" "$@" >> "$FAKE_LOG"\n'
        f'if [[ "$1" == *filter_sft_traces.py ]]; then exec "{sys.executable}" "$@"; fi\n'
    )
    fake.chmod(0o755)
    return fake


def _calls(log: Path) -> list[list[str]]:
    return [call.strip("\n").split("\n") for call in log.read_text().split("---\n") if call.strip()]


def _run_launcher(tmp_path, env_changes, *extra):
    env = {**os.environ, "PYTHON": str(_fake_python(tmp_path)), "FAKE_LOG": str(tmp_path / "calls.log"),
           "DATA": str(tmp_path / "data"), "TRACES": str(SAMPLE), "CKPT_DIR": str(tmp_path / "ckpt"),
           "FILTER_WORKERS": "1", **env_changes}
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "latest_checkpointed_iteration.txt").write_text("7")
    result = subprocess.run(["bash", str(RUN_SFT), *extra], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return _calls(tmp_path / "calls.log"), result


def test_run_sft_filters_then_launches_torchrun(tmp_path, tokenizer_dir):
    calls, result = _run_launcher(
        tmp_path, {"NNODES": "1", "NPROC_PER_NODE": "2", "MODEL": str(tokenizer_dir)},
        "trainer.total_epochs=1", "optim.lr=2e-5")
    filter_call, train_call, merge_call, lora_merge_call = calls
    data = tmp_path / "data"
    assert filter_call[0] == str(SCRIPT) and filter_call[-2:] == ["--output", str(data / "sft_train.parquet")]
    assert "--tokenizer" in filter_call and "--max-length" in filter_call
    # 10 % of the 17 kept traces held out for validation, as the released run's val_size 0.1
    assert filter_call[filter_call.index("--val-output") + 1] == str(data / "sft_val.parquet")
    assert len(pd.read_parquet(data / "sft_train.parquet")) == 15 and len(pd.read_parquet(data / "sft_val.parquet")) == 2
    assert f"data.val_files={data / 'sft_val.parquet'}" in train_call and "trainer.test_freq=100" in train_call
    assert train_call[:7] == ["-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc_per_node=2",
                              "-m", "verl.trainer.sft_trainer"]
    assert train_call[7] == "+recipe=adamame_sft" and f"data.train_files={data / 'sft_train.parquet'}" in train_call
    assert "trainer.n_gpus_per_node=2" in train_call and train_call[-2:] == ["trainer.total_epochs=1", "optim.lr=2e-5"]
    assert merge_call[:3] == ["-m", "verl.model_merger", "merge"]
    assert merge_call[merge_call.index("--local_dir") + 1] == str(tmp_path / "ckpt" / "global_step_7")
    # then the adapter is folded into the weights: stage 2 starts from the merged model
    hf = str(tmp_path / "ckpt" / "global_step_7" / "merged_hf")
    assert lora_merge_call == ["-m", "verl_multiling.jobs.lora_merge", "--model", hf, "--adapter", hf + "/lora_adapter",
                               "--out", str(tmp_path / "ckpt" / "merged")]
    assert f"model.path={tmp_path / 'ckpt' / 'merged'}" in result.stdout


def test_run_sft_on_a_second_node_only_trains(tmp_path):
    calls, _ = _run_launcher(tmp_path, {"NNODES": "2", "NODE_RANK": "1", "NPROC_PER_NODE": "8",
                                        "MASTER_ADDR": "10.0.0.1"})
    assert len(calls) == 1
    assert calls[0][:7] == ["-m", "torch.distributed.run", "--nnodes=2", "--node_rank=1", "--nproc_per_node=8",
                            "--master_addr=10.0.0.1", "--master_port=29500"]


def test_the_default_detector_is_the_authors_and_the_rewards(adamame_cfg):
    """lingua: the authors' SFT filter used it and the AdaMame reward does; the launcher and script agree."""
    import re
    from pathlib import Path

    assert sf.FilterConfig().backend == "lingua"
    assert adamame_cfg.multiling.language_id.backend == sf.FilterConfig().backend
    launcher = (Path(__file__).resolve().parents[1] / "recipes" / "adamame" / "run_sft.sh").read_text()
    assert re.search(r"^LID_BACKEND=\$\{LID_BACKEND:-lingua\}", launcher, re.M), "run_sft.sh's default drifted"
