r"""Is a model's final answer to a maths problem correct? A bounded, never-raising check.

:func:`check_answer` reads the answer in the last ``\boxed{..}`` (or ``\fbox{..}``) after
the last ``</think>``, and counts it correct when

1. it and the gold answer are both plain numbers in any script and separator convention
   (:mod:`verl_multiling.scorers.numerals`) and
   :func:`~verl_multiling.scorers.numerals.numbers_match` says they are equal: exactly,
   or after rounding to 6 decimal places when either is written with decimal places (as
   math-verify does), a percentage also matching its hundredth. No math-verify call, so
   the usual integer case costs microseconds (a plain numeral of up to 10,000 characters,
   ``-123...45.6...``, is read exactly too: about a millisecond for 10,000 digits); or otherwise
2. math-verify 0.9.0 finds them equivalent (``\frac{\sqrt2}{2}`` = ``\frac{1}{\sqrt{2}}``,
   ``(x+1)^2`` = ``x^2+2x+1``), parsing the gold as ``\boxed{gold}`` with
   ``LatexExtractionConfig()`` and the prediction as ``\boxed{answer}`` with
   ``(ExprExtractionConfig(), LatexExtractionConfig())``, as verl does. Native digits are
   made ASCII and LaTeX digit-group spaces (``1\,000``) and decimal commas (``1{,}5``)
   are normalised first, as math-verify misreads them.

A response without a boxed answer is wrong (``no_answer``), even if it states a number in
prose: AdaMame's prompts ask for ``\boxed{}``, and rewarding prose answers would reward
ignoring the format. If the last ``\boxed`` is never closed (a truncated response), there
is no answer either.

Cost bound. Before math-verify, :func:`~verl_multiling.scorers.answer_complexity.too_complex`
reads the answer (microseconds, no sympy) and rejects what sympy cannot afford -- a tower like
``9^{9^{9^{9}}}``, ``(10^{10})!``, ``(x+1)^{1000}``, ``\prod_{k=1}^{10^{6}} 2k``, brackets nested
more than 10 deep (the ``\boxed{}`` included) -- as
``AnswerCheck(False, "too_complex")`` (unless the gold answer is as complex: then math-verify, bounded
as below, decides). It is a verdict on the answer, not a verifier failure.

Time bound. math-verify's own timeouts use ``signal.alarm`` and raise ``ValueError`` off
the main thread, where verl's reward loop calls scoring (``run_in_executor``). So:

* in the main thread, math-verify runs in-process (its own timeouts off) under a
  ``setitimer`` wall-clock alarm of ``timeout_s`` (the caller's alarm and handler, if
  any, are restored afterwards);
* elsewhere it runs in lazily started ``spawn`` worker processes
  (``VERL_MULTILING_MATH_WORKERS`` workers, default 2, plus ``VERL_MULTILING_MATH_SPARES`` warm
  spares, default 1). A caller first waits for a free worker (that wait is not counted), then at
  most ``timeout_s``: the worker stops itself at 80% of it with the same alarm, and if it has not
  answered by ``timeout_s`` (and at least 1 s after that alarm: stuck in C code that signals cannot
  interrupt), that worker alone is killed, without waiting, and the warm spare takes its place at once while a new spare starts in
  the background (starting a worker is never counted against a call). A call whose worker died
  under it is retried on another, each attempt with the full ``timeout_s``, at most 3 attempts.
  Workers that cannot start (a low ``ulimit -n``) make every call fail at once for the next 30 s.
* a per-process budget of slow answers: once 2 calls (``VERL_MULTILING_MATH_SLOW_CALLS``) hit their
  limit within 60 s (``..._SLOW_WINDOW_S``), the limit drops to 1 s (``..._DEGRADED_TIMEOUT_S``) until
  the window holds fewer, so a flood of answers the pre-check does not know costs about a second
  each, not ``timeout_s`` each.

Either way a timeout gives ``AnswerCheck(False, "timeout")`` and any math-verify failure
``AnswerCheck(False, "verifier_error")``: :func:`check_answer` never raises on its inputs.
As with any ``spawn`` pool, a script that calls it off the main thread must keep its
top-level code under ``if __name__ == "__main__":`` (workers re-import the main module).
The main-thread alarm, like math-verify's own, interrupts Python code only: a computation
stuck in C is bounded only in the pool, where the worker is killed.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from verl_multiling.scorers.answer_complexity import too_complex
from verl_multiling.scorers.numerals import numbers_match, to_ascii_digits
from verl_multiling.plumbing.worker_pool import WorkerPool

__all__ = [
    "AnswerCheck",
    "EMPTY_GOLD",
    "EMPTY_RESPONSE",
    "MATH_VERIFY_MATCH",
    "MATH_VERIFY_MISMATCH",
    "MAX_BOXED_CHARS",
    "NO_ANSWER",
    "NUMERIC_MATCH",
    "NUMERIC_MISMATCH",
    "REASONS",
    "TIMEOUT",
    "TOO_COMPLEX",
    "VERIFIER_ERROR",
    "check_answer",
    "extract_boxed",
]

logger = logging.getLogger(__name__)

NUMERIC_MATCH = "numeric_match"
NUMERIC_MISMATCH = "numeric_mismatch"
MATH_VERIFY_MATCH = "math_verify_match"
MATH_VERIFY_MISMATCH = "math_verify_mismatch"
NO_ANSWER = "no_answer"
EMPTY_RESPONSE = "empty_response"
EMPTY_GOLD = "empty_gold"
TIMEOUT = "timeout"
VERIFIER_ERROR = "verifier_error"
TOO_COMPLEX = "too_complex"
#: Every value :attr:`AnswerCheck.reason` can take.
REASONS = frozenset(
    {
        NUMERIC_MATCH,
        NUMERIC_MISMATCH,
        MATH_VERIFY_MATCH,
        MATH_VERIFY_MISMATCH,
        NO_ANSWER,
        EMPTY_RESPONSE,
        EMPTY_GOLD,
        TIMEOUT,
        VERIFIER_ERROR,
        TOO_COMPLEX,
    }
)
#: A boxed answer longer than this is not an answer (it also bounds the brace scan).
MAX_BOXED_CHARS = 10_000

_WORKERS_ENV = "VERL_MULTILING_MATH_WORKERS"
_DEFAULT_WORKERS = 2
_SPARES_ENV = "VERL_MULTILING_MATH_SPARES"
_DEFAULT_SPARES = 1  # warm spare processes that replace a killed worker at once
_WORKER_SHARE = 0.8  # a worker stops itself at this share of timeout_s
_KILL_GRACE_S = 1.0  # a worker is killed no sooner than this after its own alarm (a C call may still return)
_POOL_ATTEMPTS = 3  # a call whose worker died under it is retried this often
_SLOW_CALLS_ENV = "VERL_MULTILING_MATH_SLOW_CALLS"
_SLOW_CALLS = 2  # timed-out calls within the window that make a flood: the limit drops (ours)
_SLOW_WINDOW_ENV = "VERL_MULTILING_MATH_SLOW_WINDOW_S"
_SLOW_WINDOW_S = 60.0  # the budget's sliding window, about a training step's scoring (ours)
_DEGRADED_TIMEOUT_ENV = "VERL_MULTILING_MATH_DEGRADED_TIMEOUT_S"
_DEGRADED_TIMEOUT_S = 1.0  # the limit while the budget is spent (ours; legitimate answers take < 1 s)


@dataclass(frozen=True)
class AnswerCheck:
    """The verdict on one response: ``correct``, why (one of :data:`REASONS`), and the
    extracted answer (``None`` when there was none)."""

    correct: bool
    reason: str
    predicted: str | None = None


# --- extraction --------------------------------------------------------------------------
_THINK_END = "</think>"
_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)[ \t\n]*\{")
_BRACE_TOKEN = re.compile(r"\\.|[{}]", re.DOTALL)


def extract_boxed(text: str) -> str | None:
    r"""The stripped content of the last ``\boxed{..}`` or ``\fbox{..}``, else ``None``.

    Only the part after the last ``</think>`` is searched when there is one. Braces nest;
    escaped braces ``\{ \}`` do not count. If the last box is not closed within
    :data:`MAX_BOXED_CHARS` characters, the result is ``None``. Linear time.

    >>> extract_boxed(r"so \boxed{3} ... finally \boxed{\frac{1}{2}}.")
    '\\frac{1}{2}'
    >>> extract_boxed(r"\boxed{\{1, 2\}}"), extract_boxed(r"<think>\boxed{1}</think> 2")
    ('\\{1, 2\\}', None)
    >>> extract_boxed(r"\boxed{18") is None, extract_boxed(r"\fbox{ 7 }")
    (True, '7')
    """
    if not isinstance(text, str):
        return None
    think_end = text.rfind(_THINK_END)
    start = 0 if think_end < 0 else think_end + len(_THINK_END)
    opening = None
    for opening in _BOX_OPEN.finditer(text, start):
        pass
    if opening is None:
        return None
    depth = 1
    stop = min(len(text), opening.end() + MAX_BOXED_CHARS)
    for token in _BRACE_TOKEN.finditer(text, opening.end(), stop):
        if token.group() == "{":
            depth += 1
        elif token.group() == "}":
            depth -= 1
            if depth == 0:
                return text[opening.end() : token.start()].strip()
    return None


# --- checking ----------------------------------------------------------------------------
_MATH_DELIMITERS = re.compile(r"\$+(.*?)\$+|\\\((.*)\\\)|\\\[(.*)\\\]", re.DOTALL)


def _gold_answer(gold: object) -> str:
    """The gold answer as text: ``18``, ``\\boxed{18}``, ``$18$`` and 18 all give ``18``."""
    if gold is None:
        return ""
    text = (gold if isinstance(gold, str) else str(gold)).strip()
    boxed = extract_boxed(text)
    if boxed is not None:
        return boxed
    delimited = _MATH_DELIMITERS.fullmatch(text)
    if delimited:
        text = next(group for group in delimited.groups() if group is not None)
    return text.strip()


def check_answer(
    response: str, gold: object, lang: str | None = None, timeout_s: float = 5.0
) -> AnswerCheck:
    r"""Whether ``response``'s boxed answer equals ``gold`` (see the module docstring).

    ``gold`` may be ``"18"``, ``"\\boxed{18}"``, ``"$18$"``, ``"1,000"``, ``"\\frac{1}{2}"``
    or a number, written in the ASCII/English convention; ``lang`` (``"de"``, ``"bn"``,
    ...) decides ambiguous separators in the response
    (:mod:`~verl_multiling.scorers.numerals`). ``timeout_s`` bounds the time spent
    in math-verify; it must be positive. Never raises on ``response``/``gold`` content.

    >>> check_answer(r"... so the answer is \boxed{১৮}", "18")
    AnswerCheck(correct=True, reason='numeric_match', predicted='১৮')
    >>> check_answer(r"\boxed{1{,}5}", "1.5", lang="de").correct
    True
    >>> check_answer(r"\boxed{17}", "18")
    AnswerCheck(correct=False, reason='numeric_mismatch', predicted='17')
    >>> check_answer("The answer is 18.", "18")
    AnswerCheck(correct=False, reason='no_answer', predicted=None)
    """
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be positive, got {timeout_s!r}")
    gold_answer = _gold_answer(gold)
    if not gold_answer:
        return AnswerCheck(False, EMPTY_GOLD)
    if response is None or not str(response).strip():
        return AnswerCheck(False, EMPTY_RESPONSE)
    predicted = extract_boxed(str(response))
    if not predicted:
        return AnswerCheck(False, NO_ANSWER, predicted)
    same = numbers_match(predicted, gold_answer, lang)
    if same is not None:
        return AnswerCheck(same, NUMERIC_MATCH if same else NUMERIC_MISMATCH, predicted)
    pred_latex, gold_latex = _latex_for_verifier(predicted), _latex_for_verifier(gold_answer)
    if too_complex(pred_latex) is not None and too_complex(gold_latex) is None:
        return AnswerCheck(False, TOO_COMPLEX, predicted)
    reason = _verify_bounded(pred_latex, gold_latex, timeout_s)
    return AnswerCheck(reason == MATH_VERIFY_MATCH, reason, predicted)


# --- math-verify -------------------------------------------------------------------------
_DIGIT_GROUP_SPACE = re.compile(r"(?<=\d)(?:\\[,;: ]|~|[ \u00a0\u2009\u202f])(?=\d{3}(?!\d))")
_BRACED_COMMA = re.compile(r"(?<=\d)\{,\}(?=(\d{3}(?!\d))?)")
_BRACED_DOT = re.compile(r"\{\.\}")


def _latex_for_verifier(answer: str) -> str:
    r"""``\boxed{answer}`` in a form math-verify reads as intended.

    >>> _latex_for_verifier(r"x = ١\,٠٠٠ + 1{,}5 - 2{,}000")
    '\\boxed{x = 1000 + 1.5 - 2,000}'
    """
    text = to_ascii_digits(answer).replace("\\!", "")
    text = _DIGIT_GROUP_SPACE.sub("", text)
    text = _BRACED_COMMA.sub(lambda m: "," if m.group(1) else ".", text)
    return "\\boxed{" + _BRACED_DOT.sub(".", text) + "}"


class _TimeoutDisabledFilter(logging.Filter):
    """Drops math-verify's "Timeout is disabled" warning: the bound is enforced here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timeout is disabled")


def _math_verify_equal(pred_latex: str, gold_latex: str) -> bool:
    """math-verify's verdict with its own (signal-based) timeouts off."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    gold = parse(gold_latex, extraction_config=[LatexExtractionConfig()], parsing_timeout=None)
    pred = parse(
        pred_latex,
        extraction_config=[ExprExtractionConfig(), LatexExtractionConfig()],
        parsing_timeout=None,
    )
    return bool(verify(gold, pred, timeout_seconds=None))


for _name in ("math_verify.parser", "math_verify.grader"):
    logging.getLogger(_name).addFilter(_TimeoutDisabledFilter())


class _Deadline(BaseException):
    """Raised by the alarm; a BaseException so math-verify's ``except Exception`` lets it by."""


def _raise_deadline(signum: int, frame: Any) -> None:
    raise _Deadline


def _call_with_alarm(fn: Callable[..., Any], args: tuple, seconds: float) -> Any:
    """``fn(*args)`` in the main thread, interrupted by :class:`_Deadline` after ``seconds``.

    The caller's SIGALRM handler and any running ``ITIMER_REAL`` timer are restored.
    """
    previous_handler = signal.signal(signal.SIGALRM, _raise_deadline)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-6))
    started = time.monotonic()
    try:
        try:
            return fn(*args)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay > 0:
            remaining = max(previous_delay - (time.monotonic() - started), 1e-6)
            signal.setitimer(signal.ITIMER_REAL, remaining, previous_interval)


_logged_errors: set[str] = set()


#: checked once by every process (worker or main thread) before its first real call: the code paths of numbers, surds and polynomials
#: (sympy loads its simplification machinery lazily: the first polynomial costs a fresh worker ~1 s)
_WARM_UP_PAIRS = ((r"\boxed{\frac{1}{2}}", r"\boxed{0.5}"),
                  (r"\boxed{\frac{\sqrt2}{2}}", r"\boxed{\frac{1}{\sqrt{2}}}"),
                  (r"\boxed{(x+1)^2}", r"\boxed{x^2+2x+1}"))


_warm_lock = threading.Lock()
_warm = False


def _ensure_warm() -> None:
    """Import math-verify and run :data:`_WARM_UP_PAIRS` once per process, with no alarm: an alarm that
    lands inside the first import (or one of sympy's lazy imports) leaves modules half-imported, and every
    later verdict of the process wrong (a NameError, or a silent mismatch)."""
    global _warm
    if _warm:
        return
    with _warm_lock:
        if not _warm:
            for pred, gold in _WARM_UP_PAIRS:
                try:
                    _math_verify_equal(pred, gold)
                except Exception:  # noqa: BLE001 - a broken install shows on the real call
                    break
            _warm = True


def _verify_reason(pred_latex: str, gold_latex: str, seconds: float) -> str:
    """math-verify's verdict as a reason, bounded by an alarm. Runs in a main thread; top
    level so that it pickles into pool workers."""
    _ensure_warm()
    try:
        if hasattr(signal, "setitimer"):
            equal = _call_with_alarm(_math_verify_equal, (pred_latex, gold_latex), seconds)
        else:  # no SIGALRM (Windows): only the pool's kill bounds the time
            equal = _math_verify_equal(pred_latex, gold_latex)
    except _Deadline:
        return TIMEOUT
    except Exception as error:  # noqa: BLE001 - any verifier failure is a verdict
        kind = type(error).__name__
        log = logger.debug if kind in _logged_errors else logger.warning
        _logged_errors.add(kind)
        log("math-verify failed with %s; scored as %r", kind, VERIFIER_ERROR, exc_info=True)
        return VERIFIER_ERROR
    return MATH_VERIFY_MATCH if equal else MATH_VERIFY_MISMATCH


def _verify_bounded(pred_latex: str, gold_latex: str, timeout_s: float) -> str:
    """In the main thread in-process; elsewhere through the worker pool. The limit is ``timeout_s``, or the
    degraded one while the slow budget is spent (:class:`_SlowBudget`); a timeout is charged to the budget."""
    limit = _BUDGET.limit(timeout_s)
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        reason = _verify_reason(pred_latex, gold_latex, limit)
    else:
        # the worker's own alarm stops Python code at 80 % of the limit; the kill (which costs a worker start)
        # waits for the limit, and at least _KILL_GRACE_S after the alarm for a C call to return
        alarm = limit * _WORKER_SHARE
        try:
            reason = _POOL.call(_verify_reason, (pred_latex, gold_latex, alarm), max(limit, alarm + _KILL_GRACE_S))
        except TimeoutError:
            reason = TIMEOUT
        except Exception as error:  # noqa: BLE001 - workers cannot start, or kept dying
            log = logger.debug if "pool" in _logged_errors else logger.warning
            _logged_errors.add("pool")
            log("math-verify workers failed: %r; scored as %r", error, VERIFIER_ERROR)
            return VERIFIER_ERROR
    if reason == TIMEOUT:
        _BUDGET.charge()
    return reason


# --- the worker pool ---------------------------------------------------------------------
def _warm_up_worker() -> None:
    """Worker start-up: import math-verify and fill its caches before taking calls."""
    _ensure_warm()


def _env_number(name: str, default: float, minimum: float, cast: Callable[[str], float] = float) -> float:
    try:
        return max(minimum, cast(os.environ.get(name, default)))
    except ValueError:
        return default


def _pool_size() -> int:
    return int(_env_number(_WORKERS_ENV, _DEFAULT_WORKERS, 1, int))


def _spare_count() -> int:
    return int(_env_number(_SPARES_ENV, _DEFAULT_SPARES, 0, int))


class _SlowBudget:
    """The per-worker-process budget of answers that hit the verifier's limit.

    Once ``_SLOW_CALLS`` calls ended in a timeout within the last ``_SLOW_WINDOW_S`` seconds, each call's limit
    drops to ``_DEGRADED_TIMEOUT_S`` (if lower than its ``timeout_s``): a flood of answers the pre-check cannot
    recognise (:mod:`.answer_complexity`) then costs about a second each instead of ``timeout_s``, and the full
    limit comes back once the window holds fewer timeouts. An answer that needs more than the degraded limit
    during a flood scores ``timeout`` (counted: ``verify_failed``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._timeouts: list[float] = []

    def limit(self, timeout_s: float) -> float:
        window = _env_number(_SLOW_WINDOW_ENV, _SLOW_WINDOW_S, 0.0)
        allowed = _env_number(_SLOW_CALLS_ENV, _SLOW_CALLS, 1, int)
        now = time.monotonic()
        with self._lock:
            self._timeouts = [t for t in self._timeouts if now - t <= window]
            flood = len(self._timeouts) >= allowed
        return min(timeout_s, _env_number(_DEGRADED_TIMEOUT_ENV, _DEGRADED_TIMEOUT_S, 1e-3)) if flood else timeout_s

    def charge(self) -> None:
        with self._lock:
            self._timeouts.append(time.monotonic())

    def reset(self) -> None:
        with self._lock:
            self._timeouts = []


#: the shared killable pool (:mod:`verl_multiling.plumbing.worker_pool`): a worker overrunning a call is killed alone
#: and a warm spare takes its place; a worker that died under a call is replaced and the call retried
_POOL = WorkerPool("math-verify", warm_up=_warm_up_worker, size=_pool_size, spares=_spare_count,
                   attempts=_POOL_ATTEMPTS)
_BUDGET = _SlowBudget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_BUDGET.reset)
