"""verl's own math-verify scoring as a ``reward.custom_reward_function`` (the smoke benchmark's baseline).

verl 0.9.1's ``verl.utils.reward_score.math_verify.compute_score(model_output, ground_truth)`` does not take
the keywords verl's reward managers pass, so this adapter is what ``reward.custom_reward_function.path=
pkg://verl_multiling.smoke.baseline`` with ``name=verl_math_verify_score`` selects: verl's naive reward
manager then scores exactly as verl would, for comparison with a recipe's own reward manager.
"""

from __future__ import annotations


def verl_math_verify_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> float:
    from verl.utils.reward_score import math_verify

    return math_verify.compute_score(solution_str, ground_truth)
