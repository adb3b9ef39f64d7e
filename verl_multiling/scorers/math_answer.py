r"""Is a model's final answer to a maths problem correct? A bounded, never-raising check.

:func:`check_answer` reads the answer in the last ``\boxed{..}`` (or ``\fbox{..}``) after
the last ``</think>``, and counts it correct when

1. it and the gold answer are both plain numbers in any script and separator convention
   (:mod:`verl_multiling.scorers.numerals`) and
   :func:`~verl_multiling.scorers.numerals.numbers_match` says they are equal: exactly,
   or after rounding to 6 decimal places when either is written with decimal places (as
   math-verify does), a percentage also matching its hundredth. No math-verify call, so
   the usual integer case costs microseconds; or otherwise
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

Time bound. math-verify's own timeouts use ``signal.alarm`` and raise ``ValueError`` off
the main thread, where verl's reward loop calls scoring (``run_in_executor``). So:

* in the main thread, math-verify runs in-process (its own timeouts off) under a
  ``setitimer`` wall-clock alarm of ``timeout_s`` (the caller's alarm and handler, if
  any, are restored afterwards);
* elsewhere it runs in a lazily started, module-level ``spawn`` process pool
  (``VERL_MULTILING_MATH_WORKERS`` workers, default 2). A caller first waits for a free
  worker (that wait is not counted), then at most ``timeout_s``: the worker stops itself
  at 80% of it with the same alarm, and if it has not answered by ``timeout_s`` (stuck in
  C code that signals cannot interrupt), the pool is shut down without waiting, its
  processes are killed, and the next call starts a fresh, warmed-up pool (about a second;
  starting a pool is never counted against a call). Calls in flight on a killed pool are
  retried on the new one, each attempt with the full ``timeout_s``, at most 3 attempts.

Either way a timeout gives ``AnswerCheck(False, "timeout")`` and any math-verify failure
``AnswerCheck(False, "verifier_error")``: :func:`check_answer` never raises on its inputs.
As with any ``spawn`` pool, a script that calls it off the main thread must keep its
top-level code under ``if __name__ == "__main__":`` (workers re-import the main module).
The main-thread alarm, like math-verify's own, interrupts Python code only: a computation
stuck in C is bounded only in the pool, where the worker is killed.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Callable

from verl_multiling.scorers.numerals import numbers_match, to_ascii_digits

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
    }
)
#: A boxed answer longer than this is not an answer (it also bounds the brace scan).
MAX_BOXED_CHARS = 10_000

_WORKERS_ENV = "VERL_MULTILING_MATH_WORKERS"
_DEFAULT_WORKERS = 2
_WORKER_SHARE = 0.8  # a worker stops itself at this share of timeout_s
_POOL_START_TIMEOUT_S = 120.0  # spawning and importing math-verify in fresh workers
_POOL_ATTEMPTS = 3  # a call whose pool was killed under it is retried this often


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
    reason = _verify_bounded(
        _latex_for_verifier(predicted), _latex_for_verifier(gold_answer), timeout_s
    )
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


def _verify_reason(pred_latex: str, gold_latex: str, seconds: float) -> str:
    """math-verify's verdict as a reason, bounded by an alarm. Runs in a main thread; top
    level so that it pickles into pool workers."""
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
    """In the main thread in-process; elsewhere through the worker pool."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _verify_reason(pred_latex, gold_latex, timeout_s)
    try:
        return _POOL.call(
            _verify_reason, (pred_latex, gold_latex, timeout_s * _WORKER_SHARE), timeout_s
        )
    except TimeoutError:
        return TIMEOUT
    except Exception as error:  # noqa: BLE001 - pool start-up failed or kept breaking
        logger.warning("math-verify worker pool failed: %r; scored as %r", error, VERIFIER_ERROR)
        return VERIFIER_ERROR


# --- the worker pool ---------------------------------------------------------------------
def _warm_up_worker() -> None:
    """Pool initializer: import math-verify and fill its caches before taking calls."""
    _verify_reason(r"\boxed{\frac{1}{2}}", r"\boxed{0.5}", 30.0)


def _pool_size() -> int:
    try:
        return max(1, int(os.environ.get(_WORKERS_ENV, _DEFAULT_WORKERS)))
    except ValueError:
        return _DEFAULT_WORKERS


def _kill(executor: ProcessPoolExecutor) -> None:
    """Shut ``executor`` down without waiting and kill its worker processes."""
    try:
        processes = list((getattr(executor, "_processes", None) or {}).values())
    except RuntimeError:  # changed size while copied: the manager thread is reaping
        processes = []
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()


class _WorkerPool:
    """A lazily started ``spawn`` process pool whose stuck workers are killed, not awaited.

    At most ``size`` calls are in flight (one per worker), so a call's time limit counts
    its own work, not a queue. Forked children start with a fresh, empty pool.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._slots: threading.BoundedSemaphore | None = None

    def _slot(self) -> threading.BoundedSemaphore:
        with self._lock:
            if self._slots is None:
                self._slots = threading.BoundedSemaphore(_pool_size())
            return self._slots

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = self._start()
            return self._executor

    @staticmethod
    def _start() -> ProcessPoolExecutor:
        size = _pool_size()
        executor = ProcessPoolExecutor(
            max_workers=size,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_warm_up_worker,
        )
        try:  # one submission per worker starts them all (spawned on demand)
            for future in [executor.submit(os.getpid) for _ in range(size)]:
                future.result(timeout=_POOL_START_TIMEOUT_S)
        except BaseException:
            _kill(executor)
            raise
        return executor

    def recycle(self, executor: ProcessPoolExecutor) -> None:
        """Drop ``executor`` (if still current) and kill its processes."""
        with self._lock:
            if self._executor is executor:
                self._executor = None
        _kill(executor)

    def call(self, fn: Callable[..., Any], args: tuple, timeout_s: float) -> Any:
        """``fn(*args)`` in a worker; ``TimeoutError`` if it takes more than ``timeout_s``."""
        with self._slot():
            for _ in range(_POOL_ATTEMPTS):
                executor = self._current()
                try:
                    future = executor.submit(fn, *args)
                except (BrokenProcessPool, RuntimeError):  # shut down by another call
                    self.recycle(executor)
                    continue
                try:
                    return future.result(timeout=timeout_s)
                except TimeoutError:
                    self.recycle(executor)
                    raise
                except BrokenProcessPool:  # killed under us (another call's timeout, a crash)
                    self.recycle(executor)
            raise BrokenProcessPool(f"worker pool broke {_POOL_ATTEMPTS} times in a row")


_POOL = _WorkerPool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_POOL._reset)
