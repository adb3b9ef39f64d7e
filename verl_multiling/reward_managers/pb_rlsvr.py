"""PB-RLSVR's reward-loop manager: semantic agreement with the pivot reference y_en, batched across rollouts.

verl calls ``run_single`` for each finished rollout, many of them concurrently on the manager's event
loop. Each call decodes the response and runs the answer checks in verl's executor (math-verify), then
submits its (response, y_en) similarity request to the manager's :class:`MicroBatcher`, which scores the
requests of concurrent rollouts in one encoder call on its own thread. The scorer (model) is built once
per process (``build_scorer`` is cached), on the first batch; or, with ``semantic.service.mode: ray`` (or
``auto`` in a Ray worker), each batch goes to the node's shared actor, which batches it with the other
reward workers' (:mod:`verl_multiling.scorers.semantic_service`). The fault policy is the same either way.

Where the data comes from (one dataset row per prompt, verl passes every column through):

* y_en: the column ``multiling.pb_rlsvr.pivot_key`` (default ``pivot_response``, written by
  ``scripts/generate_pivot_references.py``), or the same key inside ``extra_info``;
* gold answer (optional, reported as ``acc`` and used by ``gold: gate|sum``): ``reward_model.ground_truth``;
  ``acc`` is math-verify's, or the user's ``reward.custom_reward_function`` score when one is set;
* query language: the ``multiling.lang_key`` column (decides separators when reading numbers).

The reward and its parts are documented in :mod:`verl_multiling.rewards.pb_rlsvr`.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, ClassVar

from verl.experimental.reward_loop.reward_manager import register

from verl_multiling.config.faults import ScorerFailure, ScorerGuard, ScorerUnavailable
from verl_multiling.reward_managers.base import MultilingRewardManager
from verl_multiling.rewards.pb_rlsvr import EXTRA_KEYS, PbRlsvrConfig, Prepared, finish, prepare
from verl_multiling.scorers.semantic import MicroBatcher, SemanticScorer, build_scorer, chrf_similarity
from verl_multiling.scorers.semantic_service import node_scorer, use_actor


@register("pb_rlsvr")
class PbRlsvrRewardManager(MultilingRewardManager):
    """r = alpha r_answer + (1 - alpha) r_reasoning against y_en (optionally gated/summed with gold accuracy)."""

    extra_keys: ClassVar[dict[str, Any]] = dict(EXTRA_KEYS)

    def __init__(self, config, tokenizer, compute_score=None, reward_router_address=None,
                 reward_model_tokenizer=None, **kwargs):
        super().__init__(config, tokenizer, compute_score, reward_router_address, reward_model_tokenizer, **kwargs)
        self.pb = PbRlsvrConfig.from_config(config)
        self.guard = ScorerGuard(f"semantic scorer {self.pb.semantic.backend!r}", self.settings.faults,
                                 fallback=self._lexical_similarities)
        self.batcher = MicroBatcher(self._similarities, max_batch=self.pb.semantic.max_batch,
                                    max_wait_s=self.pb.semantic.max_wait_ms / 1000.0)

    @property
    def scorer(self) -> SemanticScorer:
        """This process's scorer, or the client of the node's shared actor (``semantic.service.mode``)."""
        if use_actor(self.pb.semantic):
            return node_scorer(self.pb.semantic)
        return build_scorer(self.pb.semantic)

    def _similarities(self, requests: list[tuple[str, str, str]]) -> list[tuple[float, int, bool, bool]]:
        """The MicroBatcher's batch function: (similarity, retries, fell back, failed) per request, under the fault
        policy (the scorer is built inside the guarded call, so a model that cannot load is a fault too).

        A NaN or ±inf similarity is a failed call for its pair, as an exception is: those pairs go through the
        policy again on their own (retries, then chrF ``fallback``, ``zero`` -> failed, or ``stop``), so the
        rollout is counted (``scorer_fallback`` / ``scorer_error``) and the batch's other pairs keep the model's
        values."""
        outcome = self.guard.call(self._scorer_similarities, requests)
        results = [(float(x), outcome.retries, outcome.fallback, False) for x in outcome.value]
        bad = [i for i, (value, *_rest) in enumerate(results) if not math.isfinite(value)]
        if not bad:
            return results
        if outcome.fallback:  # the fallback itself gave no number: nothing left to try
            for i in bad:
                results[i] = (0.0, outcome.retries, False, True)
            return results
        try:
            again = self.guard.call(self._finite_similarities, [requests[i] for i in bad])
            values, retries, fallback, failed = again.value, again.retries, again.fallback, False
        except ScorerUnavailable:  # on_failure=zero (ScorerFailure, on_failure=stop, propagates)
            values, retries, fallback, failed = [0.0] * len(bad), self.settings.faults.retries, False, True
        for i, value in zip(bad, values, strict=True):
            finite = math.isfinite(float(value))
            # the redo is one more attempt: scorer_retries counts it with the guard's own retries
            results[i] = (float(value) if finite else 0.0, outcome.retries + 1 + retries, fallback and finite,
                          failed or not finite)
        return results

    def _scorer_similarities(self, requests: list[tuple[str, str, str]]) -> list[float]:
        hyps, refs, langs = zip(*requests, strict=True)
        sims = self.scorer.similarity(list(hyps), list(refs), list(langs))
        if len(sims) != len(requests):
            raise RuntimeError(f"{self.scorer.name}: {len(sims)} similarities for {len(requests)} pairs")
        return [float(x) for x in sims]

    def _finite_similarities(self, requests: list[tuple[str, str, str]]) -> list[float]:
        """:meth:`_scorer_similarities` that raises on a NaN or ±inf value (so the guard retries / falls back)."""
        sims = self._scorer_similarities(requests)
        bad = sum(not math.isfinite(x) for x in sims)
        if bad:
            raise FloatingPointError(f"{self.scorer.name} returned {bad} non-finite similarities (NaN or inf) "
                                     f"for {len(sims)} pairs")
        return sims

    @staticmethod
    def _lexical_similarities(requests: list[tuple[str, str, str]]) -> list[float]:
        """The fallback: chrF/100 of the math-stripped texts (on its own scale: rescaled with floor 0, ceil 1;
        the coverage rule still applies)."""
        from verl_multiling.scorers.text_cleaning import strip_math

        return [chrf_similarity(strip_math(h), strip_math(r)) for h, r, _ in requests]

    async def run_single(self, data) -> dict:
        item = data[-1:][0]
        try:
            prepared: Prepared = await self.loop.run_in_executor(None, self._prepare_item, item)
            parts = await self._finish(prepared)
            parts["reward_error"] = 0.0
        except ScorerFailure:
            raise  # multiling.faults.on_failure=stop: the run stops with the scorer's message
        except Exception as exc:  # one strange rollout must not stop a run: count it, score 0
            parts = self.failed_parts(exc)
        return {"reward_score": float(parts["score"]), "reward_extra_info": self.complete(parts)}

    async def _finish(self, prepared: Prepared) -> dict[str, Any]:
        """Similarities of the rollout's pairs (batched with concurrent rollouts), then the score. A fallback
        similarity is chrF on its own scale; an unavailable scorer (``on_failure=zero``) gives r_reasoning (and
        an embedding answer part) 0 with ``scorer_error=1``, the answer check still counting."""
        if not prepared.pairs:
            return finish(prepared, [], self.pb, 0.0)
        try:
            results = await asyncio.gather(*(self.batcher.submit((hyp, ref, prepared.lang))
                                             for hyp, ref in prepared.pairs))
        except ScorerUnavailable:
            results = None
        if results is None or any(r[3] for r in results):  # no similarity (outage, or NaN under on_failure=zero)
            parts = finish(prepared, [0.0] * len(prepared.pairs), self.pb, 0.0, 1.0)
            parts.update(scorer_error=1.0, scorer_retries=self.settings.faults.retries if results is None
                         else max(r[1] for r in results))
            return parts
        if any(r[2] for r in results):
            # chrF's scale for every pair of the rollout: a pair the model did score (another batch, or a NaN
            # neighbour's redo) is scored by chrF too, never rescaled with chrF's floor
            sims = [r[0] if r[2] else self._lexical_similarities([(hyp, ref, prepared.lang)])[0]
                    for r, (hyp, ref) in zip(results, prepared.pairs, strict=True)]
            parts = finish(prepared, sims, self.pb, 0.0, 1.0)
            parts["scorer_fallback"] = 1.0
        else:
            parts = finish(prepared, [r[0] for r in results], self.pb, *self.pb.resolved_scale(self.scorer))
        parts["scorer_retries"] = max(r[1] for r in results)
        return parts

    def _prepare_item(self, item) -> Prepared:
        row = item.non_tensor_batch
        response = self._decode(item)
        return prepare(response, self._pivot(row), self._gold_or_none(row), self._query_lang(row), self.pb,
                       self.settings, task=self.task_checker(row))

    def _pivot(self, row: dict[str, Any]) -> Any:
        key = self.pb.pivot_key
        if row.get(key) is not None:
            return row[key]
        extra = row.get("extra_info")
        return extra.get(key) if isinstance(extra, dict) else None

    def _gold_or_none(self, row: dict[str, Any]) -> Any:
        """PB-RLSVR needs no gold answer unless ``gold`` is gate/sum (then :func:`prepare` raises)."""
        reward_model = row.get("reward_model")
        if isinstance(reward_model, dict):
            return reward_model.get(self.settings.ground_truth_key)
        return None
