"""verl plugin entry point (group ``verl.plugins``): registers everything verl_multiling provides.

This path is public (docs/reuse.md: pip adds the ``verl.plugins`` entry point ``verl_multiling.register``),
so it stays at the package root as part of the plugin's face; what it registers, and how, is
:mod:`verl_multiling.bridge.registration`: importing :mod:`verl_multiling.reward_managers` does all of it
(:data:`ESTIMATORS`, :data:`REWARD_MANAGERS`, :data:`TRAINERS` are re-exported from there).

verl imports this module in every process that imports verl (driver, TaskRunner, reward workers,
model workers) and swallows its exceptions at DEBUG level. So a failure here is printed to stderr
and kept in :data:`REGISTRATION_ERROR` before it is re-raised (preflight repeats the registration and reports
the error), and the recipes also import the plugin through ``reward.reward_manager.source=importlib``, which
fails loudly.
"""

from __future__ import annotations

import sys
import traceback

__all__ = ["ESTIMATORS", "REGISTRATION_ERROR", "REWARD_MANAGERS", "TRAINERS"]

REGISTRATION_ERROR: str | None = None

try:
    from verl_multiling.bridge.registration import ESTIMATORS, REWARD_MANAGERS, TRAINERS

    import verl_multiling.reward_managers  # noqa: F401  (CPU backend, estimators, trainers, managers)
except Exception:
    REGISTRATION_ERROR = traceback.format_exc()
    print(
        "verl_multiling: plugin registration FAILED; the +recipe= trainers, estimators and reward managers "
        "are unavailable in this process. Reinstall this package next to verl==0.9.1 (`pip install .` in "
        f"its checkout) and run `verl-multiling preflight`.\n{REGISTRATION_ERROR}",
        file=sys.stderr,
    )
    raise
