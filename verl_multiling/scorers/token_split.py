"""Character span of a response's first step -> the number of response tokens it covers.

TAPO's understanding step U is "the response tokens up to and including ``</translation>``". The
tag is found in the decoded text, but the advantage is per token, so the character boundary must
become a token count |U| over the token ids the policy actually generated (re-tokenising the
decoded text can give another segmentation). A token that straddles the boundary — the closing
tag merged with its neighbours, as Qwen2.5's BPE does with ``>\\n\\n`` or ``.</`` — belongs to U:
U is the shortest prefix of tokens whose text contains the whole span.

Two pure entry points:

* :func:`tokens_covering` — from a tokenizer's ``offset_mapping`` (re-tokenised text): the number
  of leading tokens that cover ``text[:char_end]``;
* :func:`count_prefix_tokens` — from the generated ids: the shortest k such that
  ``decode(ids[:k])`` starts with ``text[:char_end]``, found with an exponential then binary
  search over prefix decodes (O(|U| log |U|) decoded tokens; works for any tokenizer, including
  byte-level BPE tokens that split a multi-byte character, whose partial decode is ``\\ufffd``).

A boundary the decoded prefixes never reach (a tokenizer whose decode is not prefix-stable) gives
0 tokens with the counted reason ``unaligned``, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

OK = "ok"
EMPTY_SPAN = "empty_span"
UNALIGNED = "unaligned"
REASONS = frozenset({OK, EMPTY_SPAN, UNALIGNED})


@dataclass(frozen=True)
class TokenSplit:
    """``n_tokens`` leading response tokens form the span (0 when there is none), and why."""

    n_tokens: int
    reason: str


def tokens_covering(offsets: Sequence[tuple[int, int]], char_end: int) -> int:
    """How many leading tokens cover ``text[:char_end]``, given each token's (start, end) characters.

    The token holding character ``char_end - 1`` is included, even when it runs past ``char_end``
    (a closing tag merged with the following newlines).

    >>> offs = [(0, 12), (12, 14), (14, 16), (16, 27), (27, 30), (30, 31)]  # '<translation', '>x', '</', ...
    >>> tokens_covering(offs, 28), tokens_covering(offs, 27), tokens_covering(offs, 0), tokens_covering(offs, 99)
    (5, 4, 0, 6)
    """
    if char_end <= 0:
        return 0
    for i, (_start, end) in enumerate(offsets):
        if end >= char_end:
            return i + 1
    return len(offsets)


def count_prefix_tokens(decode: Callable[[Sequence[int]], str], ids: Sequence[int], target: str) -> TokenSplit:
    """The shortest k with ``decode(ids[:k]).startswith(target)`` (``target`` = the span's text).

    >>> pieces = ["<tr>", "Hi", ".</", "tr>\\n", "So"]
    >>> dec = lambda ks: "".join(pieces[k] for k in ks)
    >>> count_prefix_tokens(dec, [0, 1, 2, 3, 4], "<tr>Hi.</tr>")
    TokenSplit(n_tokens=4, reason='ok')
    >>> count_prefix_tokens(dec, [0, 1, 2, 3, 4], "<tr>Bye")
    TokenSplit(n_tokens=0, reason='unaligned')
    """
    if not target:
        return TokenSplit(0, EMPTY_SPAN)
    n = len(ids)

    def covers(k: int) -> bool:
        return decode(ids[:k]).startswith(target)

    # exponential search for an upper bound, then binary search in (lo, hi]
    lo, hi = 0, 1
    while hi < n and not covers(hi):
        lo, hi = hi, min(2 * hi, n)
    if hi >= n:
        hi = n
        if not covers(n):
            return TokenSplit(0, UNALIGNED)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if covers(mid):
            hi = mid
        else:
            lo = mid
    return TokenSplit(hi, OK)


def split_response_tokens(token_ids: Sequence[int], tokenizer, char_end: int, text: str | None = None) -> TokenSplit:
    """|U| for a response: ``char_end`` indexes ``text``, the response decoded with
    ``skip_special_tokens=True`` (decoded here when not given), as the reward managers decode it."""
    ids = [int(t) for t in token_ids]

    def decode(prefix: Sequence[int]) -> str:
        return tokenizer.decode(list(prefix), skip_special_tokens=True)

    if text is None:
        text = decode(ids)
    if char_end <= 0:
        return TokenSplit(0, EMPTY_SPAN)
    return count_prefix_tokens(decode, ids, text[:char_end])
