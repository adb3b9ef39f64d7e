"""Register the CPU backend's verl-side pieces (imported by :mod:`verl_multiling.register` under ``VERL_PLATFORM=cpu``).

- verl's FSDP engines for ``device="cpu"`` (verl registers them for cuda and npu only);
- the ``hf_cpu`` rollout: ``RolloutReplicaRegistry`` (public) and ``_ROLLOUT_REGISTRY`` (private; pinned
  by ``tests/test_cpu_backend.py`` so that a verl upgrade that moves it fails loudly).
"""

from __future__ import annotations

from verl.workers.engine import EngineRegistry
from verl.workers.engine.fsdp.transformer_impl import FSDPEngineWithLMHead, FSDPEngineWithValueHead
from verl.workers.rollout import base as rollout_base
from verl.workers.rollout.replica import RolloutReplicaRegistry

from verl_multiling.cpu.cpu_platform import PLATFORM_NAME, ROLLOUT_NAME

ADAPTER_PATH = "verl_multiling.cpu.rollout.HFServerAdapter"


def _load_replica():
    from verl_multiling.cpu.rollout import HFCpuReplica

    return HFCpuReplica


def register_cpu_backends() -> None:
    """Idempotent: safe in every process that imports verl."""
    for model_type, engine in (("language_model", FSDPEngineWithLMHead), ("value_model", FSDPEngineWithValueHead)):
        if PLATFORM_NAME not in EngineRegistry._engines.get(model_type, {}).get("fsdp2", {}):
            EngineRegistry.register(model_type=model_type, backend=["fsdp", "fsdp2"], device=PLATFORM_NAME)(engine)
    RolloutReplicaRegistry.register(ROLLOUT_NAME, _load_replica)
    rollout_base._ROLLOUT_REGISTRY[(ROLLOUT_NAME, "async")] = ADAPTER_PATH


register_cpu_backends()
