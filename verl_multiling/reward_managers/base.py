"""The shared base of verl_multiling's reward-loop managers (the adapter over :mod:`verl_multiling.rewards`).

verl 0.9.1 builds one manager per ``RewardLoopWorker`` actor and calls ``run_single`` on a
one-sample ``DataProto`` as each rollout finishes. The managers here decode the response, read the
gold answer (``reward_model.ground_truth``) and the query language (the ``multiling.lang_key``
column, or the same key inside ``extra_info``), and score the sample in one executor hop.

A recipe's manager subclasses :class:`MultilingRewardManager`, sets ``extra_keys`` and implements
``score``; see :mod:`verl_multiling.reward_managers.adamame`.

With ``reward.custom_reward_function.path/name`` set, :attr:`MultilingRewardManager.task` is the user's
function under the fault policy (:mod:`verl_multiling.reward_managers.task`) and :meth:`task_checker`
gives the task part of each row; otherwise it is None and the recipe's math checker gives it.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, ClassVar

from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase

from verl_multiling.config.multiling import MultilingConfig
from verl_multiling.config.faults import ScorerFailure
from verl_multiling.reward_managers.task import CustomTask, configured_task
from verl_multiling.rewards.task import TaskChecker

logger = logging.getLogger(__name__)


class MultilingRewardManager(RewardManagerBase):
    """Shared plumbing: decode, read gold and language, score, and never raise on one rollout.

    Subclasses set ``extra_keys`` (the reward_extra_info schema, identical for every sample) and
    implement :meth:`score`. An exception inside :meth:`score` gives score 0 with
    ``reward_error=1`` and ``answer_reason="reward_error"`` (counted, logged once per kind; the bridge
    trainers stop the run when a step's share exceeds ``multiling.faults.max_error_rate``), except
    :class:`~verl_multiling.config.faults.ScorerFailure` (``on_failure=stop``), which stops the run.
    """

    extra_keys: ClassVar[dict[str, Any]] = {}  # key -> value used when scoring fails

    def __init__(self, config, tokenizer, compute_score=None, reward_router_address=None,
                 reward_model_tokenizer=None, **kwargs):
        super().__init__(config, tokenizer, compute_score)
        self.settings = MultilingConfig.from_config(config)
        self.failures: Counter[str] = Counter()
        router = ({"reward_router_address": reward_router_address, "reward_model_tokenizer": reward_model_tokenizer}
                  if reward_router_address is not None else {})  # as verl's naive manager passes them
        # the user's task function (reward.custom_reward_function), or None: the recipe's math checker
        self.task: CustomTask | None = configured_task(config, compute_score, (*self.extra_keys, "reward_error"),
                                                       self.settings.faults, router)

    def task_checker(self, row: dict[str, Any]) -> TaskChecker | None:
        """The task part for this dataset row: the user's function bound to the row, or None (math)."""
        return None if self.task is None else self.task.checker(row)

    def task_keys(self) -> dict[str, Any]:
        """The keys the user's function adds to every sample, with their fill values ({} without one)."""
        return {} if self.task is None else self.task.schema.defaults()

    def complete(self, parts: dict[str, Any]) -> dict[str, Any]:
        """``parts`` with every task key (a rollout whose function was not called gets the fill values)."""
        for key, default in self.task_keys().items():
            parts.setdefault(key, default)
        return parts

    def score(self, response: str, gold: Any, query_lang: Any, row: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def run_single(self, data) -> dict:
        item = data[-1:][0]  # multi-output trajectories: score the last output, as verl's managers do
        return await self.loop.run_in_executor(None, self._score_item, item)

    def _score_item(self, item) -> dict:
        row = item.non_tensor_batch
        try:
            response = self._decode(item)
            gold = self._ground_truth(row)
            query_lang = self._query_lang(row)
            parts = self.score(response, gold, query_lang, row)
            parts["reward_error"] = 0.0
        except ScorerFailure:
            raise  # multiling.faults.on_failure=stop: the run stops with the scorer's message
        except Exception as exc:  # one strange rollout must not stop a run: count it, score 0
            parts = self.failed_parts(exc)
        score = float(parts["score"])
        return {"reward_score": score, "reward_extra_info": self.complete(parts)}

    def failed_parts(self, exc: Exception, **overrides: Any) -> dict[str, Any]:
        """The parts of a rollout whose scoring raised: score 0, ``reward_error=1``, the failure counted per
        exception type and its traceback logged the first time (``overrides`` set recipe-specific reasons).
        Call it from an ``except Exception`` block."""
        kind = type(exc).__name__
        if not self.failures[kind]:
            logger.exception("verl_multiling %s: scoring failed (%s); the sample scores 0 with reward_error=1",
                             type(self).__name__, kind)
        self.failures[kind] += 1
        return dict(self.extra_keys, **self.task_keys(), score=0.0, answer_reason="reward_error", reward_error=1.0,
                    **overrides)

    def _decode(self, item) -> str:
        response_ids = item.batch["responses"]
        valid = int(item.batch["attention_mask"][-response_ids.shape[-1]:].sum())
        return self.tokenizer.decode(response_ids[:valid], skip_special_tokens=True)

    def _ground_truth(self, row: dict[str, Any]) -> Any:
        reward_model = row.get("reward_model")
        if isinstance(reward_model, dict) and self.settings.ground_truth_key in reward_model:
            return reward_model[self.settings.ground_truth_key]
        raise KeyError(
            f"the dataset row has no reward_model.{self.settings.ground_truth_key}; prepare data with "
            "scripts/prepare_data.py or set multiling.ground_truth_key"
        )

    def _query_lang(self, row: dict[str, Any]) -> Any:
        key = self.settings.lang_key
        if row.get(key) is not None:
            return row[key]
        extra = row.get("extra_info")
        return extra.get(key) if isinstance(extra, dict) else None
