"""Read generation files (JSONL or parquet) into records, and append JSONL safely."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

__all__ = ["append_jsonl", "read_generations", "read_jsonl_tolerant", "token_counter"]


def read_jsonl_tolerant(path: str | Path) -> list[dict[str, Any]]:
    """Records of a JSONL file; a truncated last line (a killed writer) is ignored.

    Raises:
        ValueError: a malformed line that is not the last one (naming the line number).
    """
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")
    records = []
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number == last:
                break
            raise ValueError(f"{path}:{number + 1}: not valid JSON ({exc})") from exc
    return records


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


def append_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Append records (one JSON object a line, flushed per line); returns how many.

    If the file ends in a partial line (a killed writer), that fragment is cut first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size:
        data = path.read_bytes()
        if not data.endswith(b"\n"):
            path.write_bytes(data[: data.rfind(b"\n") + 1])
    count = 0
    with open(path, "a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            count += 1
    return count


def token_counter(name: str | Path | None = None) -> Callable[[str], int]:
    """A function counting the tokens of a text (no special tokens added).

    ``name``: a tokenizer directory or hub name; ``None`` = the offline Qwen2.5 tokenizer
    (:func:`verl_multiling.offline_tokenizer.offline_tokenizer_dir`). A directory holding
    ``tokenizer.json`` is read with ``tokenizers`` directly (no transformers import, ~1 s);
    anything else goes through ``transformers.AutoTokenizer``.
    """
    if name is None:
        from verl_multiling.offline_tokenizer import offline_tokenizer_dir

        name = offline_tokenizer_dir()
    path = Path(name)
    if (path / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        fast = Tokenizer.from_file(str(path / "tokenizer.json"))
        return lambda text: len(fast.encode(text, add_special_tokens=False).ids)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(name))
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False))
