"""Config checks at the start of ``python -m verl.trainer.main_ppo``, before Ray starts or any model loads.

verl validates its own config in the driver, but learns of an unknown estimator, a reward-manager knob
of the wrong type or a missing data column only after the models are loaded and the first rollouts
are done (or never: a wrong knob read with a default). Every recipe therefore declares a Hydra
callback::

    hydra:
      callbacks:
        verl_multiling_startup_check:
          _target_: verl_multiling.startup.StartupCheck

Hydra calls :meth:`StartupCheck.on_job_start` in the driver after composing the config and before
``main_ppo``'s task function runs. It runs preflight's static checks (the same functions as
``verl-multiling preflight``'s stages 1-3, without loading any scorer model): registration, the
``multiling`` node and the recipe's node, the estimator and its ``algorithm.<name>`` node, the trainer
mode, the reward manager, and every local data file's columns, gold answers and language codes. Any
error stops the job with all errors listed, each naming its field and the fix. ``multiling.startup_check:
false`` turns it off (e.g. data on a remote filesystem the driver cannot read is skipped anyway).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from verl_multiling.contract import check_contract
from verl_multiling.preflight import checks
from verl_multiling.preflight.checks import Finding
from verl_multiling.preflight.engines import check_rollout_engine

REMOTE_PREFIXES = ("hdfs://", "s3://", "gs://", "oss://", "http://", "https://")


class ConfigError(ValueError):
    """The config cannot train: the message lists every error with its field and fix."""


def startup_findings(cfg: Any) -> list[Finding]:
    """Preflight's static checks of a composed main_ppo config (no model, scorer or Ray is started)."""
    findings = checks.check_registration()
    settings, found = checks.check_multiling(cfg)
    findings += found
    findings += _guarded(checks.check_trainer_and_estimator, cfg, "algorithm.adv_estimator")
    findings += _guarded(checks.check_reward_manager, cfg, "reward.reward_manager")
    findings += _guarded(check_contract, cfg, "algorithm.adv_estimator")
    if settings is None:
        return findings
    for field in ("data.train_files", "data.val_files"):
        summaries, complete = [], True
        for path in checks.data_files(cfg.data.get(field.split(".")[1])):
            if path.startswith(REMOTE_PREFIXES):
                findings.append(Finding("note", field, f"{path}: remote, not checked at startup"))
                complete = False
                continue
            found, summary = checks.check_data_file(path, cfg, settings, field)
            findings += found
            complete = complete and summary is not None
            summaries += [summary] if summary is not None else []
        if field == "data.train_files" and complete:  # rows of every train file known: enough for one batch?
            findings += checks.check_train_rows(cfg, summaries)
    return findings


def check_startup(cfg: Any, stream=None, rollout_engine: bool = False) -> list[Finding]:
    """Run :func:`startup_findings`; print warnings and a one-line summary; raise :class:`ConfigError` on errors.

    ``rollout_engine=True`` (main_ppo's callback) also requires the rollout engine to be importable here."""
    stream = stream or sys.stderr
    t0 = time.perf_counter()
    findings = startup_findings(cfg)
    findings += check_rollout_engine(cfg, at_startup=True) if rollout_engine else []
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
    print(f"verl_multiling: startup check passed ({len(findings)} checks, {time.perf_counter() - t0:.1f}s)",
          file=stream)
    return findings


def _guarded(check, cfg: Any, field: str) -> list[Finding]:
    """A check that meets a config too broken to read reports that as an error instead of raising."""
    try:
        return check(cfg)
    except Exception as exc:
        return [Finding("error", field, f"{type(exc).__name__}: {exc}")]


try:  # Hydra is verl's config system, always present beside it; the import guard keeps this module light
    from hydra.experimental.callback import Callback
except ImportError:  # pragma: no cover
    Callback = object


class StartupCheck(Callback):
    """The Hydra callback the recipes declare (``hydra.callbacks.verl_multiling_startup_check``).

    Hydra 1.3 turns an exception raised by a callback into a warning and runs the job anyway, so a failed
    check prints its errors and exits the driver (``SystemExit(1)``, which Hydra does not catch).
    """

    def on_job_start(self, config: Any, **kwargs: Any) -> None:
        node = config.get("multiling") or {}
        if node.get("startup_check", True) is False or os.environ.get("VERL_MULTILING_SKIP_STARTUP_CHECK") == "1":
            return
        try:
            check_startup(config, rollout_engine=True)
        except ConfigError as exc:
            print(exc, file=sys.stderr, flush=True)
            raise SystemExit(1) from None
