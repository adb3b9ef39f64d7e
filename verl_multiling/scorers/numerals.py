r"""Read a final answer written in any language's number conventions as an exact number.

Models answering in Bengali, Thai, German or Persian write the same number in many ways:
``১৮``, ``๑๘``, ``1.500``, ``1{,}5``, ``1\,000``, ``1'000``, ``١٨``, ``18 টাকা``,
``18万``. math-verify misreads most of them (``1\,000`` becomes ``1*0``, ``1{,}5`` the set
``{1, 5}``, native digits nothing at all), which silently turns correct answers into zero
rewards. This module maps such an answer to an exact :class:`fractions.Fraction`:

>>> parse_number("১,৫০০")
Fraction(1500, 1)
>>> normalize_number(r"1{,}5 \text{ kg}")
'1.5'
>>> normalize_number("2,5", lang="de"), normalize_number("2,5", lang="en")
('2.5', None)

What is read, in this order (anything else gives ``None``: "not a plain number"):

1. every Unicode decimal digit becomes ASCII (:func:`to_ascii_digits`), as do full-width
   ``，．－＋／％``, the minus sign ``−`` and the Arabic separators ``٫`` (decimal),
   ``٬`` (thousands) and ``٪`` (percent);
2. decorations go: math delimiters ``$ \( \) \[ \]``, one whole ``\boxed{..}``, ``\!``,
   ``\displaystyle``, currency signs (``$ € £ ¥ ₹ ৳ ฿ ₽ …`` and ``\$``), a leading or
   trailing percent sign (``10\%`` and Turkish ``%10`` both read as 10, and the reading
   ``value / 100`` is remembered for :func:`numbers_match`), degrees (``^\circ``, ``°``),
   units at either end (``\text{..}``/``\mathrm{..}`` without digits, words of two or more
   Latin letters after a space such as ``dollars``, and runs of letters of other scripts,
   attached or not, such as ``元``, ``টাকা``, ``บาท``), ``\text{..}``/``\mathbf{..}``
   wrappers around digits, and outer braces. Magnitude words in the stripped units
   multiply the number (``18万`` is 180000, ``1.5 million`` 1500000, ``elfu 2`` 2000); a
   unit containing any other numeral character (``十``, ``三``) rejects the answer;
3. a sign ``+``/``-``, then a fraction ``\frac{a}{b}``/``\dfrac{a}{b}``/``\tfrac{a}{b}``,
   ``\frac12`` or ``a/b`` (each part a number as below, the denominator non-zero), or a
   single decimal number with separators.

Separators (the rule, :data:`DECIMAL_COMMA_LANGS` lists the languages)
-----------------------------------------------------------------------
Space-like separators between digits are always thousands separators: space, no-break
space, thin space, narrow no-break space, figure space, ``\,``, ``\ ``, ``\;``, ``\:``,
``~`` and the apostrophe ``'``/``’`` of de-CH. ``{,}`` and ``{.}`` are a comma and a dot.
A number with separators must group its digits in threes (``1,000,000``) or in the Indian
lakh style with commas (``1,00,000``); otherwise it is not read.

* both ``,`` and ``.`` present: the last one is the decimal mark (``1.000,5`` = 1000.5,
  ``1,000.5`` = 1000.5) in every language;
* the same mark twice or more: thousands (``1.000.000``, ``1,000,000``);
* spaces plus one mark after them: the mark is decimal (``1 000,5`` = 1000.5);
* one ``,`` alone: thousands when exactly three digits follow it and one to three digits
  (not starting with 0) precede it, **in every language** (``1,500`` = 1500 even in
  German: MGSM-style answers are integers and models trained mostly on English write
  ``1,500`` for fifteen hundred in any language). Otherwise (``1,5``, ``0,500``,
  ``1234,5``) it is a decimal comma in decimal-comma languages and after LaTeX's ``{,}``
  (``1{,}5`` is the decimal-comma idiom in any language); in other languages and when
  ``lang`` is ``None`` such a string is not a number (``1,5`` is more likely the list
  1, 5);
* one ``.`` alone: decimal, except in decimal-comma languages where exactly three digits
  after one to three leading digits (not starting with 0) make it thousands
  (``1.500`` = 1500 in German, 1.5 in English and when ``lang`` is ``None``).

Known limits: ``2.125`` in a decimal-comma language reads as 2125; a Persian ``/`` used
as a decimal mark (``۳/۵``) reads as the fraction 3/5; magnitude words outside the table
(:data:`_MAGNITUDE_WORDS`) are stripped like units, not multiplied.

Every function here is pure, never raises on a ``str`` input (non-``str`` input gives
``None``), and runs in microseconds: inputs longer than :data:`MAX_NUMBER_CHARS`
characters are rejected before any work, and all patterns are precompiled. The one exception is a
plain numeral (an optional sign, digits, an optional ``.`` and digits; no separators, units or
LaTeX) of up to :data:`MAX_PLAIN_NUMBER_CHARS` characters: it is read exactly, in at most about a
millisecond (10,000 digits), so that a model's 5000-digit "answer" is compared here instead of
costing a math-verify call (Python's ``int()`` refuses more than 4300 digits at once: the digits
are read in chunks).
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction
from typing import NamedTuple

__all__ = [
    "DECIMAL_COMMA_LANGS",
    "DOT_DECIMAL_LOCALES",
    "FLOAT_ROUNDING",
    "MAX_NUMBER_CHARS",
    "MAX_PLAIN_NUMBER_CHARS",
    "format_number",
    "normalize_number",
    "numbers_match",
    "parse_number",
    "to_ascii_digits",
    "uses_decimal_comma",
]

#: Languages (ISO 639-1, primary subtag) whose decimal mark is a comma (CLDR). Swahili,
#: the CJK languages, Thai, Arabic, Persian, Hebrew and the Indic languages (bn, hi, te,
#: ta, ...) write a decimal dot and are not listed.
DECIMAL_COMMA_LANGS: frozenset[str] = frozenset(
    "af az be bg bs ca cs da de el es et eu fi fo fr gl hr hu hy id is it ka kk ky lt lv "
    "mk nb nl nn no pl pt ro ru sk sl sq sr sv tr uk uz vi".split()
)
#: Regional variants of decimal-comma languages that write a decimal dot (CLDR):
#: Swiss/Liechtenstein German and Swiss Italian (with ``’`` thousands), Mexican and US
#: Spanish. Compared case-insensitively, ``_`` or ``-`` between the parts.
DOT_DECIMAL_LOCALES: frozenset[str] = frozenset({"de-ch", "de-li", "it-ch", "es-mx", "es-us"})
#: Longer strings are not read as numbers (a boxed number with its unit is far shorter) ...
MAX_NUMBER_CHARS = 256
#: ... except a plain numeral (``-123.45``: sign, digits, one dot) of up to this many characters
#: (math_answer.MAX_BOXED_CHARS: the longest answer there is), read exactly.
MAX_PLAIN_NUMBER_CHARS = 10_000
#: Decimal places to which :func:`numbers_match` rounds when either side was written as a
#: decimal; the same as math-verify's ``float_rounding`` default, so that the fast path and
#: math-verify agree (``0.333333`` matches ``\frac{1}{3}``, ``0.33`` does not).
FLOAT_ROUNDING = 6


class _Reading(NamedTuple):
    """A parsed number and how it was written."""

    value: Fraction
    approximate: bool  # written with decimal places: compare after rounding
    percent: bool  # had a percent sign: value / 100 is also a reading


# --- digits ------------------------------------------------------------------------------
_PUNCT_TO_ASCII = {
    "\uff0c": ",",  # FULLWIDTH COMMA
    "\uff0e": ".",  # FULLWIDTH FULL STOP
    "\uff0d": "-",  # FULLWIDTH HYPHEN-MINUS
    "\uff0b": "+",  # FULLWIDTH PLUS SIGN
    "\uff0f": "/",  # FULLWIDTH SOLIDUS
    "\uff05": "%",  # FULLWIDTH PERCENT SIGN
    "\u2212": "-",  # MINUS SIGN
    "\u066b": ".",  # ARABIC DECIMAL SEPARATOR
    "\u066c": ",",  # ARABIC THOUSANDS SEPARATOR
    "\u066a": "%",  # ARABIC PERCENT SIGN
}
_TABLE_LIMIT = 1 << 16  # distinct code points cached by the lazy translate table


class _AsciiTable(dict):
    """``str.translate`` table filled lazily: one ``unicodedata`` lookup per code point."""

    def __missing__(self, codepoint: int) -> str | int:
        char = chr(codepoint)
        digit = unicodedata.decimal(char, None)
        value: str | int = str(digit) if digit is not None else codepoint
        if len(self) < _TABLE_LIMIT:
            self[codepoint] = value
        return value


_TO_ASCII = _AsciiTable({ord(k): v for k, v in _PUNCT_TO_ASCII.items()})


def to_ascii_digits(text: str) -> str:
    """Replace every Unicode decimal digit, and the punctuation numbers use, by ASCII.

    Digits are those with a ``unicodedata.decimal`` value (Bengali, Thai, Devanagari,
    Arabic-Indic, Extended Arabic-Indic, Telugu, full-width, ...); superscripts such as
    ``²`` are not decimal digits and stay. Also mapped: full-width ``，．－＋／％``, the
    minus sign ``−`` and the Arabic decimal, thousands and percent signs ``٫ ٬ ٪``.

    >>> to_ascii_digits("১৮ + ๑๒ = ३०, ٤٢٫٥ ۱۲ ౧౨ ０．５")
    '18 + 12 = 30, 42.5 12 12 0.5'
    >>> to_ascii_digits("x² − 1")
    'x² - 1'
    """
    if text.isascii():
        return text
    return text.translate(_TO_ASCII)


def uses_decimal_comma(lang: str | None) -> bool:
    """Whether ``lang`` (``"de"``, ``"pt-BR"``, ``"de_CH"``, ...) writes a decimal comma.

    >>> uses_decimal_comma("de"), uses_decimal_comma("de-CH"), uses_decimal_comma("en")
    (True, False, False)
    """
    if not isinstance(lang, str):
        return False
    key = lang.strip().lower().replace("_", "-")
    if key in DOT_DECIMAL_LOCALES:
        return False
    return key.split("-", 1)[0] in DECIMAL_COMMA_LANGS


# --- decorations -------------------------------------------------------------------------
# Latin letters (ASCII, Latin-1 less × and ÷, Extended-A/B, Vietnamese) and combining marks.
_LATIN = r"A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff\u0300-\u036f"
# Letters and marks of scripts other than Latin and Greek: Cyrillic to Ethiopic/Khmer
# (U+0400-U+1CFF, less the Arabic signs U+0600-U+060F such as the per-mille sign), CJK
# radicals, kana, Hangul, CJK ideographs (U+2E80-U+9FFF, less the CJK punctuation
# block), Yi and Hangul syllables (U+A000-U+D7AF), CJK compatibility ideographs.
_SCRIPT = r"\u0400-\u05ff\u0610-\u1cff\u2e80-\u2fdf\u3040-\u9fff\ua000-\ud7af\uf900-\ufaff"
# Words that are maths, not units, when they follow a number ("2 pi").
_MATH_WORD = r"(?:pi|sqrt|ln|log|exp|sin|cos|tan|cot|sec|csc|mod|inf|infty)(?![" + _LATIN + "])"
_TEXT_CMD = (
    r"\\(?:text|textrm|textnormal|textit|textup|textsf|mathrm|mathit|mathsf|mbox|operatorname)"
)
_UNIT_TEXT = _TEXT_CMD + r"\s*\{[^{}\d]*\}"
_SPACING = r"\s|~|\\[,;:!> ]|\\q?quad(?![A-Za-z])"
# Possessive repetition (``++``): no backtracking into stripped tokens, so a failed match
# costs linear time per start position even on runs of spaces.
_SUFFIX = re.compile(
    rf"""(?:\s+(?!{_MATH_WORD})[{_LATIN}]{{2,}}\.?
      | [{_SCRIPT}]+\.?
      | {_UNIT_TEXT}
      | {_SPACING}
      | \\?% | ° | \\degree(?![A-Za-z]) | \^\s*\{{\s*\\circ\s*\}} | \^\s*\\circ(?![A-Za-z])
      | [.\u3002\u0964\u0965]
    )++\Z""",
    re.VERBOSE,
)
_PREFIX = re.compile(
    rf"""\A(?:(?!{_MATH_WORD})[{_LATIN}]{{2,}}\.?(?=\s|\\[,;: ]|~)
      | [{_SCRIPT}]+
      | {_UNIT_TEXT}
      | {_SPACING}
      | \\?%
    )++""",
    re.VERBOSE,
)
_DELETE = re.compile(
    r"(?<![A-Za-z0-9])(?:US|CA|AU|NZ|HK|NT|MX|[RCAS])\\?\$"  # R$ (BRL), US$, HK$, ...
    r"|\\\$|\$|\\[()\[\]]|\\!|\\(?:displaystyle|textstyle)(?![A-Za-z])"
    r"|\\(?:euro|texteuro|pounds|textsterling|yen|textyen|textdollar)(?![A-Za-z])"
    "|[\u00a2\u00a3\u00a4\u00a5\u058f\u060b\u09f2\u09f3\u09fb\u0af1\u0bf9\u0e3f\u17db"
    "\u20a0-\u20bf\ufdfc\ufe69\uff04\uffe0\uffe1\uffe5\uffe6]"  # currency signs
    "|[\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\u061c\ufeff\u00ad]"  # invisible marks
)
_WHOLE_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{(.*)\}", re.DOTALL)
_WRAPPER = re.compile(
    _TEXT_CMD[:-1] + r"|textbf|mathbf|boldsymbol|bm|bf)\s*\{([^{}]*)\}"
)
_OUTER_BRACES = re.compile(r"\{([^{}]*)\}")
_MAX_ROUNDS = 6  # each round strips at least one token; answers need two or three

# Magnitude words: a stripped unit containing one multiplies the number. Latin, Cyrillic,
# Arabic and Indic words must be whole words; CJK, Hangul and Thai ones (no spaces in
# those scripts) may be attached ("18万元"). Keys are compared after NFC and casefold.
_MAGNITUDE_WORDS: dict[str, int] = {
    **dict.fromkeys("dozen dutzend douzaine douzaines docena docenas dúzia dúzias".split(), 12),
    **dict.fromkeys("hundred hundreds".split(), 10**2),
    **dict.fromkeys(
        "thousand thousands tausend tsd mille mil mila tys tysiąc tysiące tysięcy duizend "
        "elfu ribu bin nghìn ngàn тысяча тысячи тысяч тыс ألف آلاف هزار हज़ार हजार হাজার "
        "వేలు వేల".split(),
        10**3,
    ),
    **dict.fromkeys("lakh lakhs लाख লাখ লক্ষ లక్ష లక్షలు".split(), 10**5),
    **dict.fromkeys(
        "million millions mio mln millionen millón millon millones milhão milhões "
        "milione milioni miljoen juta milyon triệu миллион миллиона миллионов млн مليون "
        "ملايين میلیون".split(),
        10**6,
    ),
    **dict.fromkeys("crore crores करोड़ करोड कोटि কোটি కోటి కోట్లు".split(), 10**7),
    **dict.fromkeys(
        "billion billions bn milliard milliards milliarde milliarden mrd miliardo miliardi "
        "miljard miliar milyar mld bilhão bilhões bilioni tỷ tỉ миллиард миллиарда "
        "миллиардов млрд مليار میلیارد".split(),
        10**9,
    ),
    **dict.fromkeys("trillion trillions".split(), 10**12),
}
_MAGNITUDE_ATTACHED: dict[str, int] = {
    "万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8, "만": 10**4, "억": 10**8,
    "พัน": 10**3, "หมื่น": 10**4, "แสน": 10**5, "ล้าน": 10**6,
}


def _fold(word: str) -> str:
    return unicodedata.normalize("NFC", word).casefold()


_MAGNITUDE_WORDS = {_fold(k): v for k, v in _MAGNITUDE_WORDS.items()}
_WORD = re.compile(r"[^\W\d_][\w\u0300-\u036f\u0900-\u0dff]*")
_ATTACHED = re.compile("|".join(sorted(_MAGNITUDE_ATTACHED, key=len, reverse=True)))


def _unit_multiplier(unit: str) -> int | None:
    """The product of the magnitude words in a stripped unit; None if it holds a numeral."""
    multiplier = 1
    for match in _ATTACHED.finditer(unit):
        multiplier *= _MAGNITUDE_ATTACHED[match.group()]
    for match in _WORD.finditer(_ATTACHED.sub(" ", unit)):
        multiplier *= _MAGNITUDE_WORDS.get(_fold(match.group()), 1)
    if any(
        not ch.isascii() and unicodedata.numeric(ch, None) is not None
        for ch in _ATTACHED.sub("", unit)
    ):
        return None  # "十", "三", "½" in a stripped unit: part of the number, not a unit
    return multiplier


def _strip_decorations(text: str) -> tuple[str, int, bool] | None:
    """Remove everything around the number: ``(core, multiplier, had_percent)``."""
    text = _DELETE.sub("", text).strip()
    boxed = _WHOLE_BOX.fullmatch(text)
    if boxed:
        text = boxed.group(1)
    stripped = []
    for _ in range(_MAX_ROUNDS):
        before = text
        suffix = _SUFFIX.search(text)
        if suffix:
            stripped.append(suffix.group())
            text = text[: suffix.start()]
        prefix = _PREFIX.match(text)
        if prefix:
            stripped.append(prefix.group())
            text = text[prefix.end() :]
        text = _WRAPPER.sub(r"\1", text)
        braces = _OUTER_BRACES.fullmatch(text)
        if braces:
            text = braces.group(1)
        if text == before:
            break
    units = "".join(stripped)
    multiplier = _unit_multiplier(units) if units else 1
    if multiplier is None:
        return None
    return text, multiplier, "%" in units


# --- the number itself -------------------------------------------------------------------
_GROUP_SPACE = re.compile(
    r"(?<=\d)(?:[ \t\u00a0\u2007\u2008\u2009\u200a\u202f\u205f'\u2019\u02bc]|~"
    r"|\\[,;: ]|\\(?:thinspace|enspace|nobreakspace|space)(?![A-Za-z]) ?)+(?=\d)"
)
_BRACED_MARK = re.compile(r"\{\s*([,.])\s*\}")
_BRACED_COMMA = re.compile(r"\{\s*,\s*\}")
_NUMBER_CHARS = re.compile(r"\d[\d.,_]*")
_SEPARATOR = re.compile(r"([.,_])")
_SIGN = re.compile(r"([+-])\s*")
_LATEX_FRACTION = re.compile(r"\\[dt]?frac\s*(?:\{([^{}]+)\}\s*\{([^{}]+)\}|(\d)\s*(\d))")


def _valid_grouping(groups: list[str], separator: str) -> bool:
    """Thousands groups: ``1,234,567`` (any separator) or lakh style ``12,34,567`` (comma)."""
    head, rest = groups[0], groups[1:]
    if head.startswith("0"):
        return False
    if len(head) <= 3 and all(len(g) == 3 for g in rest):
        return True
    return (
        separator == ","
        and len(rest) >= 2
        and len(head) <= 2
        and len(rest[-1]) == 3
        and all(len(g) == 2 for g in rest[:-1])
    )


def _lone_mark_is_thousands(head: str, tail: str, mark: str, lang: str | None) -> bool:
    """``1,500`` is 1500 everywhere; ``1.500`` only in decimal-comma languages."""
    looks_grouped = len(tail) == 3 and len(head) <= 3 and not head.startswith("0")
    return looks_grouped and (mark == "," or uses_decimal_comma(lang))


def _decimal_index(groups, separators, lang, braced_comma) -> int | None | bool:
    """Index of the decimal mark in ``separators``, None for an integer, False if invalid."""
    marks = {s for s in separators if s != "_"}
    last = len(separators) - 1
    if not marks:
        return None
    if len(marks) == 2:
        mark = separators[last]
        return last if mark != "_" and separators.count(mark) == 1 else False
    mark = marks.pop()
    if separators.count(mark) > 1:
        return None if "_" not in separators else False
    if "_" in separators:
        return last if separators[last] == mark else False
    if _lone_mark_is_thousands(groups[0], groups[1], mark, lang):
        return None
    if mark == "," and not (braced_comma or uses_decimal_comma(lang)):
        return False
    return last


def _parse_unsigned(text: str, lang, braced_comma: bool) -> tuple[Fraction, bool] | None:
    """``(value, has_decimal_places)`` of digits with separators, or None."""
    text = _GROUP_SPACE.sub("_", text).strip()
    if text.startswith("."):
        text = "0" + text
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]
    if not _NUMBER_CHARS.fullmatch(text):
        return None
    parts = _SEPARATOR.split(text)
    groups, separators = parts[0::2], parts[1::2]
    if not all(groups):
        return None
    split = _decimal_index(groups, separators, lang, braced_comma)
    if split is False:
        return None
    int_groups = groups if split is None else groups[: split + 1]
    int_separators = separators if split is None else separators[:split]
    if int_separators and (
        len(set(int_separators)) > 1 or not _valid_grouping(int_groups, int_separators[0])
    ):
        return None
    decimals = "" if split is None else groups[-1]
    value = Fraction(int("".join(int_groups) + decimals), 10 ** len(decimals))
    return value, bool(decimals)


def _parse_signed(text: str, lang, braced_comma: bool) -> tuple[Fraction, bool] | None:
    """A decimal number with an optional sign."""
    text = text.strip()
    sign = _SIGN.match(text)
    parsed = _parse_unsigned(text[sign.end() :] if sign else text, lang, braced_comma)
    if parsed is None or not sign or sign.group(1) == "+":
        return parsed
    return -parsed[0], parsed[1]


def _parse_ratio(top: str, bottom: str, lang, braced_comma) -> tuple[Fraction, bool] | None:
    numerator = _parse_signed(top, lang, braced_comma)
    denominator = _parse_signed(bottom, lang, braced_comma)
    if numerator is None or denominator is None or denominator[0] == 0:
        return None
    return numerator[0] / denominator[0], numerator[1] or denominator[1]


def _parse_core(text: str, lang, braced_comma: bool) -> tuple[Fraction, bool] | None:
    """A signed decimal number, ``\\frac{a}{b}``, ``\\frac12`` or ``a/b``."""
    text = text.strip()
    sign = _SIGN.match(text)
    body = text[sign.end() :] if sign else text
    fraction = _LATEX_FRACTION.fullmatch(body)
    if fraction:
        top, bottom = fraction.group(1, 2) if fraction.group(1) else fraction.group(3, 4)
        parsed = _parse_ratio(top, bottom, lang, braced_comma)
    elif body.count("/") == 1:
        parsed = _parse_ratio(*body.split("/"), lang, braced_comma)
    else:
        parsed = _parse_unsigned(body, lang, braced_comma)
    if parsed is None or not sign or sign.group(1) == "+":
        return parsed
    return -parsed[0], parsed[1]


_PLAIN_NUMERAL = re.compile(r"\s*([+-]?)([0-9]+)(?:\.([0-9]+))?\s*")
_INT_CHUNK = 4000  # below sys.get_int_max_str_digits()'s default of 4300


def _plain_int(digits: str) -> int:
    """``int(digits)`` for any number of ASCII digits, ``_INT_CHUNK`` digits at a time."""
    value = 0
    for start in range(0, len(digits), _INT_CHUNK):
        chunk = digits[start : start + _INT_CHUNK]
        value = value * 10 ** len(chunk) + int(chunk)
    return value


def _read_long_plain(text: str) -> _Reading | None:
    """A plain numeral longer than :data:`MAX_NUMBER_CHARS` (``[+-]digits[.digits]``), exactly."""
    if len(text) > MAX_PLAIN_NUMBER_CHARS:
        return None
    plain = _PLAIN_NUMERAL.fullmatch(to_ascii_digits(text))
    if plain is None:
        return None
    sign, integer, decimals = plain.group(1), plain.group(2), plain.group(3) or ""
    value = Fraction(_plain_int(integer + decimals), 10 ** len(decimals))
    return _Reading(-value if sign == "-" else value, bool(decimals), False)


def _read(text: object, lang: str | None) -> _Reading | None:
    """Parse ``text`` into a :class:`_Reading`, or None when it is not a plain number."""
    if not isinstance(text, str):
        return None
    if len(text) > MAX_NUMBER_CHARS:
        return _read_long_plain(text)
    if text.isascii() and text.isdigit():  # the common case: a bare ASCII integer
        return _Reading(Fraction(int(text)), False, False)
    text = to_ascii_digits(text)
    braced_comma = _BRACED_COMMA.search(text) is not None
    decorated = _strip_decorations(_BRACED_MARK.sub(r"\1", text))
    if decorated is None:
        return None
    core, multiplier, percent = decorated
    parsed = _parse_core(core, lang, braced_comma)
    if parsed is None:
        return None
    return _Reading(parsed[0] * multiplier, parsed[1], percent)


def parse_number(text: str, lang: str | None = None) -> Fraction | None:
    r"""The exact value of an answer that is a plain number, else ``None``.

    ``lang`` (``"de"``, ``"pt-BR"``, ...) only decides separators that are ambiguous:
    see the module docstring. A percent sign is dropped (``10\%`` is 10).

    >>> parse_number("๑,๒๕๐")
    Fraction(1250, 1)
    >>> parse_number(r"\$1\,000.50"), parse_number("1.000,5")
    (Fraction(2001, 2), Fraction(2001, 2))
    >>> parse_number("1.500", lang="de"), parse_number("1.500")
    (Fraction(1500, 1), Fraction(3, 2))
    >>> parse_number(r"-\dfrac{6}{8}"), parse_number("3/4 \\text{cup}")
    (Fraction(-3, 4), Fraction(3, 4))
    >>> parse_number("x + 1") is None, parse_number("1,5") is None
    (True, True)
    """
    reading = _read(text, lang)
    return None if reading is None else reading.value


def format_number(value: Fraction) -> str:
    """Canonical ASCII text of a number: ``"1500"``, ``"-1.25"``, ``"1/3"``.

    Integers have no decimal point; a value with a terminating decimal expansion is written
    as a decimal without trailing zeros (so ``1/2`` is ``"0.5"``: one text per value);
    others are a reduced ``p/q``.

    >>> format_number(Fraction(3, 2)), format_number(Fraction(-1, 3)), format_number(Fraction(18))
    ('1.5', '-1/3', '18')
    """
    numerator, denominator = value.numerator, value.denominator
    if denominator == 1:
        return str(numerator)
    twos = fives = 0
    rest = denominator
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    if rest != 1:
        return f"{numerator}/{denominator}"
    places = max(twos, fives)
    digits = str(abs(numerator) * 10**places // denominator).rjust(places + 1, "0")
    sign = "-" if numerator < 0 else ""
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def normalize_number(text: str, lang: str | None = None) -> str | None:
    r"""Canonical ASCII form of an answer that is a plain number, else ``None``.

    >>> [normalize_number(s) for s in ["١٨", "१,२००", "1\\,000", "1{,}5", "18.0", "-0"]]
    ['18', '1200', '1000', '1.5', '18', '0']
    >>> normalize_number(r"\frac{2}{4}"), normalize_number(r"\dfrac{2}{6}")
    ('0.5', '1/3')
    >>> normalize_number("1.234,5", lang="de"), normalize_number("1'234.5", lang="de-CH")
    ('1234.5', '1234.5')
    >>> normalize_number("18万"), normalize_number("18 টাকা"), normalize_number("2x")
    ('180000', '18', None)
    """
    value = parse_number(text, lang)
    return None if value is None else format_number(value)


def _candidates(reading: _Reading) -> tuple[Fraction, ...]:
    if reading.percent:
        return reading.value, reading.value / 100
    return (reading.value,)


def _close(a: Fraction, b: Fraction, approximate: bool) -> bool:
    if a == b:
        return True
    return approximate and round(a, FLOAT_ROUNDING) == round(b, FLOAT_ROUNDING)


def numbers_match(predicted: str, gold: str, lang: str | None = None) -> bool | None:
    r"""Whether two answers are the same number; ``None`` if either is not a plain number.

    ``predicted`` is read in ``lang``'s conventions; ``gold`` always with ``lang=None``:
    datasets store answers in the ASCII/English convention, where ``1,5`` is a list, not
    1.5 (math-verify then decides). Numbers match when equal exactly, or, when either was
    written with decimal places, equal after rounding to :data:`FLOAT_ROUNDING` places
    (math-verify's rule). A percentage also matches its value divided by 100
    (``50\%`` matches both ``50`` and ``0.5``, as in math-verify).

    >>> numbers_match("১৮", "18"), numbers_match("1{,}5", "1.5"), numbers_match("17", "18")
    (True, True, False)
    >>> numbers_match("0.333333", r"\frac{1}{3}"), numbers_match("0.33", r"\frac{1}{3}")
    (True, False)
    >>> numbers_match("1,5", "1.5", lang="de"), numbers_match("1.5", "1,5", lang="de")
    (True, None)
    """
    gold_reading = _read(gold, None)
    pred_reading = _read(predicted, lang)
    if gold_reading is None or pred_reading is None:
        return None
    approximate = gold_reading.approximate or pred_reading.approximate
    return any(
        _close(g, p, approximate)
        for g in _candidates(gold_reading)
        for p in _candidates(pred_reading)
    )
