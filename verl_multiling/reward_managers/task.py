"""The user's ``reward.custom_reward_function`` as the task part of our reward managers, under the fault policy.

verl loads ``reward.custom_reward_function.path/name`` (``get_custom_reward_fn``, ``reward_kwargs`` bound)
and hands it to the reward manager as ``compute_score``; without it verl hands its default dispatcher
instead. So the manager tells the two apart by the config: the path is set (:func:`configured_task`).

Each rollout's call mirrors verl's naive manager: ``compute_score(data_source=, solution_str=,
ground_truth=, extra_info=)`` (plus ``reward_router_address`` and ``reward_model_tokenizer`` when a reward
model router is configured), ``extra_info`` being a copy of the row's with ``num_turns``,
``rollout_reward_scores``, the tool fields and ``query_lang`` added.

Each call runs in a worker process (:mod:`verl_multiling.rewards.task_worker`, which loads the function from
the same ``path``/``name``; an ``async def`` function is run to completion there): a call that hangs or spins
costs at most its timeout, then its worker is killed and a warm spare takes the next call, so nothing of it
stays behind in the reward worker (a thread could not be stopped: it kept the CPU and slowed every later
call).

Faults (``multiling.faults``; ``multiling.task.timeout_s`` may bound a call more tightly):

* raises (any ``BaseException``: ``SystemExit``, ``KeyboardInterrupt`` and ``GeneratorExit`` too), kills its
  worker (``os._exit``, a crash), or does not return within the timeout: retried ``retries`` times with
  backoff, then counted (``answer_reason=custom_error`` / ``custom_timeout``); nothing it raises leaves the
  manager;
* returns no number finite in float32, verl's reward dtype (None, a string, NaN, ±inf, 1e308, ``10**400``, a
  dict without ``score``): counted at once (``custom_not_a_number``: the function did answer, so a retry would
  answer the same);
* a counted failure scores the task part 0 with ``verify_failed=1``: logged as
  ``multiling/faults/verify_failed_rate`` and bounded by ``max_error_rate``, which stops the run;
  ``on_failure=stop`` stops it at the first failure. There is no lexical fallback for an arbitrary task:
  ``fallback`` acts as ``zero``. The circuit breaker applies (after ``breaker_failures`` failed calls in a
  row the function is skipped for ``breaker_cooldown_s``, each skipped rollout counted as ``custom_error``).
"""

from __future__ import annotations

import logging
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from verl_multiling.config.faults import FaultPolicy, ScorerFailure, ScorerGuard, ScorerUnavailable
from verl_multiling.rewards import task_worker
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
from verl_multiling.rewards.task_worker import FunctionSpec
from verl_multiling.plumbing.worker_pool import WorkerPool

logger = logging.getLogger(__name__)


def custom_function_path(config: Any) -> tuple[str | None, str | None]:
    """``reward.custom_reward_function.path`` and ``.name`` of a trainer config (None when unset)."""
    reward = _get(config, "reward")
    node = _get(reward, "custom_reward_function")
    path = _get(node, "path")
    return (str(path) if path else None), (str(_get(node, "name")) if _get(node, "name") else None)


class CustomTask:
    """A verl reward function as a :data:`~verl_multiling.rewards.task.TaskChecker` factory, each call run in
    a killable worker process (:mod:`verl_multiling.rewards.task_worker`).

    ``spec`` says where the workers load the function from; ``fn`` is the in-process function verl loaded
    (kept for its signature; the calls go to the workers). ``counts`` holds the outcomes by
    ``answer_reason`` (``custom``, ``custom_error``, ...); ``pool`` is the worker pool (``kills``: workers
    killed for overrunning a call). :meth:`close` kills the workers (also done when the task is collected).
    """

    def __init__(self, spec: FunctionSpec, policy: FaultPolicy, schema: TaskSchema,
                 fn: Callable[..., Any] | None = None):
        self.spec, self.fn, self.schema, self.policy = spec, fn, schema, policy
        self.label = spec.label
        # the pool bounds each call (its worker is killed at timeout_s): no guard thread is left behind
        self.guard = ScorerGuard(f"reward.custom_reward_function {self.label}", policy, fallback=None,
                                 bounded=True)
        self.counts: Counter[str] = Counter()
        self.pool = WorkerPool("task-function", warm_up=partial(task_worker.load_in_worker, spec),
                               size=task_worker.pool_size, spares=task_worker.spare_count, attempts=1)
        self._finalizer = weakref.finalize(self, self.pool.close)

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
                      extra_info=extra_info)
        try:
            kind, result = self.guard.call(self._call, kwargs).value
        except ScorerUnavailable as exc:  # every attempt failed (on_failure zero, or fallback: there is none)
            timed_out = isinstance(exc.__cause__, TimeoutError)
            return self._failed(CUSTOM_TIMEOUT if timed_out else CUSTOM_ERROR)
        try:
            if kind != "ok":
                raise NotANumber(result)
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

    def _call(self, kwargs: dict[str, Any]) -> tuple[str, Any]:
        """One attempt in a worker; ``TimeoutError`` (its worker killed) after ``timeout_s``."""
        try:
            return self.pool.call(task_worker.call_task_function, (kwargs,), self.policy.timeout_s)
        except TimeoutError:
            raise TimeoutError(f"{self.guard.name} did not answer within {self.policy.timeout_s:g}s "
                               "(multiling.task.timeout_s, else multiling.faults.timeout_s); its worker process "
                               "was killed") from None

    def _failed(self, reason: str) -> TaskOutcome:
        self.counts[reason] += 1
        return failed_outcome(reason, self.schema)

    def close(self) -> None:
        """Kill the worker processes now (a later call fails, counted as ``custom_error``)."""
        self._finalizer()


def configured_task(config: Any, compute_score: Callable[..., Any] | None, reserved: Iterable[str],
                    policy: FaultPolicy, extra_kwargs: Mapping[str, Any] | None = None) -> CustomTask | None:
    """The user's task function when ``reward.custom_reward_function.path`` is set, else None (the recipe's
    math checker). ``compute_score`` is what verl passed (the loaded function with ``reward_kwargs``); the
    calls run in worker processes that load the function from the same ``path``/``name`` and bind the same
    ``reward_kwargs`` (``extra_kwargs``: the reward-model router keywords, bound the same way)."""
    path, name = custom_function_path(config)
    if not path:
        return None
    task = TaskConfig.from_config(config)
    if task.timeout_s is not None:
        policy = replace(policy, timeout_s=task.timeout_s)
    node = _get(_get(config, "reward"), "custom_reward_function")
    spec = FunctionSpec(path, str(name), _plain(_get(node, "reward_kwargs")) or {}, dict(extra_kwargs or {}))
    return CustomTask(spec, policy, TaskSchema(reserved, task.extra_keys), fn=compute_score)


def _plain(node: Any) -> Any:
    """A config node as plain dicts and lists (an OmegaConf node pickles only with omegaconf imported)."""
    items = getattr(node, "items", None)
    if callable(items):
        return {str(k): _plain(v) for k, v in items()}
    if isinstance(node, (list, tuple)) or type(node).__name__ == "ListConfig":
        return [_plain(v) for v in node]
    return node


def _get(node: Any, key: str) -> Any:
    if node is None:
        return None
    getter = getattr(node, "get", None)
    return getter(key, None) if getter is not None else getattr(node, key, None)
