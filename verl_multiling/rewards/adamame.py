"""AdaMame's reward parts: r_i (math-verify accuracy) and l_i (detected response language).

The reward manager's scalar is r_i in {0, 1}; the language-alignment bonus
s_i = r_i (1 + B g(t) m_i) needs t and T, so the estimator applies it (see
:mod:`verl_multiling.estimators.adamame`). The parts returned here travel in ``reward_extra_info``:

=================  =========================================================================
key                meaning
=================  =========================================================================
score              r_i: 1.0 when the final \\boxed{} answer equals the gold answer
acc                same as score (verl's name for accuracy)
lang_match         m_i = 1[l_i = l_q and l_i known]
response_lang      l_i, detected on the first ``max_chars`` characters ("" = no language)
query_lang         l_q from the dataset ("" when the row has none)
answer_reason      why r_i is what it is (numeric_match, no_answer, timeout, ...)
no_answer          1.0 when the response has no final \\boxed{} answer
verify_failed      1.0 when the verifier timed out or raised (the score is then 0)
query_lang_missing 1.0 when the dataset row gave no usable query language
=================  =========================================================================

With a custom task (``reward.custom_reward_function``, :mod:`verl_multiling.rewards.task`), r_i is the
function's score on the whole response and its dict's other keys are added; ``answer_reason``,
``no_answer`` and ``verify_failed`` then describe the function's outcome.
"""

from __future__ import annotations

from typing import Any

from verl_multiling.config.multiling import MultilingConfig
from verl_multiling.scorers.fidelity import language_match
from verl_multiling.scorers.language_id import get_detector, normalise_lang
from verl_multiling.rewards.task import TaskChecker, TaskOutcome, math_checker, merge_extra

THINK_CLOSE = "</think>"


def language_id_text(response: str, cfg: MultilingConfig) -> str:
    """The slice of the response whose language is l_i: the first max_chars characters
    (of the part after the last </think> when ``after_think``)."""
    if cfg.language_id.after_think and THINK_CLOSE in response:
        response = response.rsplit(THINK_CLOSE, 1)[1]
    return response[: cfg.language_id.max_chars]


def adamame_reward(response: str, gold: Any, query_lang: Any, cfg: MultilingConfig,
                   task: TaskChecker | None = None) -> dict[str, Any]:
    """Score one rollout; never raises on a strange response (every failure is a counted reason).

    ``task`` gives r_i (default: :func:`~verl_multiling.rewards.task.math_checker`, ``multiling.math``)."""
    response = response if isinstance(response, str) else ""
    lang_q = normalise_lang(query_lang)
    if cfg.math.require_think_close and THINK_CLOSE not in response:
        outcome = TaskOutcome(0.0, "no_think_close")
    else:
        outcome = (task or math_checker(cfg.math.timeout_s))(response, gold, lang_q)
    detector = get_detector(cfg.language_id.backend, cfg.detector_languages, cfg.language_id.min_letters)
    detected = detector.detect(language_id_text(response, cfg)) or ""
    match = language_match(detected or None, lang_q or None)
    score = outcome.acc
    return merge_extra({
        "score": score,
        "acc": score,
        "lang_match": 1.0 if match else 0.0,
        "response_lang": detected,
        "query_lang": lang_q,
        "answer_reason": outcome.reason,
        "no_answer": 1.0 if outcome.no_answer else 0.0,
        "verify_failed": 1.0 if outcome.verify_failed else 0.0,
        "query_lang_missing": 0.0 if lang_q else 1.0,
    }, outcome)
