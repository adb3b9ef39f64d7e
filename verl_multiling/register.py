"""verl plugin entry point (group ``verl.plugins``): registers everything verl_multiling provides.

verl imports this module in every process that imports verl (driver, TaskRunner, reward workers,
model workers) and swallows its exceptions at DEBUG level. So a failure here is printed to stderr
and kept in :data:`REGISTRATION_ERROR` (preflight reports it) before it is re-raised, and the recipes
also import the plugin through ``reward.reward_manager.source=importlib``, which fails loudly.

Registered names:
- advantage estimators: ``adamame_align``, ``adamame``, ``tapo``
- reward managers (reward-loop registry): ``adamame``, ``pb_rlsvr``, ``reflection``, ``tapo``
- V1 trainers: ``multiling_sync``, ``multiling_colocate_async``, ``multiling_separate_async``
"""

from __future__ import annotations

import sys
import traceback

ESTIMATORS = ("adamame_align", "adamame", "tapo")
REWARD_MANAGERS = ("adamame", "pb_rlsvr", "reflection", "tapo")
TRAINERS = ("multiling_sync", "multiling_colocate_async", "multiling_separate_async")

REGISTRATION_ERROR: str | None = None


def _register_estimators() -> None:
    from verl.trainer.ppo.core_algos import register_adv_est

    from verl_multiling.estimators.adamame import compute_adamame_advantage, compute_adamame_align_advantage

    register_adv_est("adamame_align")(compute_adamame_align_advantage)
    register_adv_est("adamame")(compute_adamame_advantage)

    from verl_multiling.estimators.tapo import compute_tapo_advantage

    register_adv_est("tapo")(compute_tapo_advantage)


def _register_all() -> None:
    _register_estimators()
    import verl_multiling.bridge.trainers  # noqa: F401  (register_trainer at import)
    import verl_multiling.reward_managers  # noqa: F401  (reward-loop register at import)


try:
    _register_all()
except Exception:
    REGISTRATION_ERROR = traceback.format_exc()
    print(
        "verl_multiling: plugin registration FAILED; the +recipe= trainers, estimators and reward managers "
        "are unavailable in this process. Reinstall with `pip install verl-multiling` next to "
        f"verl==0.9.1 and run `verl-multiling preflight`.\n{REGISTRATION_ERROR}",
        file=sys.stderr,
    )
    raise
