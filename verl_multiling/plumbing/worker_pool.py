"""Killable ``spawn`` worker processes for code that may hang or spin: a call costs at most its limit.

A thread cannot be stopped: a call abandoned after its timeout keeps its thread and, when it spins, the GIL,
so every later call of the process slows down. :class:`WorkerPool` runs each call in a worker process
instead and kills that worker when the call overruns ``timeout_s``; used by the math verifier
(:mod:`verl_multiling.scorers.math_answer`) and the user's task function
(:mod:`verl_multiling.reward_managers.task_worker`).

* Workers start lazily (``spawn``), all ``size()`` of them on the first call, each running ``warm_up()``
  (a picklable callable: imports, loading a function) before it takes calls. A ``warm_up`` that raises
  makes the start fail with its message.
* At most ``size()`` calls are in flight (one per worker), so a call's limit counts its own work, not a queue;
  the wait for a free worker is not counted.
* A call that overruns its limit: that worker alone is killed, without waiting, and a warm spare
  (``spares()`` of them, started in the background) takes its place at once; a new spare then starts in the
  background (starting a worker is never counted against a call).
* A worker that dies under a call (a crash, ``os._exit``) is replaced and the call retried, at most
  ``attempts`` attempts in all. Idle workers and spares that died while they waited (the OOM killer took
  them all) are skipped and replaced without using up an attempt.
* Workers that cannot start (a low ``ulimit -n``, no memory, a failing ``warm_up``) make every call fail at
  once for the next ``START_RETRY_S`` seconds instead of spawning again.
* Forked children start with fresh, empty pools; :meth:`WorkerPool.close` kills every idle worker and spare.

As with any ``spawn`` pool, a script that calls it must keep its top-level code under
``if __name__ == "__main__":`` (workers re-import the main module).
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0  # spawning a worker and running its warm_up
START_RETRY_S = 30.0  # after workers failed to start, calls fail at once for this long


def serve(conn: Any, warm_up: Callable[[], Any] | None = None) -> None:
    """A worker process: warm up, say so, then answer ``(fn, args)`` requests until ``None`` or EOF."""
    try:
        if warm_up is not None:
            warm_up()
    except BaseException as error:  # noqa: BLE001 - told to the pool, which names it
        conn.send(("failed", f"{type(error).__name__}: {error}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        fn, args = request
        try:
            reply = ("ok", fn(*args))
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            reply = ("error", error)
        try:
            conn.send(reply)
        except Exception as error:  # noqa: BLE001 - an unpicklable result or exception
            conn.send(("error", RuntimeError(f"unpicklable reply: {error!r}")))


class WorkerDied(RuntimeError):
    """A worker process exited (crashed, or was killed) while it held a call."""


class Worker:
    """One ``spawn`` process with a pipe; :meth:`run` sends a call and waits at most its limit."""

    def __init__(self, name: str, warm_up: Callable[[], Any] | None = None) -> None:
        self.name = name
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        try:
            self.process = context.Process(target=serve, args=(child, warm_up), daemon=True,
                                           name=f"verl-multiling-{name}")
            self.process.start()
        except BaseException:
            self.conn.close()
            raise
        finally:
            child.close()

    def wait_ready(self, timeout_s: float) -> Worker:
        """Block until the worker has run its warm-up (or raise and kill it)."""
        try:
            ready = self._wait(timeout_s)
            message = self.conn.recv() if ready else None
        except (EOFError, OSError) as error:
            self.kill()
            raise WorkerDied(f"a {self.name} worker exited while starting (exit code "
                             f"{self.process.exitcode})") from error
        except BaseException:
            self.kill()
            raise
        kind = None if message is None else message[0]
        if kind != "ready":
            self.kill()
            if kind == "failed":
                raise RuntimeError(f"a {self.name} worker could not start: {message[1]}")
            raise TimeoutError(f"a {self.name} worker did not start within {timeout_s:g}s" if kind is None
                               else f"a {self.name} worker sent {kind!r} instead of 'ready'")
        return self

    def _wait(self, timeout_s: float) -> bool:
        ready = multiprocessing.connection.wait([self.conn, self.process.sentinel], timeout=timeout_s)
        return bool(ready)

    def run(self, fn: Callable[..., Any], args: tuple, timeout_s: float) -> Any:
        try:
            self.conn.send((fn, args))
            answered = self._wait(timeout_s)
            if answered:
                kind, value = self.conn.recv()
        except (EOFError, OSError) as error:  # a closed pipe: the process is gone
            raise WorkerDied(f"{self.name} worker {self.process.pid} exited (exit code "
                             f"{self.process.exitcode})") from error
        if not answered:  # (TimeoutError is an OSError: raised outside the except above)
            raise TimeoutError(f"{self.name} worker {self.process.pid} did not answer within {timeout_s:g}s")
        if kind == "error":
            raise value
        return value

    def alive(self) -> bool:
        """Whether the process still runs (reaps it when it has exited)."""
        try:
            return self.process.is_alive()
        except (OSError, ValueError, AssertionError):  # closed, or not our child
            return False

    def kill(self) -> None:
        """Kill the process now (never waits on it) and close the pipe."""
        try:
            if self.process.is_alive():
                self.process.kill()
        except (OSError, ValueError, AttributeError):
            pass
        try:
            self.conn.close()
        except OSError:
            pass


_POOLS: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


class WorkerPool:
    """Lazily started ``spawn`` worker processes, each killed on its own when stuck, with warm spares (see
    the module docstring). ``size`` and ``spares`` are read when needed (environment knobs may change them);
    ``kills`` counts workers killed for overrunning a call and ``started`` the processes started, spares
    included."""

    def __init__(self, name: str, warm_up: Callable[[], Any] | None = None, size: Callable[[], int] = lambda: 2,
                 spares: Callable[[], int] = lambda: 1, attempts: int = 3) -> None:
        self.name, self.warm_up, self.attempts = name, warm_up, attempts
        self._size, self._spare_count = size, spares
        self._reset()
        _POOLS.add(self)

    def _reset(self) -> None:
        """Forget every worker (after a fork; tests). A spare start still under way belongs to the old state:
        it sees the new lock and kills its worker instead of counting it here."""
        self._lock = threading.Condition()
        self._slots: threading.BoundedSemaphore | None = None
        self._idle: list[Worker] = []
        self._owned = 0  # live workers that are not spares (idle or busy)
        self._cold = True  # no worker started yet (or the last cold start failed)
        self._spares: list[Worker] = []
        self._spares_starting = 0
        self._start_error: tuple[float, BaseException] | None = None
        self._closed = False
        self.kills = 0
        self.started = 0

    def _slot(self) -> threading.BoundedSemaphore:
        with self._lock:
            if self._slots is None:
                self._slots = threading.BoundedSemaphore(self._size())
            return self._slots

    @property
    def workers(self) -> list[Worker]:
        """The idle workers and spares (busy ones are held by their callers)."""
        with self._lock:
            return list(self._idle) + list(self._spares)

    def _start_workers(self, n: int, lock: threading.Condition | None = None) -> list[Worker]:
        """``n`` fresh workers, spawned together and awaited (about one start-up time, not n). ``lock`` is the
        state the start belongs to (default: the current one); if ``_reset`` replaced it meanwhile, the start's
        failure or success is not recorded in the new state."""
        lock = self._lock if lock is None else lock
        with lock:
            failed = self._start_error
        if failed is not None and time.monotonic() - failed[0] < START_RETRY_S:
            raise RuntimeError(f"{self.name} workers could not start {time.monotonic() - failed[0]:.0f}s ago "
                               f"({failed[1]}); the next try comes {START_RETRY_S:g}s after it")
        workers: list[Worker] = []
        try:
            for _ in range(n):
                workers.append(Worker(self.name, self.warm_up))
                self.started += 1
            for worker in workers:
                worker.wait_ready(START_TIMEOUT_S)
        except BaseException as error:
            for worker in workers:
                worker.kill()
            if _EXITING:  # the interpreter is exiting and multiprocessing ended the half-started worker
                raise
            with lock:
                if self._lock is lock:
                    self._start_error = (time.monotonic(), error)
            logger.error("%s workers cannot start (%s); calls fail until they can; retrying in %gs",
                         self.name, error, START_RETRY_S)
            raise
        with lock:
            if self._lock is lock:
                self._start_error = None
        return workers

    def _take(self) -> Worker:
        """An idle worker, else a warm spare, else a fresh one (the first call starts them all at once)."""
        size = self._size()
        dead: list[Worker] = []  # idle workers and spares that died while they waited (OOM killer, a kill)
        with self._lock:
            while True:
                if self._closed:
                    raise RuntimeError(f"the {self.name} worker pool is closed")
                if self._idle:
                    worker, n_start = self._idle.pop(), 0
                    if worker.alive():
                        break
                    self._owned -= 1
                    dead.append(worker)
                    continue
                if self._spares:
                    worker, n_start = self._spares.pop(), 0
                    if not worker.alive():
                        dead.append(worker)
                        continue
                    self._owned += 1
                    break
                if self._cold:
                    self._cold, n_start = False, size
                    self._owned += size
                    break
                if self._owned < size and not self._spares_starting:  # a worker was killed, no spare coming
                    n_start = 1
                    self._owned += 1
                    break
                self._lock.wait()  # a start (cold, or the spare's) is under way, or every worker is busy
        if n_start:
            try:
                workers = self._start_workers(n_start)
            except BaseException:
                with self._lock:
                    self._owned -= n_start
                    self._cold = self._cold or n_start == size
                    self._lock.notify_all()
                raise
            worker = workers[0]
            with self._lock:
                self._idle.extend(workers[1:])
                self._lock.notify_all()
        for corpse in dead:
            corpse.kill()  # closes its pipe
        self._refill_spares()  # a spare taken or found dead is replaced in the background
        return worker

    def _give_back(self, worker: Worker) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(worker)
                self._lock.notify_all()
                return
        worker.kill()

    def _refill_spares(self) -> None:
        """Start spares in the background up to ``spares()`` (never more than one start at a time)."""
        with self._lock:
            if (self._closed or self._spares_starting or len(self._spares) >= self._spare_count()
                    or self._start_error is not None):
                return
            self._spares_starting += 1
        threading.Thread(target=self._start_spare, name=f"{self.name}-spare", daemon=True).start()

    def _start_spare(self) -> None:
        lock = self._lock  # the state this start belongs to (``_reset`` replaces it)
        try:
            worker = self._start_workers(1, lock)[0]
        except BaseException:  # noqa: BLE001 - logged by _start_workers; the next kill tries again
            worker = None
        with lock:
            if self._lock is not lock:  # the pool was reset meanwhile: its counters are not ours to touch
                if worker is not None:
                    worker.kill()
                return
            self._spares_starting -= 1
            keep = worker is not None and not self._closed
            if keep:
                self._spares.append(worker)
            self._lock.notify_all()
        if worker is not None and not keep:
            worker.kill()
        if keep:
            self._refill_spares()

    def _discard(self, worker: Worker, killed: bool) -> None:
        worker.kill()
        with self._lock:
            self._owned -= 1
            self.kills += killed
            self._lock.notify_all()
        self._refill_spares()

    def call(self, fn: Callable[..., Any], args: tuple, timeout_s: float) -> Any:
        """``fn(*args)`` in a worker (``fn`` picklable by reference); ``TimeoutError`` if it takes more than
        ``timeout_s`` (the worker is killed); what ``fn`` raised is raised here."""
        with self._slot():
            for _ in range(self.attempts):
                worker = self._take()
                try:
                    result = worker.run(fn, args, timeout_s)
                except TimeoutError:
                    self._discard(worker, killed=True)
                    raise
                except WorkerDied:  # crashed or killed under us: a fresh worker takes the call again
                    self._discard(worker, killed=False)
                    continue
                except BaseException:
                    self._give_back(worker)  # fn raised: the worker is fine
                    raise
                self._give_back(worker)
                return result
            raise WorkerDied(f"{self.name} workers died {self.attempts} times in a row")

    def close(self) -> None:
        """Kill the idle workers and spares now, and busy ones when their call returns; later calls raise."""
        with self._lock:
            self._closed = True
            workers, self._idle, self._spares = self._idle + self._spares, [], []
            self._lock.notify_all()
        for worker in workers:
            worker.kill()


_EXITING = False


@atexit.register
def _exiting() -> None:
    global _EXITING
    _EXITING = True


def _reset_after_fork() -> None:
    for pool in list(_POOLS):
        pool._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
