"""Config and data checks. Each returns findings; an error names the field and the fix."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig

from verl_multiling.bridge.per_sample import BRIDGE_TRAINER_MODES, accepted_kwargs
from verl_multiling.config import MultilingConfig

ADAMAME_ESTIMATORS = ("adamame_align", "adamame")
# verl's placeholder train file: present when the user gave no data
VERL_DEFAULT_TRAIN_FILE = "~/data/rlhf/gsm8k/train.parquet"
ISO_639_1 = re.compile(r"^[a-z]{2}$")


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning" | "ok" | "note"
    field: str
    message: str

    def __str__(self) -> str:
        mark = {"error": "ERROR", "warning": "WARN ", "ok": "ok   ", "note": "note "}[self.level]
        return f"[{mark}] {self.field}: {self.message}"


def check_registration() -> list[Finding]:
    try:
        import verl_multiling.register as register
    except Exception as exc:  # registration raised: report it as the first thing users see
        return [Finding("error", "plugin", f"verl_multiling failed to register: {exc!r}; reinstall the package")]
    if register.REGISTRATION_ERROR:
        return [Finding("error", "plugin", "registration failed:\n" + register.REGISTRATION_ERROR)]
    return [Finding("ok", "plugin", "estimators, reward managers and trainers registered")]


def check_trainer_and_estimator(cfg: DictConfig) -> list[Finding]:
    from verl.trainer.ppo import core_algos
    from verl.trainer.ppo.v1 import get_trainer_cls

    out: list[Finding] = []
    name = cfg.algorithm.adv_estimator
    mode = cfg.trainer.v1.trainer_mode
    try:
        estimator = core_algos.get_adv_estimator_fn(name)
        out.append(Finding("ok", "algorithm.adv_estimator", f"{name!r} is registered"))
    except ValueError:
        known = ", ".join(sorted(core_algos.ADV_ESTIMATOR_REGISTRY))
        return [Finding("error", "algorithm.adv_estimator", f"{name!r} is not registered; choose one of: {known}")]
    try:
        get_trainer_cls(mode)
        out.append(Finding("ok", "trainer.v1.trainer_mode", f"{mode!r} is registered"))
    except ValueError as exc:
        out.append(Finding("error", "trainer.v1.trainer_mode", str(exc)))
    wanted = accepted_kwargs(estimator)
    if wanted:
        if not cfg.trainer.get("use_v1", True):
            out.append(Finding("error", "trainer.use_v1",
                               f"{name!r} needs the per-sample bridge of the V1 trainer: set trainer.use_v1=true"))
        if mode not in BRIDGE_TRAINER_MODES:
            out.append(Finding(
                "error", "trainer.v1.trainer_mode",
                f"{name!r} needs {', '.join(wanted)} per sample, which only the bridge trainers pass: set "
                f"trainer.v1.trainer_mode to one of {', '.join(BRIDGE_TRAINER_MODES)} (multiling_sync for sync)",
            ))
    if name in ADAMAME_ESTIMATORS or name == "tapo":
        from verl_multiling.estimators.adamame import AdaMameConfig
        from verl_multiling.estimators.tapo import TapoAlgoConfig

        node, reader = ("adamame", AdaMameConfig) if name in ADAMAME_ESTIMATORS else ("tapo", TapoAlgoConfig)
        try:
            reader.from_algorithm(cfg.algorithm)
            out.append(Finding("ok", f"algorithm.{node}", "valid"))
        except (ValueError, TypeError) as exc:
            out.append(Finding("error", f"algorithm.{node}", str(exc)))
    n = cfg.actor_rollout_ref.rollout.n
    if name != "gae" and n < 2:
        out.append(Finding("error", "actor_rollout_ref.rollout.n",
                           f"{n}: group-relative estimators need at least 2 rollouts per prompt (paper: 8)"))
    return out


def check_reward_manager(cfg: DictConfig) -> list[Finding]:
    from verl.trainer.ppo.reward import resolve_reward_manager_cls

    field = "reward.reward_manager"
    try:
        cls = resolve_reward_manager_cls(cfg)
    except Exception as exc:
        rm = cfg.reward.reward_manager
        return [Finding("error", field, f"cannot load {rm.name!r} (source={rm.source}, module={rm.module.path}): "
                                        f"{exc!r}. With source=importlib give module.path=pkg://verl_multiling."
                                        "reward_managers and the class name; with source=register a registered name")]
    out = [Finding("ok", field, f"{cls.__module__}.{cls.__name__}")]
    for legacy in ("reward_model.reward_manager", "custom_reward_function.path"):
        head, _, tail = legacy.partition(".")
        node = cfg.get(head)
        if isinstance(node, DictConfig) and node.get(tail) not in (None, "naive"):
            out.append(Finding("warning", legacy, "legacy key: verl 0.9.1's main_ppo ignores it; use reward.*"))
    return out + check_task_function(cfg, cls)


def check_task_function(cfg: DictConfig, manager_cls: type | None = None) -> list[Finding]:
    """``reward.custom_reward_function``: it loads the way verl loads it, and which part of the reward it gives."""
    from verl_multiling.reward_managers.task import custom_function_path

    path, name = custom_function_path(cfg)
    if not path:
        return []
    field = "reward.custom_reward_function"
    if not name:
        return [Finding("error", f"{field}.name", f"path={path!r} is set but name is not: give the function's name "
                                                  "(reward.custom_reward_function.name=compute_score)")]
    from verl.trainer.ppo.reward import get_custom_reward_fn

    try:
        fn = get_custom_reward_fn(cfg)
    except Exception as exc:  # FileNotFoundError, AttributeError, the module's own import error
        cause = exc.__cause__ or exc
        return [Finding("error", field, f"cannot load {name!r} from {path!r}: {type(cause).__name__}: {cause}. "
                                        "path is a file (/abs/path.py or file://...) or pkg://package.module, name "
                                        "a function (data_source, solution_str, ground_truth, extra_info) -> float "
                                        "| {'score': float, ...}")]
    if not callable(fn):
        return [Finding("error", field, f"{name!r} in {path!r} is not a function")]
    from verl_multiling.reward_managers.base import MultilingRewardManager

    if manager_cls is not None and not issubclass(manager_cls, MultilingRewardManager):
        return [Finding("ok", field, f"{name} from {path}: verl hands it to {manager_cls.__name__} as compute_score")]
    recipe = (cfg.get("multiling") or {}).get("recipe")
    part = {"tapo": "r_acc, on the reasoning step R (the U/R split, r_trans and r_fmt stay the recipe's)",
            "pb_rlsvr": "acc, the gold accuracy, in the reward with multiling.pb_rlsvr.gold=gate|sum (r_answer and "
                        "r_reasoning stay the recipe's)",
            "reflection": "r_acc (format and reflection stay the recipe's)"}.get(
        recipe, "r_i = acc (the detected language, lang_match and the bonus stay the recipe's)")
    return [Finding("ok", field, f"{name} from {path} gives {part}; multiling.task.timeout_s (else "
                                 "multiling.faults.timeout_s) bounds each call")]


RECIPES = ("adamame", "reflection", "tapo", "pb_rlsvr")


def check_multiling(cfg: DictConfig) -> tuple[MultilingConfig | None, list[Finding]]:
    """The shared ``multiling`` node and the recipe's own node (tapo / pb_rlsvr / reflection)."""
    try:
        settings = MultilingConfig.from_config(cfg)
    except ValueError as exc:
        return None, [Finding("error", "multiling", str(exc))]
    out: list[Finding] = []
    if settings.recipe is not None and settings.recipe not in RECIPES:
        out.append(Finding("error", "multiling.recipe", f"{settings.recipe!r} is not a recipe: choose one of "
                                                        f"{', '.join(RECIPES)} (or leave it null)"))
    bad = [x for x in settings.languages if not ISO_639_1.match(x)]
    if bad:
        out.append(Finding("error", "multiling.languages", f"{bad}: use two-letter ISO 639-1 codes"))
    startup = (cfg.get("multiling") or {}).get("startup_check", True)
    if not isinstance(startup, bool):
        out.append(Finding("error", "multiling.startup_check", f"{startup!r}: must be true or false"))
    rollouts = (cfg.get("multiling") or {}).get("preflight_rollouts")
    if rollouts is not None and not isinstance(rollouts, str):
        out.append(Finding("error", "multiling.preflight_rollouts",
                           f"{rollouts!r}: a file name in verl_multiling/data or a path to a JSONL file"))
    for node, reader in _recipe_nodes(cfg):
        try:
            reader(cfg)
        except (ValueError, TypeError) as exc:
            out.append(Finding("error", f"multiling.{node}", str(exc)))
    if not any(f.level == "error" for f in out):
        out.append(Finding("ok", "multiling", f"languages={list(settings.languages)}, "
                                              f"language_id={settings.language_id.backend}"))
    return settings, out


def _recipe_nodes(cfg: DictConfig) -> list[tuple[str, Any]]:
    """The recipe nodes present in the config, each with the reader that validates it."""
    node = cfg.get("multiling") or {}
    out = []
    if "tapo" in node or node.get("recipe") == "tapo":
        from verl_multiling.rewards.tapo import TapoConfig

        out.append(("tapo", TapoConfig.from_config))
    if "pb_rlsvr" in node or node.get("recipe") == "pb_rlsvr":
        from verl_multiling.rewards.pb_rlsvr import PbRlsvrConfig

        out.append(("pb_rlsvr", PbRlsvrConfig.from_config))
    if "reflection" in node or node.get("recipe") == "reflection":
        from verl_multiling.rewards.reflection import ReflectionConfig

        out.append(("reflection", ReflectionConfig.from_config))
    if "task" in node:
        from verl_multiling.rewards.task import TaskConfig

        out.append(("task", TaskConfig.from_config))
    return out


def data_files(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, ListConfig)):
        return [str(v) for v in value]
    return [str(value)]


def uses_default_data(cfg: DictConfig) -> bool:
    files = data_files(cfg.data.train_files)
    return files == [VERL_DEFAULT_TRAIN_FILE] and not Path(os.path.expanduser(files[0])).exists()


def check_data_file(path: str, cfg: DictConfig, settings: MultilingConfig, field: str) -> tuple[list[Finding], Any]:
    """Readable parquet with the prompt, gold answer and language the recipe needs."""
    import pandas as pd

    local = os.path.expanduser(path)
    if not os.path.exists(local):
        return [Finding("error", field, f"{path} does not exist; prepare data with scripts/prepare_data.py")], None
    try:  # the schema, then only the columns checked below: the prompts (the bulk of a dataset) are not read
        import pyarrow.parquet as pq

        present = pq.read_schema(local).names
        wanted = {"reward_model", "extra_info", settings.lang_key, *recipe_columns(cfg, settings)}
        frame = pd.read_parquet(local, columns=[c for c in present if c in wanted])
    except Exception as exc:
        return [Finding("error", field, f"{path} is not a readable parquet file: {exc!r}")], None
    out: list[Finding] = []
    prompt_key = cfg.data.prompt_key
    for column, fix in ((prompt_key, f"or set data.prompt_key (now {prompt_key!r})"),
                        ("reward_model", "holding {'ground_truth': ...}")):
        if column not in present:
            out.append(Finding("error", field, f"{path} has no {column!r} column {fix}"))
    if "reward_model" in frame.columns:
        gold = frame["reward_model"].map(
            lambda r: r.get(settings.ground_truth_key) if isinstance(r, dict) else None)
        missing = int(gold.map(lambda g: g is None or str(g).strip() == "").sum())
        if missing:
            out.append(Finding("error", field, f"{missing}/{len(frame)} rows have no reward_model."
                                               f"{settings.ground_truth_key} (the gold answer)"))
    langs = _languages(frame, settings.lang_key)
    if langs is None:
        out.append(Finding("error", field, f"{path} has no {settings.lang_key!r} column (nor extra_info."
                                           f"{settings.lang_key}); add the query language per row or set "
                                           "multiling.lang_key"))
    else:
        codes = sorted(set(langs.dropna().astype(str)))
        invalid = [c for c in codes if not ISO_639_1.match(c)]
        if invalid:
            out.append(Finding("error", field, f"language codes {invalid} are not ISO 639-1 (two lowercase letters)"))
        if langs.isna().any():
            out.append(Finding("error", field, f"{int(langs.isna().sum())} rows have no {settings.lang_key}"))
        valid = [c for c in codes if c not in invalid]
        outside = [c for c in valid if settings.languages and c not in settings.languages]
        if outside:
            out.append(Finding("warning", field, f"languages {outside} are not in multiling.languages "
                                                 f"{list(settings.languages)}; add them if they are task languages"))
        candidates = settings.detector_languages or ()
        undetectable = [c for c in valid if candidates and c not in candidates]
        if settings.language_id.backend == "lingua" and undetectable:
            out.append(Finding("error", field, f"languages {undetectable} can never match: lingua only detects "
                                               f"{list(candidates)}; add them to multiling.languages"))
        counts = langs.value_counts().to_dict()
        out.append(Finding("ok", field, f"{len(frame)} rows; languages {counts}"))
    out += check_recipe_columns(frame, cfg, settings, field, path)
    return out, frame


def data_file_summary(path: str, frame, field: str, lang_key: str) -> dict:
    """What a data file holds: its rows, rows per language (most first) and every column of its schema."""
    import pyarrow.parquet as pq

    langs = _languages(frame, lang_key)
    counts = {} if langs is None else {str(k): int(v) for k, v in langs.value_counts().items()}
    return {"field": field, "path": path, "rows": len(frame), "languages": counts,
            "columns": [c for c in pq.read_schema(os.path.expanduser(path)).names
                        if not c.startswith("__index_level_")]}  # pandas' stored index is no data column


def recipe_columns(cfg: DictConfig, settings: MultilingConfig) -> tuple[str, ...]:
    """Dataset columns :func:`check_recipe_columns` reads (they may also sit inside ``extra_info``)."""
    try:
        if settings.recipe == "tapo":
            from verl_multiling.rewards.tapo import TapoConfig

            tapo = TapoConfig.from_config(cfg)
            return tapo.reference_key, tapo.source_key
        if settings.recipe == "pb_rlsvr":
            from verl_multiling.rewards.pb_rlsvr import PbRlsvrConfig

            return (PbRlsvrConfig.from_config(cfg).pivot_key,)
    except ValueError:
        pass  # reported by check_multiling
    return ()


def check_recipe_columns(frame, cfg: DictConfig, settings: MultilingConfig, field: str, path: str) -> list[Finding]:
    """Columns a recipe needs beyond prompt/gold/language (PB-RLSVR: the pivot reference y_en; TAPO: the
    English reference of the translation step, and the source question for COMET/CometKiwi)."""
    if settings.recipe == "tapo":
        return check_tapo_columns(frame, cfg, field, path)
    if settings.recipe != "pb_rlsvr":
        return []
    from verl_multiling.rewards.pb_rlsvr import PbRlsvrConfig, check_pivot_column

    try:
        key = PbRlsvrConfig.from_config(cfg).pivot_key
    except ValueError:
        return []  # reported by check_multiling
    return [Finding(level, field, f"{path}: {message}") for level, message in check_pivot_column(frame, key)]


def check_tapo_columns(frame, cfg: DictConfig, field: str, path: str) -> list[Finding]:
    """Every row needs the texts its translation metric reads (column or extra_info key); without them r_trans
    would silently be 0 (``trans_reason=no_reference``) for the whole run."""
    from verl_multiling.rewards.tapo import TapoConfig, row_text

    try:
        tapo = TapoConfig.from_config(cfg)
    except ValueError:
        return []  # reported by check_multiling
    needed = []
    if tapo.translation.needs_reference:
        needed.append(("reference_key", tapo.reference_key, "the English question (scripts/prepare_data.py "
                                                           "--recipe tapo writes question_en)"))
    if tapo.translation.needs_source:
        needed.append(("source_key", tapo.source_key, "the question as asked"))
    out = []
    rows = frame.to_dict("records")
    for knob, key, what in needed:
        missing = sum(row_text(row, key) is None for row in rows)
        if missing:
            out.append(Finding("error", field, f"{path}: {missing}/{len(rows)} rows have no {key!r} text ({what}), "
                                               f"needed by metric={tapo.translation.metric!r}; add the column or set "
                                               f"multiling.tapo.{knob}"))
        else:
            out.append(Finding("ok", field, f"{path}: every row has {key!r}"))
    return out


def total_steps(cfg: DictConfig, n_train_rows: int | None) -> int | None:
    """T as verl's trainer computes it: trainer.total_training_steps, else epochs x batches per epoch."""
    if cfg.trainer.get("total_training_steps"):
        return int(cfg.trainer.total_training_steps)
    if not n_train_rows:
        return None
    per_epoch = n_train_rows // int(cfg.data.train_batch_size)
    return per_epoch * int(cfg.trainer.total_epochs) if per_epoch else None


def _languages(frame, key: str):
    if key in frame.columns:
        return frame[key].map(lambda v: v.strip().lower() if isinstance(v, str) and v.strip() else None)
    if "extra_info" in frame.columns:
        values = frame["extra_info"].map(lambda e: e.get(key) if isinstance(e, dict) else None)
        if values.notna().any():
            return values.map(lambda v: v.strip().lower() if isinstance(v, str) and v.strip() else None)
    return None


def check_engines(cfg: DictConfig) -> list[Finding]:
    """The training backend the config asks for, where this machine cannot import it (a note: preflight
    often runs on a CPU login node; the GPU nodes need it)."""
    import importlib.util

    strategy = str(cfg.actor_rollout_ref.actor.get("strategy") or "")
    if strategy == "megatron" and importlib.util.find_spec("megatron") is None:
        return [Finding("note", "actor_rollout_ref.actor.strategy",
                        "megatron: megatron-core is not installed here; the GPU nodes need "
                        "`pip install \"verl[megatron]==0.9.1\"`")]
    return []


def check_verl_validation(cfg: DictConfig) -> list[Finding]:
    """verl's own ``validate_config``, exactly as main_ppo runs it in the driver before Ray starts.

    Its last check (the LoRA rank vLLM supports) imports vLLM; where vLLM is not installed (CPU
    machines) that one check is skipped and said so.
    """
    import contextlib
    import importlib.util
    import io

    from omegaconf import OmegaConf, open_dict
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    copy = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
    out: list[Finding] = []
    if copy.actor_rollout_ref.rollout.get("name") == "vllm" and importlib.util.find_spec("vllm") is None:
        with open_dict(copy):
            copy.actor_rollout_ref.rollout.name = "vllm-not-installed-here"
        out.append(Finding("note", "actor_rollout_ref.rollout.name",
                           "vLLM is not installed here: its LoRA-rank check is left to the GPU run"))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            validate_config(config=copy, use_reference_policy=need_reference_policy(copy),
                            use_critic=need_critic(copy))
    except Exception as exc:  # verl raises AssertionError, ValueError, Hydra/OmegaConf errors
        cause = exc.__cause__ or exc
        message = str(cause).strip() or type(cause).__name__
        return out + [Finding("error", "verl validate_config", f"{type(cause).__name__}: {message}")]
    return out + [Finding("ok", "verl validate_config", "main_ppo's own config checks pass")]
