r"""The reflection recipe's reward (arXiv 2603.14041; docs/methods.md, "Reflection"): accuracy + format + reflection.

    r = r_acc + r_fmt + r_ref
    r_acc = 1[the final \boxed{} answer equals the gold answer]           (the shared math scorer)
    r_fmt = f · 1[<think>…</think> is followed by an answer with \boxed{}]  (f = ``format_weight``)
    r_ref = w · min(1, n / c) · (1[r_acc = 1] when ``gate_on_correct``)  (w = 0.5, c = 3 defaults)

n counts the reflection markers ("wait", "let me check", "verify", "double-check", …, per language,
see :data:`MARKERS`) in the think part only. The paper does not publish the reflection reward; every
number and rule here is our default and a knob under ``multiling.reflection``.

Anti-hacking rules (each tested in ``tests/test_reflection_reward.py``):

* ``min(1, n / c)``: "wait wait wait …" spam earns at most w;
* a marker counts once per distinct sentence (a (marker, sentence) pair is one reflection event,
  :func:`tally_markers`), so a response that repeats its self-check sentence earns nothing over one
  that writes it once (``count_repeats: true`` counts every marker);
* only the think part counts: text before ``<think>``, after ``</think>``, or in a response whose
  think part is never closed (a truncated rollout) earns nothing;
* text inside quotation marks (« », “ ”, " ", „ “, 「 」, 『 』) is dropped before counting, and a
  marker that comes with :data:`QUESTION_CONTEXT` characters of context (before or after it) also
  found in the question text is a copy of the problem, not a reflection (:func:`copied_from`);
* an "empty" think (fewer than ``min_think_chars`` letters/digits once markers and quotes are
  removed) earns nothing, so ``<think>wait. wait.</think>`` is not reflection;
* with ``gate_on_correct`` (default) a wrong answer earns no reflection bonus.

Markers are matched on text folded by :func:`fold` (NFKC, case-folded, whitespace collapsed).
Boundary rule per marker group: ``word`` (no letter, mark or digit on either side: Latin, Cyrillic,
Swahili), ``prefix`` (left side only, for stems that take suffixes: Korean, Russian, Bengali,
Hindi, Telugu) and ``none`` (substring: Chinese, Japanese, Thai, Arabic, whose words are not
space-delimited or take clitic prefixes). "Letter, mark or digit" includes combining marks, which
Python's ``\b`` does not (it would split Bengali যাচাই inside the word).

The parts travel in ``reward_extra_info``:

===================  =================================================================================
key                  meaning
===================  =================================================================================
score                r = acc + format + reflection
acc                  r_acc in {0, 1}
format               r_fmt in {0, format_weight}
reflection           r_ref in [0, weight]
reflection_markers   n, markers counted in the think part (before the cap and the gate)
reflection_repeats   markers whose (marker, sentence) pair came earlier (not in n unless count_repeats)
reflection_ratio     min(1, n / c)
answer_reason        why r_acc is what it is (numeric_match, no_answer, no_think_close, timeout, …)
format_reason        ok | no_think_open | no_think_close | repeated_think_tag | text_before_think | empty_think
                     | no_boxed_answer
reflection_reason    counted | no_markers | no_think | empty_think | gated_wrong | disabled
think_chars          characters of the think part (0 when there is none)
query_lang           l_q from the dataset ("" when missing)
query_lang_missing   1.0 when the row gave no language with a marker list (then every list is used)
question_missing     1.0 when the row gave no question text (the copy rule then has nothing to compare)
no_answer            1.0 when the response has no final \boxed{} answer
verify_failed        1.0 when the verifier timed out or raised (acc is then 0)
===================  =================================================================================

With a custom task (``reward.custom_reward_function``, :mod:`verl_multiling.rewards.task`), r_acc is the
function's score on the whole response, the gate opens at full credit (r_acc >= 1), and the dict's
other keys are added; ``require_boxed: false`` drops the math-only ``\boxed{}`` format requirement.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from verl_multiling.scorers.language_id import normalise_lang
from verl_multiling.rewards.task import TaskChecker, TaskOutcome, math_checker, merge_extra
from verl_multiling.scorers.math_answer import extract_boxed
from verl_multiling.config.confnode import node_get as _get
from verl_multiling.config.knobs import REFLECTION
from verl_multiling.config.schema import SettingsError, read

# --- marker lists --------------------------------------------------------------------------------
# lang -> boundary rule -> markers. Written naturally; folded (NFKC, casefold) when compiled.
# Our lists, not the paper's (it publishes none): reviewed for false positives on ordinary maths prose
# (e.g. no bare "check"/"actually"/"不对", no Russian "погод" which would match погода "weather").
MARKERS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {"word": (
        "wait", "hmm", "hmmm", "hold on", "let me check", "let me verify", "let me double-check",
        "let me double check", "let me recheck", "let me re-check", "let me reconsider", "let me re-examine",
        "let me think again", "double-check", "double check", "double-checking", "recheck", "re-check",
        "verify", "verifying", "verification", "check again", "checking again", "reconsider", "re-examine",
        "re-evaluate", "on second thought", "i made a mistake", "that's not right", "that is not right",
    )},
    "zh": {"none": (
        "等等", "等一下", "稍等", "让我检查", "检查一下", "再检查", "重新检查", "验证", "核对", "再确认",
        "确认一下", "重新考虑", "重新计算", "反思一下", "算错了", "讓我檢查", "檢查一下", "再檢查", "重新檢查",
        "驗證", "核對", "重新計算", "算錯了",
    )},
    "ja": {"none": (
        "待って", "ちょっと待", "確認", "検証", "見直", "考え直", "計算し直", "間違え", "うーん",
    )},
    "ko": {"prefix": (
        "잠깐", "잠시만", "다시 확인", "재확인", "확인", "검증", "검토", "다시 생각", "다시 계산", "틀렸",
    )},
    "fr": {"word": (
        "attends", "attendez", "hmm", "un instant", "vérifions", "vérifier", "vérifie", "vérification",
        "revérifions", "revérifier", "vérifions à nouveau", "contrôlons", "recalculons", "reconsidérons",
        "réexaminons", "je me suis trompé", "je me suis trompée", "double vérification",
    )},
    "de": {"word": (
        "warte", "wartet", "moment mal", "einen moment", "hmm", "prüfe", "prüfen", "prüfen wir", "überprüfe",
        "überprüfen", "überprüfen wir", "nachprüfen", "kontrolliere", "kontrollieren", "verifizieren",
        "nachrechnen", "verrechnet", "stimmt das", "überdenken",
    )},
    "es": {"word": (
        "espera", "esperen", "un momento", "hmm", "verifiquemos", "verificar", "verifico", "verificación",
        "comprobemos", "comprobar", "compruebo", "revisemos", "reviso", "déjame verificar", "déjame comprobar",
        "me equivoqué", "reconsideremos", "volvamos a revisar",
    )},
    "pt": {"word": (
        "espere", "espera", "espera aí", "um momento", "hmm", "vamos verificar", "verificar", "verifico",
        "verificação", "conferir", "confira", "vamos conferir", "revisando", "checar", "deixe-me verificar",
        "me enganei", "errei", "reconsiderar",
    )},
    "ru": {
        "prefix": ("подожд", "провер", "перепровер", "пересчита", "пересмотр"),
        "word": ("погоди", "хм", "хмм", "минутку", "я ошибся", "я ошиблась", "стоп"),
    },
    "th": {"none": (
        "เดี๋ยวก่อน", "เดี๋ยว", "รอสักครู่", "ตรวจสอบ", "ตรวจทาน", "ทวนสอบ", "ทบทวน", "คิดใหม่", "คำนวณใหม่", "อืม",
    )},
    "bn": {"prefix": (
        "দাঁড়াও", "এক মিনিট", "অপেক্ষা কর", "যাচাই", "পরীক্ষা কর", "আবার পরীক্ষা", "পুনরায় পরীক্ষা",
        "আবার দেখ", "আবার হিসাব", "ভুল হয়েছে", "হুম",
    )},
    "sw": {"word": (
        "subiri", "ngoja", "kagua", "nikague", "tukague", "hakiki", "kuhakiki", "tuhakiki", "nihakiki",
        "thibitisha", "tuthibitishe", "nithibitishe", "angalia tena", "hebu niangalie", "hebu tuangalie",
        "nimekosea", "hmm",
    )},
    "te": {
        "prefix": ("సరిచూ", "తనిఖీ", "ధృవీకరి", "మళ్ళీ లెక్కి", "మళ్ళీ చూ", "పునఃపరిశీల", "పొరపాటు"),
        "word": ("ఆగండి", "ఆగు", "ఒక్క నిమిషం", "హ్మ్"),
    },
    "hi": {"prefix": (
        "रुको", "रुकिए", "एक मिनट", "जाँच", "जांच", "सत्यापित", "फिर से देख", "दोबारा देख", "फिर से गणना",
        "गलती", "ग़लती", "हम्म",
    )},
    "ar": {"none": (
        "انتظر", "لحظة", "تحقق", "نراجع", "مراجعة", "تأكد", "أعد الحساب", "أخطأت", "همم",
    )},
}
BOUNDARIES = ("word", "prefix", "none")  # strictest first
QUESTION_CONTEXT = 12  # characters before or after a marker that, found in the question, make it a copy
# « », “ ”, " ", „ “, 「 」, 『 』 (after NFKC, which maps fullwidth ＂ and halfwidth ｢ ｣ onto these)
QUOTED = re.compile(r'«[^«»]*»|„[^„“”]*[“”]|“[^“”]*”|"[^"]*"|「[^「」]*」|『[^『』]*』')
_SPACES = re.compile(r"\s+")


def is_word_char(ch: str) -> bool:
    """A letter, digit, underscore or combining mark (``\\b`` forgets marks: Bengali া, Telugu ి).

    >>> is_word_char("a"), is_word_char("\u09be"), is_word_char(" "), is_word_char("-")
    (True, True, False, False)
    """
    return ch.isalnum() or ch == "_" or unicodedata.category(ch)[0] == "M"


def fold(text: str) -> str:
    """The form markers are matched on: NFKC, case-folded, whitespace runs -> one space.

    >>> fold("Let  me\\nCHECK ＷＡＩＴ")
    'let me check wait'
    """
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold()))


def strip_quoted(text: str) -> str:
    """``text`` with every quoted span (quotes included) replaced by one space.

    >>> strip_quoted('He said "wait" and «attends», then 「待って」 — done')
    'He said   and  , then   — done'
    """
    return QUOTED.sub(" ", text)


@dataclass(frozen=True)
class MarkerMatcher:
    """The markers of some languages: a trie regex finds candidates, boundaries are checked per marker."""

    pattern: re.Pattern[str]  # longest-first trie alternation of the folded markers, no boundaries
    rule: Mapping[str, str]  # marker -> word | prefix | none
    shorter: Mapping[str, tuple[str, ...]]  # marker -> the shorter markers it starts with, longest first

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Non-overlapping (start, end) of markers in folded ``text``, the longest valid one at each place.

        >>> [m for m in matcher(("en",)).spans("wait, let me double-check. waiting… re-check")]
        [(0, 4), (6, 25), (36, 44)]
        """
        out, pos = [], 0
        while (m := self.pattern.search(text, pos)) is not None:
            start = m.start()
            for marker in (m.group(), *self.shorter[m.group()]):
                end = start + len(marker)
                rule = self.rule[marker]
                if rule == "none" or (
                    (start == 0 or not is_word_char(text[start - 1]))
                    and (rule == "prefix" or end == len(text) or not is_word_char(text[end]))
                ):
                    out.append((start, end))
                    pos = end
                    break
            else:
                pos = start + 1
        return out


def _trie_regex(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, preferring the longest (children before the end of a word).

    >>> _trie_regex(["ab", "abc", "b"])
    '(?:a(?:b(?:c)?)|b)'
    """
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = "(?:" + "|".join(branches) + ")"
        return body + "?" if "" in node else body  # greedy: the longer word first

    return build(trie)


@functools.lru_cache(maxsize=64)
def matcher(languages: tuple[str, ...]) -> MarkerMatcher:
    """The matcher for the markers of ``languages`` (folded; cached per language set).

    A marker listed under several rules (e.g. "hmm" in en/fr/de) keeps the strictest one; at one
    position the longest valid marker wins, so "let me double-check" counts once, not also as
    "double-check".
    """
    rule: dict[str, str] = {}
    for lang in languages:
        for boundary, markers in MARKERS[lang].items():
            for marker in markers:
                key = fold(marker)
                if key not in rule or BOUNDARIES.index(boundary) < BOUNDARIES.index(rule[key]):
                    rule[key] = boundary
    by_length = sorted(rule, key=lambda m: (-len(m), m))
    shorter = {m: tuple(s for s in by_length if len(s) < len(m) and m.startswith(s)) for m in rule}
    return MarkerMatcher(re.compile(_trie_regex(rule)), rule, shorter)


def marker_languages(query_lang: str, mode: str = "query", extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The marker lists used for a query language: its own (plus ``extra``), or all when it has none.

    >>> marker_languages("fr"), marker_languages("fr", extra=["en"]), len(marker_languages("xx"))
    (('fr',), ('en', 'fr'), 15)
    """
    if mode == "all" or query_lang not in MARKERS:
        return tuple(sorted(MARKERS))
    return tuple(sorted({query_lang, *(x for x in extra if x in MARKERS)}))


def count_markers(think: str, languages: tuple[str, ...], question: str = "",
                  min_think_chars: int = 1, count_repeats: bool = False) -> tuple[int, bool]:
    """(n, empty): reflection markers in an already folded, quote-stripped think part.

    A marker in text copied from the folded ``question`` (:func:`copied_from`) is not counted, and
    unless ``count_repeats`` a marker counts once per distinct sentence it sits in
    (:func:`tally_markers`): repeating a self-check sentence earns nothing over writing it once.
    ``empty`` is True when fewer than ``min_think_chars`` letters/digits remain once every marker is
    removed (then n = 0).

    >>> count_markers("x = 2. wait, let me double-check: 2 + 2 = 4. hmm, verify again.", ("en",))
    (4, False)
    >>> count_markers("wait wait wait", ("en",))
    (0, True)
    >>> q = "verify that the sum is even"
    >>> count_markers("so 3 apples. verify that the sum is even. ok, 12.", ("en",), question=q)
    (0, False)
    >>> once = "7 + 4 = 11. wait, let me check: 11 - 4 = 7."
    >>> count_markers(once, ("en",)), count_markers(once + " wait, let me check: 11 - 4 = 7." * 5, ("en",))
    ((2, False), (2, False))
    """
    tally = tally_markers(think, languages, question, min_think_chars)
    return tally.n(count_repeats), tally.empty


@dataclass(frozen=True)
class MarkerTally:
    """What :func:`tally_markers` found in one think part."""

    counted: int  # markers counted: not copied from the question, first in their (marker, sentence) pair
    repeats: int  # markers whose (marker, sentence) pair came earlier in the think part
    empty: bool  # fewer than min_think_chars letters/digits besides markers (then both counts are 0)

    def n(self, count_repeats: bool = False) -> int:
        """n of the reward: the counted markers, plus the repeats when ``count_repeats``."""
        return self.counted + (self.repeats if count_repeats else 0)


SENTENCE_END = re.compile(r"[.!?;\n\u3002\uff01\uff1f\uff1b\u0964\u0965\u061f\u06d4]")
"""Sentence terminators: . ! ? ; newline, the CJK full-width forms 。！？；, the danda । ॥, Arabic ؟ and ۔."""


def sentence_ends(text: str) -> list[int]:
    """Positions of the sentence terminators in ``text``, ascending (found once per text)."""
    return [m.start() for m in SENTENCE_END.finditer(text)]


def sentence_around(text: str, ends: list[int], start: int, end: int) -> str:
    """The sentence of ``text`` holding ``text[start:end]`` (between the terminators around it), stripped;
    ``ends`` is :func:`sentence_ends` of ``text`` (a bisect per marker, so a think part is scanned once).

    >>> text = "x = 3. wait, 3 + 1 = 4. done"
    >>> sentence_around(text, sentence_ends(text), 7, 11)
    'wait, 3 + 1 = 4'
    """
    i, j = bisect.bisect_left(ends, start), bisect.bisect_left(ends, end)
    left = ends[i - 1] + 1 if i else 0  # terminators are one character long
    right = ends[j] if j < len(ends) else len(text)
    return text[left:right].strip()


def tally_markers(think: str, languages: tuple[str, ...], question: str = "",
                  min_think_chars: int = 1) -> MarkerTally:
    """Markers of ``languages`` in a folded, quote-stripped think part, split into counted and repeats.

    A reflection event is a (marker, sentence) pair; its first occurrence counts, later ones are
    repeats. "wait, let me check: 7 is right." written five times is one event per marker (2), the
    same as writing it once; two different checks that both start with "wait" are two events.

    >>> tally_markers("3 + 4 = 7. wait, 7 - 4 = 3. wait, 7 - 3 = 4. wait, 7 - 4 = 3.", ("en",))
    MarkerTally(counted=2, repeats=1, empty=False)
    """
    spans = matcher(languages).spans(think)
    substance = sum(ch.isalnum() for ch in think) - sum(ch.isalnum() for a, b in spans for ch in think[a:b])
    if substance < min_think_chars:
        return MarkerTally(0, 0, True)
    if question:
        copies = _QuestionContexts(question)
        spans = [(a, b) for a, b in spans if not copies.copied(think, a, b)]
    ends = sentence_ends(think)
    seen = {(think[a:b], sentence_around(think, ends, a, b)) for a, b in spans}
    return MarkerTally(len(seen), len(spans) - len(seen), False)


class _QuestionContexts:
    """:func:`copied_from` for every marker of a think part, in time linear in the question: a marker's
    context can only occur in the question where the marker itself does, so the contexts around each
    marker's occurrences in the question are collected once (searching the whole question once per
    marker would take |markers| x |question|: minutes for a long think and a long question)."""

    def __init__(self, question: str, context: int = QUESTION_CONTEXT):
        self.question, self.context = question, context
        self._contexts: dict[str, tuple[set[str], set[str]]] = {}

    def copied(self, think: str, start: int, end: int) -> bool:
        marker, context = think[start:end], self.context
        befores, afters = self._around(marker)
        before, after = think[start - context: end] if start >= context else "", think[start: end + context]
        return (bool(before) and before in befores) or (len(after) == end - start + context and after in afters)

    def _around(self, marker: str) -> tuple[set[str], set[str]]:
        found = self._contexts.get(marker)
        if found is None:
            question, context, size = self.question, self.context, len(marker)
            befores, afters = set(), set()
            at = question.find(marker)
            while at != -1:  # every occurrence, overlapping ones included
                befores.add(question[max(at - context, 0): at + size])
                afters.add(question[at: at + size + context])
                at = question.find(marker, at + 1)
            found = self._contexts[marker] = (befores, afters)
        return found


def copied_from(question: str, think: str, start: int, end: int, context: int = QUESTION_CONTEXT) -> bool:
    """Whether the marker ``think[start:end]`` sits in text copied from ``question``: the marker with
    the ``context`` characters before it, or the ``context`` characters after it, occurs in the
    question (a side with fewer characters left in the think does not count, so a bare "wait" at
    the start of the think is no "copy").

    >>> copied_from("is it true? verify that 2 is even", "ok. verify that 2 is even, so", 4, 10)
    True
    >>> copied_from("verify that 2 is even", "hmm, so x = 3. verify: 3 + 1 = 4", 15, 21)
    False
    """
    before, after = think[start - context: end] if start >= context else "", think[start: end + context]
    return (bool(before) and before in question) or (len(after) == end - start + context and after in question)


# --- think part and format -------------------------------------------------------------------------


def split_think(response: str, think_open: str = "<think>", think_close: str = "</think>",
                prompt_opens_think: bool = False) -> tuple[str | None, str, str]:
    """(think, answer, format_reason): the think part (None when there is none) and what follows it.

    The think part runs from the first ``think_open`` (or the response start when the chat template
    already opened it, ``prompt_opens_think``) to the first ``think_close``; the answer is everything
    after that close. format_reason is "ok" or why the layout is not ``<think>…</think> answer``.

    >>> split_think("<think>a</think> b")
    ('a', ' b', 'ok')
    >>> split_think("a</think> b"), split_think("a</think> b", prompt_opens_think=True)
    ((None, ' b', 'no_think_open'), ('a', ' b', 'ok'))
    >>> split_think("<think>a </think>b</think>c")
    ('a ', 'b</think>c', 'repeated_think_tag')
    """
    close = response.find(think_close)
    if close < 0:
        return None, "", "no_think_close"
    head, answer = response[:close], response[close + len(think_close):]
    opened = head.find(think_open)
    if opened >= 0:
        think = head[opened + len(think_open):]
        leading = head[:opened]
    elif prompt_opens_think:
        think, leading = head, ""
    else:
        return None, answer, "no_think_open"
    if think_open in think or think_open in answer or think_close in answer:
        return think, answer, "repeated_think_tag"
    if leading.strip():
        return think, answer, "text_before_think"
    return think, answer, "ok"


def format_reason(response: str, cfg: ReflectionConfig) -> tuple[str | None, str]:
    r"""(think part, reason): reason "ok" when ``<think>`` non-empty ``</think>`` is followed by a
    non-empty ``\boxed{}`` answer (or any answer when ``require_boxed`` is false).

    >>> format_reason(r"<think>2+2=4</think> \boxed{4}", ReflectionConfig())
    ('2+2=4', 'ok')
    >>> cfg = ReflectionConfig()
    >>> format_reason(r"<think> </think> \boxed{4}", cfg)[1], format_reason("<think>x</think> 4", cfg)[1]
    ('empty_think', 'no_boxed_answer')
    """
    think, answer, reason = split_think(response, cfg.think_open, cfg.think_close, cfg.prompt_opens_think)
    if reason != "ok":
        return think, reason
    if not think.strip():
        return think, "empty_think"
    if cfg.require_boxed and not extract_boxed(answer):
        return think, "no_boxed_answer"
    if not cfg.require_boxed and not answer.strip():
        return think, "no_boxed_answer"
    return think, "ok"


# --- question text -----------------------------------------------------------------------------------


def question_from_row(row: Mapping[str, Any] | None) -> str:
    """The problem text of a verl dataset row: the user turns of ``raw_prompt`` or ``prompt`` (chat
    messages, a list or numpy array, content a string or text parts), else ``extra_info.question``,
    else "".

    >>> question_from_row({"prompt": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "2+2?"}]})
    '2+2?'
    >>> question_from_row({"extra_info": {"question": "3+3?"}}), question_from_row({}), question_from_row(None)
    ('3+3?', '', '')
    """
    if not isinstance(row, Mapping):
        return ""
    for key in ("raw_prompt", "prompt"):
        text = _user_text(row.get(key))
        if text:
            return text
    extra = row.get("extra_info")
    if isinstance(extra, Mapping) and isinstance(extra.get("question"), str):
        return extra["question"]
    return ""


def _user_text(messages: Any) -> str:
    if isinstance(messages, str):
        return messages
    if messages is None or isinstance(messages, (bytes, Mapping)) or not hasattr(messages, "__iter__"):
        return ""
    texts = []
    for message in messages:
        if not isinstance(message, Mapping) or message.get("role", "user") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif content is not None and hasattr(content, "__iter__"):
            texts.extend(p["text"] for p in content if isinstance(p, Mapping) and isinstance(p.get("text"), str))
    return "\n".join(texts)


# --- config ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReflectionConfig:
    """``multiling.reflection``; every value is our default (the paper does not publish the reward)."""

    enabled: bool = True  # false: r_ref = 0 (the ablation); markers are still counted and reported
    weight: float = 0.5  # w
    cap: int = 3  # c: markers for the full bonus
    gate_on_correct: bool = True  # r_ref only when r_acc = 1
    format_weight: float = 1.0  # f: r_fmt when the format holds
    think_open: str = "<think>"
    think_close: str = "</think>"
    prompt_opens_think: bool = False  # true when the chat template ends with think_open (R1-distill)
    require_boxed: bool = True  # r_fmt needs a \boxed{} answer after think_close
    min_think_chars: int = 10  # letters/digits the think part needs besides markers to be non-empty
    marker_languages: str = "query"  # query: l_q's list (all lists when l_q has none) | all
    extra_marker_languages: tuple[str, ...] = ()  # lists added to l_q's, e.g. [en]
    count_repeats: bool = False  # true: every marker counts; false: once per (marker, sentence) pair

    @classmethod
    def from_config(cls, config: Any) -> ReflectionConfig:
        """Read ``config.multiling.reflection`` (full trainer config, the ``multiling`` node or the
        ``reflection`` node itself); errors name the field and the fix."""
        fields = {f.name for f in dataclasses.fields(cls)}
        if _has(config, "multiling"):
            node = _get(_get(config, "multiling", None), "reflection", None)
        elif _has(config, "reflection"):
            node = _get(config, "reflection", None)
        else:  # a bare reflection node, or a config without one (defaults)
            node = config if _keys(config) and _keys(config) <= fields else None
        v, errors = read({} if node is None else node, REFLECTION, "multiling.reflection")
        p = "multiling.reflection."
        unknown = [x for x in v["extra_marker_languages"] if x not in MARKERS]
        if unknown:
            errors.append(f"{p}extra_marker_languages: no marker list for {unknown}; known: "
                          f"{', '.join(sorted(MARKERS))}")
        if v["think_open"] == v["think_close"]:
            errors.append(f"{p}think_open and think_close are both {v['think_open']!r}: they must differ")
        if errors:
            raise SettingsError(errors)
        return cls(**{**v, "extra_marker_languages": tuple(v["extra_marker_languages"])})

    @property
    def max_score(self) -> float:
        return 1.0 + self.format_weight + self.weight


def _keys(node: Any) -> set[str]:
    keys = getattr(node, "keys", None)
    return {str(k) for k in keys()} if callable(keys) else set()


def _has(node: Any, key: str) -> bool:
    return key in _keys(node)



# --- the reward --------------------------------------------------------------------------------------


def reflection_reward(response: str, gold: Any, query_lang: Any, cfg: ReflectionConfig | None = None, *,
                      question: str = "", timeout_s: float = 5.0,
                      require_think_close: bool = False, task: TaskChecker | None = None) -> dict[str, Any]:
    r"""r = r_acc + r_fmt + r_ref for one rollout (see the module docstring); never raises on content.

    ``question`` is the problem text (markers copied from it do not count); ``timeout_s`` bounds
    math-verify; ``require_think_close`` (``multiling.math``) gives no accuracy without ``</think>``;
    ``task`` gives r_acc (default: math-verify).

    >>> response = r"<think>Add them: 3 + 4 = 7. Wait, let me verify: 7 - 4 = 3.</think> \boxed{7}"
    >>> r = reflection_reward(response, "7", "en")
    >>> r["score"], r["acc"], r["format"], r["reflection"], r["reflection_markers"]
    (2.3333333333333335, 1.0, 1.0, 0.3333333333333333, 2)
    """
    cfg = cfg or ReflectionConfig()
    response = response if isinstance(response, str) else ""
    question = question if isinstance(question, str) else ""
    lang_q = normalise_lang(query_lang)

    think, fmt_reason = format_reason(response, cfg)
    if require_think_close and cfg.think_close not in response:
        outcome = TaskOutcome(0.0, "no_think_close")
    else:
        outcome = (task or math_checker(timeout_s))(response, gold, lang_q)
    correct, answer_reason = outcome.correct, outcome.reason

    languages = marker_languages(lang_q, cfg.marker_languages, cfg.extra_marker_languages)
    repeats = 0
    if think is None:
        n, ref_reason = 0, "no_think"
    else:
        tally = tally_markers(strip_quoted(fold(think)), languages, fold(question), cfg.min_think_chars)
        n, repeats = tally.n(cfg.count_repeats), tally.repeats
        ref_reason = "empty_think" if tally.empty else ("counted" if n else "no_markers")
    ratio = min(1.0, n / cfg.cap)
    r_ref = cfg.weight * ratio
    if not cfg.enabled:
        r_ref, ref_reason = 0.0, "disabled"
    elif cfg.gate_on_correct and not correct and n:
        r_ref, ref_reason = 0.0, "gated_wrong"
    r_acc = outcome.acc
    r_fmt = cfg.format_weight if fmt_reason == "ok" else 0.0
    return merge_extra({
        "score": r_acc + r_fmt + r_ref,
        "acc": r_acc,
        "format": r_fmt,
        "reflection": r_ref,
        "reflection_markers": n,
        "reflection_repeats": repeats,
        "reflection_ratio": ratio,
        "answer_reason": answer_reason,
        "format_reason": fmt_reason,
        "reflection_reason": ref_reason,
        "think_chars": 0 if think is None else len(think),
        "query_lang": lang_q,
        "query_lang_missing": 0.0 if lang_q in MARKERS else 1.0,
        "question_missing": 0.0 if question.strip() else 1.0,
        "no_answer": 1.0 if outcome.no_answer else 0.0,
        "verify_failed": 1.0 if outcome.verify_failed else 0.0,
    }, outcome)


__all__ = [
    "MARKERS", "MarkerTally", "ReflectionConfig", "count_markers", "tally_markers", "fold", "format_reason", "marker_languages",
    "MarkerMatcher", "copied_from", "is_word_char", "matcher", "question_from_row", "reflection_reward",
    "split_think", "strip_quoted",
]
