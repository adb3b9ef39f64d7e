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

from verl_multiling.config.confnode import check_device
from verl_multiling.config.knobs import SERVICE_MODES as KNOB_SERVICE_MODES
from verl_multiling.config.knobs import TRANSLATION_METRICS
from verl_multiling.plumbing.process_cache import once_per_key
from verl_multiling.scorers.translation_base import TranslationScorer

__all__ = ["METRICS", "ChrFScorer", "CometSettings", "TranslationConfig", "TranslationScorer", "build_scorer",
           "get_local_scorer"]

METRICS, SERVICE_MODES = TRANSLATION_METRICS, KNOB_SERVICE_MODES  # declared in verl_multiling.config.knobs


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
        """Read and validate the node (knobs declared in :mod:`verl_multiling.config.knobs`); errors name the field."""
        from verl_multiling.config.knobs import TRANSLATION
        from verl_multiling.config.schema import SettingsError, read

        values, errors = read(node or {}, TRANSLATION, path)
        cfg, rule_errors = cls.from_values(values, path)
        if errors or rule_errors:
            raise SettingsError(errors + rule_errors)
        return cfg

    @classmethod
    def from_values(cls, v: dict[str, Any], path: str = "multiling.tapo.translation"
                    ) -> tuple[TranslationConfig, list[str]]:
        """From values the schema read (``knobs.TRANSLATION``): the config, and the errors of the rules that tie
        knobs together (a model metric needs a checkpoint; a device name we accept)."""
        comet, service = v["comet"], v["service"]
        errors = []
        if v["metric"] != "chrf" and not comet["checkpoint"]:
            errors.append(f"{path}.comet.checkpoint is required for metric={v['metric']!r}: a directory with "
                          "hparams.yaml and checkpoints/model.ckpt (see docs/methods.md, TAPO)")
        try:
            check_device(comet["device"], f"{path}.comet.device")
        except ValueError as exc:
            errors.append(str(exc))
        cfg = cls(metric=v["metric"], char_order=v["char_order"], word_order=v["word_order"], beta=v["beta"],
                  comet=CometSettings(**comet), service=ServiceSettings(**service))
        return cfg, errors


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


@once_per_key
def get_local_scorer(cfg: TranslationConfig) -> TranslationScorer:
    """The process-wide scorer for ``cfg`` (built once per process, shared by threads)."""
    return build_scorer(cfg)
