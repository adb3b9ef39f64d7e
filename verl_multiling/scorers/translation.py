"""Translation-quality scorers behind one interface, for TAPO's r_trans.

Every scorer maps a batch of hypotheses (the policy's rendering of the question in English), with
references (the dataset's English question) and/or sources (the question as asked), to scores in
[0, 1]:

=============  ==========  ========  ==================================================================
metric         reference   source    scorer
=============  ==========  ========  ==================================================================
``chrf``       yes         no        sacrebleu chrF / 100 (character n-gram F-beta); the offline default
``comet``      yes         yes       reference-based COMET (wmt22-comet-da style), clipped to [0, 1]
``cometkiwi``  no          yes       reference-free CometKiwi (wmt22-cometkiwi-da style), clipped
=============  ==========  ========  ==================================================================

COMET checkpoints load with our own loader on transformers 5 (:mod:`verl_multiling.scorers.comet`);
``unbabel-comet`` cannot share verl 0.9.1's environment. Model-based scorers are shared per node
behind one batched actor (:mod:`verl_multiling.scorers.scoring_service`); chrF runs in the
reward worker. Config: ``multiling.tapo.translation`` (see :class:`TranslationConfig`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from verl_multiling.confnode import check_device
from verl_multiling.confnode import node_get as _get
from verl_multiling.scorers.translation_base import TranslationScorer

__all__ = ["METRICS", "ChrFScorer", "CometSettings", "TranslationConfig", "TranslationScorer", "build_scorer",
           "get_local_scorer"]

METRICS = ("chrf", "comet", "cometkiwi")
SERVICE_MODES = ("auto", "ray", "local")


class ChrFScorer(TranslationScorer):
    """sacrebleu chrF (Popović 2015) / 100: F_β over character n-grams (n ≤ char_order) and,
    for chrF++ (word_order = 2), word n-grams. Language-agnostic, so it suits th/te/bn/sw.

    >>> s = ChrFScorer()
    >>> [round(x, 4) for x in s.score(["Janet has 16 eggs.", "cats"], ["Janet has 16 eggs.", "Janet has 16 eggs."])]
    [1.0, 0.0586]
    """

    name = "chrf"
    needs_reference = True
    needs_source = False

    def __init__(self, char_order: int = 6, word_order: int = 0, beta: int = 2):
        from sacrebleu.metrics import CHRF

        self.char_order, self.word_order, self.beta = char_order, word_order, beta
        self._local = threading.local()  # CHRF keeps per-call state: one instance per thread
        self._make = lambda: CHRF(char_order=char_order, word_order=word_order, beta=beta)

    def score(self, hypotheses, references=None, sources=None) -> list[float]:
        self.check_inputs(hypotheses, references, sources)
        chrf = getattr(self._local, "chrf", None)
        if chrf is None:
            chrf = self._local.chrf = self._make()
        return [chrf.sentence_score(h, [r]).score / 100.0 for h, r in zip(hypotheses, references, strict=True)]


@dataclass(frozen=True)
class CometSettings:
    checkpoint: str | None = None  # directory with hparams.yaml + checkpoints/model.ckpt (and the encoder's files)
    device: str = "auto"  # auto (cuda when available) | cpu | cuda | cuda:N
    dtype: str = "auto"  # auto (bf16 on GPU, fp32 on CPU) | bfloat16 | float16 | float32
    batch_size: int = 64  # segments per forward pass (length-bucketed)
    trust_checkpoint: bool = False  # allow a pickled (not weights-only) checkpoint


@dataclass(frozen=True)
class ServiceSettings:
    mode: str = "auto"  # auto: model metrics behind the per-node Ray actor when Ray is up | ray | local
    num_gpus: float = 0.0  # the actor's GPU share (0: CPU; 1: its own GPU)
    num_cpus: float = 1.0
    max_batch: int = 256  # segments per scorer call, across concurrent requests
    max_wait_ms: float = 20.0  # how long the first request waits for company
    max_concurrency: int = 256  # concurrent requests the actor accepts
    start_timeout_s: float = 600.0  # placement + model load; then a clear error instead of a hang


@dataclass(frozen=True)
class TranslationConfig:
    metric: str = "chrf"
    char_order: int = 6  # chrF
    word_order: int = 0  # chrF (2 = chrF++)
    beta: int = 2  # chrF
    comet: CometSettings = CometSettings()
    service: ServiceSettings = ServiceSettings()

    @property
    def needs_reference(self) -> bool:
        return self.metric in ("chrf", "comet")

    @property
    def needs_source(self) -> bool:
        """COMET and CometKiwi read the question as asked; chrF does not."""
        return self.metric != "chrf"

    @classmethod
    def from_node(cls, node: Any, path: str = "multiling.tapo.translation") -> TranslationConfig:
        """Read and validate the node; errors name the field."""
        node = node or {}
        metric = _get(node, "metric", "chrf")
        if metric not in METRICS:
            raise ValueError(f"{path}.metric={metric!r}: choose one of {', '.join(METRICS)}")
        comet = _get(node, "comet", None) or {}
        service = _get(node, "service", None) or {}
        mode = _get(service, "mode", "auto")
        if mode not in SERVICE_MODES:
            raise ValueError(f"{path}.service.mode={mode!r}: choose one of {', '.join(SERVICE_MODES)}")
        checkpoint = _get(comet, "checkpoint", None)
        if metric != "chrf" and not checkpoint:
            raise ValueError(f"{path}.comet.checkpoint is required for metric={metric!r}: a directory with "
                             "hparams.yaml and checkpoints/model.ckpt (see docs/methods.md, TAPO)")
        dtype = _get(comet, "dtype", "auto")
        if dtype not in ("auto", "bfloat16", "float16", "float32"):
            raise ValueError(f"{path}.comet.dtype={dtype!r}: auto | bfloat16 | float16 | float32")
        return cls(
            metric=metric,
            char_order=_int(node, f"{path}.char_order", "char_order", 6, 1),
            word_order=_int(node, f"{path}.word_order", "word_order", 0, 0),
            beta=_int(node, f"{path}.beta", "beta", 2, 1),
            comet=CometSettings(checkpoint=None if checkpoint is None else str(checkpoint),
                                device=check_device(_get(comet, "device", "auto"), f"{path}.comet.device"),
                                dtype=dtype,
                                batch_size=_int(comet, f"{path}.comet.batch_size", "batch_size", 64, 1),
                                trust_checkpoint=_bool(comet, f"{path}.comet.trust_checkpoint", "trust_checkpoint")),
            service=ServiceSettings(
                mode=mode,
                num_gpus=_float(service, f"{path}.service.num_gpus", "num_gpus", 0.0),
                num_cpus=_float(service, f"{path}.service.num_cpus", "num_cpus", 1.0),
                max_batch=_int(service, f"{path}.service.max_batch", "max_batch", 256, 1),
                max_wait_ms=_float(service, f"{path}.service.max_wait_ms", "max_wait_ms", 20.0),
                max_concurrency=_int(service, f"{path}.service.max_concurrency", "max_concurrency", 256, 1),
                start_timeout_s=_float(service, f"{path}.service.start_timeout_s", "start_timeout_s", 600.0),
            ),
        )


def build_scorer(cfg: TranslationConfig) -> TranslationScorer:
    """A new scorer for the metric (loads the COMET model: call once per process, or use the service)."""
    if cfg.metric == "chrf":
        return ChrFScorer(cfg.char_order, cfg.word_order, cfg.beta)
    from verl_multiling.scorers.comet import CometScorer

    scorer = CometScorer(cfg.comet.checkpoint, device=cfg.comet.device, dtype=cfg.comet.dtype,
                         batch_size=cfg.comet.batch_size, trust_checkpoint=cfg.comet.trust_checkpoint)
    expected_kiwi = cfg.metric == "cometkiwi"
    if scorer.reference_free != expected_kiwi:
        kind = "reference-free (CometKiwi)" if scorer.reference_free else "reference-based (COMET)"
        raise ValueError(f"multiling.tapo.translation.metric={cfg.metric!r} but {cfg.comet.checkpoint} is a "
                         f"{kind} checkpoint")
    return scorer


_SCORERS: dict[TranslationConfig, TranslationScorer] = {}
_SCORERS_LOCK = threading.Lock()


def get_local_scorer(cfg: TranslationConfig) -> TranslationScorer:
    """The process-wide scorer for ``cfg`` (built once per process, shared by threads)."""
    with _SCORERS_LOCK:
        scorer = _SCORERS.get(cfg)
        if scorer is None:
            scorer = _SCORERS[cfg] = build_scorer(cfg)
        return scorer


def _int(node: Any, path: str, key: str, default: int, minimum: int) -> int:
    value = _get(node, key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{path}={value!r}: must be an integer >= {minimum}")
    return value


def _bool(node: Any, path: str, key: str) -> bool:
    value = _get(node, key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{path}={value!r}: must be true or false")
    return value


def _float(node: Any, path: str, key: str, default: float) -> float:
    value = _get(node, key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{path}={value!r}: must be a number >= 0")
    return float(value)
