"""Config checks at the start of ``python -m verl.trainer.main_ppo``, before Ray starts or any model loads.

verl validates its own config in the driver, but learns of an unknown estimator, a reward-manager knob
of the wrong type or a missing data column only after the models are loaded and the first rollouts
are done (or never: a wrong knob read with a default). Every recipe therefore declares a Hydra
callback::

    hydra:
      callbacks:
        verl_multiling_startup_check:
          _target_: verl_multiling.preflight.startup.StartupCheck

Hydra calls :meth:`StartupCheck.on_job_start` in the driver after composing the config and before
``main_ppo``'s task function runs. It runs the gate (:mod:`verl_multiling.preflight.gate`), the very code
of ``verl-multiling preflight --static``: the knobs, estimator, trainer mode, contract, reward manager and
task function, verl's ``validate_config``, every local data file, the language-ID backend against the task
and data languages, settings that leave a part constant, scorer files and factories, and one probe rollout
per task language through the real reward manager (no large weights, no Ray). Any error stops the job with
all errors listed, each naming its field and the fix; a check that crashes is such an error too.
``multiling.startup_check: false`` turns it off (data on a remote filesystem is a note, never read).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from verl_multiling.preflight.findings import Finding
from verl_multiling.preflight.gate import REMOTE_PREFIXES, crash_finding, run_gate  # noqa: F401  (re-exported)


class ConfigError(ValueError):
    """The config cannot train: the message lists every error with its field and fix."""


def startup_findings(cfg: Any, rollout_engine: bool = False) -> list[Finding]:
    """The gate's findings for a composed main_ppo config (:mod:`verl_multiling.preflight.gate`, the same checks
    as ``verl-multiling preflight --static``; no model, large scorer or Ray is started). ``rollout_engine=True``
    (main_ppo's callback) also requires the rollout engine to be importable here."""
    return run_gate(cfg, at_startup=True, rollout_engine=rollout_engine).findings


def check_startup(cfg: Any, stream=None, rollout_engine: bool = False) -> list[Finding]:
    """Run the gate; print warnings and a one-line summary; raise :class:`ConfigError` on errors.

    ``rollout_engine=True`` (main_ppo's callback) also requires the rollout engine to be importable here."""
    stream = stream or sys.stderr
    t0 = time.perf_counter()
    gate = run_gate(cfg, at_startup=True, rollout_engine=rollout_engine)
    findings = gate.findings
    errors = [f for f in findings if f.level == "error"]
    for finding in findings:
        if finding.level == "warning":
            print(f"verl_multiling {finding}", file=stream)
    if errors:
        raise ConfigError(
            f"verl_multiling: {len(errors)} config error(s), found before any model loads:\n"
            + "\n".join(f"  - {e.field}: {e.message}" for e in errors)
            + "\nRun `verl-multiling preflight <same overrides>` for the full report "
              "(multiling.startup_check=false skips this check).")
    split = ", ".join(f"{k} {v:.1f}s" for k, v in gate.seconds.items())
    print(f"verl_multiling: startup check passed ({len(findings)} checks, {time.perf_counter() - t0:.1f}s: {split})",
          file=stream)
    return findings


try:  # Hydra is verl's config system, always present beside it; the import guard keeps this module light
    from hydra.experimental.callback import Callback
except ImportError:  # pragma: no cover
    Callback = object


class StartupCheck(Callback):
    """The Hydra callback the recipes declare (``hydra.callbacks.verl_multiling_startup_check``).

    Hydra 1.3 turns an exception raised by a callback into a warning and runs the job anyway, so a failed
    check prints its errors and exits the driver (``SystemExit(1)``, which Hydra does not catch). Every check
    runs guarded (a crash is an error naming its field, the other checks still run); should the gate itself
    raise, that too stops the driver with the exception named, never a warning.
    """

    def on_job_start(self, config: Any, **kwargs: Any) -> None:
        try:
            node = config.get("multiling") or {}
            if node.get("startup_check", True) is False or os.environ.get("VERL_MULTILING_SKIP_STARTUP_CHECK") == "1":
                return
            check_startup(config, rollout_engine=True)
        except ConfigError as exc:
            print(exc, file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        except (Exception, SystemExit) as exc:  # the check itself broke: stop, never a warning Hydra swallows
            print(f"verl_multiling: 1 config error(s), found before any model loads:\n  - "
                  f"{crash_finding('multiling', exc).message}\n(the start-up check could not finish; "
                  "multiling.startup_check=false skips it)", file=sys.stderr, flush=True)
            raise SystemExit(1) from None
