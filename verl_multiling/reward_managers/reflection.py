"""The reflection recipe's reward-loop manager: r = r_acc + r_fmt + r_ref, each part in reward_extra_info.

Settings: ``multiling.reflection.*`` (:class:`~verl_multiling.rewards.reflection.ReflectionConfig`)
and ``multiling.math.*`` (timeout, require_think_close). The problem text for the copy rule comes
from the dataset row (``raw_prompt`` / ``prompt`` chat messages or ``extra_info.question``). r_acc is
math-verify's, or the user's ``reward.custom_reward_function`` score when one is set
(:mod:`verl_multiling.reward_managers.task`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from verl.experimental.reward_loop.reward_manager import register

from verl_multiling.reward_managers.base import MultilingRewardManager
from verl_multiling.rewards.reflection import ReflectionConfig, question_from_row, reflection_reward


@register("reflection")
class ReflectionRewardManager(MultilingRewardManager):
    """GRPO with reflection (arXiv 2603.14041): accuracy + format + capped, gated reflection markers."""

    extra_keys: ClassVar[dict[str, Any]] = {
        "score": 0.0, "acc": 0.0, "format": 0.0, "reflection": 0.0, "reflection_markers": 0, "reflection_repeats": 0,
        "reflection_ratio": 0.0, "answer_reason": "", "format_reason": "", "reflection_reason": "",
        "think_chars": 0, "query_lang": "", "query_lang_missing": 0.0, "question_missing": 0.0,
        "no_answer": 0.0, "verify_failed": 0.0,
    }

    def __init__(self, config, tokenizer, compute_score=None, reward_router_address=None,
                 reward_model_tokenizer=None, **kwargs):
        super().__init__(config, tokenizer, compute_score, reward_router_address, reward_model_tokenizer, **kwargs)
        self.reflection = ReflectionConfig.from_config(config)

    def score(self, response: str, gold: Any, query_lang: Any, row: dict[str, Any]) -> dict[str, Any]:
        return reflection_reward(
            response, gold, query_lang, self.reflection, question=question_from_row(row),
            timeout_s=self.settings.math.timeout_s, require_think_close=self.settings.math.require_think_close,
            task=self.task_checker(row),
        )
