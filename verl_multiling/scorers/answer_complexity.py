r"""A cheap pre-check that rejects answers too costly for math-verify before sympy sees them.

math-verify parses an answer into sympy, which evaluates numbers eagerly: ``\boxed{9^{9^{9^{9}}}}``
asks for an integer with about 10^{3.7e8} digits and holds a worker until its time limit (4 s of the
default 5 s), and so does ``(10^{10})!``, ``(x+1)^{1000}`` (expanded by simplify) or a fraction nested
60 deep. Sixteen such answers in a batch of 256 stretched one reward worker's scoring from 0.8 s to
about 30 s. :func:`too_complex` reads the LaTeX answer once (linear in its length, no sympy) and says
why it is too complex, or ``None``:

* nesting of braces / parentheses deeper than :data:`MAX_DEPTH` (10, the ``\boxed{}`` that
  :mod:`~verl_multiling.scorers.math_answer` wraps an answer in included): math-verify's ANTLR parser
  pays for every level, more than linearly (a fraction nested 14 deep costs it 3-8 s, 19 deep more than
  10 s; 10 deep about 1 s);
* more than :data:`MAX_OPERATORS` (400) operators (a 1000-term sum costs math-verify ~1 s);
* a numeric sub-expression whose size lies beyond 10^±:data:`MAX_LOG10` (a number with more than
  100,000 digits, or a fraction that small): powers, factorials, binomials and products of plain numbers
  are sized in log space (``log10(a^b) = b log10 a``, ``log10 n! = lgamma(n+1)/ln 10``), exponents first,
  so ``x^{9^{9^{9}}}`` is caught by its exponent;
* a parenthesised sum raised to a numeric power above :data:`MAX_POLYNOMIAL_POWER` (200):
  ``(x+1)^{200}`` costs math-verify ~0.5 s, ``(x+1)^{1000}`` more than 6 s;
* a ``\sum`` or ``\prod`` with numeric bounds over more than :data:`MAX_TERMS` (200) terms, counted as
  ``|lower| + |upper| + 1`` (a bound: signs are not read): sympy adds or multiplies the terms one by one,
  ``\prod_{k=1}^{10^{6}} 2k`` or ``\sum_{k=1}^{10^{6}} \frac{1}{k}`` hold a worker past any limit and
  ``\sum_{k=1}^{1000} \sin(k)`` costs 1.3-1.9 s. A symbolic bound (``n``, ``\infty``) is not counted.

Symbols (``x``, ``e``, ``\pi``, ``\sin``...) are never sized: sympy keeps ``e^{10^6}`` or
``x^{10^{100}}`` symbolic and fast. Anything this reader does not understand is simply not sized, so
the check only ever rejects what it can measure; answers it lets through are still bounded by the
verifier's time limit (:mod:`verl_multiling.scorers.math_answer`). Every limit is far above any answer
of a maths benchmark (GSM8K, MGSM, MATH answers have at most a few dozen digits and operators).

>>> too_complex(r"\frac{\sqrt{2}}{2}") is None, too_complex(r"2^{2^{2^{2}}}") is None
(True, True)
>>> too_complex(r"9^{9^{9^{9}}}")
'a number with about 3.7e+08 digits (limit 100000)'
>>> too_complex(r"(x+1)^{1000}")
'a sum raised to the power 1000 (limit 200)'
>>> too_complex(r"\prod_{k=1}^{10^{6}} 2k")
'a \\prod over about 1e+06 terms (limit 200)'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["MAX_DEPTH", "MAX_LOG10", "MAX_OPERATORS", "MAX_POLYNOMIAL_POWER", "MAX_TERMS", "too_complex"]

#: braces / parentheses nested deeper than this are rejected
MAX_DEPTH = 10
#: more operators (+ - * / ^ ! \cdot \times \frac ...) than this are rejected
MAX_OPERATORS = 400
#: a numeric sub-expression beyond 10^±MAX_LOG10 is rejected
MAX_LOG10 = 1e5
#: a parenthesised sum raised to a numeric power above this is rejected
MAX_POLYNOMIAL_POWER = 200
#: a \sum / \prod with numeric bounds over more terms than this (|lower| + |upper| + 1) is rejected
MAX_TERMS = 200

_TOKEN = re.compile(r"\d+(?:\.\d*)?|\.\d+|\\[A-Za-z]+|\\.|[A-Za-z]|\S")
_OPEN = {"{": "}", "(": ")", "[": "]"}
_CLOSERS = {"}", ")", "]"}
_OPERATORS = {"+", "-", "*", "/", "^", "!", "=", ",", "\\cdot", "\\times", "\\div", "\\frac", "\\dfrac", "\\tfrac",
              "\\binom", "\\dbinom", "\\sqrt", "\\pm", "\\mp"}
_FRACTIONS = {"\\frac", "\\dfrac", "\\tfrac", "\\cfrac"}
_BINOMIALS = {"\\binom", "\\dbinom", "\\tbinom"}
_BIG_OPERATORS = {"\\sum", "\\prod"}
_TIMES = {"*", "\\cdot", "\\times"}
_IGNORED = {"\\left", "\\right", "\\big", "\\Big", "\\bigg", "\\Bigg", "\\,", "\\;", "\\:", "\\!", "\\ ", "~",
            "\\displaystyle", "$", "\\limits", "\\nolimits"}
_LN10 = math.log(10.0)


class TooComplex(Exception):
    """Raised inside the reader with the reason; :func:`too_complex` returns it."""


@dataclass(frozen=True)
class _Size:
    """An expression's size: ``log10 |value|`` of a plain number (``numeric``), or a symbol/expression of
    unknown size (``numeric=False``); ``compound``: a bracketed sum, which a power would expand."""

    log10: float = 0.0
    numeric: bool = False
    compound: bool = False


_SYMBOL = _Size()


def too_complex(latex: str) -> str | None:
    """Why ``latex`` (an answer, without ``\\boxed``) is too costly for math-verify, or ``None``."""
    if not isinstance(latex, str):
        return None
    tokens = [t for t in _TOKEN.findall(latex) if t not in _IGNORED]
    depth = deepest = operators = 0
    for token in tokens:
        if token in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif token in _CLOSERS:
            depth = max(depth - 1, 0)
        elif token in _OPERATORS:
            operators += 1
    if deepest > MAX_DEPTH:
        return f"brackets nested {deepest} deep (limit {MAX_DEPTH})"
    if operators > MAX_OPERATORS:
        return f"{operators} operators (limit {MAX_OPERATORS})"
    try:
        _Reader(tokens).read_all()
    except TooComplex as reason:
        return str(reason)
    except RecursionError:  # unreachable within MAX_DEPTH and MAX_OPERATORS; never let the check raise
        return "nested too deeply to read"
    return None


class _Reader:
    """Recursive descent over the tokens: sum := product (('+'|'-') product)*; product := power+ (implicit or
    explicit multiplication / division); power := atom ('^' atom | '!' | '_' atom)*. Unknown tokens are
    symbols; a stray closer ends the current group."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.i = tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.i += token is not None
        return token

    def read_all(self) -> None:
        while self.peek() is not None:
            self.sum()
            if self.peek() is not None:  # a separator (=, a stray closer...): skip it and read on
                self.take()

    def sum(self) -> _Size:
        sizes = [self.product()]
        while self.peek() in ("+", "-", "\\pm", "\\mp"):
            self.take()
            sizes.append(self.product())
        if len(sizes) == 1:
            return sizes[0]
        if all(s.numeric for s in sizes):
            return _check(_Size(max(s.log10 for s in sizes) + math.log10(len(sizes)), True))
        return _Size(compound=True)

    def product(self) -> _Size:
        size = self.power()
        while True:
            token = self.peek()
            if token is None or token in _CLOSERS or token in ("+", "-", "=", ",", "\\pm", "\\mp", "&", "\\\\"):
                return size
            divide = token in ("/", "\\div")
            if token in _TIMES or divide:
                self.take()
            right = self.power()
            if size.numeric and right.numeric:
                size = _check(_Size(size.log10 - right.log10 if divide else size.log10 + right.log10, True))
            else:  # 2(x+1) still expands like x+1 under a power
                size = _Size(compound=size.compound or right.compound)

    def power(self) -> _Size:
        size = self.atom()
        while self.peek() in ("^", "!", "_", "'"):
            token = self.take()
            if token == "!":
                size = _factorial(size)
            elif token == "^":
                size = _power(size, self.argument())
            elif token == "_":
                self.argument()  # an index: read (and size-check) it, it does not change the value's size
        return size

    def argument(self) -> _Size:
        """A ``{group}``, or one token (``x^2``: LaTeX takes one character: ``9^99`` is ``9^9 9``)."""
        token = self.peek()
        if token is None:
            return _SYMBOL
        if token in _OPEN:
            return self.atom()
        self.take()
        if token[0].isdecimal():  # any script's digit (৯, ٩); not ¹ or ½, which int() cannot read
            if len(token) > 1:  # the rest of the digits is the next factor, multiplied in by product()
                self.tokens[self.i:self.i] = [token[1:]]
            digit = int(token[0])
            return _Size(math.log10(digit) if digit else 0.0, True)
        return self._command(token)

    def atom(self) -> _Size:
        token = self.take()
        if token is None:
            return _SYMBOL
        if token in _CLOSERS:  # an empty group: leave the closer to the group that opened it
            self.i -= 1
            return _SYMBOL
        if token in _OPEN:
            inner = self.sum()
            while self.peek() is not None and self.peek() not in _CLOSERS:  # ", ..." inside a tuple or set
                self.take()
                self.sum()
            self.take()  # the closer
            return inner
        if token[0].isdecimal() or token[0] == ".":
            return _Size(_log10_literal(token), True)
        if token in ("-", "+"):  # a sign
            return self.power()
        return self._command(token)

    def _command(self, token: str) -> _Size:
        if token in _FRACTIONS:
            top, bottom = self.argument(), self.argument()
            if top.numeric and bottom.numeric:
                return _check(_Size(top.log10 - bottom.log10, True))
            return _SYMBOL
        if token in _BINOMIALS:
            return _binomial(self.argument(), self.argument())
        if token in _BIG_OPERATORS:
            return self._big_operator(token)
        if token == "\\sqrt":
            root = 2.0
            if self.peek() == "[":
                self.take()
                index = self.sum()
                while self.peek() not in (None, "]"):
                    self.take()
                self.take()
                root = _value(index) if index.numeric else 2.0
            inner = self.argument()
            return _Size(inner.log10 / max(root, 1.0), True) if inner.numeric else _SYMBOL
        return _SYMBOL

    def _big_operator(self, name: str) -> _Size:
        """``\\sum_{k=a}^{b}`` / ``\\prod``: with numeric bounds, at most :data:`MAX_TERMS` terms
        (``|a| + |b| + 1``); the value itself is not sized (a symbol)."""
        lower = upper = None
        while self.peek() in ("_", "^"):
            if self.take() == "_":
                lower = self._bound()
            else:
                upper = self.argument()
        if lower is not None and upper is not None and lower.numeric and upper.numeric:
            terms = _value(lower) + _value(upper) + 1.0
            if terms > MAX_TERMS:
                raise TooComplex(f"a {name} over about {terms:.2g} terms (limit {MAX_TERMS})")
        return _SYMBOL

    def _bound(self) -> _Size:
        """A lower bound ``{k=1}`` (the part after the last ``=``) or one token."""
        if self.peek() != "{":
            return self.argument()
        self.take()
        last = self.sum()
        while self.peek() is not None and self.peek() not in _CLOSERS:  # "=", or a stray separator
            self.take()
            last = self.sum()
        self.take()  # the closer
        return last


def _check(size: _Size) -> _Size:
    if size.numeric and abs(size.log10) > MAX_LOG10:
        raise TooComplex(f"a number with about {abs(size.log10):.2g} digits (limit {MAX_LOG10:g})"
                         if abs(size.log10) < 1e300 else f"a number with more than 1e+300 digits (limit {MAX_LOG10:g})")
    return size


def _value(size: _Size) -> float:
    """An upper bound of |value| of a numeric size (inf when it does not fit a float)."""
    return 10.0 ** size.log10 if size.log10 < 300 else math.inf


def _power(base: _Size, exponent: _Size) -> _Size:
    if not exponent.numeric:
        return _SYMBOL if not base.numeric else _Size(base.log10, True)  # 2^x: sized as its base
    n = _value(exponent)
    if not base.numeric:
        if base.compound and n > MAX_POLYNOMIAL_POWER:
            raise TooComplex(f"a sum raised to the power {n:.4g} (limit {MAX_POLYNOMIAL_POWER})")
        return _SYMBOL
    if base.log10 == 0.0:  # 1^n (or 0^n: sizes are |value|, and 0 is sized as 1)
        return base
    return _check(_Size(base.log10 * n if math.isfinite(n) else math.copysign(math.inf, base.log10), True))


def _factorial(size: _Size) -> _Size:
    if not size.numeric:
        return _SYMBOL
    n = _value(size)
    return _check(_Size(math.lgamma(n + 1.0) / _LN10 if n < 1e300 else math.inf, True))


def _binomial(top: _Size, bottom: _Size) -> _Size:
    if not (top.numeric and bottom.numeric):
        return _SYMBOL
    n, k = _value(top), _value(bottom)
    k = min(k, max(n - k, 0.0))
    if not math.isfinite(n):
        return _check(_Size(math.inf, True))
    return _check(_Size((math.lgamma(n + 1.0) - math.lgamma(k + 1.0) - math.lgamma(n - k + 1.0)) / _LN10, True))


def _log10_literal(token: str) -> float:
    """log10 of a decimal literal's integer part (a value below 1 is sized as 1: only huge sizes matter)."""
    integer = "".join(str(int(c)) for c in token.split(".", 1)[0]).lstrip("0")  # any script's digits, as ASCII
    if not integer:
        return 0.0
    head = integer[:15]
    return math.log10(int(head)) + len(integer) - len(head)
