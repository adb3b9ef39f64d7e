"""One shared, batched translation scorer per node: a named Ray actor owned by the job, or in-process.

verl runs ``reward.num_workers`` RewardLoopWorker actors, and each scores its rollouts in a thread
pool as they finish. Loading a COMET model in every worker would multiply its memory and scoring
one segment per call would waste the accelerator, so:

* :class:`BatchingScorer` wraps any :class:`~verl_multiling.scorers.translation.TranslationScorer`.
  ``score`` is thread-safe and blocking; a background thread takes the first waiting request,
  waits at most ``max_wait_ms`` for others, concatenates them up to ``max_batch`` segments and
  makes ONE scorer call, then hands each caller its slice. Concurrent rollouts are thus scored
  together, and a scorer error fails only the requests of that batch.
* :class:`ScoringActor` is that batcher inside a threaded Ray actor, created once per node and job under
  the name ``verl_multiling_translation_<metric>_<job id>_<node id>`` (namespace ``verl_multiling``,
  ``get_if_exists=True``, pinned to the node with a hard ``NodeAffinitySchedulingStrategy``), with
  ``num_gpus``/``num_cpus`` from ``multiling.tapo.translation.service`` (its own GPU, a share of one, or
  CPU only). It is not detached: Ray ties it to the process that created it (one of the job's reward
  workers, which hold its handle for their lifetime), so it ends with the job, even one whose driver is
  killed, and a long-lived cluster keeps no scorer (nor its GPU) after the run. The job id in the name keeps
  two jobs on one cluster from sharing (and ending) each other's actor (:func:`actor_name`).
* :func:`get_translation_scorer` resolves the scorer: the node's actor when the mode is
  ``ray``, or ``auto`` with Ray initialised and a model-based metric; otherwise a process-wide local
  batcher for a model (Ray not initialised, tests), or the plain chrF scorer.
* :func:`guarded_translation_scorer` is what a reward manager holds: that scorer behind the fault
  policy (:class:`GuardedTranslationScorer`: timeout, retries with actor re-creation, chrF fallback or
  stop; see :mod:`verl_multiling.config.faults`).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from verl_multiling.config.faults import FaultPolicy, Outcome, ScorerGuard, ScorerUnavailable
from verl_multiling.plumbing.process_cache import once_per_key
from verl_multiling.scorers.translation import ChrFScorer, TranslationConfig, TranslationScorer, get_local_scorer

logger = logging.getLogger(__name__)

NAMESPACE = "verl_multiling"
ACTOR_PREFIX = "verl_multiling_translation"


@dataclass
class _Request:
    hypotheses: list[str]
    references: list[str] | None
    sources: list[str] | None
    future: Future = field(default_factory=Future)


@dataclass
class BatchStats:
    requests: int = 0
    segments: int = 0
    batches: int = 0
    failed_batches: int = 0
    busy_s: float = 0.0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class BatchingScorer(TranslationScorer):
    """Thread-safe scorer that merges concurrent requests into batched calls of ``scorer``."""

    def __init__(self, scorer: TranslationScorer, max_batch: int = 256, max_wait_ms: float = 20.0):
        self.scorer = scorer
        self.name, self.needs_reference, self.needs_source = scorer.name, scorer.needs_reference, scorer.needs_source
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1000.0
        self.stats = BatchStats()
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="translation-batcher", daemon=True)
        self._thread.start()

    def score(self, hypotheses: Sequence[str], references: Sequence[str] | None = None,
              sources: Sequence[str] | None = None) -> list[float]:
        self.check_inputs(hypotheses, references, sources)
        if not hypotheses:
            return []
        request = _Request(list(hypotheses), None if references is None else list(references),
                           None if sources is None else list(sources))
        self._queue.put(request)
        return request.future.result()

    def _collect(self) -> list[_Request]:
        batch = [self._queue.get()]
        size = len(batch[0].hypotheses)
        deadline = time.monotonic() + self.max_wait_s
        while size < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                request = self._queue.get(timeout=max(remaining, 0.0)) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            batch.append(request)
            size += len(request.hypotheses)
        return batch

    def _loop(self) -> None:
        while True:
            batch = self._collect()
            hyps = [h for r in batch for h in r.hypotheses]
            refs = None if any(r.references is None for r in batch) else [x for r in batch for x in r.references]
            srcs = None if any(r.sources is None for r in batch) else [x for r in batch for x in r.sources]
            started = time.perf_counter()
            try:
                scores = self.scorer.score(hyps, refs, srcs)
                if len(scores) != len(hyps):
                    raise RuntimeError(f"{self.name}: {len(scores)} scores for {len(hyps)} segments")
            except Exception as exc:  # fail this batch's callers, keep serving
                with self._lock:
                    self.stats.failed_batches += 1
                for r in batch:
                    r.future.set_exception(exc)
                continue
            with self._lock:
                self.stats.requests += len(batch)
                self.stats.segments += len(hyps)
                self.stats.batches += 1
                self.stats.busy_s += time.perf_counter() - started
            offset = 0
            for r in batch:
                r.future.set_result([float(x) for x in scores[offset: offset + len(r.hypotheses)]])
                offset += len(r.hypotheses)


class ScoringActor:
    """The Ray actor body: one model, one batcher, many concurrent ``score`` calls."""

    def __init__(self, cfg: TranslationConfig):
        from verl_multiling.scorers.translation import build_scorer

        self.cfg = cfg
        self.batcher = BatchingScorer(build_scorer(cfg), cfg.service.max_batch, cfg.service.max_wait_ms)

    def score(self, hypotheses, references=None, sources=None) -> list[float]:
        return self.batcher.score(hypotheses, references, sources)

    def stats(self) -> dict:
        return self.batcher.stats.as_dict()

    def ready(self) -> bool:
        return True


class RemoteScorer(TranslationScorer):
    """A client of the node's :class:`ScoringActor` with the scorer interface.

    When the actor dies (killed, node OOM, crash in the model, or the reward worker that created it
    exited), the call raises and the handle is dropped: the next call (the fault policy's retry) looks
    the actor up again and, the name being free, creates a new one on this node, owned by this process.
    """

    def __init__(self, handle, cfg: TranslationConfig, timeout_s: float = 600.0):
        self.handle, self.cfg, self.timeout_s = handle, cfg, timeout_s
        self.name = cfg.metric
        self.needs_reference = cfg.needs_reference
        self.needs_source = cfg.needs_source
        self.reconnects = 0
        self._lock = threading.Lock()

    def _handle(self):
        with self._lock:
            if self.handle is None:
                self.handle = get_or_create_actor(self.cfg)
                self.reconnects += 1
            return self.handle

    def score(self, hypotheses, references=None, sources=None) -> list[float]:
        import ray

        self.check_inputs(hypotheses, references, sources)
        handle = self._handle()
        try:
            return ray.get(handle.score.remote(list(hypotheses), references, sources), timeout=self.timeout_s)
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError):
            with self._lock:
                if self.handle is handle:
                    self.handle = None  # dead: the next call re-creates it
            raise

    def stats(self) -> dict:
        import ray

        return ray.get(self._handle().stats.remote())


class GuardedTranslationScorer(TranslationScorer):
    """A model-based translation scorer under the fault policy (:mod:`verl_multiling.config.faults`).

    The scorer itself (the node's actor, or a local batcher) is acquired inside the guarded call, so a
    model that fails to load, an actor that cannot be placed, one that raises, hangs, dies or returns a NaN
    or ±inf score all take the same path: timeout, retries, then chrF on the same segments (``on_failure=fallback``, needs
    references), or ``ScorerUnavailable`` (``zero``: the caller scores 0), or ``ScorerFailure`` (``stop``).
    Building this object loads nothing.
    """

    def __init__(self, cfg: TranslationConfig, policy: FaultPolicy):
        self.cfg, self.policy = cfg, policy
        self.name, self.needs_reference = cfg.metric, cfg.needs_reference
        self.needs_source = cfg.needs_source
        self._inner: TranslationScorer | None = None
        self._lock = threading.Lock()
        self.guard = ScorerGuard(f"translation scorer {cfg.metric!r}", policy, fallback=self._fallback)

    def inner(self) -> TranslationScorer:
        with self._lock:
            if self._inner is None:
                self._inner = get_translation_scorer(self.cfg)
            return self._inner

    def _primary(self, hypotheses, references, sources) -> list[float]:
        scores = self.inner().score(hypotheses, references, sources)
        if len(scores) != len(hypotheses):
            raise RuntimeError(f"{self.name}: {len(scores)} scores for {len(hypotheses)} segments")
        values = [float(x) for x in scores]
        bad = [i for i, x in enumerate(values) if not math.isfinite(x)]
        if bad:  # a NaN/inf is a failed call, not a score: retried, then chrF (counted), zero or stop
            raise FloatingPointError(f"{self.name} returned {len(bad)} non-finite score(s) of {len(values)} "
                                     f"(segments {bad[:5]}{'...' if len(bad) > 5 else ''})")
        return values

    def _fallback(self, hypotheses, references, sources) -> list[float]:
        if references is None:
            raise ScorerUnavailable(f"{self.name} failed and its chrF fallback needs references "
                                    "(multiling.tapo.reference_key)")
        return ChrFScorer(self.cfg.char_order, self.cfg.word_order, self.cfg.beta).score(hypotheses, references)

    def score_outcome(self, hypotheses, references=None, sources=None) -> Outcome[list[float]]:
        self.check_inputs(hypotheses, references, sources)
        if not len(hypotheses):
            return Outcome([])
        return self.guard.call(self._primary, list(hypotheses), None if references is None else list(references),
                               None if sources is None else list(sources))

    def score(self, hypotheses, references=None, sources=None) -> list[float]:
        return self.score_outcome(hypotheses, references, sources).value


def current_job_id() -> str:
    """The Ray job this process belongs to (the driver's job, also inside its actors), as hex."""
    import ray

    return ray.get_runtime_context().get_job_id()


def actor_name(cfg: TranslationConfig, node_id: str, job_id: str | None = None) -> str:
    """The actor's name for one node of one job (``job_id``: this process's job when None).

    >>> actor_name(TranslationConfig(), "abc123", job_id="02000000")
    'verl_multiling_translation_chrf_02000000_abc123'
    """
    return f"{ACTOR_PREFIX}_{cfg.metric}_{job_id or current_job_id()}_{node_id}"


def get_or_create_actor(cfg: TranslationConfig, node_id: str | None = None):
    """This node's scoring actor for this job, created on first use (races resolve through ``get_if_exists``).

    Not detached: the actor lives while the process that created it holds its handle (a :class:`RemoteScorer`
    keeps it) and ends with the job at the latest."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    node_id = node_id or ray.get_runtime_context().get_node_id()
    options = dict(
        name=actor_name(cfg, node_id), namespace=NAMESPACE, get_if_exists=True,
        num_cpus=cfg.service.num_cpus, num_gpus=cfg.service.num_gpus, max_concurrency=cfg.service.max_concurrency,
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node_id, soft=False),
    )
    handle = ray.remote(ScoringActor).options(**options).remote(cfg)
    try:
        ray.get(handle.ready.remote(), timeout=cfg.service.start_timeout_s)
    except ray.exceptions.GetTimeoutError:
        raise RuntimeError(
            f"the translation scoring actor {options['name']} did not start within {cfg.service.start_timeout_s:.0f}s: "
            f"node {node_id} may lack num_gpus={cfg.service.num_gpus} / num_cpus={cfg.service.num_cpus} free "
            "(multiling.tapo.translation.service.*; leave one GPU per node outside trainer.n_gpus_per_node, or "
            "use num_gpus=0 with comet.device=cpu)") from None
    return handle


def use_actor(cfg: TranslationConfig) -> bool:
    """Whether ``cfg`` selects the per-node Ray actor in this process."""
    mode = cfg.service.mode
    if mode == "local":
        return False
    import ray

    if mode == "ray":
        if not ray.is_initialized():
            raise RuntimeError("multiling.tapo.translation.service.mode=ray but Ray is not initialised in this "
                               "process; use mode=auto or local")
        return True
    return ray.is_initialized() and cfg.metric != "chrf"


def guarded_translation_scorer(cfg: TranslationConfig, policy: FaultPolicy) -> TranslationScorer:
    """What a reward manager holds: chrF in process (pure, cannot fail for outside reasons), or a model-based
    metric under the fault policy (acquired lazily on the first call)."""
    if cfg.metric == "chrf" and not use_actor(cfg):
        return get_local_scorer(cfg)
    return GuardedTranslationScorer(cfg, policy)


def get_translation_scorer(cfg: TranslationConfig) -> TranslationScorer:
    """The scorer a reward manager should use: the node's shared actor, or a process-wide local batcher."""
    if use_actor(cfg):
        return RemoteScorer(get_or_create_actor(cfg), cfg)
    if cfg.metric == "chrf":  # microseconds per segment, thread-safe: waiting for company would only add latency
        return get_local_scorer(cfg)
    return _local_batcher(cfg)


@once_per_key
def _local_batcher(cfg: TranslationConfig) -> BatchingScorer:
    """The process-wide batcher around the local model scorer (Ray not initialised, tests)."""
    return BatchingScorer(get_local_scorer(cfg), cfg.service.max_batch, cfg.service.max_wait_ms)
