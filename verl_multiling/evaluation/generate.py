"""Sample k responses per question for evaluation: vLLM on a GPU, transformers otherwise; resumable.

Input: a verl parquet from ``scripts/prepare_data.py`` (``prompt`` chat messages,
``reward_model.ground_truth``, ``lang``, ``question_en``, ``extra_info.id``/``question``) or a JSONL
with ``id``, ``lang``, ``ground_truth`` and ``prompt`` (messages) or ``question``.

Output: one JSONL record per sample, the fields ``verl-multiling eval`` reads::

    {"run", "id", "lang", "sample_index", "question", "question_en", "ground_truth",
     "response", "num_tokens"}

Resumable: the output is written by :class:`verl_multiling.plumbing.resumable_jsonl.AppendOnlyJsonl`, keyed
by ``(lang, id, sample_index)``: one streaming pass at start collects the samples already written (they
are skipped), each batch is appended and fsync'ed without reading the file again, and a line torn by a
kill is cut in place (never a rewrite of the file), so the file ends with each sample exactly once. A bad
line in the middle (``null``, a record without its key) stops the run with the file and line number;
``repair=True`` (``--repair``) moves such lines to ``OUT.rejected`` and resumes (docs/resumable-jobs.md).
``limit`` stops after that many new samples (for chunked runs and tests).

Backend ``auto``: vLLM when it imports and CUDA is available, else transformers ``generate``
(sampling with ``temperature``/``top_p``; greedy when ``temperature == 0``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Iterator, Sequence

from verl_multiling.evaluation.io import read_jsonl_tolerant
from verl_multiling.plumbing.resumable_jsonl import AppendOnlyJsonl

__all__ = ["GenerationConfig", "ModelUnavailable", "check_model_reachable", "generate", "load_questions",
           "pending_samples", "pick_backend", "sample_key"]

#: ``sampler(todo, config, run)`` -> batches of output records, for ``todo`` = ``(question, sample_index)`` pairs
Sampler = Callable[[Sequence[tuple[dict[str, Any], int]], "GenerationConfig", str], Iterable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class GenerationConfig:
    """Sampling settings (see the module docstring)."""

    k: int = 4
    max_new_tokens: int = 4096
    temperature: float = 0.6
    top_p: float = 0.95
    backend: str = "auto"
    batch_size: int = 8
    limit: int | None = None
    seed: int = 0
    run: str | None = None

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"--k must be >= 1, got {self.k}")
        if self.max_new_tokens < 1:
            raise ValueError(f"--max-new-tokens must be >= 1, got {self.max_new_tokens}")
        if self.batch_size < 1:
            raise ValueError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.backend not in ("auto", "vllm", "transformers"):
            raise ValueError(f"--backend must be auto, vllm or transformers, got {self.backend!r}")


def load_questions(path: str | Path) -> list[dict[str, Any]]:
    """Questions as dicts ``{id, lang, messages, question, question_en, ground_truth}``.

    Raises:
        FileNotFoundError: no such file. ValueError: a missing field (naming it), or two rows with the same
            ``(lang, id)`` (an output record is keyed by ``(lang, id, sample_index)``, so each question needs
            its own id).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--data {path} not found")
    if path.suffix == ".parquet":
        import pandas as pd

        rows = pd.read_parquet(path).to_dict("records")
    else:
        rows = read_jsonl_tolerant(path)
    questions = []
    for position, row in enumerate(rows):
        extra = row.get("extra_info") if isinstance(row.get("extra_info"), dict) else {}
        reward = row.get("reward_model") if isinstance(row.get("reward_model"), dict) else {}
        qid = row.get("id", extra.get("id", extra.get("index")))
        gold = row.get("ground_truth", reward.get("ground_truth"))
        lang = row.get("lang", extra.get("lang"))
        question = row.get("question", extra.get("question"))
        prompt = row.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            messages = [{"role": str(m["role"]), "content": str(m["content"])} for m in prompt]
        elif question:
            messages = [{"role": "user", "content": str(prompt or question)}]
        else:
            messages = None
        for name, value in (("id", qid), ("lang", lang), ("ground_truth (or reward_model.ground_truth)", gold),
                            ("prompt or question", messages)):
            if value is None:
                raise ValueError(f"{path} row {position}: missing {name}; prepare the data with "
                                 "scripts/prepare_data.py")
        english = row.get("question_en", extra.get("question_en"))
        questions.append({"id": str(qid), "lang": str(lang), "messages": messages,
                          "question": question if question is not None else messages[-1]["content"],
                          "question_en": english if isinstance(english, str) else None,
                          "ground_truth": str(gold)})
    first: dict[tuple[str, str], int] = {}
    for position, question in enumerate(questions):
        key = (question["lang"], question["id"])
        if key in first:
            repeats = sum(1 for q in questions if (q["lang"], q["id"]) == key)
            raise ValueError(f"--data {path}: rows {first[key]} and {position} have the same (lang, id) = {key} "
                             f"({repeats} rows in all); each question needs its own id (field id or "
                             "extra_info.id), since the output keys samples by (lang, id, sample_index)")
        first[key] = position
    return questions


def sample_key(record: dict[str, Any]) -> tuple[str, str, int]:
    """The key of an output record, ``(lang, id, sample_index)``.

    Raises:
        KeyError: a key field missing or null. ValueError: ``sample_index`` not an integer.
    """
    missing = [name for name in ("lang", "id", "sample_index") if record.get(name) is None]
    if missing:
        raise KeyError(f"missing {', '.join(missing)}")
    index = record["sample_index"]
    if isinstance(index, bool) or not isinstance(index, int):
        raise ValueError(f"sample_index {index!r} is not an integer")
    return str(record["lang"]), str(record["id"]), index


def pending_samples(
    questions: Sequence[dict[str, Any]], k: int, done: Iterable[Hashable]
) -> list[tuple[dict[str, Any], int]]:
    """``(question, sample_index)`` pairs not yet in ``done`` (keys ``(lang, id, sample_index)``).

    >>> qs = [{"id": "q1", "lang": "fr"}, {"id": "q1", "lang": "de"}]
    >>> [(q["lang"], s) for q, s in pending_samples(qs, 2, {("fr", "q1", 0)})]
    [('fr', 1), ('de', 0), ('de', 1)]
    """
    return [(q, s) for q in questions for s in range(k) if (q["lang"], q["id"], s) not in done]


def pick_backend(requested: str) -> str:
    """``vllm`` or ``transformers`` for ``auto``/``vllm``/``transformers``.

    Raises:
        ValueError: ``vllm`` requested but not importable or no CUDA device.
    """
    if requested == "transformers":
        return "transformers"
    import importlib.util

    import torch

    has_vllm = importlib.util.find_spec("vllm") is not None
    has_cuda = torch.cuda.is_available()
    if has_vllm and has_cuda:
        return "vllm"
    if requested == "vllm":
        raise ValueError("--backend vllm needs the vllm package and a CUDA GPU; use --backend transformers")
    return "transformers"


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _record(run: str, question: dict[str, Any], index: int, text: str, tokens: int) -> dict[str, Any]:
    return {"run": run, "id": question["id"], "lang": question["lang"], "sample_index": index,
            "question": question["question"], "question_en": question["question_en"],
            "ground_truth": question["ground_truth"], "response": text, "num_tokens": int(tokens)}


class ModelUnavailable(ConnectionError):
    """The model is neither a local directory nor in the Hugging Face cache, and the hub cannot be reached."""


def _offline_message(model_path: str, cause: str) -> str:
    return (f"could not load the model {model_path!r}: {cause}. Offline? A hub name needs the Hugging Face "
            "hub or its local cache: download it on a connected machine (`huggingface-cli download "
            f"{model_path} --local-dir DIR`), copy DIR here and pass --model DIR")


def check_model_reachable(model_path: str) -> None:
    """Fail in a second, with what to do, when ``model_path`` can only come from an unreachable hub.

    A local directory, a model in the Hugging Face cache, or a reachable hub endpoint pass (the hub's
    own errors then surface as usual); ``HF_HUB_OFFLINE=1`` without a cached copy fails at once.

    Raises:
        ModelUnavailable: with the message that says what to pass instead. ValueError: a local
            directory without ``config.json``.
    """
    import os
    import socket
    from urllib.parse import urlparse

    local = Path(os.path.expanduser(model_path))
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ValueError(f"--model {model_path}: no config.json, so not a Hugging Face model directory "
                             "(for a verl checkpoint, merge it first: python -m verl.model_merger merge ...)")
        return
    try:
        from huggingface_hub import constants, try_to_load_from_cache

        if isinstance(try_to_load_from_cache(model_path, "config.json"), str):
            return
        offline, endpoint = constants.HF_HUB_OFFLINE, constants.ENDPOINT
    except Exception:  # a name huggingface_hub rejects: let from_pretrained say why
        return
    if offline:
        raise ModelUnavailable(_offline_message(model_path, "HF_HUB_OFFLINE is set and it is not in the cache"))
    host = urlparse(endpoint).hostname or "huggingface.co"
    try:
        socket.getaddrinfo(host, 443)
    except OSError as exc:
        raise ModelUnavailable(_offline_message(
            model_path, f"not a local directory, not in the Hugging Face cache, and {host} cannot be "
                        f"resolved ({exc.strerror or exc})")) from None


@functools.lru_cache(maxsize=1)
def _load_transformers(model_path: str):
    """``(tokenizer, model, device)``, loaded once per process for the last model path."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path)
    except OSError as exc:  # transformers' "couldn't connect to huggingface.co" and "not a valid model" errors
        cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if Path(model_path).expanduser().is_dir():
            raise ValueError(f"--model {model_path}: {cause}") from exc
        raise ModelUnavailable(_offline_message(model_path, cause)) from exc
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(model_path).to(device).eval()
    return tokenizer, model, device


def _transformers_batches(model_path: str, todo, config: GenerationConfig, run: str):
    import torch

    tokenizer, model, device = _load_transformers(model_path)
    eos = tokenizer.eos_token_id
    for number, chunk in enumerate(_chunks(todo, config.batch_size)):
        prompts = [tokenizer.apply_chat_template(q["messages"], add_generation_prompt=True, tokenize=False)
                   for q, _ in chunk]
        batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        torch.manual_seed(config.seed + number)
        sampling = dict(do_sample=True, temperature=config.temperature, top_p=config.top_p) \
            if config.temperature > 0 else dict(do_sample=False)
        with torch.no_grad():
            output = model.generate(**batch, max_new_tokens=config.max_new_tokens, eos_token_id=eos,
                                    pad_token_id=tokenizer.pad_token_id, **sampling)
        generated = output[:, batch["input_ids"].shape[1]:]
        records = []
        for (question, index), ids in zip(chunk, generated.tolist()):
            length = ids.index(eos) + 1 if eos in ids else len(ids)
            text = tokenizer.decode(ids[:length], skip_special_tokens=True)
            records.append(_record(run, question, index, text, length))
        yield records


def _vllm_batches(model_path: str, todo, config: GenerationConfig, run: str):  # pragma: no cover - GPU
    from vllm import LLM, SamplingParams

    llm = LLM(model=model_path, seed=config.seed)
    params = SamplingParams(n=1, temperature=config.temperature, top_p=config.top_p,
                            max_tokens=config.max_new_tokens, seed=config.seed)
    for chunk in _chunks(todo, max(config.batch_size, 256)):
        outputs = llm.chat([q["messages"] for q, _ in chunk], params, use_tqdm=False)
        yield [_record(run, q, index, out.outputs[0].text, len(out.outputs[0].token_ids))
               for (q, index), out in zip(chunk, outputs)]


def generate(data: str | Path, model_path: str, out: str | Path, config: GenerationConfig, *,
             repair: bool = False, sampler: Sampler | None = None) -> int:
    """Append the missing samples of ``data`` to ``out``; returns how many were written.

    ``repair``: move bad lines of ``out`` aside instead of stopping (see the module docstring).
    ``sampler``: makes the records of the pending samples, batch by batch; default: the model backend.
    """
    from tqdm import tqdm

    from verl_multiling.plumbing.output_files import check_output_file

    out = Path(out)
    run = config.run or out.stem
    questions = load_questions(data)
    check_output_file(out, "--out")
    hint = (f"Rerun the same command with --repair: it moves the bad lines to {out.name}.rejected, keeps every "
            "good sample and generates only the missing ones (docs/resumable-jobs.md).")
    with AppendOnlyJsonl(out, sample_key, repair=repair, hint=hint) as writer:
        todo = pending_samples(questions, config.k, writer.keys)
        if config.limit is not None:
            todo = todo[: max(config.limit, 0)]
        if not todo:
            return 0
        if sampler is None:
            backend = pick_backend(config.backend)
            check_model_reachable(model_path)
            sampler = functools.partial(_vllm_batches if backend == "vllm" else _transformers_batches, model_path)
        else:
            backend = "custom"
        written = 0
        with tqdm(total=len(todo), desc=f"generating ({backend})", unit="sample") as bar:
            for records in sampler(todo, config, run):
                written += writer.append(records)
                bar.update(len(records))
    return written
