"""Register the plugin's advantage estimators and V1 trainers with verl (idempotent).

Called by the entry point (:mod:`verl_multiling.register`) and by :mod:`verl_multiling.reward_managers`
on import, so that loading the reward managers through ``reward.reward_manager.source=importlib`` also
registers, and fails loudly, without the two modules importing each other. The reward managers register
themselves with verl's reward-loop registry when their modules are imported.
"""

from __future__ import annotations

ESTIMATORS = ("adamame_align", "adamame", "tapo")
REWARD_MANAGERS = ("adamame", "pb_rlsvr", "reflection", "tapo")
TRAINERS = ("multiling_sync", "multiling_colocate_async", "multiling_separate_async")


def register_estimators() -> None:
    """``adamame_align``, ``adamame`` and ``tapo`` in verl's ``ADV_ESTIMATOR_REGISTRY``."""
    from verl.trainer.ppo.core_algos import register_adv_est

    from verl_multiling.estimators.adamame import compute_adamame_advantage, compute_adamame_align_advantage
    from verl_multiling.estimators.tapo import compute_tapo_advantage

    register_adv_est("adamame_align")(compute_adamame_align_advantage)
    register_adv_est("adamame")(compute_adamame_advantage)
    register_adv_est("tapo")(compute_tapo_advantage)


def register_trainers() -> None:
    """The bridge trainers (:data:`TRAINERS`), registered by :mod:`verl_multiling.bridge.trainers` at import."""
    import verl_multiling.bridge.trainers  # noqa: F401
