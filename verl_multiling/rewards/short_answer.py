r"""Multilingual short-answer QA: exact match after normalisation, as a verl reward function.

The example non-math task (``+task=multilingual_qa``, ``recipes/task/multilingual_qa.yaml``): any recipe's
reward manager takes its task part from :func:`compute_score` through ``reward.custom_reward_function``, and
keeps its own language, format and step parts. It is an ordinary verl reward function (verl's naive manager
can use it as well)::

    pred  = the last \boxed{...} after </think>; else the text after the last answer marker line
            ("Answer:", "Réponse :", "答案：", "정답:", ... in 20 languages); else the last non-empty line
    norm(s) = NFKC, case-folded, native digits to ASCII, punctuation removed, the articles of the query
              language and of English removed (word-initial elisions such as l', d' included), whitespace
              collapsed
    score = max over gold aliases g of 1[norm(pred) == norm(g)]
    f1    = max over g of token F1(norm(pred), norm(g)), characters as tokens in scripts written without
            spaces (CJK, kana, Hangul, Thai)

``ground_truth`` is one answer, or a list of accepted aliases (a parquet list column arrives as a numpy
array). The query language comes from ``extra_info["query_lang"]`` (our reward managers add it) or
``extra_info["lang"]``. Returns ``{"score", "f1", "answer_found", "pred"}``: ``f1`` and ``answer_found`` show in
the per-language metrics, ``pred`` (the normalised answer) is what verl's validation majority vote (maj@N)
reads. These normalisation rules are ours (SQuAD-style exact match extended to more languages); no paper fixes
them.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any

from verl_multiling.scorers.math_answer import extract_boxed
from verl_multiling.scorers.numerals import to_ascii_digits

#: words removed by :func:`normalise`, per query language (English's are always removed too)
ARTICLES: dict[str, frozenset[str]] = {
    "en": frozenset({"a", "an", "the"}),
    "fr": frozenset({"le", "la", "les", "l", "un", "une", "des", "du"}),
    "es": frozenset({"el", "la", "los", "las", "un", "una", "unos", "unas"}),
    "pt": frozenset({"o", "a", "os", "as", "um", "uma", "uns", "umas"}),
    "it": frozenset({"il", "lo", "la", "i", "gli", "le", "l", "un", "uno", "una"}),
    "de": frozenset({"der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "eines"}),
    "nl": frozenset({"de", "het", "een"}),
    "ca": frozenset({"el", "la", "els", "les", "l", "un", "una"}),
}
#: answer markers that introduce the final answer on its line (case-folded, before a colon)
ANSWER_MARKERS = (
    "final answer", "answer", "réponse finale", "réponse", "respuesta final", "respuesta", "resposta final",
    "resposta", "endgültige antwort", "antwort", "risposta", "antwoord", "ответ", "відповідь", "答案", "回答",
    "答え", "解答", "정답", "답", "คำตอบ", "उत्तर", "উত্তর", "సమాధానం", "jibu", "الإجابة", "cevap", "trả lời",
    "jawaban",
)
_MARKER_LINE = re.compile(r"(?:^|\n)[ \t>*_#-]*(?:" + "|".join(re.escape(m) for m in ANSWER_MARKERS)
                          + r")[ \t*_]*[:：]\s*([^\n]*)", re.IGNORECASE)
_NO_SPACE_SCRIPTS = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_THINK_CLOSE = "</think>"
MAX_ANSWER_CHARS = 1_000  # a "short answer" longer than this is not one: it scores 0


def extract_answer(response: str) -> str | None:
    r"""The response's final answer (see the module docstring), or None.

    >>> extract_answer("La capitale est Canberra.\nRéponse : Canberra")
    'Canberra'
    >>> extract_answer(r"<think>maybe \boxed{Sydney}</think> It is \boxed{Canberra}."), extract_answer(" \n ")
    ('Canberra', None)
    >>> extract_answer("首都はキャンベラです。\n答え：キャンベラ")
    'キャンベラ'
    """
    if not isinstance(response, str):
        return None
    boxed = extract_boxed(response)
    if boxed is not None:
        return boxed.strip() or None
    tail = response.rsplit(_THINK_CLOSE, 1)[-1]
    found = None
    for found in _MARKER_LINE.finditer(tail):
        pass
    if found is not None and found.group(1).strip():
        return found.group(1).strip()
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1] if lines else None


def normalise(text: str, lang: str | None = None) -> str:
    """NFKC, case-fold, ASCII digits, punctuation to spaces, articles of ``lang`` and English removed, one space.

    >>> normalise("**La Tour Eiffel.**", "fr"), normalise("The  Eiffel-Tower!", "en"), normalise("l'Australie", "fr")
    ('tour eiffel', 'eiffel tower', 'australie')
    >>> normalise("１９６９年", "ja"), normalise("「東京」", "ja")
    ('1969年', '東京')
    """
    text = to_ascii_digits(unicodedata.normalize("NFKC", text)).casefold()
    text = "".join(" " if unicodedata.category(ch)[0] == "P" or unicodedata.category(ch) == "Sk" else ch
                   for ch in text)
    drop = ARTICLES["en"] | ARTICLES.get((lang or "").split("-")[0].lower(), frozenset())
    return " ".join(word for word in text.split() if word not in drop)


def tokens(text: str) -> list[str]:
    """Whitespace tokens, with scripts written without spaces split into characters.

    >>> tokens("new york"), tokens("東京 tower")
    (['new', 'york'], ['東', '京', 'tower'])
    """
    out: list[str] = []
    for word in text.split():
        if _NO_SPACE_SCRIPTS.search(word):
            out.extend(ch for ch in word if not ch.isspace())
        else:
            out.append(word)
    return out


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD-style token F1 of two normalised strings.

    >>> token_f1("eiffel tower", "tower"), token_f1("", "")
    (0.6666666666666666, 1.0)
    """
    pred, ref = tokens(prediction), tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def aliases(ground_truth: Any) -> list[str]:
    """The accepted answers: one string, or the strings of a list, tuple or numpy array.

    >>> aliases("Paris"), aliases(["Canberra", "canberra city"]), aliases(None)
    (['Paris'], ['Canberra', 'canberra city'], [])
    """
    if ground_truth is None:
        return []
    if isinstance(ground_truth, (str, bytes, int, float)):
        return [str(ground_truth)]
    if hasattr(ground_truth, "tolist"):
        ground_truth = ground_truth.tolist()
    if isinstance(ground_truth, Iterable):
        return [str(g) for g in ground_truth if g is not None and str(g).strip()]
    return [str(ground_truth)]


def compute_score(data_source: Any, solution_str: str, ground_truth: Any, extra_info: dict | None = None,
                  **kwargs: Any) -> dict[str, Any]:
    """verl's reward-function signature; see the module docstring.

    >>> compute_score("qa", "Die Hauptstadt ist Canberra.\\nAntwort: Canberra", "Canberra", {"query_lang": "de"})
    {'score': 1.0, 'f1': 1.0, 'answer_found': 1.0, 'pred': 'canberra'}
    >>> compute_score("qa", "Réponse : la tour Eiffel", ["Tour Eiffel"], {"lang": "fr"})["score"]
    1.0
    >>> compute_score("qa", "Answer: Sydney", "Canberra")
    {'score': 0.0, 'f1': 0.0, 'answer_found': 1.0, 'pred': 'sydney'}
    """
    info = extra_info if isinstance(extra_info, dict) else {}
    lang = info.get("query_lang") or info.get("lang")
    lang = lang if isinstance(lang, str) else None
    answer = extract_answer(solution_str)
    if answer is None or len(answer) > MAX_ANSWER_CHARS:
        return {"score": 0.0, "f1": 0.0, "answer_found": 0.0, "pred": ""}
    pred = normalise(answer, lang)
    golds = [normalise(g, lang) for g in aliases(ground_truth)]
    exact = any(pred == g for g in golds if g)
    f1 = max((token_f1(pred, g) for g in golds if g), default=0.0)
    return {"score": 1.0 if exact else 0.0, "f1": f1, "answer_found": 1.0, "pred": pred}
