"""The gate: the one list of static checks that ``main_ppo``'s start-up check and ``verl-multiling preflight
--static`` (stages 2 and 3 of the full preflight) both run.

Rule: *if the first rollout would fail, or a part of the reward would be constant, with this config, the gate
fails*. In order:

1. config (:meth:`Gate.config_checks`): every knob (the schema of :mod:`verl_multiling.config.knobs`), the estimator and
   trainer mode, the estimator/reward-manager contract, the reward manager and the user's task function (loaded
   as verl loads it, its signature bound to verl's call), verl's own ``validate_config``, the backends;
2. data (:meth:`Gate.data_checks`): every local data file's columns, gold answers and language codes (parquet,
   JSON, JSONL); in preflight (not at start-up), the prompts verl's length filter drops, counted with the model's
   tokenizer when it loads offline; rows for one batch (remote files are a note);
3. scorers (:meth:`Gate.scorer_checks`): the language-ID backend can return every task and data language;
   no setting leaves a part constant (:mod:`verl_multiling.preflight.resolve`); checkpoint files, model
   directories and factories resolve; then, when the config itself has no error, one probe rollout per task
   language through the recipe's real reward manager (:mod:`verl_multiling.preflight.probe`).

Every check runs under :meth:`Gate.guarded`: an exception inside a check is an error finding that names the
field it was checking (the schema names the very knob it was reading), and the checks after it still run, so
one command reports all its errors. Nothing here is ever a warning for a crash.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from omegaconf import DictConfig

from verl_multiling.preflight.contract import check_contract
from verl_multiling.preflight import checks, data_check
from verl_multiling.preflight.engines import check_rollout_engine
from verl_multiling.preflight.findings import Finding

REMOTE_PREFIXES = ("hdfs://", "s3://", "gs://", "oss://", "http://", "https://")


class Gate:
    """The static checks of one composed ``main_ppo`` config.

    ``at_startup``: main_ppo's callback (the rollout engine must be importable here; verl's placeholder train
    file is an error) rather than preflight (an engine missing on a login node is a warning, and without data
    preflight checks its bundled sample prompts). ``rollouts``: the sample rollouts the probes are taken from
    (default: the recipe's ``multiling.preflight_rollouts``, else the bundled ones). ``rollout_engine=False``
    leaves out the engine check (a config checked on a machine that is not meant to train).
    """

    def __init__(self, cfg: DictConfig, at_startup: bool, rollouts: str | None = None, rollout_engine: bool = True):
        self.cfg, self.at_startup, self.rollout_engine = cfg, at_startup, rollout_engine
        self.rollouts = rollouts
        self.settings = None
        self.summaries: list = []  # DataSummary of every data file read
        self.n_train: int | None = None
        self.config_ok = False
        self.seconds: dict[str, float] = {}
        self.findings: list[Finding] = []

    # ---- guard ------------------------------------------------------------------------------------
    def guarded(self, field: str, check: Callable[..., list[Finding]], *args: Any) -> list[Finding]:
        """``check(*args)``; an exception (or a ``SystemExit`` from user code it imports) is an error naming
        ``field``, never a crash of the gate."""
        try:
            return list(check(*args))
        except (Exception, SystemExit) as exc:
            return [crash_finding(field, exc)]

    # ---- 1. config ---------------------------------------------------------------------------------
    def config_checks(self) -> list[Finding]:
        t0 = time.perf_counter()
        cfg = self.cfg
        settings_found: list = []

        def multiling() -> list[Finding]:
            self.settings, found = checks.check_multiling(cfg)
            settings_found.append(True)
            return found

        out = self.guarded("multiling", multiling)
        out += self.guarded("algorithm.adv_estimator", checks.check_trainer_and_estimator, cfg)
        out += self.guarded("algorithm.adv_estimator", check_contract, cfg)
        out += self.guarded("reward.reward_manager", checks.check_reward_manager, cfg)
        # the reward's own config is sound: the probes can build the manager (engine errors do not matter to it)
        self.config_ok = bool(settings_found) and not any(f.level == "error" for f in out)
        out += self.guarded("verl validate_config", checks.check_verl_validation, cfg)
        out += self.guarded("actor_rollout_ref.actor.strategy", checks.check_engines, cfg)
        if self.rollout_engine:
            out += self.guarded("actor_rollout_ref.rollout.name", check_rollout_engine, cfg, self.at_startup)
        self.seconds["config"] = time.perf_counter() - t0
        return out

    # ---- 2. data -----------------------------------------------------------------------------------
    def data_checks(self) -> list[Finding]:
        t0 = time.perf_counter()
        out = self.guarded("data.train_files", self._data) if self.settings is not None else []
        self.seconds["data"] = time.perf_counter() - t0
        return out

    def _data(self) -> list[Finding]:
        cfg, settings = self.cfg, self.settings
        if not self.at_startup and checks.uses_default_data(cfg):
            from verl_multiling.preflight.rollouts import load_rollouts, rows_as_dataset

            rows = load_rollouts(self.rollouts_path(), need_gold=data_check.gold_required(cfg, settings))
            frame = rows_as_dataset(rows, settings.lang_key)
            return data_check.check_recipe_columns(frame, cfg, settings, "rollouts", "sample rollouts") + [
                Finding("note", "data.train_files",
                        f"not given; checking the bundled sample prompts ({len(frame)} prompts) instead")]
        out: list[Finding] = []
        lengths, loaded = None, self.at_startup  # preflight only: the model's tokenizer, loaded once, offline
        for field in ("data.train_files", "data.val_files"):
            summaries, complete = [], True
            for path in checks.data_files(cfg.data.get(field.split(".")[1])):
                if path.startswith(REMOTE_PREFIXES):
                    out.append(Finding("note", field, f"{path}: remote, not checked here"))
                    complete = False
                    continue
                if not loaded:
                    from verl_multiling.preflight.prompt_length import load_prompt_lengths

                    lengths, note = load_prompt_lengths(cfg)
                    out += [note] if note is not None else []
                    loaded = True
                found, summary = data_check.check_data_file(path, cfg, settings, field, lengths)
                out += found
                complete = complete and summary is not None
                summaries += [summary] if summary is not None else []
            self.summaries += summaries
            if field == "data.train_files":
                self.n_train = sum(s.usable for s in summaries)  # rows verl keeps (after its token filter when
                # preflight counted it)
                if complete:  # rows of every train file known: enough for one batch?
                    out += data_check.check_train_rows(cfg, summaries)
        return out

    # ---- 3. scorers ----------------------------------------------------------------------------------
    def scorer_checks(self) -> list[Finding]:
        t0 = time.perf_counter()
        if self.settings is None:
            return []
        from verl_multiling.preflight import resolve

        data_languages: dict[str, set[str]] = {}
        for summary in self.summaries:
            data_languages.setdefault(summary.field, set()).update(summary.languages)
        out = self.guarded("multiling.language_id.backend", resolve.check_language_support, self.settings,
                           data_languages)
        out += self.guarded("multiling.language_id", resolve.check_never_fires, self.settings, self.cfg)
        out += self.guarded("multiling", resolve.check_scorer_files, self.cfg)
        out += self._math_scorer_note()
        self.seconds["scorers"] = time.perf_counter() - t0
        if self.config_ok and not any(f.level == "error" for f in out):
            t1 = time.perf_counter()
            out += self.guarded("reward probe", self._probe, data_languages)
            self.seconds["probe"] = time.perf_counter() - t1
        return out

    def _math_scorer_note(self) -> list[Finding]:
        from verl_multiling.reward_managers.task import custom_function_path

        if custom_function_path(self.cfg)[0] and self.settings.recipe != "pb_rlsvr":  # PB-RLSVR's r_answer uses it
            return [Finding("note", "math scorer", "not used: reward.custom_reward_function gives the task part")]
        return []

    def _probe(self, data_languages: dict[str, set[str]]) -> list[Finding]:
        from verl.trainer.ppo.reward import resolve_reward_manager_cls

        from verl_multiling.preflight.probe import probe_findings, probe_rows, run_probes
        from verl_multiling.preflight.rollouts import load_rollouts
        from verl_multiling.reward_managers.base import MultilingRewardManager
        from verl_multiling.reward_managers.task import custom_function_path

        manager = resolve_reward_manager_cls(self.cfg)
        if not issubclass(manager, MultilingRewardManager):
            return [Finding("note", "reward probe", f"{manager.__name__} is not a verl_multiling manager: not probed")]
        rows = load_rollouts(self.rollouts_path(), need_gold=data_check.gold_required(self.cfg, self.settings))
        languages = self.settings.languages or tuple(sorted(set().union(*data_languages.values()))) \
            or tuple(sorted({str(r.get("lang")) for r in rows}))
        chosen, missing = probe_rows(rows, languages)
        out = [Finding("note", "reward probe", f"no sample rollout in {missing} ({self.rollouts_path() or 'bundled'}): "
                                               "those languages are not probed")] if missing else []
        if not chosen:
            return out
        results = run_probes(self.cfg, chosen, self.settings.lang_key)
        return out + probe_findings(self.cfg, results, bool(custom_function_path(self.cfg)[0]))

    def rollouts_path(self) -> str | None:
        from verl_multiling.preflight.rollouts import recipe_rollouts

        return self.rollouts or recipe_rollouts(self.cfg)


def crash_finding(field: str, exc: BaseException) -> Finding:
    """A check that raised: an error naming the field it was checking and the exception."""
    text = str(exc)
    text = text if len(text) <= 500 else text[:497] + "..."
    return Finding("error", field, f"the check of this field raised {type(exc).__name__}: {text}; fix the value "
                                   "(the message says which), or report a bug if it looks right")


def run_gate(cfg: DictConfig, at_startup: bool = True, rollouts: str | None = None,
             rollout_engine: bool = True) -> Gate:
    """Registration, then the three groups of :class:`Gate` in order; ``gate.findings`` holds them all and
    ``gate.seconds`` the time of each group (main_ppo's start-up check)."""
    gate = Gate(cfg, at_startup, rollouts, rollout_engine)
    findings = gate.guarded("plugin", checks.check_registration)
    findings += gate.config_checks()
    findings += gate.data_checks()
    findings += gate.scorer_checks()
    gate.findings = findings
    return gate
