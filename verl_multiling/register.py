"""verl plugin entry point (group ``verl.plugins``): registers everything verl_multiling provides.

verl imports this module in every process that imports verl (driver, TaskRunner, reward workers,
model workers) and swallows its exceptions at DEBUG level. So a failure here is printed to stderr
and kept in :data:`REGISTRATION_ERROR` (preflight reports it) before it is re-raised, and the recipes
also import the plugin through ``reward.reward_manager.source=importlib``, which fails loudly.

Registered names:
- advantage estimators: ``adamame_align``, ``adamame``, ``tapo``
- reward managers (reward-loop registry): ``adamame``, ``pb_rlsvr``, ``reflection``, ``tapo``
- V1 trainers: ``multiling_sync``, ``multiling_colocate_async``, ``multiling_separate_async``
- under ``VERL_PLATFORM=cpu`` only: the ``cpu`` platform, FSDP engines for it and the ``hf_cpu`` rollout
  (:mod:`verl_multiling.cpu`)
"""

from __future__ import annotations

import os
import sys
import traceback

from verl_multiling.registration import ESTIMATORS, REWARD_MANAGERS, TRAINERS, register_estimators, register_trainers

__all__ = ["ESTIMATORS", "REGISTRATION_ERROR", "REWARD_MANAGERS", "TRAINERS"]

REGISTRATION_ERROR: str | None = None


def _register_cpu_backend() -> None:
    """Only under ``VERL_PLATFORM=cpu`` (``verl-multiling smoke``): GPU nodes never import the CPU backend."""
    if os.environ.get("VERL_PLATFORM", "").strip().lower() == "cpu":
        import verl_multiling.cpu  # noqa: F401  (the cpu platform, if VERL_USE_EXTERNAL_MODULES did not load it)
        import verl_multiling.cpu.backends  # noqa: F401  (FSDP engines for cpu, the hf_cpu rollout)


def _register_all() -> None:
    _register_cpu_backend()
    register_estimators()
    register_trainers()
    import verl_multiling.reward_managers  # noqa: F401  (reward-loop register at import)


try:
    _register_all()
except Exception:
    REGISTRATION_ERROR = traceback.format_exc()
    print(
        "verl_multiling: plugin registration FAILED; the +recipe= trainers, estimators and reward managers "
        "are unavailable in this process. Reinstall this package next to verl==0.9.1 (`pip install .` in "
        f"its checkout) and run `verl-multiling preflight`.\n{REGISTRATION_ERROR}",
        file=sys.stderr,
    )
    raise
