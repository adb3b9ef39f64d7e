"""``verl-multiling preflight``: everything main_ppo would trip on, found on CPU before any GPU hour.

1. compose main_ppo's config (``+recipe=NAME`` and overrides) and check it: plugin registration,
   estimator, trainer mode, reward manager, recipe knobs, data files and their columns, scorers; with
   the user's data files, a summary of them (rows per language, columns found);
2. score sample rollouts (bundled: 104 in 13 languages; or ``--rollouts FILE``) through verl's real
   ``RewardLoopManager`` with ``reward.num_workers`` Ray reward workers on a local CPU cluster;
3. run the recipe's advantage estimator on them exactly as the per-sample bridge does;
4. print a per-language table (accuracy, language match, reward, advantage statistics), titled with
   the rollouts it was computed on, and how the advantages of correct/matched, correct/unmatched and
   wrong rollouts move over training.

``static=True`` (``--static``) stops after step 1: no Ray cluster, no rollouts. Each stage reports its
own time, and the closing line the total and where it went (docs/timings.md has measured figures).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from verl_multiling.preflight import checks, data_check
from verl_multiling.preflight.checks import Finding
from verl_multiling.preflight.report import (
    KIND_COLUMNS,
    PART_COLUMNS,
    data_summary_table,
    kind_rows,
    language_rows,
    markdown_table,
    rollouts_title,
    table_columns,
)
from verl_multiling.preflight.rollouts import recipe_rollouts  # noqa: F401  (re-exported: smoke imports it here)

DEFAULT_T_FOR_PREVIEW = 100


class Preflight:
    def __init__(self, overrides: Sequence[str], rollouts: str | None = None, step: int | None = None,
                 num_workers: int = 2, stream: TextIO = sys.stdout, config_name: str = "ppo_trainer",
                 static: bool = False, launched_at: float | None = None):
        self.overrides = list(overrides)
        self.static = static
        self.total_stages = 3 if static else 5
        self.launched_at = launched_at  # time.time() when the process started (the CLI passes it)
        self.stage_times: list[dict] = []
        self._current: tuple[int, str, float] | None = None
        self.user_rollouts = rollouts is not None
        self.data_summary: list[dict] = []
        self.reward_loop_times: dict[str, float] = {}
        self.config_name = config_name
        self.rollouts_path = rollouts
        self.step = step
        self.num_workers = num_workers
        self.out = stream
        self.findings: list[Finding] = []
        self.started = time.perf_counter()
        self.result: dict = {}

    # ---- output -------------------------------------------------------------------------------
    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def stage(self, number: int, text: str) -> None:
        """Close the running stage (print its own time) and open the next."""
        self.end_stage()
        self._current = (number, text, time.perf_counter())
        self.say(f"[{number}/{self.total_stages}] {text}")

    def end_stage(self, detail: str = "") -> None:
        if self._current is None:
            return
        number, text, t0 = self._current
        seconds = round(time.perf_counter() - t0, 2)
        self.stage_times.append({"stage": number, "name": text, "seconds": seconds})
        self._current = None
        self.say(f"  ... stage {number} took {seconds:.1f}s{detail}")

    def add(self, findings: list[Finding]) -> None:
        for f in findings:
            self.findings.append(f)
            self.say(f"  {f}")

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    # ---- stages -------------------------------------------------------------------------------
    def run(self) -> int:
        self.stage(1, "importing verl, composing main_ppo's config " + " ".join(self.overrides))
        t0 = time.perf_counter()
        self.add(checks.check_registration())
        self.import_seconds = time.perf_counter() - t0
        try:
            from verl_multiling.preflight.compose import compose_config

            cfg = compose_config(self.overrides, self.config_name)
        except Exception as exc:
            self.add([Finding("error", "hydra", f"{type(exc).__name__}: {exc}")])
            return self.finish()
        self.cfg = cfg
        self.rollouts_path = self.rollouts_path or recipe_rollouts(cfg)
        self.end_stage(f" (importing verl and the plugin: {self.import_seconds:.1f}s)")
        self.stage(2, "checking recipe, estimator, trainer mode and reward manager")
        from verl_multiling.preflight.gate import Gate

        gate = Gate(cfg, at_startup=False, rollouts=self.rollouts_path)  # main_ppo's start-up check runs the same
        self.add(gate.config_checks())
        self.settings = gate.settings
        self.stage(3, "checking data files and scorers")
        self.add(gate.data_checks())
        self.data_summary += [s.as_dict() for s in gate.summaries]
        n_train = gate.n_train if not checks.uses_default_data(cfg) else None
        self.total_steps = data_check.total_steps(cfg, n_train)
        if self.total_steps is None:  # with data too small for one batch, check_train_rows said so (an error)
            self.add([Finding("note", "trainer.total_training_steps",
                              f"T unknown{'' if n_train else ' without training data'}; previews use "
                              f"T={DEFAULT_T_FOR_PREVIEW}")])
        else:
            self.add([Finding("ok", "T", f"{self.total_steps} training steps")])
        self.add(gate.scorer_checks())
        if self.data_summary:
            self.say("\nYour data files:\n")
            self.say(data_summary_table(self.data_summary))
            self.say()
        if self.static:
            return self.finish()
        self.tokenizer_dir = self.resolve_tokenizer()
        if self.errors:
            return self.finish()
        self.stage(4, f"scoring {self.rollouts_label()} with verl's RewardLoopManager "
                      f"({self.num_workers} Ray reward workers)")
        try:
            self.score_rollouts()
        except Exception as exc:
            self.add([Finding("error", "reward loop", f"{type(exc).__name__}: {exc}")])
            return self.finish()
        self.end_stage(" (" + ", ".join(f"{k} {v:.1f}s" for k, v in self.reward_loop_times.items()) + ")")
        self.stage(5, f"advantages with {cfg.algorithm.adv_estimator!r}")
        try:
            self.report()
        except Exception as exc:
            self.add([Finding("error", "algorithm.adv_estimator", f"{type(exc).__name__}: {exc}")])
        return self.finish()

    def rollouts_label(self) -> str:
        if self.user_rollouts:
            return f"your rollouts ({self.rollouts_path})"
        from verl_multiling.preflight.rollouts import BUNDLED_ROLLOUTS

        path = Path(self.rollouts_path) if self.rollouts_path else BUNDLED_ROLLOUTS
        return f"the bundled sample rollouts ({path.name})"

    def resolve_tokenizer(self) -> str:
        from verl_multiling.plumbing.offline_tokenizer import offline_tokenizer_dir

        model = self.cfg.actor_rollout_ref.model
        path = model.get("tokenizer_path") or model.path
        if path and os.path.isdir(os.path.expanduser(str(path))):
            self.add([Finding("ok", "actor_rollout_ref.model.path", f"tokenizer from {path}")])
            return os.path.expanduser(str(path))
        self.add([Finding("note", "actor_rollout_ref.model.path",
                          f"{path} is not a local directory (a hub name?); preflight tokenizes with the offline "
                          "Qwen2.5 tokenizer instead. The GPU run downloads the model as usual.")])
        return str(offline_tokenizer_dir())

    def score_rollouts(self) -> None:
        t0 = time.perf_counter()
        import ray
        from omegaconf import OmegaConf, open_dict
        from transformers import AutoTokenizer
        from verl.experimental.reward_loop.reward_loop import RewardLoopManager

        from verl_multiling.preflight.rollouts import build_dataproto, load_rollouts

        rows = load_rollouts(self.rollouts_path, need_gold=data_check.gold_required(self.cfg, self.settings))
        tokenizer = AutoTokenizer.from_pretrained(self.tokenizer_dir)
        data = build_dataproto(rows, tokenizer, self.settings.lang_key)
        cfg = OmegaConf.create(OmegaConf.to_container(self.cfg, resolve=False))
        with open_dict(cfg):
            cfg.actor_rollout_ref.model.path = self.tokenizer_dir
            cfg.actor_rollout_ref.model.tokenizer_path = self.tokenizer_dir
            cfg.reward.num_workers = self.num_workers
        t1 = time.perf_counter()
        started_ray = not ray.is_initialized()
        if started_ray:
            ray.init(num_cpus=max(2, self.num_workers + 1), include_dashboard=False, log_to_driver=False,
                     logging_level="ERROR")
        t2 = time.perf_counter()
        try:
            scored = RewardLoopManager(cfg).compute_rm_score(data)
            seconds = time.perf_counter() - t2
        except KeyError as exc:  # verl reads every sample's reward_extra_info with the first sample's keys
            raise ValueError(f"the rollouts' reward_extra_info keys differ ({exc} is missing from some): when "
                             "reward.custom_reward_function returns a dict, declare its keys in "
                             "multiling.task.extra_keys (e.g. [f1, pred]) so that every sample carries them") from exc
        finally:
            t3 = time.perf_counter()
            if started_ray:
                ray.shutdown()
        self.reward_loop_times = {"imports and tokenizing": t1 - t0, "Ray start": t2 - t1,
                                  "reward workers and scoring": seconds, "Ray shutdown": time.perf_counter() - t3}
        self.rows, self.data, self.scored = rows, data, scored
        info = scored.non_tensor_batch
        reasons = Counter(str(x) for x in info.get("answer_reason", []))
        self.add([Finding("ok", "reward loop", f"{len(rows)} rollouts scored in {seconds:.1f}s "
                                               f"(incl. worker start); extra keys {scored.meta_info['reward_extra_keys']}")])
        if reasons:
            self.add([Finding("note", "answer reasons", dict(sorted(reasons.items())).__repr__())])
        self.add(task_findings(self.cfg, info))

    def advantages_at(self, step: int, total: int, token: str = "first") -> np.ndarray:
        """Each sample's advantage on its first response token (``token="first"``: the U step for TAPO) or its
        last valid one (``"last"``: the R step)."""
        return self._token_advantages(step, total)[token]

    def _token_advantages(self, step: int, total: int) -> dict[str, np.ndarray]:
        from verl.trainer.ppo import core_algos
        from verl.trainer.ppo.ray_trainer import compute_advantage

        from verl_multiling.bridge.per_sample import accepted_kwargs, bound_estimator

        data = self.data.select_idxs(np.arange(len(self.data)))  # a copy the estimator may write into
        data.batch["token_level_rewards"] = self.scored.batch["rm_scores"]
        data.batch["token_level_scores"] = self.scored.batch["rm_scores"]
        name = self.cfg.algorithm.adv_estimator
        wanted = accepted_kwargs(core_algos.get_adv_estimator_fn(name))
        columns = {k: np.asarray(v, dtype=object) for k, v in self.scored.non_tensor_batch.items()}
        available = {"reward_extra_info": columns, "global_step": step, "total_steps": total}
        kwargs = dict(adv_estimator=name, gamma=self.cfg.algorithm.gamma, lam=self.cfg.algorithm.lam,
                      num_repeat=self.cfg.actor_rollout_ref.rollout.n,
                      norm_adv_by_std_in_grpo=self.cfg.algorithm.get("norm_adv_by_std_in_grpo", True),
                      config=self.cfg.algorithm)
        if wanted:
            with bound_estimator(core_algos.ADV_ESTIMATOR_REGISTRY, name, **{k: available[k] for k in wanted}):
                out = compute_advantage(data, **kwargs)
        else:
            out = compute_advantage(data, **kwargs)
        adv = out.batch["advantages"]
        mask = out.batch["response_mask"].bool()
        if not torch.isfinite(adv[mask]).all():
            raise ValueError("the estimator produced NaN/inf advantages")
        rows = np.arange(len(adv))
        first = mask.float().argmax(dim=1)
        last = mask.shape[1] - 1 - mask.flip(1).float().argmax(dim=1)
        return {"first": adv[rows, first].numpy(), "last": adv[rows, last].numpy()}

    def report(self) -> None:
        total = self.total_steps or DEFAULT_T_FOR_PREVIEW
        step = self.step if self.step is not None else 1
        info = self.scored.non_tensor_batch
        parts = tuple(k for k in PART_COLUMNS if k in info and _numeric(info[k]))
        values = {k: _floats(info[k]) for k in parts}
        task_parts = task_columns(self.cfg, self.scored)  # the custom function's own numeric keys, e.g. f1
        values.update({k: _floats(info[k], missing=np.nan) for k in task_parts})  # None: not reported, not 0
        parts += task_parts
        values.update(
            reward=self.scored.batch["rm_scores"].sum(-1).numpy(),
            resp_tokens=self.data.batch["response_mask"].sum(-1).numpy().astype(float),
        )
        token_adv = self._token_advantages(step, total)
        values["adv"] = token_adv["first"]
        if not np.allclose(token_adv["first"], token_adv["last"]):  # step-level (TAPO): U and R differ
            values["adv_R"] = token_adv["last"]
        langs = np.array([r.get("lang") for r in self.rows], dtype=object)
        rows = language_rows(langs, values, parts)
        name = self.cfg.algorithm.adv_estimator
        if "adv_R" in values:
            self.say("\nadv_* columns: the advantage on each response's first token (the U step where there is one); "
                     "adv_R_min/max: on its last token (the R step).")
        self.say("\n" + rollouts_title(self.rows, self.rollouts_label(), self.user_rollouts))
        self.say(f"Step t={step} of T={total}, estimator {name!r}:\n")
        self.say(markdown_table(rows, table_columns(parts, step_level="adv_R" in values)))
        self.result = {"languages": rows, "T": total, "step": step}
        self.report_kinds(info, values)
        if self.uses_step() and {"acc", "lang_match"} <= set(values):
            schedule = self.schedule_view(total, values)
            self.say("\nMean advantage by rollout kind over training (the language bonus grows with g(t)):\n")
            self.say(markdown_table(schedule, ("t", "correct_matched", "correct_unmatched", "wrong")))
            self.result["schedule"] = schedule

    def report_kinds(self, info: dict, values: dict) -> None:
        """PB-RLSVR: the reward and its parts per response kind of the rollouts (``kind`` field: empty, bare
        answer, one word repeated, unrelated, wrong number, faithful translation, ...)."""
        kinds = [r.get("kind") for r in self.rows]
        if "r_reasoning" not in info or not all(isinstance(k, str) and k for k in kinds):
            return
        parts = tuple(k for k in KIND_COLUMNS if k in info and _numeric(info[k]))
        by_kind = kind_rows(np.array(kinds, dtype=object), {**values, **{k: _floats(info[k]) for k in parts}}, parts)
        self.say("\nMean reward by response kind (nothing earns nothing: empty/unrelated ~0, a bare answer "
                 "~alpha):\n")
        self.say(markdown_table(by_kind, ("kind", "n", "reward", *parts)))
        self.result["kinds"] = by_kind

    def uses_step(self) -> bool:
        from verl.trainer.ppo import core_algos

        from verl_multiling.bridge.per_sample import accepted_kwargs

        return "global_step" in accepted_kwargs(core_algos.get_adv_estimator_fn(self.cfg.algorithm.adv_estimator))

    def schedule_view(self, total: int, values: dict) -> list[dict]:
        acc, match = values["acc"] > 0.5, values["lang_match"] > 0.5
        kinds = {"correct_matched": acc & match, "correct_unmatched": acc & ~match, "wrong": ~acc}
        rows = []
        for t in sorted({1, total // 2, total}):
            adv = self.advantages_at(t, total)
            rows.append({"t": str(t), **{k: float(adv[m].mean()) if m.any() else float("nan")
                                         for k, m in kinds.items()}})
        return rows

    def finish(self) -> int:
        self.end_stage()
        n_err = len(self.errors)
        n_warn = sum(f.level == "warning" for f in self.findings)
        status = "FAILED" if n_err else "passed"
        what = "static checks" if self.static else "preflight"
        total = time.perf_counter() - self.started
        self.say(f"\n{what} {status}: {n_err} error(s), {n_warn} warning(s) in {total:.1f}s")
        for f in self.errors:
            self.say(f"  {f}")
        timings = {"stages": self.stage_times, "total_s": round(total, 2),
                   "reward_loop": {k: round(v, 2) for k, v in self.reward_loop_times.items()}}
        parts = [f"{t['stage']}: {t['seconds']:.1f}s" for t in self.stage_times]
        if self.launched_at is not None:
            before = max(self.started - time.perf_counter() + time.time() - self.launched_at, 0.0)
            timings["startup_s"] = round(before, 2)
            parts.insert(0, f"Python start-up: {before:.1f}s")
        self.say("time by stage: " + ", ".join(parts))
        self.result["timings"] = timings
        self.result["data"] = self.data_summary
        self.result["findings"] = [f.__dict__ for f in self.findings]
        self.result["passed"] = not n_err
        return 1 if n_err else 0


def _floats(column, missing: float = 0.0) -> np.ndarray:
    return np.array([missing if v is None else float(v) for v in column], dtype=np.float64)


def task_columns(cfg, scored) -> tuple[str, ...]:
    """The numeric reward_extra_info keys that the user's ``reward.custom_reward_function`` added (the reward
    manager's own keys excluded), in the order verl reports them."""
    from verl.trainer.ppo.reward import resolve_reward_manager_cls

    from verl_multiling.reward_managers.task import custom_function_path

    if not custom_function_path(cfg)[0]:
        return ()
    own = set(getattr(resolve_reward_manager_cls(cfg), "extra_keys", {})) | {"reward_error", *PART_COLUMNS}
    info = scored.non_tensor_batch
    return tuple(k for k in scored.meta_info.get("reward_extra_keys", []) if k not in own and k in info
                 and _numeric(info[k]) and any(v is not None for v in info[k]))


def task_findings(cfg, info) -> list[Finding]:
    """How the user's ``reward.custom_reward_function`` fared on the rollouts: its failures by reason (each
    scored 0 with verify_failed=1), and a negative task reward under AdaMame's multiplicative bonus."""
    from verl_multiling.reward_managers.task import custom_function_path
    from verl_multiling.rewards.task import CUSTOM, CUSTOM_REASONS

    path, name = custom_function_path(cfg)
    if not path:
        return []
    field = "reward.custom_reward_function"
    reasons = Counter(str(x) for x in info.get("answer_reason", []))
    failed = {r: reasons[r] for r in CUSTOM_REASONS if r != CUSTOM and reasons[r]}
    n = len(info.get("answer_reason", []))
    out = [Finding("ok", field, f"{name} scored {reasons[CUSTOM]} of {n} rollouts")]
    if failed:
        out.append(Finding("warning", field, f"{name} failed on {sum(failed.values())} of {n} rollouts {failed}: each "
                                             "scored 0 with verify_failed=1 (counted in multiling/faults/*; more than "
                                             "multiling.faults.max_error_rate of a step stops the run). The reward "
                                             "workers' log has the first error of each kind"))
    acc = _floats(info["acc"]) if "acc" in info and _numeric(info["acc"]) else np.zeros(0)
    estimator = str(cfg.algorithm.adv_estimator)
    if estimator in ("adamame", "adamame_align") and (acc < 0).any():
        out.append(Finding("warning", field, f"{int((acc < 0).sum())} rollouts have a negative task reward: {estimator!r} "
                                             "multiplies r_i by the language bonus, so a matched wrong answer would be "
                                             "penalised harder than an unmatched one; return scores >= 0 (e.g. 0/1)"))
    return out


def _numeric(column) -> bool:
    return all(v is None or isinstance(v, (bool, int, float, np.number, np.bool_)) for v in column)


def run_preflight(overrides: Sequence[str], rollouts: str | None = None, step: int | None = None,
                  num_workers: int = 2, json_path: str | None = None, config_name: str = "ppo_trainer",
                  stream: TextIO = sys.stdout, static: bool = False, launched_at: float | None = None) -> int:
    check = Preflight(overrides, rollouts, step, num_workers, stream, config_name, static, launched_at)
    code = check.run()
    if json_path:
        Path(json_path).write_text(json.dumps(check.result, indent=2, default=str), encoding="utf-8")
    return code
