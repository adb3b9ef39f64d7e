"""Quiet by default: hide verl's import-time messages that say nothing about the user's config.

Importing verl 0.9.1 on a machine without an accelerator, or without optional training engines,
prints about a dozen lines that no setting of a recipe can change: the platform manager's "No
supported accelerator detected" / "Platform 'nvidia' ... is registered but not available" log
lines, one ``UserWarning`` per optional engine that is not installed (torchtitan, veomni,
automodel, mindspeed, megatron), and ``need_critic``'s "Disabled critic as algorithm.adv_estimator
!= gae" (every GRPO recipe disables the critic on purpose). Our CLIs call :func:`configure` before
they import verl; ``--verbose`` leaves everything visible. Only these exact messages are filtered:
every other warning, verl_multiling's own included, is printed as before. Where one of them does
concern the config (the Megatron recipe on a machine without megatron-core), preflight says so itself.
"""

from __future__ import annotations

import logging
import re
import warnings

#: ``UserWarning`` messages (regular expressions matched at the start) hidden by default.
NOISE_WARNINGS = (
    r"(torchtitan|veomni|automodel|mindspeed|megatron) engine is not available",
    r"Disabled critic as algorithm\.adv_estimator != gae",
)
#: logger name -> log messages (regular expressions searched) hidden by default.
NOISE_LOGS = {
    "verl.plugin.platform.platform_manager": (
        r"^No supported accelerator detected",
        r"^Platform '.*' \(.*\) is registered but not available",
    ),
}


class _DropMessages(logging.Filter):
    def __init__(self, patterns: tuple[str, ...]):
        super().__init__()
        self.patterns = tuple(re.compile(p) for p in patterns)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(p.search(message) for p in self.patterns)


def is_noise(message: str, logger: str | None = None) -> bool:
    """Whether ``message`` (a warning, or a record of ``logger``) is one that :func:`hide_verl_noise` hides.

    >>> is_noise("megatron engine is not available: ModuleNotFoundError(\\"No module named 'megatron'\\")")
    True
    >>> is_noise("No supported accelerator detected. Registered: ('nvidia',).", "verl.plugin.platform.platform_manager")
    True
    >>> is_noise("multiling.tapo: unknown key 'lamda'")
    False
    """
    if logger is not None:
        return any(re.search(p, message) for p in NOISE_LOGS.get(logger, ()))
    return any(re.match(p, message) for p in NOISE_WARNINGS)


def hide_verl_noise() -> None:
    """Install the filters (idempotent; they work whether verl is imported before or after)."""
    for pattern in NOISE_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern, category=UserWarning)
    for name, patterns in NOISE_LOGS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropMessages) for f in logger.filters):
            logger.addFilter(_DropMessages(patterns))


def configure(verbose: bool = False) -> None:
    """Hide verl's noise unless ``verbose``."""
    if not verbose:
        hide_verl_noise()
