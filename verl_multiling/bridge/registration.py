"""Register everything the plugin provides with verl's registries (idempotent).

- advantage estimators (:data:`ESTIMATORS`): ``adamame_align``, ``adamame``, ``tapo``
- reward managers (reward-loop registry, :data:`REWARD_MANAGERS`): ``adamame``, ``pb_rlsvr``,
  ``reflection``, ``tapo``; each registers itself when its module is imported
- V1 trainers (:data:`TRAINERS`): ``multiling_sync``, ``multiling_colocate_async``, ``multiling_separate_async``
- under ``VERL_PLATFORM=cpu`` only: the ``cpu`` platform, FSDP engines for it and the ``hf_cpu`` rollout
  (:mod:`verl_multiling.cpu`)

Importing :mod:`verl_multiling.reward_managers` runs :func:`register_cpu_backend` (first),
:func:`register_estimators` and :func:`register_trainers`, and the managers register themselves as the package
imports them: that import is the whole registration. The verl entry point (:mod:`verl_multiling.register`, a thin
face module) and preflight's plugin check do exactly that import, and loading the managers through
``reward.reward_manager.source=importlib`` does it too, so a broken install fails loudly on every route.
This module imports nothing at import time beyond ``os``, so the names above can be read without registering.
"""

from __future__ import annotations

import os

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


def register_cpu_backend() -> None:
    """Only under ``VERL_PLATFORM=cpu`` (``verl-multiling smoke``): GPU nodes never import the CPU backend."""
    if os.environ.get("VERL_PLATFORM", "").strip().lower() == "cpu":
        import verl_multiling.cpu  # noqa: F401  (the cpu platform, if VERL_USE_EXTERNAL_MODULES did not load it)
        import verl_multiling.cpu.backends  # noqa: F401  (FSDP engines for cpu, the hf_cpu rollout)

