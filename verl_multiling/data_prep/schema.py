"""The verl dataset row this plugin trains and evaluates on, and its validation.

One row (one parquet record) per question and language::

    {
      "data_source": "mgsm/fr",                 # f"{dataset}/{lang}": verl's validation groups
                                                 #   its metrics by data_source -> one line per language
      "prompt": [{"role": "user", "content": "...question...\\n\\n...instruction..."}],
      "ability": "math",
      "reward_model": {"style": "rule", "ground_truth": "18"},
      "lang": "fr",                              # query language (multiling.lang_key)
      "question_en": "Janet's ducks ..." | None, # the English parallel question, when one exists
      "extra_info": {"index": 0, "id": "mgsm-0", "split": "test", "lang": "fr",
                     "question": "...", "question_en": "..." | None, "dataset": "mgsm"},
    }

``reward_model.ground_truth`` is what the reward managers read; ``lang`` is the column
``multiling.lang_key`` names (default ``lang``); ``question_en`` is TAPO's translation reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

__all__ = [
    "REQUIRED_COLUMNS",
    "Record",
    "SchemaError",
    "check_language",
    "make_row",
    "validate_row",
    "validate_rows",
]

@dataclass(frozen=True)
class Record:
    """One question in one language, before templating (what every source yields)."""

    qid: str
    index: int
    lang: str
    question: str
    answer: Any
    question_en: str | None = None
    split: str = "test"


#: Columns every row has (``question_en`` may be ``None``).
REQUIRED_COLUMNS: tuple[str, ...] = (
    "data_source", "prompt", "ability", "reward_model", "lang", "question_en", "extra_info",
)
_ISO_639_1 = re.compile(r"^[a-z]{2}$")


class SchemaError(ValueError):
    """A source record or a built row does not have the expected fields."""


def check_language(code: Any, allowed: Iterable[str], where: str) -> str:
    """Normalise ``code`` (strip, lower case) and check it is one of ``allowed``.

    >>> check_language(" FR ", ["fr", "de"], "--languages")
    'fr'

    Raises:
        SchemaError: not a two-letter ISO 639-1 code, or not in ``allowed`` (the message
            names ``where`` and lists the valid codes).
    """
    allowed = sorted(set(allowed))
    text = str(code).strip().lower() if code is not None else ""
    if not _ISO_639_1.match(text):
        raise SchemaError(
            f"{where}: {code!r} is not an ISO 639-1 language code (two letters such as 'fr'); "
            f"valid codes: {allowed}"
        )
    if text not in allowed:
        raise SchemaError(f"{where}: unknown language code {code!r}; valid codes: {allowed}")
    return text


def make_row(
    *,
    dataset: str,
    lang: str,
    index: int,
    question: str,
    answer: Any,
    prompt: list[dict[str, str]],
    question_en: str | None = None,
    split: str = "test",
    qid: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One verl row (see the module docstring); ``data_source = f"{dataset}/{lang}"``.

    >>> row = make_row(dataset="mmath", lang="fr", index=3, question="q", answer=18,
    ...                prompt=[{"role": "user", "content": "q"}])
    >>> row["data_source"], row["reward_model"]["ground_truth"], row["extra_info"]["id"]
    ('mmath/fr', '18', 'mmath-3')
    """
    gold = _gold_string(answer, f"{dataset}/{lang} question {index}")
    info = {
        "index": int(index),
        "id": qid if qid is not None else f"{dataset}-{index}",
        "split": split,
        "dataset": dataset,
        "lang": lang,
        "question": question,
        "question_en": question_en,
    }
    if extra:
        info.update(extra)
    return {
        "data_source": f"{dataset}/{lang}",
        "prompt": prompt,
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": gold},
        "lang": lang,
        "question_en": question_en,
        "extra_info": info,
    }


def _gold_string(answer: Any, where: str) -> str:
    """The gold answer as a string; integral floats lose their ``.0`` (MGSM stores 18.0)."""
    if isinstance(answer, float) and answer.is_integer():
        answer = int(answer)
    text = "" if answer is None else str(answer).strip()
    if not text or text.lower() == "nan":
        raise SchemaError(f"{where}: empty gold answer; every row needs reward_model.ground_truth")
    return text


def validate_row(row: Mapping[str, Any], position: int = 0) -> None:
    """Check one built row against the schema.

    Raises:
        SchemaError: naming the row position, the field and the fix.
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in row]
    if missing:
        raise SchemaError(f"row {position}: missing column(s) {missing}; build rows with make_row()")
    prompt = row["prompt"]
    if hasattr(prompt, "tolist") and not isinstance(prompt, (str, bytes)):
        prompt = prompt.tolist()  # a numpy array of dicts, as read back from parquet
    if (
        not isinstance(prompt, (list, tuple))
        or not prompt
        or not all(isinstance(m, Mapping) and {"role", "content"} <= set(m) for m in prompt)
    ):
        raise SchemaError(
            f"row {position}: 'prompt' must be a non-empty list of chat messages "
            "{'role': ..., 'content': ...}"
        )
    reward = row["reward_model"]
    if not isinstance(reward, Mapping) or not str(reward.get("ground_truth", "")).strip():
        raise SchemaError(f"row {position}: reward_model.ground_truth is missing or empty")
    lang = row["lang"]
    if not isinstance(lang, str) or not _ISO_639_1.match(lang):
        raise SchemaError(f"row {position}: 'lang' must be an ISO 639-1 code, got {lang!r}")
    if row["data_source"] != f"{row['extra_info'].get('dataset')}/{lang}":
        raise SchemaError(
            f"row {position}: data_source {row['data_source']!r} must be '<dataset>/<lang>' "
            "so that verl's validation reports each language separately"
        )


def validate_rows(rows: Iterable[Mapping[str, Any]]) -> int:
    """Validate every row; return how many there were. Duplicate (data_source, id) pairs fail."""
    seen: set[tuple[str, str]] = set()
    count = 0
    for position, row in enumerate(rows):
        validate_row(row, position)
        key = (row["data_source"], str(row["extra_info"].get("id")))
        if key in seen:
            raise SchemaError(f"row {position}: duplicate question id {key[1]!r} in {key[0]!r}")
        seen.add(key)
        count += 1
    return count
