"""What happens when a model-based scorer raises, hangs or loses its Ray actor: the fault policy.

The policy (``multiling.faults``, every recipe repeats the defaults) applies to the scorers that can
fail for reasons outside one rollout: TAPO's COMET/CometKiwi service and PB-RLSVR's semantic encoder.
A call to such a scorer goes through a :class:`ScorerGuard`:

1. **timeout** -- a call that has not returned after ``timeout_s`` counts as failed (a hung model or
   actor never blocks a reward worker for longer);
2. **retry** -- a failed call is tried again up to ``retries`` times, after ``backoff_s * 2**(k-1)``
   seconds (a dead Ray actor is re-created on the retry, see ``scoring_service.RemoteScorer``);
3. **on_failure** -- when every attempt failed:

   * ``fallback`` (default): the segments are scored by the lexical fallback (chrF, in process); the
     sample carries ``scorer_fallback=1`` and a reason (``trans_reason=scorer_fallback`` for TAPO);
   * ``zero``: the component scores 0 with ``scorer_error=1`` (the sample's other parts still count);
   * ``stop``: :class:`ScorerFailure` propagates out of the reward manager and stops the run with a
     message that names the scorer, the cause and this knob.

4. **circuit breaker** -- after ``breaker_failures`` consecutive failed calls the guard stops calling
   the scorer for ``breaker_cooldown_s`` seconds and goes straight to step 3 (so an outage costs one
   timeout per cooldown, not one per rollout); then one call probes the scorer again.

Per-sample counts (``scorer_retries``, ``scorer_fallback``, ``scorer_error``, ``reward_error``,
``verify_failed``) travel in ``reward_extra_info``; the bridge trainers log their rates as
``multiling/faults/*`` and stop the run when more than ``max_error_rate`` of a step's rollouts could not
be scored (``reward_error=1``: scoring raised; or ``verify_failed=1``: the math verifier timed out or could
not run, e.g. its process pool cannot start, or the user's ``reward.custom_reward_function`` raised, hung or
returned no number, so the answer scored 0 unchecked): training on a batch of silent zeros is worse than
stopping. The custom task function goes through the same guard (:mod:`verl_multiling.reward_managers.task`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

logger = logging.getLogger(__name__)

# reward_extra_info columns whose batch means are logged as multiling/faults/<name>_rate
FAULT_COLUMNS = ("reward_error", "scorer_error", "scorer_fallback", "verify_failed")
# a rollout with any of these at 1 could not be scored: its share is multiling/faults/unscored_rate, which
# max_error_rate bounds
UNSCORED_COLUMNS = ("reward_error", "verify_failed")

T = TypeVar("T")


class ScorerFailure(RuntimeError):
    """A scorer failed every attempt under ``on_failure=stop``: reward managers re-raise it."""


class ScorerUnavailable(RuntimeError):
    """A scorer failed every attempt and there is no fallback (``on_failure=zero``, or none exists)."""


@dataclass(frozen=True)
class FaultPolicy:
    retries: int = 2  # extra attempts of a failed scorer call
    backoff_s: float = 1.0  # wait before retry k: backoff_s * 2**(k-1)
    timeout_s: float = 300.0  # bound of one scorer call; a hung call counts as failed
    on_failure: str = "fallback"  # fallback (lexical chrF, counted) | zero (component 0, counted) | stop (raise)
    breaker_failures: int = 3  # consecutive failed calls that open the circuit breaker
    breaker_cooldown_s: float = 60.0  # while open, calls skip the scorer; then one call probes it again
    max_error_rate: float = 0.5  # bridge: stop when a larger share of a step's rollouts has reward_error=1

    @classmethod
    def from_node(cls, node: Any, path: str = "multiling.faults") -> FaultPolicy:
        """Read and validate ``multiling.faults`` (declared in :mod:`verl_multiling.config.knobs`); every error names
        its field and the fix."""
        from verl_multiling.config.knobs import FAULTS
        from verl_multiling.config.schema import load

        return cls.from_values(load({} if node is None else node, FAULTS, path))

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> FaultPolicy:
        """From values already validated by the schema (``knobs.FAULTS``)."""
        return cls(**{name: values[name] for name in cls.__dataclass_fields__})


@dataclass
class Outcome(Generic[T]):
    """The result of a guarded call: ``value``, how many retries it took, and whether it fell back."""

    value: T
    retries: int = 0
    fallback: bool = False


class ScorerGuard:
    """Run ``primary(*args)`` under the fault policy; see the module docstring for the steps.

    ``fallback(*args)`` (or None) scores the same inputs when every attempt failed and the policy is
    ``fallback``. Thread-safe: reward workers call it from many threads. ``counts`` holds ``calls``,
    ``retries``, ``timeouts``, ``failures`` (calls whose every attempt failed), ``fallbacks`` and
    ``breaker_skips``.

    >>> guard = ScorerGuard("demo", FaultPolicy(retries=1, backoff_s=0.0), fallback=lambda xs: [0.5] * len(xs))
    >>> def flaky(xs, _state={"n": 0}):
    ...     _state["n"] += 1
    ...     if _state["n"] == 1:
    ...         raise ConnectionError("first call fails")
    ...     return [1.0] * len(xs)
    >>> out = guard.call(flaky, ["a", "b"])
    >>> out.value, out.retries, out.fallback
    ([1.0, 1.0], 1, False)
    >>> out = guard.call(lambda xs: 1 / 0, ["a"])
    >>> out.value, out.fallback, guard.counts["fallbacks"]
    ([0.5], True, 1)
    """

    def __init__(self, name: str, policy: FaultPolicy, fallback: Callable[..., T] | None = None,
                 clock: Callable[[], float] = time.monotonic, bounded: bool = False):
        self.name, self.policy, self.fallback = name, policy, fallback
        self.bounded = bounded  # primary enforces timeout_s itself (raising TimeoutError): called inline
        self.counts: Counter[str] = Counter()
        self.last_error: BaseException | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._consecutive_failures = 0
        self._open_until = 0.0

    def call(self, primary: Callable[..., T], *args: Any) -> Outcome[T]:
        with self._lock:
            self.counts["calls"] += 1
            skip = self._clock() < self._open_until
            if skip:
                self.counts["breaker_skips"] += 1
        retries = 0
        if not skip:
            for attempt in range(self.policy.retries + 1):
                if attempt:
                    retries += 1
                    with self._lock:
                        self.counts["retries"] += 1
                    time.sleep(self.policy.backoff_s * 2 ** (attempt - 1))
                try:
                    value = self._attempt(primary, args)
                except Exception as exc:
                    self._record_error(exc, attempt)
                    continue
                with self._lock:
                    self._consecutive_failures = 0
                return Outcome(value, retries)
        return self._give_up(args, retries, skipped=skip)

    def _attempt(self, primary: Callable[..., T], args: tuple) -> T:
        """One attempt on a daemon thread, abandoned after ``timeout_s`` (a hung call cannot be killed, but it
        no longer blocks the caller nor, being a daemon, the process's exit). A ``bounded`` primary (one that
        stops itself at ``timeout_s``, e.g. in a killable worker process) is called inline instead."""
        if self.bounded:
            try:
                return primary(*args)
            except TimeoutError:
                with self._lock:
                    self.counts["timeouts"] += 1
                raise
        box: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["value"] = primary(*args)
            except BaseException as exc:  # handed to the caller below
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=run, name=f"guard-{self.name}", daemon=True).start()
        if not done.wait(self.policy.timeout_s):
            with self._lock:
                self.counts["timeouts"] += 1
            raise TimeoutError(f"{self.name} did not answer within {self.policy.timeout_s:g}s "
                               "(multiling.faults.timeout_s)")
        if "error" in box:
            raise box["error"]
        return box["value"]

    def _record_error(self, exc: BaseException, attempt: int) -> None:
        with self._lock:
            first = not self.counts[f"error:{type(exc).__name__}"]
            self.counts[f"error:{type(exc).__name__}"] += 1
            self.last_error = exc
        if first:
            logger.warning("verl_multiling: %s failed (attempt %d of %d): %r", self.name, attempt + 1,
                           self.policy.retries + 1, exc)

    def _give_up(self, args: tuple, retries: int, skipped: bool) -> Outcome[T]:
        with self._lock:
            self.counts["failures"] += 1
            if not skipped:
                self._consecutive_failures += 1
                if self._consecutive_failures >= self.policy.breaker_failures:
                    self._open_until = self._clock() + self.policy.breaker_cooldown_s
                    logger.error("verl_multiling: %s failed %d calls in a row; skipping it for %gs "
                                 "(multiling.faults.breaker_cooldown_s), on_failure=%s", self.name,
                                 self._consecutive_failures, self.policy.breaker_cooldown_s, self.policy.on_failure)
            cause = self.last_error
        where = "its circuit breaker is open" if skipped else f"{retries + 1} attempts failed"
        if self.policy.on_failure == "stop":
            raise ScorerFailure(
                f"{self.name}: {where} (last error: {cause!r}); stopping because multiling.faults.on_failure=stop. "
                "Fix the scorer, or set on_failure=fallback (lexical chrF, counted) or zero") from cause
        if self.policy.on_failure == "fallback" and self.fallback is not None:
            with self._lock:
                self.counts["fallbacks"] += 1
            return Outcome(self.fallback(*args), retries, fallback=True)
        raise ScorerUnavailable(f"{self.name}: {where} (last error: {cause!r})") from cause

    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


def fault_metrics(columns: Mapping[str, np.ndarray], prefix: str = "multiling/faults") -> dict[str, float]:
    """Batch rates of the fault columns present in ``columns`` (None/NaN count as 0), and ``unscored_rate``:
    the share of rollouts with any :data:`UNSCORED_COLUMNS` flag (what ``max_error_rate`` bounds).

    >>> m = fault_metrics({"reward_error": np.array([0.0, 1.0, None, 0.0], dtype=object),
    ...                    "verify_failed": np.array([0.0, 1.0, 1.0, 0.0])})
    >>> m["multiling/faults/reward_error_rate"], m["multiling/faults/verify_failed_count"]
    (0.25, 2.0)
    >>> m["multiling/faults/unscored_rate"], m["multiling/faults/unscored_count"]
    (0.5, 2.0)
    """
    out: dict[str, float] = {}
    for key in FAULT_COLUMNS + ("scorer_retries",):
        values = _flags(columns, key)
        if values is None:
            continue
        name = "scorer_retries_mean" if key == "scorer_retries" else f"{key}_rate"
        out[f"{prefix}/{name}"] = float(values.mean())
        if key != "scorer_retries":
            out[f"{prefix}/{key}_count"] = float((values > 0).sum())
    unscored = _unscored(columns)
    if unscored is not None:
        out[f"{prefix}/unscored_rate"] = float(unscored.mean())
        out[f"{prefix}/unscored_count"] = float(unscored.sum())
    return out


def check_error_rate(columns: Mapping[str, np.ndarray], policy: FaultPolicy, step: int | None = None) -> None:
    """Raise when more than ``max_error_rate`` of the batch could not be scored: ``reward_error=1`` (scoring
    raised) or ``verify_failed=1`` (the math verifier timed out or could not run).

    >>> check_error_rate({"reward_error": np.array([1.0, 0.0])}, FaultPolicy(max_error_rate=0.5))
    >>> check_error_rate({"reward_error": np.array([1.0, 0.0, 0.0]), "verify_failed": np.array([0.0, 1.0, 0.0])},
    ...                  FaultPolicy(max_error_rate=0.5))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    RuntimeError: verl_multiling: 2 of 3 rollouts (67%) could not be scored (reward_error=1: 1, verify_failed=1: 1), ...
    """
    unscored = _unscored(columns)
    if unscored is None or not unscored.size:
        return
    rate = float(unscored.mean())
    if rate <= policy.max_error_rate:
        return
    n = len(unscored)
    parts = ", ".join(f"{key}=1: {int((flags > 0).sum())}" for key in UNSCORED_COLUMNS
                      if (flags := _flags(columns, key)) is not None)
    at = "" if step is None else f" at step {step}"
    hint = ""
    if (flags := _flags(columns, "verify_failed")) is not None and flags.any():
        hint = (" verify_failed=1 means the task verifier gave no verdict: math-verify timed out or could not run "
                "(its worker pool could not start: check the workers' file-descriptor limit, `ulimit -n`, and "
                "memory; or multiling.math.timeout_s is too small), or the reward.custom_reward_function raised, "
                "hung or returned no number (answer_reason custom_error / custom_timeout / custom_not_a_number).")
    raise RuntimeError(
        f"verl_multiling: {int(unscored.sum())} of {n} rollouts ({rate:.0%}) could not be scored ({parts}){at}, "
        f"more than multiling.faults.max_error_rate={policy.max_error_rate:g}.{hint} The reward workers' logs name "
        "the cause (first traceback of each kind); raise max_error_rate to tolerate it")


def _flags(columns: Mapping[str, np.ndarray], key: str) -> np.ndarray | None:
    """``columns[key]`` as float64 with None/NaN/non-numbers as 0; None when absent or empty."""
    if key not in columns or len(columns[key]) == 0:
        return None
    values = np.array([_as_number(v) for v in columns[key]], dtype=np.float64)
    return np.nan_to_num(values, nan=0.0)


def _unscored(columns: Mapping[str, np.ndarray]) -> np.ndarray | None:
    """1.0 for each rollout with any :data:`UNSCORED_COLUMNS` flag > 0; None when none of them is present."""
    present = [flags for key in UNSCORED_COLUMNS if (flags := _flags(columns, key)) is not None]
    if not present:
        return None
    if len({len(flags) for flags in present}) > 1:
        raise ValueError(f"reward_extra_info columns {UNSCORED_COLUMNS} have different lengths "
                         f"{[len(f) for f in present]}; each holds one value per rollout")
    return (np.stack(present) > 0).any(axis=0).astype(np.float64)


def _as_number(value: Any) -> float:
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return float(value)
    return np.nan
