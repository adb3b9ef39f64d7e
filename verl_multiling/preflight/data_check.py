"""Data-file checks of preflight and of main_ppo's startup check, streamed in bounded memory.

What verl 0.9.1 does with ``data.train_files`` / ``data.val_files`` (``RLHFDataset`` in
``verl/utils/dataset/rl_dataset.py``, the dataloaders in ``verl/trainer/ppo/v1/trainer_base.py``), and
what is checked here for each:

* only ``.parquet``, ``.json`` and ``.jsonl`` files load (anything else raises). JSON and JSONL get the same
  checks as parquet, read by verl's own reader (``datasets.load_dataset("json")``: JSON Lines, or one JSON
  array of rows) into a temporary Arrow cache;
* ``data.train_max_samples`` / ``val_max_samples`` > 0 keep that many rows;
* with ``data.filter_overlong_prompts=true`` (the recipes) a row whose ``data.prompt_key`` cannot be
  rendered by the chat template is dropped (``doc2len`` catches the error and returns
  ``max_prompt_length + 1``): no prompt (null), an empty message list, or anything but a list of
  ``{role, content}`` messages. With the filter off the same rows fail in the dataloader or at the rollout.
  Both are errors here, counted, with the fix;
* the same filter drops prompts longer than ``data.max_prompt_length`` tokens with the model's chat
  template. Preflight counts them with the model's tokenizer when it loads offline
  (:mod:`verl_multiling.preflight.prompt_length`): a warning per file with the count, an error when no row is
  left; main_ppo's start-up check never loads a tokenizer: there (and where preflight could not load it) the
  row counts are before that filter, which only lowers them, and a note says so;
* the train dataloader has ``batch_size = data.train_batch_size`` (``gen_batch_size`` when set) and
  ``drop_last=True``; steps per epoch = ``len(dataset) // data.train_batch_size``. Fewer usable rows
  than ``data.train_batch_size`` is therefore 0 steps: an error naming both (:func:`check_train_rows`);
* the val dataloader's batch is ``data.val_batch_size or len(dataset)``: an empty val file cannot load.
  Any 0-row file is an error naming its field.

Per row, the reward managers read (checked the same way, :mod:`verl_multiling.reward_managers.base`):
the gold answer ``reward_model[multiling.ground_truth_key]`` (not PB-RLSVR with ``multiling.pb_rlsvr.gold=none``,
which reads it only to report ``acc``: rows without one are a note, :func:`gold_required`); the query language: the
``multiling.lang_key`` column when its value is not null, else ``extra_info[lang_key]``, normalised
with :func:`~verl_multiling.scorers.language_id.normalise_lang` (``zh-CN`` -> ``zh``); TAPO's texts
(:func:`~verl_multiling.rewards.tapo.row_text`) and PB-RLSVR's pivot y_en the same way (column, else
``extra_info``).

Memory: a parquet file is read with ``ParquetFile.iter_batches`` over only the columns and struct children
above (``extra_info.lang``, not all of ``extra_info``), in batches of at most :data:`BATCH_ROWS` rows and
about :data:`BATCH_BYTES` bytes of the selected columns; each batch is reduced to counters and dropped.
Peak memory is O(batch), not O(file) (docs figure: verl_multiling/benchmarks/data_check.py). A JSON file's Arrow cache
is memory-mapped and read in slices of :data:`BATCH_ROWS` rows (whole top-level columns).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Iterable

from omegaconf import DictConfig

from verl_multiling.config.multiling import MultilingConfig
from verl_multiling.preflight.findings import ISO_639_1, Finding
from verl_multiling.preflight.prompt_length import LengthCounts, PromptLengths, length_findings

BATCH_ROWS = 8192  # most rows per streamed batch
BATCH_BYTES = 4 << 20  # about this many uncompressed bytes of the selected columns per batch (4 MiB: +55 MB
# peak RSS on a 200 MB file, 8 MiB: +85, 32 MiB: +350 incl. allocator slack; verl_multiling/benchmarks/data_check.py)
VERL_FORMATS = (".parquet", ".json", ".jsonl")  # what verl 0.9.1's RLHFDataset loads; anything else raises


@dataclass
class DataSummary:
    """What one data file holds (replaces the pandas frame the check used to return)."""

    field: str
    path: str
    rows: int = 0  # rows in the file
    usable: int = 0  # rows verl keeps: a prompt that is a non-empty list of messages (and, with lengths_counted,
    # at most data.max_prompt_length tokens with the model's chat template; else before that filter)
    languages: dict[str, int] = dc_field(default_factory=dict)  # rows per normalised language, most first
    columns: list[str] = dc_field(default_factory=list)  # the schema's columns (not pandas' stored index)
    lengths_counted: bool = False  # usable excludes the prompts verl's length filter drops (model's tokenizer)

    def __len__(self) -> int:
        return self.rows

    def as_dict(self) -> dict:
        return {"field": self.field, "path": self.path, "rows": self.rows, "languages": dict(self.languages),
                "columns": list(self.columns)}


@dataclass
class _TextCounts:
    """One text a recipe reads per row (column, else extra_info)."""

    key: str
    present: bool = False  # the column or the extra_info child exists in the schema
    missing: int = 0  # rows without a non-blank string
    boxed: int = 0  # rows whose text has a \\boxed{} answer (PB-RLSVR's pivot only)


@dataclass
class RowCounts:
    """Counters accumulated batch by batch; nothing per row is kept."""

    rows: int = 0
    no_prompt: int = 0  # prompt is null
    empty_prompt: int = 0  # prompt is []
    bad_prompt: int = 0  # prompt is not a list of {role, content} messages
    no_gold: int = 0
    no_lang: int = 0
    languages: Counter = dc_field(default_factory=Counter)  # normalised valid codes
    invalid: Counter = dc_field(default_factory=Counter)  # raw values that do not normalise to two letters
    texts: dict[str, _TextCounts] = dc_field(default_factory=dict)
    lengths: LengthCounts | None = None  # over-long prompts, when the model's tokenizer counts them

    @property
    def refused(self) -> int:
        return self.no_prompt + self.empty_prompt + self.bad_prompt


# ---- what to read ----------------------------------------------------------------------------------------


def recipe_columns(cfg: DictConfig, settings: MultilingConfig) -> tuple[str, ...]:
    """Dataset columns :func:`check_recipe_columns` reads (they may also sit inside ``extra_info``)."""
    try:
        if settings.recipe == "tapo":
            return tuple(key for _, key, _ in _tapo_needs(cfg)[1])
        if settings.recipe == "pb_rlsvr":
            from verl_multiling.rewards.pb_rlsvr import PbRlsvrConfig

            return (PbRlsvrConfig.from_config(cfg).pivot_key,)
    except ValueError:
        pass  # reported by check_multiling
    return ()


def gold_required(cfg: DictConfig, settings: MultilingConfig) -> bool:
    """Whether the reward reads a gold answer in every row: every recipe but PB-RLSVR with
    ``multiling.pb_rlsvr.gold=none`` (label-free: the gold answer, where a row has one, only gives the reported
    ``acc``; :func:`verl_multiling.rewards.pb_rlsvr.prepare`). A PB-RLSVR node that does not read is reported
    by check_multiling; here it counts as requiring gold."""
    if settings.recipe != "pb_rlsvr":
        return True
    from verl_multiling.rewards.pb_rlsvr import PbRlsvrConfig

    try:
        return PbRlsvrConfig.from_config(cfg).gold != "none"
    except ValueError:
        return True


def _tapo_needs(cfg: DictConfig) -> tuple[str, list[tuple[str, str, str]]]:
    """TAPO's translation metric and the (knob, key, what) of each text it reads; ValueError on a bad node."""
    from verl_multiling.rewards.tapo import TapoConfig

    tapo = TapoConfig.from_config(cfg)
    needed = []
    if tapo.translation.needs_reference:
        needed.append(("reference_key", tapo.reference_key, "the English question (scripts/prepare_data.py "
                                                           "--recipe tapo writes question_en)"))
    if tapo.translation.needs_source:
        needed.append(("source_key", tapo.source_key, "the question as asked"))
    return tapo.translation.metric, needed


def _selection(schema, prompt_key: str, gold_key: str, keys: Iterable[str]) -> list[str]:
    """Column paths to read: whole top-level columns for the prompt and per-row keys, and only the needed
    children of the ``reward_model`` and ``extra_info`` structs."""
    import pyarrow as pa

    names = set(schema.names)
    out = [c for c in (prompt_key, *keys) if c in names]
    for parent, children in (("reward_model", (gold_key,)), ("extra_info", keys)):
        if parent not in names:
            continue
        kind = schema.field(parent).type
        if pa.types.is_struct(kind):
            present = {kind.field(i).name for i in range(kind.num_fields)}
            out += [f"{parent}.{c}" for c in dict.fromkeys(children) if c in present]
        else:
            out.append(parent)  # not a struct (a map or a string): read as is, checked as verl would see it
    return list(dict.fromkeys(out))


def _batch_rows(meta, columns: list[str]) -> int:
    """Rows per batch so that a batch of the selected columns is about BATCH_BYTES uncompressed."""
    total, rows = 0, 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        rows += group.num_rows
        for c in range(group.num_columns):
            chunk = group.column(c)
            path = chunk.path_in_schema
            if any(path == col or path.startswith(col + ".") for col in columns):
                total += chunk.total_uncompressed_size
    if not rows or not total:
        return BATCH_ROWS
    return max(16, min(BATCH_ROWS, int(BATCH_BYTES * rows / total)))


# ---- per-batch counting (vectorised: no prompt text becomes a Python object) ----------------------------


def _column(batch, name: str):
    index = batch.schema.get_field_index(name)
    return None if index < 0 else batch.column(index)


def _child(batch, parent: str, key: str):
    """``parent[key]`` per row (null where the parent is null), or None when absent."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = _column(batch, parent)
    if col is None:
        return None
    if pa.types.is_struct(col.type):
        if col.type.get_field_index(key) < 0:
            return None
        return pc.struct_field(col, key)
    values = [v.get(key) if isinstance(v, dict) else None for v in col.to_pylist()]  # not a struct: rare
    return pa.array(values) if any(v is not None for v in values) else None


def _as_text(values, n: int):
    """``values`` as large_string, non-strings as null (they are no text to the managers)."""
    import pyarrow as pa

    if values is None or not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return pa.nulls(n, pa.large_string())
    return values.cast(pa.large_string())


def _resolve(batch, key: str):
    """The managers' per-row read: the column ``key`` when its value is not null, else ``extra_info[key]``
    (``MultilingRewardManager._query_lang``, ``row_text``, PB-RLSVR's ``_pivot``). Strings only; null where
    absent or not a string."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = batch.num_rows
    col, extra = _column(batch, key), _child(batch, "extra_info", key)
    fallback = _as_text(extra, n)
    if col is None:
        return fallback
    return pc.if_else(pc.is_valid(col), _as_text(col, n), fallback) if n else pa.nulls(0, pa.large_string())


def _blank(values):
    """True where a large_string array is null or only whitespace."""
    import pyarrow.compute as pc

    stripped = pc.utf8_length(pc.utf8_trim_whitespace(values))
    return pc.fill_null(pc.equal(stripped, 0), True)


def _count_prompts(counts: RowCounts, prompts) -> None:
    """Rows verl cannot use: null prompt, ``[]``, or not a list of {role, content} messages."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(prompts)
    nulls = int(prompts.null_count)
    counts.no_prompt += nulls
    kind = prompts.type
    if pa.types.is_null(kind):
        return
    is_list = pa.types.is_list(kind) or pa.types.is_large_list(kind)
    element = kind.value_type if is_list else None
    if not (is_list and pa.types.is_struct(element) and element.get_field_index("role") >= 0
            and element.get_field_index("content") >= 0
            and pa.types.is_string(element.field("role").type) | pa.types.is_large_string(element.field("role").type)):
        counts.bad_prompt += n - nulls  # a string, a list of strings, messages without role/content
        return
    lengths = pc.fill_null(pc.list_value_length(prompts), -1).to_numpy(zero_copy_only=False)
    counts.empty_prompt += int((lengths == 0).sum())
    messages = prompts.flatten()
    if not len(messages):
        return
    bad = pc.or_(pc.is_null(pc.struct_field(messages, "role")), pc.is_null(pc.struct_field(messages, "content")))
    bad = pc.or_(pc.fill_null(bad, True), pc.is_null(messages))
    owners = pc.list_parent_indices(prompts).to_numpy(zero_copy_only=False)
    counts.bad_prompt += int(np.unique(owners[bad.to_numpy(zero_copy_only=False)]).size)


def _count_batch(counts: RowCounts, batch, prompt_key: str, settings: MultilingConfig, pivot_key: str | None,
                 lengths: PromptLengths | None = None) -> None:
    import pyarrow.compute as pc

    from verl_multiling.scorers.language_id import normalise_lang

    n = batch.num_rows
    counts.rows += n
    prompts = _column(batch, prompt_key)
    if prompts is not None:
        _count_prompts(counts, prompts)
        if lengths is not None:  # the model's chat template on each usable prompt, as verl's filter does
            counts.lengths.add(lengths, prompts.to_pylist())
    gold = _child(batch, "reward_model", settings.ground_truth_key)
    if gold is not None:  # old rule kept: None, or a blank string (a list of aliases is an answer)
        text = _as_text(gold, n)
        is_text = pc.is_valid(text)
        missing = pc.or_(pc.is_null(gold), pc.and_(is_text, _blank(text)))
        counts.no_gold += int(pc.sum(pc.cast(pc.fill_null(missing, True), "int64")).as_py() or 0)
    else:
        counts.no_gold += n
    for raw in _resolve(batch, settings.lang_key).to_pylist():  # short codes: cheap as Python strings
        code = normalise_lang(raw) if isinstance(raw, str) and raw.strip() else ""
        if not code:
            counts.no_lang += 1
        elif ISO_639_1.match(code):
            counts.languages[code] += 1
        else:
            counts.invalid[raw.strip()] += 1
    for key, text_counts in counts.texts.items():
        values = _resolve(batch, key)
        blank = _blank(values)
        counts.texts[key].missing += int(pc.sum(pc.cast(blank, "int64")).as_py() or 0)
        if key == pivot_key:
            from verl_multiling.scorers.math_answer import extract_boxed

            kept = pc.filter(values, pc.invert(blank))
            text_counts.boxed += sum(extract_boxed(v) is not None for v in kept.to_pylist())


def _text_present(schema, key: str) -> bool:
    import pyarrow as pa

    if key in schema.names:
        return True
    if "extra_info" not in schema.names:
        return False
    kind = schema.field("extra_info").type
    return not pa.types.is_struct(kind) or kind.get_field_index(key) >= 0


def scan_batches(batches: Iterable, schema, prompt_key: str, settings: MultilingConfig,
                 text_keys: Iterable[str] = (), pivot_key: str | None = None,
                 lengths: PromptLengths | None = None) -> RowCounts:
    """Fold record batches into :class:`RowCounts` (each batch is dropped once counted); with ``lengths``,
    also the prompts verl's length filter drops (:mod:`verl_multiling.preflight.prompt_length`)."""
    counts = RowCounts(texts={k: _TextCounts(k, present=_text_present(schema, k)) for k in text_keys},
                       lengths=LengthCounts() if lengths is not None else None)
    for batch in batches:
        _count_batch(counts, batch, prompt_key, settings, pivot_key, lengths)
    return counts


# ---- reading a file as verl does --------------------------------------------------------------------------


class _Source:
    """A data file's schema and its record batches over the selected columns (parquet: streamed from disk;
    JSON/JSONL: verl's own reader, ``datasets.load_dataset('json')``, whose Arrow cache is memory-mapped)."""

    def __init__(self, schema, batches):
        self.schema, self.batches = schema, batches


def _open_parquet(local: str, stack) -> _Source:
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(local, pre_buffer=False, buffer_size=1 << 20)  # pages streamed, not whole chunks
    stack.callback(handle.close)

    def batches(columns: list[str]):
        return handle.iter_batches(batch_size=_batch_rows(handle.metadata, columns), columns=columns,
                                   use_threads=False)  # one decoder thread: less allocator slack

    return _Source(handle.schema_arrow, batches)


def _open_json(local: str, stack) -> _Source:
    """The file as verl 0.9.1's RLHFDataset reads it: ``datasets.load_dataset("json", data_files=...)`` (JSON
    Lines, or one JSON array of rows), into a temporary cache directory removed afterwards."""
    import tempfile

    import datasets
    from datasets.utils import logging as datasets_logging

    cache = stack.enter_context(tempfile.TemporaryDirectory(prefix="verl_multiling_json_"))
    bars = datasets_logging.is_progress_bar_enabled()
    datasets_logging.disable_progress_bar()
    try:
        table = datasets.load_dataset("json", data_files=local, cache_dir=cache)["train"].data.table
    finally:
        if bars:
            datasets_logging.enable_progress_bar()

    def batches(columns: list[str]):
        top = list(dict.fromkeys(c.split(".")[0] for c in columns))  # whole structs: the table is memory-mapped
        return table.select(top).to_batches(max_chunksize=BATCH_ROWS)

    return _Source(table.schema, batches)


# ---- findings --------------------------------------------------------------------------------------------


def check_data_file(path: str, cfg: DictConfig, settings: MultilingConfig, field: str,
                    lengths: PromptLengths | None = None) -> tuple[list[Finding], DataSummary | None]:
    """A data file as verl 0.9.1 will load it: format, rows, prompts, gold answers, languages and the
    recipe's columns; with ``lengths`` (preflight, the model's tokenizer), the prompts verl's
    ``filter_overlong_prompts`` drops. Parquet, JSON and JSONL get the same checks. Streams only the needed
    columns (module docstring); returns the findings and a :class:`DataSummary` (None when the file could not
    be read)."""
    from contextlib import ExitStack

    local = os.path.expanduser(path)
    if not os.path.exists(local):
        return [Finding("error", field, f"{path} does not exist; prepare data with scripts/prepare_data.py")], None
    if not local.endswith(VERL_FORMATS):
        return [Finding("error", field, f"{path}: verl 0.9.1's RLHFDataset loads only {', '.join(VERL_FORMATS)} "
                                        "files (it raises 'Unsupported file format'); convert it, e.g. with "
                                        "scripts/prepare_data.py")], None
    with ExitStack() as stack:
        parquet = local.endswith(".parquet")
        try:
            source = (_open_parquet if parquet else _open_json)(local, stack)
        except Exception as exc:
            cause = exc.__cause__ or exc  # datasets wraps the parser's error in DatasetGenerationError
            what = "a readable parquet file" if parquet else "a JSON file verl can load (datasets.load_dataset('json'))"
            return [Finding("error", field, f"{path} is not {what}: {type(cause).__name__}: {str(cause)[:300]}")], None
        return _check_rows(path, source, cfg, settings, field, lengths)


def _check_rows(path: str, source: _Source, cfg: DictConfig, settings: MultilingConfig, field: str,
                lengths: PromptLengths | None) -> tuple[list[Finding], DataSummary | None]:
    schema = source.schema
    present = list(schema.names)
    summary = DataSummary(field, path, columns=[c for c in present if not c.startswith("__index_level_")])
    out: list[Finding] = []
    prompt_key = cfg.data.prompt_key
    needs_gold = gold_required(cfg, settings)
    if prompt_key not in present:
        out.append(Finding("error", field, f"{path} has no {prompt_key!r} column or set data.prompt_key "
                                           f"(now {prompt_key!r})"))
    if "reward_model" not in present:
        out.append(Finding("error", field, f"{path} has no 'reward_model' column holding {{'ground_truth': ...}}")
                   if needs_gold else _no_gold_note(field, path, "no 'reward_model' column: every row"))
    text_keys = recipe_columns(cfg, settings)
    pivot_key = text_keys[0] if settings.recipe == "pb_rlsvr" and text_keys else None
    columns = _selection(schema, prompt_key, settings.ground_truth_key, (settings.lang_key, *text_keys))
    try:
        counts = scan_batches(source.batches(columns), schema, prompt_key, settings, text_keys, pivot_key,
                              lengths if prompt_key in present else None)
    except Exception as exc:
        return out + [Finding("error", field, f"{path}: reading its rows failed: {type(exc).__name__}: {exc}")], None
    summary.rows = counts.rows
    summary.usable = counts.rows - counts.refused if prompt_key in present else 0
    if counts.lengths is not None and counts.rows:
        out += length_findings(counts.lengths, lengths, summary.usable, path, field)
        summary.usable -= counts.lengths.dropped
        summary.lengths_counted = True
    summary.languages = dict(counts.languages.most_common())
    if not counts.rows:
        out.append(Finding("error", field, f"{path} has no rows: verl would train or validate on nothing; give "
                                           f"{field} a file with data (scripts/prepare_data.py)"))
        return out, summary
    out += _prompt_findings(counts, cfg, path, field, prompt_key)
    if counts.no_gold and "reward_model" in present:
        missing = f"{counts.no_gold}/{counts.rows} rows have no reward_model.{settings.ground_truth_key}"
        if not needs_gold:
            out.append(_no_gold_note(field, path, missing))
        elif settings.recipe == "pb_rlsvr":
            out.append(Finding("error", field, f"{missing} (the gold answer): multiling.pb_rlsvr.gold=gate|sum "
                                               "uses it in every row (a row without one scores 0 with "
                                               "reward_error=1); add it, or use gold=none for label-free training"))
        else:
            out.append(Finding("error", field, f"{missing} (the gold answer)"))
    out += _language_findings(counts, schema, settings, path, field)
    out += _recipe_findings(counts, cfg, settings, field, path)
    return out, summary


def _no_gold_note(field: str, path: str, what: str) -> Finding:
    return Finding("note", field, f"{path}: {what} without a gold answer: fine with multiling.pb_rlsvr.gold=none "
                                  "(label-free), which reads it only to report acc (0, with has_gold=0, there)")


def _prompt_findings(counts: RowCounts, cfg: DictConfig, path: str, field: str, prompt_key: str) -> list[Finding]:
    if not counts.refused:
        return []
    parts = [f"{n} {what}" for n, what in (
        (counts.no_prompt, "without a prompt (null)"), (counts.empty_prompt, "with an empty message list []"),
        (counts.bad_prompt, f"whose {prompt_key!r} is not a list of {{'role': ..., 'content': ...}} messages"),
    ) if n]
    dropped = bool(cfg.data.get("filter_overlong_prompts", True))
    fate = ("verl drops them when it loads the data (data.filter_overlong_prompts=true: the chat template fails on "
            "them)" if dropped else "verl fails on them in the dataloader or at the rollout "
                                    "(data.filter_overlong_prompts=false)")
    return [Finding("error", field, f"{path}: {counts.refused}/{counts.rows} rows verl 0.9.1 cannot use: "
                                    f"{', '.join(parts)}; {fate}. Write each prompt as [{{'role': 'user', "
                                    "'content': question}] (scripts/prepare_data.py) or remove those rows")]


def _language_findings(counts: RowCounts, schema, settings: MultilingConfig, path: str,
                       field: str) -> list[Finding]:
    key = settings.lang_key
    if not counts.languages and not counts.invalid and not _text_present(schema, key):
        return [Finding("error", field, f"{path} has no {key!r} column (nor extra_info.{key}); add the query "
                                        "language per row or set multiling.lang_key")]
    out = []
    if counts.invalid:
        shown = sorted(counts.invalid)[:10]
        out.append(Finding("error", field, f"language codes {shown} are not ISO 639-1 (two lowercase letters) "
                                           f"in {sum(counts.invalid.values())} rows"))
    if counts.no_lang:
        out.append(Finding("error", field, f"{counts.no_lang} rows have no {key} (the reward manager reads the "
                                           f"{key!r} column, else extra_info.{key}); add it or set "
                                           "multiling.lang_key"))
    valid = sorted(counts.languages)
    outside = [c for c in valid if settings.languages and c not in settings.languages]
    if outside:
        out.append(Finding("warning", field, f"languages {outside} are not in multiling.languages "
                                             f"{list(settings.languages)}; add them if they are task languages"))
    candidates = settings.detector_languages or ()
    undetectable = [c for c in valid if candidates and c not in candidates]
    if settings.language_id.backend == "lingua" and undetectable:
        out.append(Finding("error", field, f"languages {undetectable} can never match: lingua only detects "
                                           f"{list(candidates)}; add them to multiling.languages"))
    out.append(Finding("ok", field, f"{counts.rows} rows; languages {dict(counts.languages.most_common())}"))
    return out


def _recipe_findings(counts: RowCounts, cfg: DictConfig, settings: MultilingConfig, field: str,
                     path: str) -> list[Finding]:
    """PB-RLSVR: the pivot reference y_en in every row; TAPO: the texts its translation metric reads."""
    if settings.recipe == "tapo":
        try:
            metric, needs = _tapo_needs(cfg)
        except ValueError:
            return []  # reported by check_multiling
        out = []
        for knob, key, what in needs:
            missing = counts.texts[key].missing if key in counts.texts else counts.rows
            if missing:
                out.append(Finding("error", field, f"{path}: {missing}/{counts.rows} rows have no {key!r} text "
                                                   f"({what}), needed by metric={metric!r}; add the column or set "
                                                   f"multiling.tapo.{knob}"))
            else:
                out.append(Finding("ok", field, f"{path}: every row has {key!r}"))
        return out
    if settings.recipe != "pb_rlsvr":
        return []
    keys = recipe_columns(cfg, settings)
    if not keys:
        return []  # reported by check_multiling
    key = keys[0]
    text = counts.texts.get(key) or _TextCounts(key, missing=counts.rows)
    fix = ("write y_en into the training parquet with scripts/generate_pivot_references.py "
           "(or set multiling.pb_rlsvr.pivot_key)")
    if not text.present or text.missing == counts.rows:
        return [Finding("error", field, f"{path}: no {key!r} column (nor extra_info.{key}) with text: PB-RLSVR has "
                                        f"no pivot reference y_en to compare responses with; {fix}")]
    if text.missing:
        return [Finding("error", field, f"{path}: {text.missing}/{counts.rows} rows have an empty or missing {key} "
                                        f"(the pivot reference y_en); {fix}")]
    return [Finding("ok", field, f"{path}: {key}: {counts.rows} pivot references, {text.boxed} with a boxed answer")]


def check_recipe_columns(frame, cfg: DictConfig, settings: MultilingConfig, field: str, path: str) -> list[Finding]:
    """The recipe's columns of an in-memory pandas frame (preflight's bundled sample prompts), counted by the
    same code as a data file."""
    import pyarrow as pa

    keys = recipe_columns(cfg, settings)
    if not keys:
        return _recipe_findings(RowCounts(rows=len(frame)), cfg, settings, field, path)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pivot = keys[0] if settings.recipe == "pb_rlsvr" else None
    counts = scan_batches(table.to_batches(), table.schema, cfg.data.prompt_key, settings, keys, pivot)
    return _recipe_findings(counts, cfg, settings, field, path)


def check_tapo_columns(frame, cfg: DictConfig, field: str, path: str) -> list[Finding]:
    """TAPO's texts in a pandas frame: every row needs what its translation metric reads (column or
    extra_info key); without them r_trans would silently be 0 (``trans_reason=no_reference``)."""
    settings = MultilingConfig.from_config(cfg)
    if settings.recipe != "tapo":
        from dataclasses import replace

        settings = replace(settings, recipe="tapo")
    return check_recipe_columns(frame, cfg, settings, field, path)


def data_file_summary(path: str, summary: DataSummary, field: str, lang_key: str) -> dict:
    """What a data file holds: its rows, rows per language (most first) and every column of its schema."""
    return {**summary.as_dict(), "field": field, "path": path}


def check_train_rows(cfg: DictConfig, summaries: list[DataSummary]) -> list[Finding]:
    """Enough usable training rows for one batch: verl's train dataloader drops the last incomplete batch
    (``drop_last=True``), so steps per epoch = ``usable // data.train_batch_size`` where usable = rows with a
    usable prompt (capped by ``data.train_max_samples`` when > 0), after the tokenizer's length filter when
    preflight counted it (every summary ``lengths_counted``), else before it (a note says so)."""
    if not summaries:
        return []
    batch = int(cfg.data.train_batch_size)
    rows = sum(s.rows for s in summaries)
    usable = sum(s.usable for s in summaries)
    cap = int(cfg.data.get("train_max_samples", -1) or -1)
    n = min(usable, cap) if cap > 0 else usable
    out = []
    if cfg.data.get("filter_overlong_prompts", True) and not all(s.lengths_counted for s in summaries):
        out.append(Finding("note", "data.max_prompt_length",
                           f"verl also drops prompts longer than data.max_prompt_length={cfg.data.max_prompt_length}"
                           " tokens when it loads the data; counting them needs the model's tokenizer, which this "
                           "check did not load (main_ppo's start-up check never does; preflight does when it loads "
                           "offline): the row counts here are before that filter (verl prints 'filter dataset "
                           "len')"))
    if n < batch:
        why = [f"{rows} rows in data.train_files"]
        if usable < rows:
            why.append(f"{rows - usable} of them unusable (see above)")
        if cap > 0 and cap < usable:
            why.append(f"data.train_max_samples={cap}")
        out.append(Finding("error", "data.train_batch_size",
                           f"{batch} is more than the {n} usable training rows ({', '.join(why)}): verl's train "
                           "dataloader drops the last incomplete batch (drop_last=True), so training would run 0 "
                           f"steps; set data.train_batch_size to at most {n} or add training data"))
    return out


def total_steps(cfg: DictConfig, n_train_rows: int | None) -> int | None:
    """T as verl's trainer computes it: trainer.total_training_steps, else epochs x batches per epoch."""
    if cfg.trainer.get("total_training_steps"):
        return int(cfg.trainer.total_training_steps)
    if not n_train_rows:
        return None
    per_epoch = n_train_rows // int(cfg.data.train_batch_size)
    return per_epoch * int(cfg.trainer.total_epochs) if per_epoch else None


__all__ = [
    "BATCH_BYTES", "BATCH_ROWS", "DataSummary", "RowCounts", "check_data_file", "check_recipe_columns",
    "check_tapo_columns", "check_train_rows", "data_file_summary", "gold_required", "recipe_columns", "scan_batches",
    "total_steps",
]
