"""The rollout engine ``actor_rollout_ref.rollout.name``: importable on this machine, or said why not.

verl imports the engine (vLLM, SGLang, TensorRT-LLM) only inside the rollout workers, after Ray has started
and the models have loaded, so a machine without it used to fail minutes into a run. Two readings:

* at the start of ``main_ppo`` (``at_startup=True``): an engine that is not importable here is an error
  (training needs it, and a GPU), pointing to ``verl-multiling smoke +recipe=X`` for a CPU run;
* in ``verl-multiling preflight`` (``at_startup=False``): a warning, since preflight usually runs on a CPU
  login node while the GPU nodes have the engine.

``hf_cpu`` is ours: the transformers rollout of the CPU backend, registered only under ``VERL_PLATFORM=cpu``
(``verl-multiling smoke`` sets it). A name no engine registry knows is an error in both.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from verl_multiling.config.confnode import node_get as _get
from verl_multiling.preflight.findings import Finding

FIELD = "actor_rollout_ref.rollout.name"
#: engine name -> (module it imports, install line for the GPU nodes; docs/install.md)
ENGINES: dict[str, tuple[str, str]] = {
    "vllm": ("vllm", 'pip install "verl[vllm]==0.9.1"'),
    "sglang": ("sglang", 'pip install "verl[sglang]==0.9.1"'),
    "trtllm": ("tensorrt_llm", "install TensorRT-LLM (the tensorrt_llm package) for your CUDA version"),
}
# verl_multiling.cpu.cpu_platform.ROLLOUT_NAME / PLATFORM_NAME; not imported here, because importing the CPU
# backend registers the cpu platform, which a GPU node must never do (tests/test_contract.py pins the names)
HF_CPU = "hf_cpu"
CPU_PLATFORM = "cpu"


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken parent package, or a module with no spec
        return False


def _known_engines() -> list[str]:
    try:
        from verl.workers.rollout.replica import RolloutReplicaRegistry

        return sorted({*RolloutReplicaRegistry._registry, *ENGINES, HF_CPU})
    except Exception:  # verl moved it: fall back to the names we know
        return sorted({*ENGINES, HF_CPU})


def check_rollout_engine(cfg: Any, at_startup: bool) -> list[Finding]:
    """Whether the rollout engine the config names can be imported here (module docstring)."""
    name = str(_get(_get(_get(cfg, "actor_rollout_ref", None), "rollout", None), "name", ""))
    recipe = _get(_get(cfg, "multiling", None), "recipe", None) or "adamame"
    level = "error" if at_startup else "warning"
    smoke = f"`verl-multiling smoke +recipe={recipe}` trains the recipe on CPU (hf_cpu rollout, a tiny model)"
    if name == HF_CPU:
        if os.environ.get("VERL_PLATFORM", "").strip().lower() == CPU_PLATFORM:
            return [Finding("ok", FIELD, f"{HF_CPU}: the CPU backend's rollout (VERL_PLATFORM=cpu)")]
        return [Finding(level, FIELD, f"{HF_CPU} is the CPU smoke backend's rollout and exists only under "
                                      f"VERL_PLATFORM=cpu: {smoke} and sets it; for training on GPUs use vllm")]
    if name not in ENGINES:
        known = _known_engines()
        if name in known:  # registered by another plugin: its import is its own business
            return []
        return [Finding("error", FIELD, f"{name!r} is not a rollout engine verl knows: choose one of "
                                        f"{', '.join(known)}")]
    module, install = ENGINES[name]
    if _importable(module):
        return [Finding("ok", FIELD, f"{name} is importable here")]
    if at_startup:
        return [Finding("error", FIELD, f"{name}: training needs the {name} rollout engine and a GPU, and {module!r} "
                                        f"is not importable here. On the GPU nodes: {install} (docs/install.md). "
                                        f"For a CPU run, {smoke}")]
    return [Finding("warning", FIELD, f"{name} is not importable here: training needs it and a GPU ({install} on the "
                                      f"GPU nodes, docs/install.md); main_ppo stops at its startup check on a machine "
                                      f"without it. For a CPU run, {smoke}")]
