"""The user's task function in killable worker processes: a call that hangs or spins costs its timeout, then
its worker is killed (:mod:`verl_multiling.plumbing.worker_pool`); nothing it raises or returns leaves unchecked.

A function loaded in the reward worker cannot be sent to another process (verl loads the module file under
a name no other process can import), so each worker loads it itself from ``reward.custom_reward_function``
``path`` and ``name`` the way verl's ``load_extern_object`` does (``pkg://a.b``, ``file://x.py`` or a file
path), and binds ``reward_kwargs`` over the call's keywords as verl's ``get_custom_reward_fn`` does (plus the
reward-model router keywords the manager passes). An ``async def`` function is run to completion in the
worker.

:func:`call_task_function` (run in the worker) answers with :func:`~verl_multiling.rewards.task.plain_result`
of the return value (a float, or a dict of plain values) or the reason it holds no number; anything the
function raises, ``BaseException`` included (``SystemExit``, ``KeyboardInterrupt``, ``GeneratorExit``),
comes back as a :class:`TaskFunctionError` naming it. A function that kills its worker (``os._exit``, a
crash in C) is a :class:`~verl_multiling.plumbing.worker_pool.WorkerDied`; one that overruns the limit a
``TimeoutError``. This module imports only the standard library and :mod:`verl_multiling.rewards.task`, so a
worker starts in about the time the user's own module takes to import.

Pool size: ``VERL_MULTILING_TASK_WORKERS`` processes per reward manager (default 4, so at most 4 calls of the
function run at once in one reward worker), plus ``VERL_MULTILING_TASK_SPARES`` warm spares (default 1).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import os
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from verl_multiling.rewards.task import NotANumber, plain_result

WORKERS_ENV = "VERL_MULTILING_TASK_WORKERS"
DEFAULT_WORKERS = 4
SPARES_ENV = "VERL_MULTILING_TASK_SPARES"
DEFAULT_SPARES = 1
PKG_PREFIX, FILE_PREFIX = "pkg://", "file://"


class TaskFunctionError(RuntimeError):
    """The user's function raised (any ``BaseException``); the message names the exception and where."""


@dataclass(frozen=True)
class FunctionSpec:
    """Where a worker finds the function and what it binds: picklable, sent once per worker start."""

    path: str
    name: str
    reward_kwargs: Mapping[str, Any] = field(default_factory=dict)
    extra_kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.path}:{self.name}"


def load_function(path: str, name: str) -> Callable[..., Any]:
    """``name`` from the module at ``path`` (``pkg://pkg.mod``, ``file://f.py`` or ``f.py``), as verl loads it;
    errors name the field and the fix."""
    where = f"reward.custom_reward_function.path={path}"
    if path.startswith(PKG_PREFIX):
        module = importlib.import_module(path[len(PKG_PREFIX):].replace("/", "."))
    else:
        file = path[len(FILE_PREFIX):] if path.startswith(FILE_PREFIX) else path
        if not os.path.exists(file):
            raise FileNotFoundError(f"{where}: no such file; give the path of the .py file that defines {name}")
        spec = importlib.util.spec_from_file_location(f"verl_multiling_task_{abs(hash(os.path.abspath(file)))}",
                                                      file)
        if spec is None or spec.loader is None:
            raise ImportError(f"{where}: cannot be loaded as a Python module")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    fn = getattr(module, name, None)
    if not callable(fn):
        raise AttributeError(f"reward.custom_reward_function.name={name}: {where} has no function of that name "
                             f"({'no such attribute' if fn is None else type(fn).__name__})")
    return fn


_LOADED: dict[str, Any] = {}  # in a worker: "fn" and "spec"


def load_in_worker(spec: FunctionSpec) -> None:
    """A worker's warm-up: load the function once."""
    _LOADED["fn"] = load_function(spec.path, spec.name)
    _LOADED["spec"] = spec


def call_task_function(kwargs: dict[str, Any]) -> tuple[str, Any]:
    """One call in a worker: ``fn(**kwargs, **extra_kwargs, **reward_kwargs)`` reduced by ``plain_result``, as
    ``("ok", plain)`` or ``("not_a_number", message)`` (an answer, not a failed call: a retry would answer the
    same)."""
    fn, spec = _LOADED["fn"], _LOADED["spec"]
    merged = {**kwargs, **spec.extra_kwargs, **spec.reward_kwargs}
    try:
        if inspect.iscoroutinefunction(fn):
            result = asyncio.run(fn(**merged))
        else:
            result = fn(**merged)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt too: the call failed
        raise TaskFunctionError(_describe(exc)) from None
    try:
        return "ok", plain_result(result)
    except NotANumber as exc:
        return "not_a_number", str(exc)


def _describe(exc: BaseException) -> str:
    """``Type: message`` and the innermost frame of the user's code (exceptions of the user's module would
    not unpickle in the reward worker, so only their text travels)."""
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:  # noqa: BLE001 - an exception whose __str__ raises
        text = type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        text += f" (at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno} in {frames[-1].name})"
    return text if len(text) <= 500 else text[:497] + "..."


def _env_count(name: str, default: int, minimum: int) -> int:
    try:
        return max(minimum, int(os.environ.get(name, default)))
    except ValueError:
        return default


def pool_size() -> int:
    return _env_count(WORKERS_ENV, DEFAULT_WORKERS, 1)


def spare_count() -> int:
    return _env_count(SPARES_ENV, DEFAULT_SPARES, 0)
