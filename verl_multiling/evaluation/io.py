"""Read generation files (JSONL or parquet) into records; count tokens.

JSONL files are read with :mod:`verl_multiling.plumbing.resumable_jsonl` (the writer of ``verl-multiling generate``):
a torn last line left by a killed writer, even one cut inside a multi-byte UTF-8 character, is ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from verl_multiling.plumbing.resumable_jsonl import read_records

__all__ = ["read_generations", "read_jsonl_tolerant", "token_counter"]


def read_jsonl_tolerant(path: str | Path, hint: str | None = None) -> list[dict[str, Any]]:
    """Records of a JSONL file (one JSON object a line); a torn last line (a killed writer) is ignored.

    Raises:
        ValueError (:class:`~verl_multiling.plumbing.resumable_jsonl.BadLinesError`): a complete line that is not a
        JSON object, naming the file, line numbers and how to move the bad lines aside (``hint``).
    """
    return read_records(path, hint=hint)[0]


def read_generations(path: str | Path) -> list[dict[str, Any]]:
    """Records of a ``.jsonl`` or ``.parquet`` generation file; ``run`` defaults to the file stem.

    Raises:
        FileNotFoundError: no such file.
        ValueError: another suffix.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"generation file {path} not found")
    if path.suffix == ".parquet":
        import pandas as pd

        records = pd.read_parquet(path).to_dict("records")
    elif path.suffix in (".jsonl", ".json"):
        records = read_jsonl_tolerant(path)
    else:
        raise ValueError(f"{path}: generation files must be .jsonl or .parquet")
    for record in records:
        if not record.get("run"):
            record["run"] = path.stem
    return records


def token_counter(name: str | Path | None = None) -> Callable[[str], int]:
    """A function counting the tokens of a text (no special tokens added).

    ``name``: a tokenizer directory or hub name; ``None`` = the offline Qwen2.5 tokenizer
    (:func:`verl_multiling.plumbing.offline_tokenizer.offline_tokenizer_dir`). A directory holding
    ``tokenizer.json`` is read with ``tokenizers`` directly (no transformers import, ~1 s);
    anything else goes through ``transformers.AutoTokenizer``.
    """
    if name is None:
        from verl_multiling.plumbing.offline_tokenizer import offline_tokenizer_dir

        name = offline_tokenizer_dir()
    path = Path(name)
    if (path / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        fast = Tokenizer.from_file(str(path / "tokenizer.json"))
        return lambda text: len(fast.encode(text, add_special_tokens=False).ids)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(name))
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False))
