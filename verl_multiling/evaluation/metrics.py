r"""Per-language and overall metrics of multilingual reasoning generations (docs/methods.md, "Evaluation").

Input: generation records (dicts) with ``run``, ``id``, ``lang``, ``response``,
``ground_truth``; optional ``question_en`` (TAPO reference), ``num_tokens`` (tokens the model
generated; counted with the tokenizer when absent), ``sample_index``. A question is the pair
``(lang, id)``; its ``n`` samples are the records sharing it within a run.

Per group of records (one run and one language, or one run and all languages = "overall",
pooled over every question and sample of the run):

* ``pass@k`` = mean over questions of ``1 - C(n-c, k) / C(n, k)`` (:mod:`.passk`), ``c`` = samples
  whose last ``\boxed{}`` answer is correct
  (:func:`verl_multiling.scorers.math_answer.check_answer`); ``None`` when some question has
  fewer than ``k`` samples. ``pass@1`` is the plain accuracy ``sum c / sum n`` when every
  question has the same ``n``.
* ``lpr``, ``wpr``, ``lcpr``, ``code_switch_rate``: language fidelity from
  :func:`verl_multiling.scorers.fidelity.fidelity_metrics` over all samples of the group:
  LPR = share of traces whose every non-empty line (math stripped) is the query language or
  undetectable; WPR = among those, share with no foreign-script word; LCPR = 2·LPR·WPR/(LPR+WPR);
  code-switch rate = mean over traces of (#lines in another language / #detectable lines).
  The text scored is the whole response by default; ``eval --fidelity-scope think`` scores only the
  reasoning before ``</think>`` as the AdaMame authors do (:mod:`.scope`).
* ``no_answer_rate`` = share of samples with no final ``\boxed{}`` answer.
* ``mean_tokens`` = mean response length in tokens; ``token_efficiency`` =
  ``mean_i min(tokens_i, budget) / budget`` (the share of the generation budget used: lower is
  more efficient at equal accuracy).
* ``translation_rate`` = share of samples with a well-formed TAPO understanding step, as TAPO's
  reward parses it (:func:`verl_multiling.rewards.tapo.parse_response`: one non-empty
  ``<translation>...</translation>`` span at the start); ``chrf`` = mean over the samples that
  contain the opening tag and have a ``question_en`` of 100 x TAPO's chrF score
  (:class:`verl_multiling.scorers.translation.ChrFScorer`: sacrebleu chrF, character n-grams up
  to 6, beta 2) of the span against ``question_en``, 0 for a malformed span (as TAPO's r_trans);
  both ``None`` when no sample of the group has the tag (not a TAPO run).
"""

from __future__ import annotations

import functools
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from verl_multiling.evaluation.passk import pass_at_k_mean
from verl_multiling.evaluation.scope import fidelity_text
from verl_multiling.rewards.tapo import DEFAULT_TAGS, Tags, parse_response
from verl_multiling.scorers.fidelity import FidelityMetrics, fidelity_metrics, harmonic_mean
from verl_multiling.scorers.math_answer import NO_ANSWER, check_answer
from verl_multiling.scorers.translation import ChrFScorer

__all__ = [
    "METRIC_KEYS",
    "REQUIRED_FIELDS",
    "ScoredSample",
    "compute_metrics",
    "evaluate_runs",
    "extract_translation",
    "pool_fidelity",
    "score_samples",
    "token_efficiency",
    "translation_chrf",
]

REQUIRED_FIELDS: tuple[str, ...] = ("id", "lang", "response", "ground_truth")


@dataclass(frozen=True)
class ScoredSample:
    """One generation with its per-sample verdicts."""

    run: str
    qid: str
    lang: str
    response: str
    correct: bool
    no_answer: bool
    tokens: int
    tagged: bool
    translation: str | None
    reference: str | None


def extract_translation(response: str, tags: Tags = DEFAULT_TAGS) -> str | None:
    """The translation of a well-formed TAPO understanding step (TAPO's own parser), else ``None``.

    >>> extract_translation("<translation> Two apples. </translation> so \\boxed{2}")
    'Two apples.'
    >>> [extract_translation(t) for t in ("<translation>never closed", "<translation> </translation> 2")]
    [None, None]
    """
    parsed = parse_response(response if isinstance(response, str) else "", tags)
    return parsed.translation if parsed.has_u else None


@functools.lru_cache(maxsize=1)
def _chrf_scorer() -> ChrFScorer:
    return ChrFScorer()


def translation_chrf(hypothesis: str, reference: str) -> float:
    """chrF (0-100) of ``hypothesis`` against one ``reference`` (TAPO's ChrFScorer x 100).

    >>> translation_chrf("Janet has 16 ducks.", "Janet has 16 ducks.")
    100.0
    >>> translation_chrf("xyz", "abc")
    0.0
    """
    return 100.0 * float(_chrf_scorer().score([hypothesis], [reference])[0])


def token_efficiency(tokens: Sequence[int], budget: int) -> float:
    """``mean_i min(tokens_i, budget) / budget`` (0.0 for no sample).

    >>> token_efficiency([1024, 2048, 8192], 4096)   # (0.25 + 0.5 + 1) / 3
    0.5833333333333334
    """
    if budget <= 0:
        raise ValueError(f"--budget must be positive, got {budget}")
    if not tokens:
        return 0.0
    return sum(min(int(t), budget) for t in tokens) / (budget * len(tokens))


def _check_fields(record: Mapping[str, Any], position: int) -> None:
    missing = [key for key in REQUIRED_FIELDS if record.get(key) is None]
    if missing:
        raise ValueError(
            f"generation record {position} has no {missing}; every record needs {list(REQUIRED_FIELDS)} "
            "(write them with `verl-multiling generate` or add the fields)"
        )


def score_samples(
    records: Iterable[Mapping[str, Any]],
    count_tokens: Callable[[str], int] | None = None,
    timeout_s: float = 5.0,
    tags: Tags = DEFAULT_TAGS,
    progress: Callable[[int], Any] | None = None,
) -> list[ScoredSample]:
    """Check every record's answer, count its tokens and extract its translation span.

    ``count_tokens`` is used only for records without ``num_tokens``; ``progress(1)`` is called after
    each record (e.g. a progress bar's ``update``).

    Raises:
        ValueError: a record lacks a required field, or has no ``num_tokens`` and no
            ``count_tokens`` was given.
    """
    scored = []
    for position, record in enumerate(records):
        _check_fields(record, position)
        response = str(record["response"])
        lang = str(record["lang"]).strip().lower()
        verdict = check_answer(response, record["ground_truth"], lang=lang, timeout_s=timeout_s)
        if record.get("num_tokens") is not None:
            tokens = int(record["num_tokens"])
        elif count_tokens is not None:
            tokens = int(count_tokens(response))
        else:
            raise ValueError(f"generation record {position} has no num_tokens; pass a tokenizer (--tokenizer)")
        reference = record.get("question_en")
        scored.append(ScoredSample(
            run=str(record.get("run") or "run"), qid=str(record["id"]), lang=lang, response=response,
            correct=bool(verdict.correct), no_answer=verdict.reason == NO_ANSWER, tokens=tokens,
            tagged=tags.open in response, translation=extract_translation(response, tags),
            reference=reference if isinstance(reference, str) and reference.strip() else None,
        ))
        if progress is not None:
            progress(1)
    return scored


#: Metric names in report order.
METRIC_KEYS: tuple[str, ...] = (
    "n_questions", "n_samples", "lpr", "wpr", "lcpr", "code_switch_rate", "no_answer_rate",
    "mean_tokens", "token_efficiency", "translation_rate", "chrf",
)


def pool_fidelity(parts: Sequence[FidelityMetrics]) -> FidelityMetrics:
    """The fidelity metrics of the union of disjoint groups, from each group's metrics.

    With ``L_j = round(LPR_j n_j)`` line-consistent traces and ``W_j = round(WPR_j L_j)`` of them
    also word-consistent: ``LPR = sum L_j / sum n_j``, ``WPR = sum W_j / sum L_j``,
    ``LCPR = 2 LPR WPR / (LPR + WPR)``, code-switch = ``sum cs_j n_j / sum n_j``: the same
    numbers as :func:`fidelity_metrics` on the pooled traces, without detecting them again.

    >>> a = FidelityMetrics(lpr=0.75, wpr=1.0, lcpr=6 / 7, code_switch_rate=0.25, n=8)
    >>> b = FidelityMetrics(lpr=0.5, wpr=1.0, lcpr=2 / 3, code_switch_rate=0.5, n=8)
    >>> pooled = pool_fidelity([a, b]); (pooled.lpr, pooled.wpr, pooled.code_switch_rate, pooled.n)
    (0.625, 1.0, 0.375, 16)
    """
    n = sum(part.n for part in parts)
    if n == 0:
        return FidelityMetrics(lpr=0.0, wpr=0.0, lcpr=0.0, code_switch_rate=0.0, n=0)
    line_ok = [round(part.lpr * part.n) for part in parts]
    both_ok = sum(round(part.wpr * lines) for part, lines in zip(parts, line_ok))
    lpr = sum(line_ok) / n
    wpr = both_ok / sum(line_ok) if sum(line_ok) else 0.0
    switch = sum(part.code_switch_rate * part.n for part in parts) / n
    return FidelityMetrics(lpr=lpr, wpr=wpr, lcpr=harmonic_mean(lpr, wpr), code_switch_rate=switch, n=n)


def compute_metrics(
    samples: Sequence[ScoredSample], ks: Sequence[int], budget: int, detector: Any,
    fidelity: FidelityMetrics | None = None,
) -> dict[str, Any]:
    """Metrics of one group of samples (see the module docstring); pass@k keys are ``pass@{k}``.

    ``fidelity``: precomputed fidelity metrics of these samples (else computed with ``detector``).
    """
    by_question: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for sample in samples:
        by_question[(sample.lang, sample.qid)].append(sample.correct)
    n = [len(v) for v in by_question.values()]
    c = [sum(v) for v in by_question.values()]
    out: dict[str, Any] = {"n_questions": len(by_question), "n_samples": len(samples)}
    for k in ks:
        out[f"pass@{k}"] = pass_at_k_mean(n, c, k) if n and min(n) >= k else None
    if fidelity is None:
        fidelity = fidelity_metrics([s.response for s in samples], [s.lang for s in samples], detector)
    out.update(lpr=fidelity.lpr, wpr=fidelity.wpr, lcpr=fidelity.lcpr,
               code_switch_rate=fidelity.code_switch_rate)
    total = len(samples) or 1
    out["no_answer_rate"] = sum(s.no_answer for s in samples) / total
    tokens = [s.tokens for s in samples]
    out["mean_tokens"] = sum(tokens) / total
    out["token_efficiency"] = token_efficiency(tokens, budget)
    tagged = [s for s in samples if s.tagged]
    if tagged:
        out["translation_rate"] = sum(s.translation is not None for s in samples) / total
        scores = [translation_chrf(s.translation, s.reference) if s.translation is not None else 0.0
                  for s in tagged if s.reference]
        out["chrf"] = sum(scores) / len(scores) if scores else None
    else:
        out["translation_rate"] = None
        out["chrf"] = None
    return out


def evaluate_runs(
    samples: Sequence[ScoredSample], ks: Sequence[int], budget: int, detector: Any,
    progress: Callable[[int], Any] | None = None, fidelity_scope: str = "all",
) -> dict[str, dict[str, Any]]:
    """``{run: {"overall": metrics, "languages": {lang: metrics}}}``, runs in first-seen order,
    languages sorted. The fidelity metrics read the part of each response that ``fidelity_scope`` names
    (:func:`verl_multiling.evaluation.scope.fidelity_text`: ``all``, ``think`` or ``answer``).
    ``progress(n)`` is called after each (run, language) group of n samples."""
    by_run: dict[str, list[ScoredSample]] = OrderedDict()
    for sample in samples:
        by_run.setdefault(sample.run, []).append(sample)
    result: dict[str, dict[str, Any]] = OrderedDict()
    for run, items in by_run.items():
        by_lang: dict[str, list[ScoredSample]] = defaultdict(list)
        for sample in items:
            by_lang[sample.lang].append(sample)
        languages, parts = {}, []
        for lang in sorted(by_lang):
            group = by_lang[lang]
            texts = [fidelity_text(s.response, fidelity_scope) for s in group]
            parts.append(fidelity_metrics(texts, [lang] * len(group), detector))
            languages[lang] = compute_metrics(group, ks, budget, detector, fidelity=parts[-1])
            if progress is not None:
                progress(len(group))
        result[run] = {
            "overall": compute_metrics(items, ks, budget, detector, fidelity=pool_fidelity(parts)),
            "languages": languages,
        }
    return result
