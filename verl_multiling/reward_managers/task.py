"""The user's ``reward.custom_reward_function`` as the task part of our reward managers, under the fault policy.

verl loads ``reward.custom_reward_function.path/name`` (``get_custom_reward_fn``, ``reward_kwargs`` bound)
and hands it to the reward manager as ``compute_score``; without it verl hands its default dispatcher
instead. So the manager tells the two apart by the config: the path is set (:func:`configured_task`).

Each rollout's call mirrors verl's naive manager: ``compute_score(data_source=, solution_str=,
ground_truth=, extra_info=)`` (plus ``reward_router_address`` and ``reward_model_tokenizer`` when a reward
model router is configured), ``extra_info`` being a copy of the row's with ``num_turns``,
``rollout_reward_scores``, the tool fields and ``query_lang`` added. An ``async def`` function is run to
completion on the calling worker thread.

Faults (``multiling.faults``; ``multiling.task.timeout_s`` may bound a call more tightly):

* raises, or does not return within the timeout: retried ``retries`` times with backoff, then counted
  (``answer_reason=custom_error`` / ``custom_timeout``);
* returns no finite number (None, a string, NaN, a dict without ``score``): counted at once
  (``custom_not_a_number``: the function did answer, so a retry would answer the same);
* a counted failure scores the task part 0 with ``verify_failed=1``: logged as
  ``multiling/faults/verify_failed_rate`` and bounded by ``max_error_rate``, which stops the run;
  ``on_failure=stop`` stops it at the first failure. There is no lexical fallback for an arbitrary task:
  ``fallback`` acts as ``zero``. The circuit breaker applies (after ``breaker_failures`` failed calls in a
  row the function is skipped for ``breaker_cooldown_s``, each skipped rollout counted as ``custom_error``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from verl_multiling.faults import FaultPolicy, ScorerFailure, ScorerGuard, ScorerUnavailable
from verl_multiling.rewards.task import (
    CUSTOM_ERROR,
    CUSTOM_NOT_A_NUMBER,
    CUSTOM_TIMEOUT,
    NotANumber,
    TaskChecker,
    TaskConfig,
    TaskOutcome,
    TaskSchema,
    failed_outcome,
    outcome_from_result,
)

logger = logging.getLogger(__name__)


def custom_function_path(config: Any) -> tuple[str | None, str | None]:
    """``reward.custom_reward_function.path`` and ``.name`` of a trainer config (None when unset)."""
    reward = _get(config, "reward")
    node = _get(reward, "custom_reward_function")
    path = _get(node, "path")
    return (str(path) if path else None), (str(_get(node, "name")) if _get(node, "name") else None)


class CustomTask:
    """A verl reward function as a :data:`~verl_multiling.rewards.task.TaskChecker` factory.

    ``counts`` holds the outcomes by ``answer_reason`` (``custom``, ``custom_error``, ...).
    """

    def __init__(self, fn: Callable[..., Any], label: str, policy: FaultPolicy, schema: TaskSchema,
                 extra_kwargs: Mapping[str, Any] | None = None):
        self.fn, self.label, self.schema = fn, label, schema
        self.policy = policy
        self.extra_kwargs = dict(extra_kwargs or {})
        self.is_async = inspect.iscoroutinefunction(fn)
        self.guard = ScorerGuard(f"reward.custom_reward_function {label}", policy, fallback=None)
        self.counts: Counter[str] = Counter()

    def checker(self, row: Mapping[str, Any]) -> TaskChecker:
        """The checker of one dataset row: binds its ``data_source`` and ``extra_info``."""
        data_source = row.get("data_source")
        extra = row.get("extra_info")
        extra_info = dict(extra) if isinstance(extra, Mapping) else {}
        tools = row.get("tool_extra_fields")
        if isinstance(tools, Mapping):
            extra_info.update(tools.items())
        extra_info["num_turns"] = row.get("__num_turns__")
        extra_info["rollout_reward_scores"] = row.get("reward_scores", {})

        def check(solution_str: str, ground_truth: Any, query_lang: str) -> TaskOutcome:
            info = dict(extra_info)
            info.setdefault("query_lang", query_lang)
            return self.score(data_source, solution_str, ground_truth, info)

        return check

    def score(self, data_source: Any, solution_str: str, ground_truth: Any,
              extra_info: dict[str, Any]) -> TaskOutcome:
        """One call under the fault policy (module docstring); never raises except under ``on_failure=stop``."""
        kwargs = dict(data_source=data_source, solution_str=solution_str, ground_truth=ground_truth,
                      extra_info=extra_info, **self.extra_kwargs)
        try:
            result = self.guard.call(self._call, kwargs).value
        except ScorerUnavailable as exc:  # every attempt failed (on_failure zero, or fallback: there is none)
            timed_out = isinstance(exc.__cause__, TimeoutError)
            return self._failed(CUSTOM_TIMEOUT if timed_out else CUSTOM_ERROR)
        try:
            outcome = outcome_from_result(result, self.schema)
        except NotANumber as exc:
            if self.policy.on_failure == "stop":
                raise ScorerFailure(f"{self.guard.name}: {exc}; stopping because multiling.faults.on_failure="
                                    "stop. Return a float or a dict with a numeric 'score'") from exc
            if not self.counts[CUSTOM_NOT_A_NUMBER]:
                logger.warning("verl_multiling: %s returned no number (%s); the task part scores 0 with "
                               "verify_failed=1 (answer_reason=%s)", self.guard.name, exc, CUSTOM_NOT_A_NUMBER)
            return self._failed(CUSTOM_NOT_A_NUMBER)
        self.counts[outcome.reason] += 1
        return outcome

    def _call(self, kwargs: dict[str, Any]) -> Any:
        if self.is_async:
            return asyncio.run(self.fn(**kwargs))
        return self.fn(**kwargs)

    def _failed(self, reason: str) -> TaskOutcome:
        self.counts[reason] += 1
        return failed_outcome(reason, self.schema)


def configured_task(config: Any, compute_score: Callable[..., Any] | None, reserved: Iterable[str],
                    policy: FaultPolicy, extra_kwargs: Mapping[str, Any] | None = None) -> CustomTask | None:
    """The user's task function when ``reward.custom_reward_function.path`` is set, else None (the recipe's
    math checker). ``compute_score`` is what verl passed (the loaded function with ``reward_kwargs``); a
    manager built by hand without it loads the function the way verl does."""
    path, name = custom_function_path(config)
    if not path:
        return None
    if compute_score is None:
        from verl.trainer.ppo.reward import get_custom_reward_fn

        compute_score = get_custom_reward_fn(config)
    task = TaskConfig.from_config(config)
    if task.timeout_s is not None:
        policy = replace(policy, timeout_s=task.timeout_s)
    return CustomTask(compute_score, f"{path}:{name}", policy, TaskSchema(reserved, task.extra_keys), extra_kwargs)


def _get(node: Any, key: str) -> Any:
    if node is None:
        return None
    getter = getattr(node, "get", None)
    return getter(key, None) if getter is not None else getattr(node, key, None)
