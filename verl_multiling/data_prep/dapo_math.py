r"""AdaMame's RL prompts: DAPO-Math-17k questions translated into fr, ja, ko, pt and th.

The authors release the set they trained on as verl parquet files in their repository
(dayeonki/adamame, ``2_rl/data``): ``train`` = ``train/train_dapomath17k_5k.parquet`` (1,000 prompts per
language, already kept by their difficulty filter) and ``val`` = ``val/val_dapomath17k.parquet`` (50 per
language). No dataset hub hosts the translations, so the "hub" of this source is that release, downloaded
once into the cache (:func:`verl_multiling.plumbing.offline_tokenizer.cache_dir`); ``--local FILE`` reads the same
files, or any file with ``question``/``answer``/``lang`` columns (e.g. your own larger translated pool,
the input of the difficulty filter).

A released row's prompt is ``instruction + "\n\n" + question`` with the language's released instruction
(:data:`verl_multiling.data_prep.templates.INSTRUCTIONS` ``["adamame"]``): :func:`question_from_prompt`
takes the instruction off, so ``prepare_data.py`` can rebuild the very same prompt (or another recipe's).
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from pathlib import Path
from typing import Any, Callable, Sequence

from verl_multiling.data_prep.schema import Record, SchemaError

__all__ = [
    "LANGUAGES",
    "RELEASE_BASE_URL",
    "RELEASE_FILES",
    "is_release_frame",
    "question_from_prompt",
    "release_file",
    "release_reader",
    "release_records",
]

#: The five languages of the released set.
LANGUAGES: tuple[str, ...] = ("fr", "ja", "ko", "pt", "th")
#: Where the released files live (overridable with ``$VERL_MULTILING_ADAMAME_DATA_URL``, e.g. a mirror or
#: a ``file://`` directory holding the same paths).
RELEASE_BASE_URL = "https://raw.githubusercontent.com/dayeonki/adamame/main/2_rl/data"
URL_ENV = "VERL_MULTILING_ADAMAME_DATA_URL"
#: split -> path under the base URL.
RELEASE_FILES: dict[str, str] = {
    "train": "train/train_dapomath17k_5k.parquet",
    "val": "val/val_dapomath17k.parquet",
}


def question_from_prompt(content: str, lang: str) -> str:
    r"""The question of a released prompt: the text after ``instruction + "\n\n"``.

    >>> question_from_prompt("단계별로 추론하고, 최종 답을 \\boxed{} 안에 넣어주세요.\n\n$1+1$은?", "ko")
    '$1+1$은?'

    Raises:
        SchemaError: the prompt does not start with the released instruction of ``lang``.
    """
    from verl_multiling.data_prep.templates import instruction

    prefix = instruction("adamame", lang) + "\n\n"
    if not isinstance(content, str) or not content.startswith(prefix):
        raise SchemaError(
            f"a {lang!r} prompt does not start with the released AdaMame instruction {prefix.strip()!r}; "
            "give a file with 'question', 'answer' and 'lang' columns instead"
        )
    return content[len(prefix):]


def is_release_frame(frame) -> bool:
    """Whether a pandas frame has the released layout (``prompt`` messages, ``reward_model``, ``lang``)
    rather than plain question/answer columns."""
    columns = set(frame.columns)
    return {"prompt", "reward_model", "lang"} <= columns and "question" not in columns


def release_records(frame, lang: str, where: str, split: str, start: int = 0) -> list[Any]:
    """The rows of ``lang`` in a released-layout frame as :class:`~.schema.Record` objects (question
    recovered from the prompt, answer = ``reward_model.ground_truth``, in file order; indices from
    ``start``)."""
    part = frame[frame["lang"].astype(str).str.strip().str.lower() == lang]
    if part.empty:
        raise SchemaError(f"{where}: no rows with lang == {lang!r} "
                          f"(languages present: {sorted(frame['lang'].astype(str).unique())})")
    records = []
    for index, row in enumerate(part.to_dict("records"), start=start):
        messages = list(row["prompt"])
        reward = row["reward_model"] if isinstance(row["reward_model"], dict) else {}
        if not messages or "ground_truth" not in reward:
            raise SchemaError(f"{where}: row {index} ({lang}) lacks prompt messages or reward_model.ground_truth")
        records.append(Record(qid=f"dapomath17k-{lang}-{split}-{index}", index=index, lang=lang,
                              question=question_from_prompt(messages[-1]["content"], lang),
                              answer=reward["ground_truth"], split=split))
    return records


def release_file(split: str, cache: Path | None = None,
                 opener: Callable[[str], Any] = urllib.request.urlopen) -> Path:
    """The released parquet of ``split``, downloaded into the cache on first use.

    Raises:
        SchemaError: an unknown split (the message lists the valid ones).
        ConnectionError: the download failed (the message says to pass ``--local FILE``).
    """
    if split not in RELEASE_FILES:
        raise SchemaError(f"--splits: dapomath17k has the released splits {sorted(RELEASE_FILES)}, not {split!r}")
    from verl_multiling.plumbing.offline_tokenizer import cache_dir

    target = (cache or cache_dir() / "adamame_release") / RELEASE_FILES[split]
    if target.is_file() and target.stat().st_size:
        return target
    url = f"{os.environ.get(URL_ENV, RELEASE_BASE_URL).rstrip('/')}/{RELEASE_FILES[split]}"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    try:
        with opener(url) as response, open(partial, "wb") as handle:
            shutil.copyfileobj(response, handle)
    except (OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        raise ConnectionError(
            f"could not download the released AdaMame {split} set from {url}: {exc!r}. Offline? Fetch "
            f"{RELEASE_FILES[split]} from the dayeonki/adamame repository (2_rl/data) on a connected machine "
            "and pass --local FILE"
        ) from exc
    partial.replace(target)
    return target


def release_reader(splits: Sequence[str] | None) -> Callable[[str], list[Any]]:
    """A per-language reader over the released files of ``splits`` (default: ``train``)."""
    import pandas as pd

    wanted = tuple(splits) if splits else ("train",)
    frames = {split: pd.read_parquet(release_file(split)) for split in wanted}

    def read(lang: str) -> list[Any]:
        records: list[Any] = []
        for split, frame in frames.items():
            records += release_records(frame, lang, str(release_file(split)), split, start=len(records))
        return records

    return read
