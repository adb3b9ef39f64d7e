r"""The task part of a reward (r_i, r_acc): the built-in math checker, or a verl reward function's result.

Every recipe's reward has a *task* part, whether the response solves the task, and parts of its own
(detected language and ``lang_match``, TAPO's format and translation, reflection markers). The task part
is a :data:`TaskChecker`, ``check(solution_str, ground_truth, query_lang) -> TaskOutcome``:

* by default :func:`math_checker`: math-verify on the last ``\boxed{}`` (``multiling.math``);
* with ``reward.custom_reward_function.path/name`` set, the user's verl reward function
  ``compute_score(data_source, solution_str, ground_truth, extra_info) -> float | {"score": float, ...}``
  (the reward manager's adapter, :mod:`verl_multiling.reward_managers.task`, turns each result into an
  outcome with :func:`outcome_from_result` and runs the function under the fault policy).

:class:`TaskOutcome` fields and the ``reward_extra_info`` keys they fill:

==============  ==================  =============================================================
field           key                 built-in math checker / custom function
==============  ==================  =============================================================
acc             acc (r_acc, score)  1.0 or 0.0 / the function's float (its dict's ``score``)
reason          answer_reason       math_answer's reason / ``custom`` (``custom_error``,
                                    ``custom_timeout``, ``custom_not_a_number`` when it failed)
no_answer       no_answer           no final \boxed{} answer / the dict's numeric ``no_answer``, else 0
verify_failed   verify_failed       math-verify timed out or raised / the function raised, hung or
                                    returned no number (acc = 0 unchecked; a counted fault)
extra           (the dict's keys)   none / the dict's other keys, the same set for every sample
                                    (:class:`TaskSchema`)
==============  ==================  =============================================================
"""

from __future__ import annotations

import logging
import math
import numbers
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from verl_multiling.config.confnode import node_get as _get
from verl_multiling.config.knobs import TASK
from verl_multiling.config.schema import SettingsError, read

logger = logging.getLogger(__name__)

#: answer_reason of a custom function's outcome
CUSTOM = "custom"
CUSTOM_ERROR = "custom_error"  # it raised on every attempt (or its circuit breaker was open)
CUSTOM_TIMEOUT = "custom_timeout"  # it did not return within the timeout on every attempt
CUSTOM_NOT_A_NUMBER = "custom_not_a_number"  # it returned no number finite in float32 (None, a string, NaN,
#                                              ±inf, 1e308, 10**400, a dict without "score")
CUSTOM_REASONS = (CUSTOM, CUSTOM_ERROR, CUSTOM_TIMEOUT, CUSTOM_NOT_A_NUMBER)
#: math_answer reasons that mean math-verify could not give a verdict (acc = 0 unchecked)
FAILED_VERIFY_REASONS = frozenset({"timeout", "verifier_error"})
NO_ANSWER_REASONS = frozenset({"no_answer", "empty_response"})
#: prefix of a custom dict key whose name is already one of the reward manager's own keys
RENAMED_PREFIX = "task_"


@dataclass(frozen=True)
class TaskOutcome:
    """The task part of one rollout (see the module docstring)."""

    acc: float
    reason: str
    no_answer: bool = False
    verify_failed: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def correct(self) -> bool:
        """Full credit: acc >= 1 (the math checker's verdict; for a custom function, a score of 1 or more)."""
        return self.acc >= 1.0


#: (solution_str, ground_truth, query language) -> the task part
TaskChecker = Callable[[str, Any, str], TaskOutcome]


class NotANumber(ValueError):
    """A custom function's result has no finite number as its score."""


def math_checker(timeout_s: float = 5.0) -> TaskChecker:
    r"""The built-in task: math-verify of the last ``\boxed{}`` against the gold answer.

    >>> check = math_checker()
    >>> check(r"so \boxed{18}", "18", "en")
    TaskOutcome(acc=1.0, reason='numeric_match', no_answer=False, verify_failed=False, extra={})
    >>> check("no box", "18", "en").no_answer
    True
    """
    from verl_multiling.scorers.math_answer import check_answer

    def check(solution_str: str, ground_truth: Any, query_lang: str) -> TaskOutcome:
        verdict = check_answer(solution_str, "" if ground_truth is None else str(ground_truth),
                               lang=query_lang or None, timeout_s=timeout_s)
        return TaskOutcome(1.0 if verdict.correct else 0.0, verdict.reason,
                           no_answer=verdict.reason in NO_ANSWER_REASONS,
                           verify_failed=verdict.reason in FAILED_VERIFY_REASONS)

    return check


#: the largest float32: verl keeps rewards as float32 tensors, where a larger score becomes ±inf
FLOAT32_MAX = 3.4028234663852886e38


def as_score(value: Any) -> float:
    """A result's score as a float finite in float32 (verl's reward dtype): bool, int, float, numpy and 0-d
    tensor numbers with ``|score| <= 3.4e38``; anything else (None, a string, NaN, ±inf, 1e308, an integer
    too large for a float such as ``10**400``, a list) raises :class:`NotANumber`.

    >>> as_score(True), as_score(3), as_score(0.5)
    (1.0, 3.0, 0.5)
    >>> as_score(float("nan"))
    Traceback (most recent call last):
    verl_multiling.rewards.task.NotANumber: the score is nan, not a finite number
    >>> as_score(1e308)
    Traceback (most recent call last):
    verl_multiling.rewards.task.NotANumber: the score is 1e+308, beyond float32's range (|score| <= 3.4e+38) in which verl keeps rewards
    """
    try:
        item = getattr(value, "item", None)
        if callable(item) and getattr(value, "ndim", None) == 0:  # numpy scalars and 0-d arrays/tensors
            value = item()
        if isinstance(value, (str, bytes)) or not isinstance(value, numbers.Real):
            raise NotANumber(f"the score is {_show(value)}, not a number")
        number = float(value)
    except NotANumber:
        raise
    except OverflowError as exc:  # 10**400, Fraction(10**400): no float holds it
        raise NotANumber(f"the score is {_show(value)}, too large for a float") from exc
    except Exception as exc:  # noqa: BLE001 - a number type whose conversion raises
        raise NotANumber(f"the score {_show(value)} could not be read as a float ({exc!r})") from exc
    if not math.isfinite(number):
        raise NotANumber(f"the score is {number}, not a finite number")
    if abs(number) > FLOAT32_MAX:
        raise NotANumber(f"the score is {number:g}, beyond float32's range (|score| <= {FLOAT32_MAX:.2g}) in "
                         "which verl keeps rewards")
    return number


def plain_result(result: Any) -> float | dict[str, Any]:
    """A custom function's return value reduced to plain values before it leaves the process that ran it:
    the score as :func:`as_score` reads it, alone or as the ``score`` of a dict whose other keys are
    cleaned (a number, a string or None; anything else its ``str()``). Raises :class:`NotANumber` on a
    result without a usable score, or one that cannot be read at all.

    >>> plain_result({"score": 1, "f1": True, "obj": [1]})
    {'score': 1.0, 'f1': 1.0, 'obj': '[1]'}
    """
    try:
        if isinstance(result, Mapping):
            if "score" not in result:
                raise NotANumber(f"the result is a dict without a 'score' key (keys: {sorted(map(str, result))})")
            plain: dict[str, Any] = {"score": as_score(result["score"])}
            for key, value in result.items():
                if key != "score" and str(key) != "score":
                    plain[str(key)] = _clean(value)
            return plain
        return as_score(result)
    except NotANumber:
        raise
    except Exception as exc:  # noqa: BLE001 - a result whose keys or values raise when read
        raise NotANumber(f"the result could not be read ({type(exc).__name__}: {_show_error(exc)})") from exc


def outcome_from_result(result: Any, schema: TaskSchema | None = None) -> TaskOutcome:
    """A custom function's return value as an outcome: a number, or a dict whose ``score`` is one and whose
    other keys go through ``schema`` (renamed when they clash with the manager's keys, filled when missing).

    >>> outcome_from_result(0.5).acc
    0.5
    >>> o = outcome_from_result({"score": 1, "f1": 0.8, "pred": "paris"}, TaskSchema(reserved=("acc",)))
    >>> o.acc, o.reason, dict(o.extra)
    (1.0, 'custom', {'f1': 0.8, 'pred': 'paris'})
    >>> outcome_from_result({"acc": 1.0})
    Traceback (most recent call last):
    verl_multiling.rewards.task.NotANumber: the result is a dict without a 'score' key (keys: ['acc'])
    """
    schema = schema or TaskSchema()
    if isinstance(result, Mapping):
        if "score" not in result:
            raise NotANumber(f"the result is a dict without a 'score' key (keys: {sorted(map(str, result))})")
        acc = as_score(result["score"])
        extra = {str(k): v for k, v in result.items() if k != "score"}
        no_answer = extra.get("no_answer")
        no_answer = bool(no_answer) if isinstance(no_answer, (numbers.Real, bool)) else False
        return TaskOutcome(acc, CUSTOM, no_answer=no_answer, extra=schema.fill(extra))
    return TaskOutcome(as_score(result), CUSTOM, extra=schema.fill({}))


def failed_outcome(reason: str, schema: TaskSchema | None = None) -> TaskOutcome:
    """The outcome of a custom function that failed: acc 0, ``verify_failed``, the schema's defaults."""
    return TaskOutcome(0.0, reason, verify_failed=True, extra=(schema or TaskSchema()).defaults())


class TaskSchema:
    """The ``reward_extra_info`` keys a custom function's dicts add: the same for every sample.

    ``declared`` (``multiling.task.extra_keys``): exactly these keys travel, a sample that lacks one gets
    its default, keys not declared are dropped (counted, warned once). Without it the keys are learned: a
    key seen once is given to every later sample of this reward worker (``None`` when missing, which
    verl's metrics and the per-language means skip). A key named like one of the reward manager's own keys
    (``reserved``: ``acc``, ``lang_match``, ...) travels as ``task_<key>``. A value that is neither a number,
    a string nor None travels as its ``str()``.
    """

    def __init__(self, reserved: Iterable[str] = (), declared: Mapping[str, Any] | None = None):
        self.reserved = frozenset(reserved)
        self.declared = None if declared is None else {self.name(k): v for k, v in declared.items()}
        self.keys: dict[str, Any] = dict(self.declared or {})
        self.dropped: Counter[str] = Counter()
        self._lock = threading.Lock()

    def name(self, key: str) -> str:
        """The ``reward_extra_info`` name of a custom key."""
        return f"{RENAMED_PREFIX}{key}" if key in self.reserved else key

    def fill(self, extra: Mapping[str, Any]) -> dict[str, Any]:
        """``extra`` renamed, cleaned, and completed to the schema (learning new keys when undeclared)."""
        renamed = {self.name(k): _clean(v) for k, v in extra.items()}
        with self._lock:
            if self.declared is None:
                for key in renamed:
                    self.keys.setdefault(key, None)
            else:
                for key in renamed.keys() - self.keys.keys():
                    if not self.dropped[key]:
                        logger.warning("verl_multiling: the custom reward function returned %r, which "
                                       "multiling.task.extra_keys does not declare: it is dropped", key)
                    self.dropped[key] += 1
            keys = dict(self.keys)
        return {k: renamed.get(k, default) for k, default in keys.items()}

    def defaults(self) -> dict[str, Any]:
        with self._lock:
            return dict(self.keys)


@dataclass(frozen=True)
class TaskConfig:
    """The ``multiling.task`` node: how the user's ``reward.custom_reward_function`` is run."""

    extra_keys: Mapping[str, Any] | None = None  # None: learn the dict's keys; else {key: default}
    timeout_s: float | None = None  # bound of one call; None = multiling.faults.timeout_s

    @classmethod
    def from_config(cls, config: Any) -> TaskConfig:
        """Read ``config.multiling.task`` (the full trainer config) or a bare ``task`` node; errors name the
        field and the fix."""
        multiling = _get(config, "multiling", None)
        node = _get(multiling, "task", None) if multiling is not None else config
        path = "multiling.task"
        v, errors = read({} if node is None else node, TASK, path)
        try:
            extra_keys = _extra_keys(v["extra_keys"], f"{path}.extra_keys")
        except ValueError as exc:
            errors.append(str(exc))
        if errors:
            raise SettingsError(errors)
        return cls(extra_keys=extra_keys, timeout_s=v["timeout_s"])


def _extra_keys(value: Any, path: str) -> dict[str, Any] | None:
    """null, a list of key names (default None) or a mapping {key: default number or string}."""
    if value is None:
        return None
    fix = "give a list of key names, e.g. [f1, pred], or a mapping {f1: 0.0, pred: ''}"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{path}={value!r}: {fix}")
    items = dict(value.items()) if callable(getattr(value, "items", None)) else dict.fromkeys(value)
    for key, default in items.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"{path}: {key!r} is not a key name; {fix}")
        if key == "score":
            raise ValueError(f"{path}: 'score' is the task reward itself, not an extra key; remove it")
        if default is not None and (isinstance(default, bool)
                                    or not isinstance(default, (int, float, str))):
            raise ValueError(f"{path}.{key}={default!r}: a default must be a number, a string or null")
    return items


def _clean(value: Any) -> Any:
    """A value verl can carry per sample in a numpy column: None, a number, or a string."""
    if value is None or isinstance(value, str):
        return value
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        value = item()
    if isinstance(value, bool):
        return float(value)
    try:
        if isinstance(value, numbers.Real):
            return float(value) if not isinstance(value, int) else int(value)
        return str(value)
    except Exception:  # noqa: BLE001 - a value whose conversion raises travels as its type's name
        return f"<{type(value).__name__}>"


def _show(value: Any) -> str:
    """A short repr (an integer too long for repr, or a repr that raises, shows its type)."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - ValueError for a 10**5000, or a user __repr__ that raises
        return f"<{type(value).__name__} that cannot be shown>"
    return text if len(text) <= 80 else text[:77] + "..."


def _show_error(exc: BaseException) -> str:
    try:
        return _show(str(exc))[1:-1]
    except Exception:  # noqa: BLE001 - an exception whose __str__ raises
        return "?"


def merge_extra(parts: dict[str, Any], outcome: TaskOutcome) -> dict[str, Any]:
    """Add a custom outcome's extra keys to a reward's parts (the schema never names a part's own key)."""
    for key, value in outcome.extra.items():
        parts.setdefault(key, value)
    return parts
