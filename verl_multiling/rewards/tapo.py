r"""TAPO's understand-then-reason format (arXiv 2603.25419): prompt, parsing and rewards.

The response first renders the question in English between tags, then reasons to a final
``\boxed{}`` answer (tag names configurable; the paper's are not public; the prompts that ask for
this format come from data preparation, :mod:`verl_multiling.data_prep.templates`)::

    <translation>Janet's ducks lay 16 eggs per day. ...</translation>
    She has 16 - 3 - 4 = 9 eggs left ... \boxed{18}

U (understanding) = the response up to and including the closing tag; R (reasoning) = the rest.
:func:`parse_response` returns U's character end; the reward manager turns it into a token count
(:mod:`verl_multiling.scorers.token_split`). A missing, repeated, unclosed, out-of-order or empty
tag, or text before the opening tag (``require_leading``), gives a defined result: no U step (the
whole response is R), r_fmt = 0, r_trans = 0, and the reason in ``format_reason``.

Parts (``reward_extra_info``; the same keys for every sample):

=============  =====================================================================================
key            meaning
=============  =====================================================================================
score          the scalar verl places on the last token: r_acc
acc, r_acc     1.0 when the final \boxed{} answer in R equals the gold answer (math-verify)
r_trans        translation quality of the U text in [0, 1] (chrF / COMET / CometKiwi); 0 without U
r_fmt          1.0 when the tags are well formed and R has a \boxed{} answer
u_tokens       |U| in response tokens (0 without a U step); the estimator's step boundary
u_chars        U's end in characters of the decoded response (0 without a U step)
u_step         1.0 when the response has a U step (the format rate)
format_reason  ok | empty_response | missing_tag | missing_open | unclosed | repeated_tag |
               close_before_open | text_before_open | empty_translation
trans_reason   ok | no_u_step | no_reference | no_source | scorer_fallback | scorer_error
scorer_retries retries the translation scorer needed (multiling.faults.retries)
scorer_fallback 1.0 when the model scorer failed and chrF scored U (multiling.faults.on_failure=fallback)
scorer_error   1.0 when no scorer could score U (r_trans = 0; on_failure=zero, or no reference)
split_reason   ok | empty_span | unaligned (token_split) | no_u_step
answer_reason  math_answer's reason (numeric_match, no_answer, timeout, ...)
verify_failed  1.0 when math-verify timed out or could not run (r_acc = 0 unchecked; a fault metric)
no_answer      1.0 when R has no final \boxed{} answer
query_lang     the dataset's query language ("" when missing)
=============  =====================================================================================

With a custom task (``reward.custom_reward_function``, :mod:`verl_multiling.rewards.task`), r_acc is the
function's score on R (the text after the closing tag; the whole response when it has no U step), r_fmt
needs well-formed tags only (a ``\boxed{}`` answer is a math requirement; a dict with a truthy
``no_answer`` still fails it), and the dict's other keys are added.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from verl_multiling.config.faults import ScorerFailure
from verl_multiling.scorers.language_id import normalise_lang
from verl_multiling.rewards.task import TaskChecker, math_checker, merge_extra
from verl_multiling.scorers.math_answer import extract_boxed
from verl_multiling.scorers.translation import TranslationConfig, TranslationScorer
from verl_multiling.config.confnode import node_get as _get
from verl_multiling.config.knobs import TAPO
from verl_multiling.config.schema import SettingsError, read


logger = logging.getLogger(__name__)

OK = "ok"
FORMAT_REASONS = ("ok", "empty_response", "missing_tag", "missing_open", "unclosed", "repeated_tag",
                  "close_before_open", "text_before_open", "empty_translation")
TRANS_REASONS = ("ok", "no_u_step", "no_reference", "no_source", "scorer_fallback", "scorer_error")


@dataclass(frozen=True)
class Tags:
    open: str = "<translation>"
    close: str = "</translation>"


DEFAULT_TAGS = Tags()


@dataclass(frozen=True)
class TapoConfig:
    """The ``multiling.tapo`` node."""

    tags: Tags = DEFAULT_TAGS
    require_leading: bool = True  # only whitespace may precede the opening tag
    reference_key: str = "question_en"  # dataset column (or extra_info key) with the English question
    source_key: str = "question"  # the question as asked (COMET's source)
    translation: TranslationConfig = field(default_factory=TranslationConfig)

    @classmethod
    def from_config(cls, config: Any) -> TapoConfig:
        """Read ``config.multiling.tapo`` (the full trainer config) or a bare ``tapo`` node; the knobs are
        declared in :mod:`verl_multiling.config.knobs`, and every error names its field."""
        multiling = _get(config, "multiling", None)
        node = _get(multiling, "tapo", None) if multiling is not None else config
        v, errors = read(node or {}, TAPO, "multiling.tapo")
        open_tag, close_tag = v["tags"]["open"], v["tags"]["close"]
        for name, value in (("open", open_tag), ("close", close_tag)):
            if not value.strip():
                errors.append(f"multiling.tapo.tags.{name}={value!r}: must be a non-empty string")
        if open_tag == close_tag or open_tag in close_tag or close_tag in open_tag:
            errors.append(f"multiling.tapo.tags: open {open_tag!r} and close {close_tag!r} must not contain "
                          "each other")
        translation, rule_errors = TranslationConfig.from_values(v["translation"], "multiling.tapo.translation")
        errors += rule_errors
        if errors:
            raise SettingsError(errors)
        return cls(tags=Tags(open_tag, close_tag), require_leading=v["require_leading"],
                   reference_key=v["reference_key"], source_key=v["source_key"], translation=translation)


@dataclass(frozen=True)
class ParsedResponse:
    """The split of one response: U = text[:u_char_end] (0: no U step), the translation inside the
    tags, R = the reasoning text, and why."""

    reason: str
    u_char_end: int = 0
    translation: str = ""
    reasoning: str = ""

    @property
    def has_u(self) -> bool:
        return self.reason == OK


def parse_response(text: str, tags: Tags = DEFAULT_TAGS, require_leading: bool = True) -> ParsedResponse:
    r"""Split a response into the understanding step U and the reasoning R.

    >>> p = parse_response("<translation> Two apples. </translation>\nSo \\boxed{2}")
    >>> p.reason, p.u_char_end, p.translation, p.reasoning
    ('ok', 40, 'Two apples.', '\nSo \\boxed{2}')
    >>> texts = ["", "\\boxed{2}", "<translation>x", "<translation> </translation>",
    ...          "<translation>a</translation><translation>b</translation>", "</translation>x<translation>",
    ...          "Sure! <translation>a</translation>", "a</translation> 2"]
    >>> print(*[parse_response(t).reason for t in texts])
    empty_response missing_tag unclosed empty_translation repeated_tag close_before_open text_before_open missing_open
    """
    if not isinstance(text, str) or not text.strip():
        return ParsedResponse("empty_response", reasoning=text if isinstance(text, str) else "")
    n_open, n_close = text.count(tags.open), text.count(tags.close)
    if n_open == 0 and n_close == 0:
        return ParsedResponse("missing_tag", reasoning=text)
    if n_open > 1 or n_close > 1:
        return ParsedResponse("repeated_tag", reasoning=text)
    if n_open == 0:
        return ParsedResponse("missing_open", reasoning=text)
    if n_close == 0:
        return ParsedResponse("unclosed", reasoning=text)
    start, close = text.index(tags.open), text.index(tags.close)
    if close < start:
        return ParsedResponse("close_before_open", reasoning=text)
    if require_leading and text[:start].strip():
        return ParsedResponse("text_before_open", reasoning=text)
    translation = text[start + len(tags.open): close].strip()
    if not translation:
        return ParsedResponse("empty_translation", reasoning=text)
    end = close + len(tags.close)
    return ParsedResponse(OK, end, translation, text[end:])


def row_text(row: Mapping[str, Any], key: str) -> str | None:
    """A dataset column, or the same key inside ``extra_info``; None when absent or blank."""
    value = row.get(key)
    if value is None:
        extra = row.get("extra_info")
        value = extra.get(key) if isinstance(extra, Mapping) else None
    return value if isinstance(value, str) and value.strip() else None


def tapo_reward(response: str, gold: Any, query_lang: Any, reference: str | None, source: str | None,
                cfg: TapoConfig, scorer: TranslationScorer | None,
                timeout_s: float = 5.0, task: TaskChecker | None = None) -> tuple[dict, ParsedResponse]:
    """Score one rollout (no token split: the manager adds ``u_tokens`` and ``split_reason``).

    Never raises on a strange response. A failing translation scorer follows the fault policy
    (:mod:`verl_multiling.config.faults`): chrF scores U (``trans_reason=scorer_fallback``), or r_trans = 0
    (``scorer_error``), or :class:`~verl_multiling.config.faults.ScorerFailure` propagates (``on_failure=stop``).
    ``task`` gives r_acc from R (default: math-verify with ``timeout_s``).
    """
    response = response if isinstance(response, str) else ""
    parsed = parse_response(response, cfg.tags, cfg.require_leading)
    lang_q = normalise_lang(query_lang)
    outcome = (task or math_checker(timeout_s))(parsed.reasoning, gold, lang_q)
    r_acc = outcome.acc
    has_answer = extract_boxed(parsed.reasoning) is not None if task is None else not outcome.no_answer
    r_trans, trans_reason, retries = translation_score(parsed, reference, source, cfg, scorer)
    parts = {
        "score": r_acc,
        "acc": r_acc,
        "r_acc": r_acc,
        "r_trans": r_trans,
        "r_fmt": 1.0 if parsed.has_u and has_answer else 0.0,
        "u_tokens": 0,
        "u_chars": parsed.u_char_end,
        "u_step": 1.0 if parsed.has_u else 0.0,
        "format_reason": parsed.reason,
        "trans_reason": trans_reason,
        "scorer_retries": retries,
        "scorer_fallback": 1.0 if trans_reason == "scorer_fallback" else 0.0,
        "scorer_error": 1.0 if trans_reason == "scorer_error" else 0.0,
        "split_reason": "no_u_step",
        "answer_reason": outcome.reason,
        "verify_failed": 1.0 if outcome.verify_failed else 0.0,  # counted by multiling/faults
        "no_answer": 0.0 if has_answer else 1.0,
        "query_lang": lang_q,
    }
    return merge_extra(parts, outcome), parsed


def translation_score(parsed: ParsedResponse, reference: str | None, source: str | None, cfg: TapoConfig,
                      scorer: TranslationScorer | None) -> tuple[float, str, int]:
    """r_trans of one parsed response, its reason and the scorer retries it took (0 when there is nothing
    to score)."""
    if not parsed.has_u:
        return 0.0, "no_u_step", 0
    if scorer is None:
        raise ValueError("tapo_reward: a response with a U step needs a translation scorer")
    if cfg.translation.needs_reference and reference is None:
        return 0.0, "no_reference", 0
    if cfg.translation.needs_source and source is None:
        return 0.0, "no_source", 0
    try:
        outcome = scorer.score_outcome([parsed.translation], None if reference is None else [reference],
                                       None if source is None else [source])
    except ScorerFailure:
        raise  # multiling.faults.on_failure=stop
    except Exception as exc:  # no scorer could score U: r_trans = 0, counted
        logger.warning("verl_multiling: translation scorer failed (%r); r_trans = 0 (trans_reason=scorer_error)", exc)
        return 0.0, "scorer_error", 0
    value = float(outcome.value[0])
    if not math.isfinite(value):  # NaN or ±inf is a failed call, never a score (+inf must not clip to 1.0)
        # the guarded scorer (scoring_service) already retried and fell back on it; a plain scorer has no
        # policy: counted as scorer_error, r_trans = 0
        logger.warning("verl_multiling: translation scorer returned %r; r_trans = 0 (trans_reason=scorer_error)",
                       value)
        return 0.0, "scorer_error", outcome.retries
    reason = "scorer_fallback" if outcome.fallback else "ok"
    return min(max(value, 0.0), 1.0), reason, outcome.retries
