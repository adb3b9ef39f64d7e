"""Language-fidelity metrics of reasoning traces (AdaMame; docs/methods.md, "Evaluation metrics").

For a trace ``y`` answering a query in language ``l_q`` (math stripped first with
:func:`~verl_multiling.scorers.text_cleaning.strip_math`; lines are the non-empty lines of
the stripped text):

* line-level, per trace:  ``line_consistent(y) = 1[ every line L of y: lid(L) in {l_q, None} ]``
  where ``lid(L) = None`` means "undetectable" (too few letters, or the backend abstains);
* word-level, per trace:  ``word_consistent(y) = 1[ no Latin run [a-zA-Z]{2,} ]`` when
  ``l_q`` is written in a non-Latin script, ``1[ no non-Latin letter ]`` when it is written
  in Latin script (:data:`SCRIPT_OF_LANGUAGE`);
* ``code_switch_rate(y) = #{lines L : lid(L) not in {None, l_q}} / #{lines L : lid(L) != None}``
  (0.0 when no line is detectable).

Over a set of N traces (:func:`fidelity_metrics`):

* ``LPR  = (1/N) * sum_y line_consistent(y)``;
* ``WPR  = sum_y line_consistent(y) * word_consistent(y) / sum_y line_consistent(y)`` (WPR is
  taken among the line-consistent traces; 0.0 when there is none);
* ``LCPR = 2 * LPR * WPR / (LPR + WPR)`` (harmonic mean; 0.0 when both are 0);
* code-switch rate = the mean of the per-trace rates.

A trace with no detectable line (empty, or pure math) is line-consistent: the definition
quantifies over its lines, and there are none in another language. The functions here are
pure; the detector is passed in (anything with ``detect(text) -> str | None``, such as
:func:`verl_multiling.scorers.language_id.get_detector`'s result).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Protocol, Sequence

from verl_multiling.scorers.language_id import normalize_code
from verl_multiling.scorers.text_cleaning import strip_math

__all__ = [
    "SCRIPT_OF_LANGUAGE",
    "FidelityMetrics",
    "SupportsDetect",
    "code_switch_rate",
    "fidelity_metrics",
    "harmonic_mean",
    "is_latin_script",
    "language_match",
    "line_consistent",
    "line_languages",
    "word_consistent",
]


class SupportsDetect(Protocol):
    """Anything that maps a text to an ISO 639-1 code or ``None``."""

    def detect(self, text: str) -> str | None:  # pragma: no cover - protocol
        ...


#: ISO 639-1 code -> the script the language is written in. "Latin" selects the
#: "no non-Latin letter" word check; any other value the "no Latin run" check.
SCRIPT_OF_LANGUAGE: dict[str, str] = {
    # Latin script
    **dict.fromkeys(
        "af az bs ca cs cy da de en eo es et eu fi fil fr ga gl ha hr ht hu id ig is it jv "
        "la lb lg lt lv mg mi ms mt nb nl nn no oc pl pt qu ro rw sk sl sn so sq st sv sw "
        "tl tn tr ts uz vi wa xh yo zu".split(),
        "Latin",
    ),
    # other scripts
    "zh": "Han", "ja": "Japanese", "ko": "Hangul",
    "th": "Thai", "lo": "Lao", "km": "Khmer", "my": "Myanmar",
    **dict.fromkeys("ru uk be bg sr mk kk ky mn tg".split(), "Cyrillic"),
    "el": "Greek", "he": "Hebrew", "yi": "Hebrew",
    **dict.fromkeys("ar fa ur ps ug ku sd".split(), "Arabic"),
    **dict.fromkeys("hi mr ne sa".split(), "Devanagari"),
    "bn": "Bengali", "as": "Bengali", "te": "Telugu", "ta": "Tamil", "kn": "Kannada",
    "ml": "Malayalam", "gu": "Gujarati", "pa": "Gurmukhi", "or": "Oriya", "si": "Sinhala",
    "am": "Ethiopic", "ti": "Ethiopic", "ka": "Georgian", "hy": "Armenian", "dz": "Tibetan",
    "bo": "Tibetan",
}

# Latin-script letters (basic, Latin-1, Extended-A/B, IPA, spacing modifiers, phonetic
# extensions, Extended Additional, Extended-C/D/E, ligatures, fullwidth) plus the ordinal
# indicators (1ª, 2º) and the micro sign (µm); also the script-neutral math letters
# (letterlike symbols such as ℝ, ℓ and the mathematical alphanumerics such as 𝑥).
_LATIN_LETTERS = (
    "A-Za-z\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u1d00-\u1dbf"
    "\u1e00-\u1eff\u2071\u207f\u2090-\u209c\u2100-\u214f\u2c60-\u2c7f\ua720-\ua7ff"
    "\uab30-\uab6f\ufb00-\ufb06\uff21-\uff3a\uff41-\uff5a\U0001d400-\U0001d7ff"
)
# A run of letters (``[^\W\d_]``) none of which is a Latin letter.
_NON_LATIN_RUN = re.compile(rf"(?:(?![{_LATIN_LETTERS}])[^\W\d_])+")
_LATIN_RUN = re.compile(r"[a-zA-Z]{2,}")
# A single Greek letter standing alone (not part of a word) is a math symbol (π, Δ, θ),
# not Greek text, and is allowed in a Latin-script trace.
_GREEK_SYMBOL = re.compile("[\u0370-\u03ff\u1f00-\u1fff]")


def is_latin_script(lang: str) -> bool:
    """Whether ``lang`` (ISO 639-1) is written in Latin script.

    >>> is_latin_script("sw"), is_latin_script("th"), is_latin_script("pt-BR")
    (True, False, True)

    Raises:
        ValueError: ``lang`` is not in :data:`SCRIPT_OF_LANGUAGE`.
    """
    code = normalize_code(lang)
    if code not in SCRIPT_OF_LANGUAGE:
        raise ValueError(
            f"no script known for language {lang!r}; add it to SCRIPT_OF_LANGUAGE "
            f"(known: {sorted(SCRIPT_OF_LANGUAGE)})"
        )
    return SCRIPT_OF_LANGUAGE[code] == "Latin"


def language_match(detected: str | None, query_lang: str | None) -> bool:
    """Whether a detected language is the query language (``None`` never matches).

    >>> language_match("zh-CN", "zh"), language_match("wuu", "zh"), language_match(None, "en")
    (True, True, False)
    """
    detected_code = normalize_code(detected)
    return detected_code is not None and detected_code == normalize_code(query_lang)


def _line_languages_cleaned(cleaned: str, detector: SupportsDetect) -> list[str | None]:
    return [normalize_code(detector.detect(line)) for line in cleaned.split("\n") if line]


def line_languages(text: str, detector: SupportsDetect) -> list[str | None]:
    """The detected language of each non-empty line of ``strip_math(text)``."""
    return _line_languages_cleaned(strip_math(text), detector)


def line_consistent(text: str, query_lang: str, detector: SupportsDetect) -> bool:
    """LPR for one trace: every line is detected as ``query_lang`` or is undetectable."""
    query = normalize_code(query_lang)
    for line in strip_math(text).split("\n"):
        if line:
            detected = normalize_code(detector.detect(line))
            if detected is not None and detected != query:
                return False
    return True


def _has_foreign_letter_in_latin_text(cleaned: str) -> bool:
    for match in _NON_LATIN_RUN.finditer(cleaned):
        run = match.group()
        if len(run) > 1 or not _GREEK_SYMBOL.match(run):
            return True
    return False


def _word_consistent_cleaned(cleaned: str, latin: bool) -> bool:
    if latin:
        return not _has_foreign_letter_in_latin_text(cleaned)
    return _LATIN_RUN.search(cleaned) is None


def word_consistent(text: str, query_lang: str) -> bool:
    """WPR check for one trace (after :func:`strip_math`).

    Non-Latin-script query language: no Latin run ``[a-zA-Z]{2,}``. Latin-script query
    language: no letter of another script (a lone Greek letter such as π counts as a math
    symbol, not as Greek).

    >>> word_consistent("ก่อนอื่น Let $x = 3$", "th"), word_consistent("La ville de 日本", "fr")
    (False, False)
    >>> word_consistent("Soit $x$ le prix, donc π r vaut", "fr")
    True

    Raises:
        ValueError: the script of ``query_lang`` is unknown (see :func:`is_latin_script`).
    """
    latin = is_latin_script(query_lang)  # first: unknown languages raise before any work
    return _word_consistent_cleaned(strip_math(text), latin)


def code_switch_rate(text: str, query_lang: str, detector: SupportsDetect) -> float:
    """Share of detectable lines whose language is not ``query_lang`` (0.0 if none)."""
    query = normalize_code(query_lang)
    detected = [lang for lang in line_languages(text, detector) if lang is not None]
    if not detected:
        return 0.0
    return sum(lang != query for lang in detected) / len(detected)


def harmonic_mean(a: float, b: float) -> float:
    """``2ab / (a + b)``, 0.0 when ``a + b == 0`` (LCPR from LPR and WPR).

    >>> harmonic_mean(0.5, 1.0)
    0.6666666666666666
    """
    return 0.0 if a + b == 0 else 2.0 * a * b / (a + b)


@dataclass(frozen=True)
class FidelityMetrics:
    """Aggregate language-fidelity metrics over a set of traces (see module docstring)."""

    lpr: float
    wpr: float
    lcpr: float
    code_switch_rate: float
    n: int

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        """Flat ``{prefix + name: value}`` dict for loggers."""
        return {f"{prefix}{key}": float(value) for key, value in vars(self).items()}


def fidelity_metrics(
    texts: Sequence[str], query_langs: Iterable[str] | str, detector: SupportsDetect
) -> FidelityMetrics:
    """LPR, WPR, LCPR and mean code-switch rate of ``texts`` (one query language each,
    or one language for all).

    One line-level pass per trace serves both LPR and the code-switch rate.
    """
    langs = [query_langs] * len(texts) if isinstance(query_langs, str) else list(query_langs)
    if len(langs) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(langs)} query languages")
    if not texts:
        return FidelityMetrics(lpr=0.0, wpr=0.0, lcpr=0.0, code_switch_rate=0.0, n=0)
    latin = [is_latin_script(lang) for lang in langs]  # fail fast on an unknown language
    n_line_ok = n_both_ok = 0
    switch_rates = []
    for text, lang, is_latin in zip(texts, langs, latin):
        query = normalize_code(lang)
        cleaned = strip_math(text)
        detected = [d for d in _line_languages_cleaned(cleaned, detector) if d is not None]
        foreign = sum(d != query for d in detected)
        switch_rates.append(foreign / len(detected) if detected else 0.0)
        if foreign == 0:
            n_line_ok += 1
            n_both_ok += _word_consistent_cleaned(cleaned, is_latin)
    lpr = n_line_ok / len(texts)
    wpr = n_both_ok / n_line_ok if n_line_ok else 0.0
    return FidelityMetrics(
        lpr=lpr,
        wpr=wpr,
        lcpr=harmonic_mean(lpr, wpr),
        code_switch_rate=sum(switch_rates) / len(texts),
        n=len(texts),
    )
