"""Config and data checks. Each returns findings; an error names the field and the fix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig

from verl_multiling.bridge.per_sample import BRIDGE_TRAINER_MODES, accepted_kwargs
from verl_multiling.config.multiling import MultilingConfig
from verl_multiling.config.knobs import RECIPES  # noqa: F401  (re-exported: preflight and tests read it here)
from verl_multiling.preflight.findings import ISO_639_1, Finding  # noqa: F401  (re-exported)
from verl_multiling.config.schema import split_message

# verl's placeholder train file: present when the user gave no data
VERL_DEFAULT_TRAIN_FILE = "~/data/rlhf/gsm8k/train.parquet"


def check_registration() -> list[Finding]:
    """Runs what the verl entry point (``verl_multiling.register``) runs. verl swallows the entry point's
    exception and a failed import leaves no module behind, so repeating the registration meets the same error."""
    try:
        import verl_multiling.reward_managers  # noqa: F401  (registers everything: bridge/registration.py)
    except Exception as exc:  # registration raised: report it as the first thing users see
        return [Finding("error", "plugin", f"verl_multiling failed to register: {exc!r}; reinstall the package")]
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
    found = _task_function_signature(fn, name, path, cfg)
    if found:
        return found
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


#: the keywords verl's reward loop calls ``reward.custom_reward_function`` with (besides its reward_kwargs)
TASK_CALL = ("data_source", "solution_str", "ground_truth", "extra_info")


def _task_function_signature(fn: Any, name: str, path: str, cfg: DictConfig) -> list[Finding]:
    """verl wraps the loaded object in ``partial(_call_with_kwargs, raw, reward_kwargs)``, which is callable
    whatever ``raw`` is: check ``raw`` itself is a function that accepts verl's call."""
    import functools
    import inspect

    field = "reward.custom_reward_function"
    raw = fn.args[0] if isinstance(fn, functools.partial) and fn.args else fn
    if not callable(raw):
        return [Finding("error", f"{field}.name", f"{name!r} in {path!r} is of type {type(raw).__name__} "
                                                  f"({_short(raw)}), not a function: name a function "
                                                  "(data_source, solution_str, ground_truth, extra_info) -> float "
                                                  "| {'score': float, ...}")]
    node = cfg.reward.get("custom_reward_function") or {}
    kwargs = {key: None for key in TASK_CALL}
    kwargs.update({str(k): None for k in (node.get("reward_kwargs") or {})})
    try:
        signature = inspect.signature(raw)
    except (TypeError, ValueError):  # a builtin without a signature: verl's call is tried in training
        return []
    try:
        signature.bind(**kwargs)
    except TypeError as exc:
        return [Finding("error", field, f"{name}{signature} from {path!r} cannot take verl's call "
                                        f"{name}({', '.join(f'{k}=...' for k in kwargs)}): {exc}; accept those "
                                        "keywords (or **kwargs)")]
    return []


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_multiling(cfg: DictConfig) -> tuple[MultilingConfig | None, list[Finding]]:
    """Every knob of the plugin (``multiling.*``, ``algorithm.adamame``, ``algorithm.tapo``: the schema of
    :mod:`verl_multiling.config.knobs`, read once), then each recipe node's cross-field rules; one finding per error.

    The settings returned are built from the valid knobs (defaults where a knob is bad), so the data checks
    still run and report their own errors beside these.
    """
    from verl_multiling.config.knobs import MULTILING, read_config

    values, errors = read_config(cfg)
    out = [Finding("error", field, message) for field, message in errors]
    settings = MultilingConfig.from_values(values["multiling"] or MULTILING.defaults())
    for root in ("algorithm.adamame", "algorithm.tapo"):  # the estimators' nodes: read above, with the rest
        if values[root] is not None and not any(f.field.startswith(root + ".") for f in out):
            out.append(Finding("ok", root, "valid"))
    for node, reader in _recipe_nodes(cfg):
        try:
            reader(cfg)
        except (ValueError, TypeError) as exc:
            for message in getattr(exc, "errors", None) or [str(exc)]:
                field, text = split_message(message)
                out.append(Finding("error", field or f"multiling.{node}", text))
    out = dedupe(out)
    if not any(f.level == "error" for f in out):
        out.append(Finding("ok", "multiling", f"languages={list(settings.languages)}, "
                                              f"language_id={settings.language_id.backend}"))
    return settings, out


def dedupe(findings: list[Finding]) -> list[Finding]:
    """Findings in order, each (field, message) once (a knob's error can come from the schema and its reader)."""
    seen, out = set(), []
    for finding in findings:
        key = (finding.level, finding.field, finding.message)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


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
