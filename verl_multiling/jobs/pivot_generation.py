r"""Pivot-reference generation for PB-RLSVR: an English pivot model answers each English training question
once, and its response y_en is written into the training parquet (column ``pivot_response``).

The job (``scripts/generate_pivot_references.py``, ``recipes/pb_rlsvr/generate_references.sh``)::

    input parquet (rows: one per question x language; English question in ``question_en`` or
    extra_info.question_en, or the prompt itself for English rows)
      -> unique English questions, keyed by sha1(prompt text)     (a question shared by 11 languages
                                                                   is generated once)
      -> shard i of N takes the keys with int(key, 16) % N == i    (data parallel: one process per GPU,
                                                                   any number of nodes on a shared disk)
      -> batches through a generator (vLLM on GPUs; transformers for small runs and tests)
      -> each finished batch is appended to WORK/part-<i>-of-<N>.jsonl, flushed and fsync'ed
         (verl_multiling.plumbing.resumable_jsonl: one writer per part file, locked)
      -> when every key is done: merge -> output parquet (+ pivot_response, pivot_answer, pivot_correct),
         written to a temporary file and renamed, with the settings in the parquet metadata.

Resumable: a restarted job reads every part file once (one streaming pass each), keeps the finished keys in
memory, skips them and loses nothing that was written; each batch is appended without reading the file
again. A line torn by a kill (bytes after the part file's last newline, even a cut inside a multi-byte
character) is cut in place and that question is generated again; other shards' part files are only read.
Restarting with different sampling settings or model is refused (the settings are stored in
WORK/settings.json) unless ``--restart`` deletes the job's files there (settings.json, part files and their
``.rejected``/temporary files; nothing else, and only in a directory whose settings.json the job wrote).
A corrupt work file (settings.json cut short, a ``null`` line or a record without its key in a part file)
stops the job with the file and line; ``--repair`` keeps the finished references: bad part lines go to
``part-....jsonl.rejected`` and an unreadable settings.json is moved to ``settings.json.rejected`` and written
again from this command's flags (docs/resumable-jobs.md).

Gold check (``gold_check``), where a row has ``reward_model.ground_truth``: ``keep`` (no check),
``flag`` (default: add ``pivot_correct`` = the pivot's boxed answer equals gold, None without gold),
``drop`` (flag, then remove rows whose pivot is wrong; rows without gold stay).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from verl_multiling.plumbing.resumable_jsonl import AppendOnlyJsonl, BadLinesError, FileInUseError, scan

GOLD_CHECKS = ("keep", "flag", "drop")
BACKENDS = ("transformers", "vllm")
DEFAULT_TEMPLATE = "{question}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}."
METADATA_KEY = b"pivot_generation"
PIVOT_COLUMN = "pivot_response"


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 0.0  # 0 = greedy (a reference should be the pivot's best answer)
    top_p: float = 1.0
    max_new_tokens: int = 2048
    seed: int = 0

    def __post_init__(self):
        if not self.temperature >= 0:
            raise ValueError(f"--temperature={self.temperature}: must be >= 0")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"--top-p={self.top_p}: must be in (0, 1]")
        if self.max_new_tokens < 1:
            raise ValueError(f"--max-new-tokens={self.max_new_tokens}: must be >= 1")


@dataclass(frozen=True)
class JobSettings:
    """Everything that decides the content of a reference (stored with the work and the output)."""

    model: str
    backend: str = "transformers"
    template: str = DEFAULT_TEMPLATE
    question_key: str = "question_en"
    sampling: SamplingSettings = field(default_factory=SamplingSettings)

    def __post_init__(self):
        if self.backend not in BACKENDS:
            raise ValueError(f"--backend={self.backend!r}: choose one of {', '.join(BACKENDS)}")
        if "{question}" not in self.template:
            raise ValueError(f"--template must contain {{question}}: {self.template!r}")

    def as_dict(self) -> dict:
        return asdict(self)


class Generator(Protocol):
    def generate(self, prompts: Sequence[str], sampling: SamplingSettings) -> list[str]:
        """One English response per prompt (the user message; the generator applies the chat template)."""


# ---------------------------------------------------------------------------------------------------
# pure logic: questions, keys, shards, work files, merge
# ---------------------------------------------------------------------------------------------------


def english_question(row: dict, question_key: str, lang_key: str = "lang") -> str | None:
    """The row's English question: ``row[question_key]``, ``extra_info[question_key]``, or for English rows
    ``extra_info.question`` / the last user message of ``prompt``."""
    value = row.get(question_key)
    extra = row.get("extra_info") if isinstance(row.get("extra_info"), dict) else {}
    if not _text(value):
        value = extra.get(question_key)
    if not _text(value) and str(row.get(lang_key) or extra.get(lang_key) or "").lower() == "en":
        value = extra.get("question")
        if not _text(value):
            prompt = row.get("prompt")
            users = [m.get("content") for m in (prompt if prompt is not None else []) if isinstance(m, dict)
                     and m.get("role") == "user"]
            value = users[-1] if users else None
    return value.strip() if _text(value) else None


def prompt_for(question: str, template: str) -> str:
    return template.format(question=question)


def question_key(prompt: str) -> str:
    """sha1 of the prompt text: the identity of a reference (same prompt -> same reference)."""
    return hashlib.sha1(prompt.encode("utf-8")).hexdigest()


def in_shard(key: str, shard_index: int, num_shards: int) -> bool:
    return int(key, 16) % num_shards == shard_index


def part_path(work_dir: Path, shard_index: int, num_shards: int) -> Path:
    return Path(work_dir) / f"part-{shard_index:05d}-of-{num_shards:05d}.jsonl"


REPAIR_HINT = ("Rerun the same command with --repair: it moves the bad lines to PART.rejected and keeps every "
               "finished reference (--restart would delete them; docs/resumable-jobs.md).")


def record_key(record: dict) -> str:
    """The key of a part-file record (the question's sha1); the record must also hold its response.

    Raises:
        KeyError: no ``key``. ValueError: a key that is not a sha1 hex digest, or no ``response`` string.
    """
    key = record.get("key")
    if key is None:
        raise KeyError("missing key")
    if not isinstance(key, str) or len(key) != 40 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError(f"key {key!r} is not a sha1 hex digest")
    if not isinstance(record.get("response"), str):
        raise ValueError("no response string")
    return key


def part_files(work_dir: Path) -> list[Path]:
    return sorted(Path(work_dir).glob("part-*.jsonl"))


def read_done(work_dir: Path) -> tuple[dict[str, dict], int]:
    """Every finished record in the work directory's part files, and the number of torn tails ignored.

    Read only (one streaming pass per file); only bytes after a file's last newline can be a torn write.

    Raises:
        BadLinesError: a bad complete line (naming the file and line, and ``--repair``).
    """
    done: dict[str, dict] = {}
    torn = 0
    for path in part_files(work_dir):
        found = scan(path, record_key, lambda record: done.__setitem__(record["key"], record))
        if found.bad:
            raise BadLinesError(path, found.bad, found.records, REPAIR_HINT)
        torn += found.tail == "torn"
    return done, torn


def done_keys(work_dir: Path, skip: Path | None = None, tolerate_bad: bool = False) -> tuple[set[str], int]:
    """The keys of every part file but ``skip``, and their torn tails (read only, keys only).

    ``tolerate_bad``: a bad line counts as not done instead of raising :class:`BadLinesError`.
    """
    keys: set[str] = set()
    torn = 0
    for path in part_files(work_dir):
        if path == skip:
            continue
        found = scan(path, record_key)
        if found.bad and not tolerate_bad:
            raise BadLinesError(path, found.bad, found.records, REPAIR_HINT)
        keys.update(found.keys)
        torn += found.tail == "torn"
    return keys, torn


class SettingsFileError(ValueError):
    """settings.json cannot be read."""


class WorkDirError(ValueError):
    """``--work-dir`` is not a directory this job may write or ``--restart`` may empty."""


#: every file name the job writes in its work directory (check_settings, AppendOnlyJsonl and its repair)
WORK_FILE_NAMES = re.compile(r"settings\.json(\.rejected)?|settings\.tmp"
                             r"|part-\d{5,}-of-\d{5,}\.jsonl(\.rejected|\.repair-tmp)?")
_SETTINGS_KEYS = {f.name for f in fields(JobSettings)}


def check_work_dir(work_dir: Path) -> None:
    """Refuse a ``--work-dir`` that exists and is not a directory.

    Raises:
        WorkDirError: naming the path and the fix.
    """
    work_dir = Path(work_dir)
    if (work_dir.exists() or work_dir.is_symlink()) and not work_dir.is_dir():
        raise WorkDirError(f"--work-dir {work_dir} is not a directory; give a directory for the job's work files "
                           "(default: OUTPUT.work)")


def is_work_dir(work_dir: Path) -> bool:
    """Whether ``work_dir`` holds this job's marker: a regular ``settings.json`` that is either this job's
    settings object (the fields of :class:`JobSettings`) or unreadable (a crash cut it short)."""
    path = Path(work_dir) / "settings.json"
    if path.is_symlink() or not path.is_file():
        return False
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return True  # the job's own file, damaged (check_settings names it; --restart may clear it)
    return isinstance(stored, dict) and set(stored) == _SETTINGS_KEYS


def restart_work_dir(work_dir: Path) -> tuple[list[Path], list[Path]]:
    """``--restart``: delete the files this job wrote in ``work_dir`` (:data:`WORK_FILE_NAMES`, regular files
    only) and nothing else; returns ``(deleted, kept)``. Sub-directories, links and other files are kept.

    A missing or empty directory is fine (nothing to delete).

    Raises:
        WorkDirError: ``work_dir`` is not a directory, or is a non-empty directory without this job's
            ``settings.json`` (:func:`is_work_dir`): not this job's work directory, so nothing is deleted.
    """
    work_dir = Path(work_dir)
    check_work_dir(work_dir)
    if not work_dir.exists():
        return [], []
    entries = sorted(work_dir.iterdir())
    if entries and not is_work_dir(work_dir):
        shown = ", ".join(p.name for p in entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
        raise WorkDirError(
            f"--restart --work-dir {work_dir}: not a work directory of this job (no settings.json written by it), "
            f"so nothing was deleted; it holds {shown}. --restart deletes only the job's own files, in its own "
            "work directory: pass a new --work-dir (or leave it out: OUTPUT.work), or empty this one yourself")
    deleted, kept = [], []
    for entry in entries:
        ours = WORK_FILE_NAMES.fullmatch(entry.name) and entry.is_file() and not entry.is_symlink()
        if ours:
            entry.unlink()
            deleted.append(entry)
        else:
            kept.append(entry)
    return deleted, kept


def check_settings(work_dir: Path, settings: JobSettings, repair: bool = False) -> None:
    """Store the job's settings in the work dir, or refuse to mix references made with other settings.

    Raises:
        SettingsFileError: an unreadable settings.json (unless ``repair``: it is moved to
            settings.json.rejected and written again from ``settings``).
        ValueError: stored settings differ from ``settings``.
    """
    path = Path(work_dir) / "settings.json"
    wanted = settings.as_dict()
    check_work_dir(work_dir)
    if (path.exists() or path.is_symlink()) and not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise SettingsFileError(f"{path} is {kind}, not the job's settings file, and was left as it is. Move it out "
                                f"of {work_dir}, or pass another --work-dir")
    if path.exists():
        stored, problem = None, None
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problem = f"not valid JSON ({exc})"
        if problem is None and not isinstance(stored, dict):
            problem = f"holds {type(stored).__name__}, not the settings object"
        if problem is None:
            if stored != wanted:
                diff = {k: (stored.get(k), wanted[k]) for k in wanted if stored.get(k) != wanted[k]}
                raise ValueError(f"{work_dir} holds references made with other settings {diff} (stored, now); "
                                 "rerun with the same settings to resume, or --restart to start over")
            return
        if not repair:
            raise SettingsFileError(
                f"{path}: {problem}. It records the settings the finished references in {work_dir} were made "
                "with; the part files are untouched. If this command's flags are the ones the job was started "
                "with, rerun it with --repair: the file is moved to settings.json.rejected and written again from "
                "these flags, and the job resumes (--restart would delete the finished references).")
        os.replace(path, path.with_name("settings.json.rejected"))
        print(f"{path}: {problem}; moved to settings.json.rejected and written again from this command's flags",
              file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(wanted, indent=2))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass
class Plan:
    prompts: dict[str, str]  # key -> prompt, every unique question of the input
    row_keys: list[str | None]  # key of each input row (None: no English question)
    missing_rows: list[int]


def plan(rows: Sequence[dict], settings: JobSettings, lang_key: str = "lang") -> Plan:
    prompts: dict[str, str] = {}
    row_keys: list[str | None] = []
    missing = []
    for i, row in enumerate(rows):
        question = english_question(row, settings.question_key, lang_key)
        if question is None:
            row_keys.append(None)
            missing.append(i)
            continue
        prompt = prompt_for(question, settings.template)
        key = question_key(prompt)
        prompts.setdefault(key, prompt)
        row_keys.append(key)
    return Plan(prompts, row_keys, missing)


def gold_of(row: dict, ground_truth_key: str = "ground_truth") -> str | None:
    rm = row.get("reward_model")
    gold = rm.get(ground_truth_key) if isinstance(rm, dict) else None
    return str(gold).strip() if gold is not None and str(gold).strip() else None


def merge(rows: Sequence[dict], job_plan: Plan, done: dict[str, dict], gold_check: str,
          ground_truth_key: str = "ground_truth") -> tuple[list[dict], dict]:
    """Rows with ``pivot_response``, ``pivot_answer`` (and ``pivot_correct`` unless gold_check=keep);
    rows dropped per ``gold_check``; and counts for the metadata."""
    from verl_multiling.scorers.math_answer import check_answer, extract_boxed

    if gold_check not in GOLD_CHECKS:
        raise ValueError(f"--gold-check={gold_check!r}: choose one of {', '.join(GOLD_CHECKS)}")
    out, counts = [], {"rows_in": len(rows), "pivot_correct": 0, "pivot_wrong": 0, "no_gold": 0,
                       "pivot_no_answer": 0, "empty_response": 0, "dropped": 0, "no_question": 0}
    verdicts: dict[tuple[str, str], bool] = {}
    for row, key in zip(rows, job_plan.row_keys, strict=True):
        row = dict(row)
        response = done[key]["response"] if key is not None else None
        row[PIVOT_COLUMN] = response
        row["pivot_answer"] = extract_boxed(response) if response else None
        if key is None:
            counts["no_question"] += 1
        elif row["pivot_answer"] is None:
            counts["pivot_no_answer"] += 1
            counts["empty_response"] += not response.strip()  # preflight rejects these rows
        if gold_check != "keep":
            gold = gold_of(row, ground_truth_key)
            if gold is None or response is None:
                correct = None
                counts["no_gold"] += gold is None
            else:
                if (key, gold) not in verdicts:
                    verdicts[(key, gold)] = check_answer(response, gold, lang="en").correct
                correct = verdicts[(key, gold)]
                counts["pivot_correct" if correct else "pivot_wrong"] += 1
            row["pivot_correct"] = correct
            if gold_check == "drop" and correct is False:
                counts["dropped"] += 1
                continue
        out.append(row)
    counts["rows_out"] = len(out)
    return out, counts


def write_parquet(rows: list[dict], path: Path, metadata: dict, input_schema=None) -> None:
    """Write atomically (temporary file + rename) with ``metadata`` as JSON under the schema key
    ``pivot_generation``; the input's column types are kept (``input_schema``) and the new columns added."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = None
    if input_schema is not None:
        new = {PIVOT_COLUMN: pa.string(), "pivot_answer": pa.string(), "pivot_correct": pa.bool_()}
        fields = [f for f in input_schema if f.name not in new]
        present = set(rows[0]) if rows else set(new)
        schema = pa.schema(fields + [pa.field(k, t) for k, t in new.items() if k in present])
    table = pa.Table.from_pylist(rows, schema=schema)
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[METADATA_KEY] = json.dumps(metadata, ensure_ascii=False).encode("utf-8")
    table = table.replace_schema_metadata(schema_meta)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def read_metadata(path: Path) -> dict:
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    if METADATA_KEY not in meta:
        raise ValueError(f"{path} has no pivot_generation metadata")
    return json.loads(meta[METADATA_KEY])


# ---------------------------------------------------------------------------------------------------
# the job
# ---------------------------------------------------------------------------------------------------


@dataclass
class JobResult:
    generated: int  # questions generated by this run
    resumed: int  # questions of this shard found already done
    torn: int  # torn lines dropped
    merged: bool
    waiting_for: int  # questions of other shards not done yet (merge waits for them)
    counts: dict = field(default_factory=dict)


def run_job(input_path: Path, output_path: Path, work_dir: Path, settings: JobSettings,
            generator_factory: Callable[[], Generator], *, batch_size: int = 8, shard_index: int = 0,
            num_shards: int = 1, gold_check: str = "flag", lang_key: str = "lang",
            ground_truth_key: str = "ground_truth", merge_output: bool = True, progress: bool = True,
            on_batch: Callable[[int], None] | None = None, repair: bool = False) -> JobResult:
    """Generate this shard's missing references, then merge when every shard is done (see module docstring).

    ``generator_factory`` is called only if there is something to generate (a finished shard loads no model).
    ``on_batch(n_done_this_run)`` is called after each durable batch (progress hooks, tests).
    ``repair``: move bad part-file lines aside and rewrite an unreadable settings.json instead of stopping.
    """
    import pyarrow.parquet as pq

    if not 0 <= shard_index < num_shards:
        raise ValueError(f"--shard-index={shard_index} must be in [0, --num-shards={num_shards})")
    if batch_size < 1:
        raise ValueError(f"--batch-size={batch_size}: must be >= 1")
    if gold_check not in GOLD_CHECKS:
        raise ValueError(f"--gold-check={gold_check!r}: choose one of {', '.join(GOLD_CHECKS)}")
    table = pq.read_table(input_path)
    rows = table.to_pylist()  # plain Python values; nulls stay None
    job_plan = plan(rows, settings, lang_key)
    if job_plan.missing_rows:
        head = job_plan.missing_rows[:5]
        raise ValueError(f"{len(job_plan.missing_rows)} rows of {input_path} have no English question (rows {head}"
                         f"...): give it in column {settings.question_key!r} or extra_info.{settings.question_key} "
                         "(English rows may use their prompt), or set --question-key")
    check_settings(work_dir, settings, repair)
    part = part_path(work_dir, shard_index, num_shards)
    if repair:  # other shards' files too, each under its writer lock
        for other in part_files(work_dir):
            if other != part:
                try:
                    AppendOnlyJsonl(other, record_key, repair=True, hint=REPAIR_HINT).close()
                except FileInUseError:  # its shard is running: that shard (started with --repair) repairs it
                    pass
    generated = 0
    with AppendOnlyJsonl(part, record_key, repair=repair, hint=REPAIR_HINT) as writer:
        others, torn = done_keys(work_dir, skip=part, tolerate_bad=repair)
        torn += bool(writer.torn_bytes)
        mine = [k for k in job_plan.prompts if in_shard(k, shard_index, num_shards)]
        todo = [k for k in mine if k not in writer and k not in others]
        resumed = len(mine) - len(todo)
        if todo:
            generator = generator_factory()
            bar = _progress(total=len(mine), initial=resumed, enabled=progress,
                            desc=f"pivot references (shard {shard_index}/{num_shards})")
            try:
                for start in range(0, len(todo), batch_size):
                    keys = todo[start:start + batch_size]
                    t0 = time.perf_counter()
                    responses = generator.generate([job_plan.prompts[k] for k in keys], settings.sampling)
                    if len(responses) != len(keys):
                        raise RuntimeError(f"the generator returned {len(responses)} responses for {len(keys)} "
                                           "prompts")
                    seconds = (time.perf_counter() - t0) / len(keys)
                    writer.append({"key": k, "prompt": job_plan.prompts[k], "response": r,
                                   "seconds": round(seconds, 4)} for k, r in zip(keys, responses, strict=True))
                    generated += len(keys)
                    bar.update(len(keys))
                    if on_batch is not None:
                        on_batch(generated)
            finally:
                bar.close()
    # once per run, after this shard's work: what every shard has finished by now (they may still run)
    if merge_output:
        done, _ = read_done(work_dir)
    else:
        done = dict.fromkeys(done_keys(work_dir)[0])
    waiting = sum(1 for k in job_plan.prompts if k not in done)
    result = JobResult(generated, resumed, torn, merged=False, waiting_for=waiting)
    if merge_output and not waiting:
        merged_rows, counts = merge(rows, job_plan, done, gold_check, ground_truth_key)
        metadata = {"settings": settings.as_dict(), "gold_check": gold_check, "questions": len(job_plan.prompts),
                    "counts": counts, "input": str(input_path), "num_shards": num_shards,
                    "created_unix": int(time.time())}
        write_parquet(merged_rows, output_path, metadata, table.schema)
        result.merged, result.counts = True, counts
    return result


# ---------------------------------------------------------------------------------------------------
# generators
# ---------------------------------------------------------------------------------------------------


class TransformersGenerator:
    """Batched ``model.generate`` with left padding and the model's chat template (small runs, tests, CPU)."""

    def __init__(self, model_path: str, device: str | None = None, dtype: str = "auto"):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch_dtype).to(self.device).eval()

    def generate(self, prompts: Sequence[str], sampling: SamplingSettings) -> list[str]:
        torch = self.torch
        texts = [self.tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                                    add_generation_prompt=True) for p in prompts]
        batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        kwargs: dict[str, Any] = {"max_new_tokens": sampling.max_new_tokens,
                                  "pad_token_id": self.tokenizer.pad_token_id}
        if sampling.temperature > 0:
            torch.manual_seed(sampling.seed)
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        else:
            kwargs.update(do_sample=False)
        with torch.no_grad():
            out = self.model.generate(**batch, **kwargs)
        new = out[:, batch["input_ids"].shape[1]:]
        return [self.tokenizer.decode(ids, skip_special_tokens=True) for ids in new]


class VllmGenerator:
    """vLLM offline inference on this process's GPUs (data parallel = one process per GPU via shards)."""

    def __init__(self, model_path: str, tensor_parallel_size: int = 1, gpu_memory_utilization: float = 0.9,
                 max_model_len: int | None = None):
        try:
            from vllm import LLM
        except ImportError as exc:
            raise ImportError("--backend vllm needs vLLM on a GPU machine (pip install vllm); use --backend "
                              "transformers for small CPU runs") from exc
        self.llm = LLM(model=model_path, tensor_parallel_size=tensor_parallel_size,
                       gpu_memory_utilization=gpu_memory_utilization, max_model_len=max_model_len)

    def generate(self, prompts: Sequence[str], sampling: SamplingSettings) -> list[str]:
        from vllm import SamplingParams

        params = SamplingParams(temperature=sampling.temperature, top_p=sampling.top_p,
                                max_tokens=sampling.max_new_tokens, seed=sampling.seed, n=1)
        outputs = self.llm.chat([[{"role": "user", "content": p}] for p in prompts], params, use_tqdm=False)
        return [o.outputs[0].text for o in outputs]


# ---------------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------------


def build_parser():
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", required=True, help="training parquet (one row per question x language)")
    p.add_argument("--output", required=True, help="parquet to write (input rows + pivot_response ...)")
    p.add_argument("--work-dir", help="resumable work directory (default: OUTPUT.work)")
    p.add_argument("--model", required=True, help="the English pivot model (local dir or hub name)")
    p.add_argument("--backend", choices=BACKENDS, default="transformers")
    p.add_argument("--batch-size", type=int, default=8, help="prompts per generate call (vLLM: use 256+)")
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--max-new-tokens", type=int, default=2048)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--template", default=DEFAULT_TEMPLATE, help="user message; must contain {question}")
    p.add_argument("--question-key", default="question_en")
    p.add_argument("--lang-key", default="lang")
    p.add_argument("--gold-check", choices=GOLD_CHECKS, default="flag")
    p.add_argument("--shard-index", type=int, default=int(os.environ.get("SHARD_INDEX", 0)))
    p.add_argument("--num-shards", type=int, default=int(os.environ.get("NUM_SHARDS", 1)))
    p.add_argument("--no-merge", action="store_true", help="only generate this shard (a later run merges)")
    p.add_argument("--restart", action="store_true",
                   help="delete the job's files in the work directory first (finished references too); other "
                        "files are kept, and a directory without the job's settings.json is refused")
    p.add_argument("--repair", action="store_true",
                   help="keep finished work past a corrupt work file: move bad part-file lines to PART.rejected, "
                        "rewrite an unreadable settings.json from these flags (docs/resumable-jobs.md)")
    p.add_argument("--device", default=None, help="transformers: cpu | cuda (default: cuda if available)")
    p.add_argument("--dtype", default="auto", help="transformers: auto | bfloat16 | float32 ...")
    p.add_argument("--tensor-parallel-size", type=int, default=1, help="vllm")
    p.add_argument("--gpu-memory-utilization", type=float, default=0.9, help="vllm")
    p.add_argument("--max-model-len", type=int, default=None, help="vllm")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from verl_multiling.evaluation.generate import check_model_reachable
    from verl_multiling.plumbing.output_files import check_output_file

    args = build_parser().parse_args(argv)
    work_dir = Path(args.work_dir or f"{args.output}.work")

    def factory():  # called only when there is something to generate
        check_model_reachable(args.model)  # an unreachable hub name fails here, with what to pass instead
        if args.backend == "vllm":
            return VllmGenerator(args.model, args.tensor_parallel_size, args.gpu_memory_utilization,
                                 args.max_model_len)
        return TransformersGenerator(args.model, args.device, args.dtype)

    try:
        settings = JobSettings(model=args.model, backend=args.backend, template=args.template,
                               question_key=args.question_key,
                               sampling=SamplingSettings(args.temperature, args.top_p, args.max_new_tokens,
                                                         args.seed))
        if not args.no_merge:
            # before generating: the merge writes it last
            check_output_file(args.output, "--output", "train_pivot.parquet")
        if args.restart:
            deleted, kept = restart_work_dir(work_dir)
            if deleted or kept:
                print(f"--restart: deleted {len(deleted)} work file(s) from {work_dir}" + (
                    f"; kept {len(kept)} entries that are not the job's: "
                    + ", ".join(p.name for p in kept[:5]) + (" ..." if len(kept) > 5 else "") if kept else ""),
                      file=sys.stderr)
        result = run_job(Path(args.input), Path(args.output), work_dir, settings, factory,
                         batch_size=args.batch_size, shard_index=args.shard_index, num_shards=args.num_shards,
                         gold_check=args.gold_check, lang_key=args.lang_key, merge_output=not args.no_merge,
                         progress=not args.no_progress, repair=args.repair)
    except (ValueError, FileInUseError, OSError) as exc:  # OSError: a missing input, an offline hub name, a write
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"generated": result.generated, "resumed": result.resumed, "torn_lines_dropped": result.torn,
                      "merged": result.merged, "waiting_for": result.waiting_for, "counts": result.counts,
                      "output": str(args.output) if result.merged else None}), flush=True)
    return 0


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, initial: int, enabled: bool, desc: str):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="q")


if __name__ == "__main__":
    sys.exit(main())
