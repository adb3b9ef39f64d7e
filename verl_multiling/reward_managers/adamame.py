"""AdaMame's reward-loop manager: r_i as the reward, l_i and m_i in reward_extra_info.

r_i is math-verify's verdict, or the score of the user's ``reward.custom_reward_function`` when one is set
(:mod:`verl_multiling.reward_managers.task`); l_i and m_i are ours either way.
"""

from __future__ import annotations

from typing import Any, ClassVar

from verl.experimental.reward_loop.reward_manager import register

from verl_multiling.reward_managers.base import MultilingRewardManager
from verl_multiling.rewards.adamame import adamame_reward


@register("adamame")
class AdaMameRewardManager(MultilingRewardManager):
    """AdaMame: r_i = math-verify accuracy (or the user's reward.custom_reward_function) as the reward; l_i and
    m_i in reward_extra_info."""

    extra_keys: ClassVar[dict[str, Any]] = {
        "score": 0.0, "acc": 0.0, "lang_match": 0.0, "response_lang": "", "query_lang": "",
        "answer_reason": "", "no_answer": 0.0, "verify_failed": 0.0, "query_lang_missing": 0.0,
    }

    def score(self, response: str, gold: Any, query_lang: Any, row: dict[str, Any]) -> dict[str, Any]:
        return adamame_reward(response, gold, query_lang, self.settings, task=self.task_checker(row))
