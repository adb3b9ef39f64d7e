"""Strip mathematics and markup from model output before language identification.

Language-ID models score character n-grams; LaTeX, digits and operators are the same in
every language and push detectors towards English (``\\boxed{18}`` -> ``en``). AdaMame
(docs/methods.md, "AdaMame") therefore detects the language of a response *after* math is
stripped. :func:`strip_math` removes, in this order:

1. lone surrogates and control characters (they make fastText raise);
2. fenced code blocks (from a triple-backtick fence to the next one);
3. display and inline math: ``$$...$$``, ``\\[...\\]``, ``\\begin{env}...\\end{env}``,
   ``\\(...\\)``, ``$...$`` (pandoc rule: the opening ``$`` is followed by a non-space, the
   closing one preceded by a non-space and not followed by a digit, and inline math does
   not cross a line break, so prose such as "pays $5 and gets $3 back" survives);
4. ``\\boxed{...}`` with balanced braces;
5. XML-ish tags such as ``<think>`` / ``</think>`` (the tag only, never its content; after
   math so that ``$a<b$`` is not mistaken for a tag);
6. any remaining LaTeX command (``\\frac``, ``\\times``), braces and brackets;
7. digits (every Unicode decimal digit, plus superscripts, vulgar fractions and circled
   numbers), operators and math symbols, and whitespace-delimited runs of punctuation only
   (re-attaching stranded sentence punctuation instead was measured: no better).

Newlines are kept (a removed span containing a newline becomes a newline), other
whitespace runs collapse to one space, and blank lines are dropped, so callers can split
the result into lines (line-level fidelity, :mod:`verl_multiling.scorers.fidelity`).

Every step is linear in the input length: paired delimiters are matched with forward-only
pointers over precomputed delimiter positions, never by re-scanning from each opener, so
unbalanced input (thousands of ``\\(`` without ``\\)``) stays linear. Nothing here raises
on a ``str`` input; a non-``str`` input is converted with ``str()``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterable

__all__ = ["letter_count", "strip_math"]

# --- step 1: characters that break detectors -----------------------------------------
# Lone surrogates (invalid UTF-16 halves from bad decoding), C0/C1 controls other than tab
# and newline, zero-width space, word joiner and BOM. ZWNJ/ZWJ (U+200C/D) are kept: they
# are part of words in Indic scripts and Persian.
_BAD_CHARS = re.compile("[\ud800-\udfff\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2060\ufeff]+")

# --- steps 2-4: delimiters -------------------------------------------------------------
_FENCE = "```"
_TAG = re.compile(r"</?[A-Za-z][\w:.-]{0,40}(?:\s[^<>\n]{0,200})?/?>")
_BEGIN = re.compile(r"\\begin\s*\{([^{}\n]{1,40})\}")
_END = re.compile(r"\\end\s*\{([^{}\n]{1,40})\}")
# Inline $...$ (pandoc): no "$" or newline inside; non-space after the opener and before
# the closer; the closer not followed by a digit; "\$" is a literal dollar, not a delimiter.
_INLINE_DOLLAR = re.compile(r"\$(?<!\\\$)(?=[^\s$])[^$\n]*?(?<=[^\s\\$])\$(?!\d)")
_BOXED_FLAT = re.compile(r"\\(?:boxed|fbox)\s*\{[^{}]*\}")
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BRACE = re.compile(r"[{}]")

# --- steps 6-7: leftovers ----------------------------------------------------------------
_LATEX_CMD = re.compile(r"\\(?:[A-Za-z]+\*?|.)", re.DOTALL)
# \d matches every Unicode decimal digit (Thai, Bengali, Devanagari, Arabic-Indic, ...);
# the class adds superscripts/subscripts, vulgar fractions and circled/roman numerals.
# A digit run swallows the hyphens inside and after it ("16-3-4", "3-jährig"); a leading
# "-" is left to the punctuation-only rule (no pattern may start with "-*": a run of
# hyphens would then be rescanned from each of its positions, quadratic time).
_DIGIT_CLASS = (
    r"\d\u00b2\u00b3\u00b9\u00bc-\u00be\u2070-\u209f\u2150-\u218f\u2460-\u24ff"
    r"\u2776-\u2793"
)
_DIGITS = re.compile(rf"[{_DIGIT_CLASS}][{_DIGIT_CLASS}-]*")
# ASCII operators, brackets and the Unicode math blocks (arrows, operators, misc
# technical, geometric shapes, supplemental operators). "-" is removed with digits or as
# a punctuation-only token, never inside a hyphenated word.
_OPERATORS = re.compile(
    r"[+*/=<>^_|~{}\[\]()%#&@$\\`\u00b1\u00b7\u00d7\u00f7\u2190-\u22ff\u2300-\u23ff"
    r"\u25a0-\u25ff\u27c0-\u27ef\u2980-\u2aff\u2212\u2215\u2217\u221a\uff0b\uff1d]+"
)
# A whitespace-delimited token of punctuation only (the whitespace around it stays, so
# newlines survive).
_PUNCT_ONLY = re.compile(r"(?<=\s)[^\w\s]+(?=\s|$)")
_NON_LETTERS = re.compile(r"[\W\d_]+")


def _cut(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Remove non-overlapping, sorted ``(start, end)`` spans from ``text``.

    A removed span becomes ``"\\n"`` if it contained a newline, else ``" "``.
    """
    parts: list[str] = []
    pos = 0
    for start, end in spans:
        parts.append(text[pos:start])
        parts.append("\n" if text.find("\n", start, end) != -1 else " ")
        pos = end
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def _strip_symmetric(text: str, delim: str) -> str:
    """Remove ``delim ... delim`` spans (same opener and closer, e.g. ``$$`` or fences).

    Unbalanced input: the last, unmatched delimiter is left in place (later steps remove
    the symbols), the text after it is kept.
    """
    if delim not in text:
        return text
    spans = []
    size = len(delim)
    start = text.find(delim)
    while start != -1:
        end = text.find(delim, start + size)
        if end == -1:
            break
        spans.append((start, end + size))
        start = text.find(delim, end + size)
    return _cut(text, spans)


def _strip_pairs(text: str, opener: str, closer: str) -> str:
    """Remove ``opener ... closer`` spans, matching each opener with the first closer after it.

    Openers inside a removed span are skipped; an opener with no closer after it ends the
    scan (no later opener can have one either), so the cost is linear.
    """
    if opener not in text:
        return text
    spans = []
    size_open, size_close = len(opener), len(closer)
    start = text.find(opener)
    while start != -1:
        end = text.find(closer, start + size_open)
        if end == -1:
            break
        spans.append((start, end + size_close))
        start = text.find(opener, end + size_close)
    return _cut(text, spans)


def _strip_environments(text: str) -> str:
    """Remove ``\\begin{env} ... \\end{env}`` blocks (outermost first, any env name).

    End positions are collected once per environment name; each name keeps a forward-only
    pointer into its list, so the cost is linear in the input plus the number of markers.
    """
    if "\\begin" not in text:
        return text
    ends: dict[str, list[int]] = defaultdict(list)
    for match in _END.finditer(text):
        ends[match.group(1).strip()].append(match.end())
    pointers: dict[str, int] = defaultdict(int)
    spans = []
    last_end = 0
    for match in _BEGIN.finditer(text):
        if match.start() < last_end:
            continue
        name = match.group(1).strip()
        candidates = ends.get(name, ())
        index = pointers[name]
        while index < len(candidates) and candidates[index] <= match.end():
            index += 1
        pointers[name] = index
        if index < len(candidates):
            last_end = candidates[index]
            spans.append((match.start(), last_end))
    return _cut(text, spans)


def _first_boxed(text: str) -> int:
    """Index of the first ``\\boxed`` or ``\\fbox`` in ``text``, or -1."""
    found = [i for i in (text.find("\\boxed"), text.find("\\fbox")) if i != -1]
    return min(found) if found else -1


def _strip_boxed(text: str) -> str:
    """Remove ``\\boxed{...}`` (and ``\\fbox{...}``) including balanced nested braces.

    Flat boxes (no inner brace, the common case) go with one regex. For nested ones, one
    pass over the braces from the first box onwards computes every matching closing brace;
    a box whose brace never closes is left to the generic cleanup (its content is kept).
    """
    if _first_boxed(text) == -1:
        return text
    text = _BOXED_FLAT.sub(" ", text)
    first = _first_boxed(text)
    if first == -1:
        return text
    closing: dict[int, int] = {}
    stack: list[int] = []
    for match in _BRACE.finditer(text, first):
        if match.group() == "{":
            stack.append(match.start())
        elif stack:
            closing[stack.pop()] = match.end()
    spans = []
    last_end = 0
    for match in _BOXED.finditer(text, first):
        end = closing.get(match.end() - 1)
        if end is not None and match.start() >= last_end:
            spans.append((match.start(), end))
            last_end = end
    return _cut(text, spans)


def _strip_delimited(text: str) -> str:
    """Steps 2-5: code fences, display math, inline math, boxed answers, then tags."""
    text = _strip_symmetric(text, _FENCE)
    text = _strip_symmetric(text, "$$")
    text = _strip_pairs(text, "\\[", "\\]")
    text = _strip_environments(text)
    text = _strip_pairs(text, "\\(", "\\)")
    if "$" in text:
        text = _INLINE_DOLLAR.sub(" ", text)
    text = _strip_boxed(text)
    return _TAG.sub(" ", text)


def _strip_symbols(text: str) -> str:
    """Steps 6-7: LaTeX commands, digits, operators, punctuation-only runs, whitespace."""
    if "\\" in text:
        text = _LATEX_CMD.sub(" ", text)
    text = _DIGITS.sub(" ", text)
    text = _OPERATORS.sub(" ", text)
    text = _PUNCT_ONLY.sub("", " " + text)
    return _collapse_whitespace(text)


def _collapse_whitespace(text: str) -> str:
    """Collapse whitespace runs to one space within lines; drop blank lines."""
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def strip_math(text: str) -> str:
    r"""Return ``text`` without math, code, markup, digits and operators.

    Linear time, never raises; newlines are preserved (blank lines dropped), other
    whitespace collapses to single spaces.

    >>> strip_math("Janet verkauft $16-3-4=9$ Eier pro Tag. \\boxed{18}")
    'Janet verkauft Eier pro Tag.'
    >>> strip_math("<think>\n珍妮特每天卖出 \\(16 - 3 - 4 = 9\\) 个鸡蛋。\n</think>")
    '珍妮特每天卖出 个鸡蛋。'
    >>> strip_math(r"$$\frac{1}{2} + x$$ Donc \frac{a}{b} = 3 × 4 ; la réponse est 12.")
    'Donc a b la réponse est'
    >>> strip_math("She pays $5 and gets $3 back.")
    'She pays and gets back.'
    >>> strip_math("16 - 3 - 4 = 9")
    ''
    >>> strip_math("Sehemu ya kwanza\n\n\\[ x^2 \\]\nSehemu ya pili")
    'Sehemu ya kwanza\nSehemu ya pili'
    >>> strip_math(r"unbalanced \( \boxed{ {")
    'unbalanced'
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    if not text:
        return ""
    text = _BAD_CHARS.sub(" ", text)
    return _strip_symbols(_strip_delimited(text))


def letter_count(text: str) -> int:
    """Number of letters in ``text`` (Unicode alphabetic characters, no digits or marks).

    >>> letter_count("Die Antwort ist 18.")
    13
    >>> letter_count("答案是18。")
    3
    >>> letter_count("= 9 ...")
    0
    """
    if not text:
        return 0
    return len(_NON_LETTERS.sub("", text))
