"""TAPO's reward-loop manager: r_acc as the reward; r_trans, r_fmt and the U/R token boundary in
reward_extra_info, for the ``tapo`` estimator.

The split of a response into U and R is computed on the token ids the policy generated
(:func:`~verl_multiling.scorers.token_split.split_response_tokens`), so this manager overrides
``_score_item`` (the base decodes text only). The translation scorer is the node's shared, batched
scorer (:func:`~verl_multiling.scorers.scoring_service.get_translation_scorer`), acquired on first
use so that building a manager never loads a model. r_acc is math-verify's on R, or the user's
``reward.custom_reward_function`` score of R when one is set (:mod:`verl_multiling.reward_managers.task`).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, ClassVar

from verl.experimental.reward_loop.reward_manager import register

from verl_multiling.config.faults import ScorerFailure
from verl_multiling.reward_managers.base import MultilingRewardManager
from verl_multiling.rewards.tapo import TapoConfig, row_text, tapo_reward
from verl_multiling.scorers.token_split import split_response_tokens
from verl_multiling.scorers.translation import TranslationScorer


@register("tapo")
class TapoRewardManager(MultilingRewardManager):
    """TAPO: score = r_acc; r_trans, r_fmt, u_tokens (|U|) and the reasons in reward_extra_info."""

    extra_keys: ClassVar[dict[str, Any]] = {
        "score": 0.0, "acc": 0.0, "r_acc": 0.0, "r_trans": 0.0, "r_fmt": 0.0, "u_tokens": 0, "u_chars": 0,
        "u_step": 0.0, "format_reason": "", "trans_reason": "", "split_reason": "", "answer_reason": "",
        "verify_failed": 0.0, "no_answer": 0.0, "query_lang": "", "scorer_retries": 0, "scorer_fallback": 0.0, "scorer_error": 0.0,
    }

    def __init__(self, config, tokenizer, compute_score=None, reward_router_address=None,
                 reward_model_tokenizer=None, **kwargs):
        super().__init__(config, tokenizer, compute_score, reward_router_address, reward_model_tokenizer, **kwargs)
        self.tapo = TapoConfig.from_config(config)
        self.reasons: Counter[str] = Counter()  # format_reason / trans_reason / split_reason counts
        self._scorer = None
        self._scorer_lock = threading.Lock()

    @property
    def scorer(self) -> TranslationScorer:
        """The translation scorer under the fault policy (``multiling.faults``), built on first use without
        loading a model: the model (or the node's actor) is acquired inside the first guarded call, so a
        model that cannot load takes the policy's path (retry, chrF fallback, zero or stop) like any outage."""
        with self._scorer_lock:
            if self._scorer is None:
                from verl_multiling.scorers.scoring_service import guarded_translation_scorer

                self._scorer = guarded_translation_scorer(self.tapo.translation, self.settings.faults)
            return self._scorer

    def score_text(self, ids: list[int], response: str, row: dict[str, Any]) -> dict[str, Any]:
        """All parts of one rollout from its generated ids and decoded text."""
        parts, parsed = tapo_reward(response, self._ground_truth(row), self._query_lang(row),
                                    row_text(row, self.tapo.reference_key), row_text(row, self.tapo.source_key),
                                    self.tapo, self.scorer if _needs_scorer(response, self.tapo) else None,
                                    timeout_s=self.settings.math.timeout_s, task=self.task_checker(row))
        if parsed.has_u:
            split = split_response_tokens(ids, self.tokenizer, parsed.u_char_end, response)
            parts["u_tokens"] = split.n_tokens
            parts["split_reason"] = split.reason
        return parts

    def _score_item(self, item) -> dict:
        row = item.non_tensor_batch
        try:
            ids, response = self._response(item)
            parts = self.score_text(ids, response, row)
            parts["reward_error"] = 0.0
        except ScorerFailure:
            raise  # multiling.faults.on_failure=stop: the run stops with the scorer's message
        except Exception as exc:  # one strange rollout must not stop a run: count it, score 0
            parts = self.failed_parts(exc, format_reason="reward_error")
        for key in ("format_reason", "trans_reason", "split_reason"):
            self.reasons[f"{key}={parts[key]}"] += 1
        return {"reward_score": float(parts["score"]), "reward_extra_info": self.complete(parts)}

    def _response(self, item) -> tuple[list[int], str]:
        """The generated ids (valid length from the attention mask) and their text, decoded as the base does."""
        response_ids = item.batch["responses"]
        valid = int(item.batch["attention_mask"][-response_ids.shape[-1]:].sum())
        ids = response_ids[:valid].tolist()
        return ids, self.tokenizer.decode(ids, skip_special_tokens=True)


def _needs_scorer(response: str, cfg: TapoConfig) -> bool:
    """Only responses that contain the closing tag may have a U step: others never touch the scorer."""
    return isinstance(response, str) and cfg.tags.close in response
