"""verl's rollout interfaces for the CPU server: a ``RolloutReplica`` and a ``BaseRollout`` adapter.

- :class:`HFCpuReplica` (verl's ``RolloutReplicaRegistry`` name ``hf_cpu``) starts one
  :class:`~verl_multiling.cpu.server.HFRolloutServer` actor per replica, on the node of the replica's
  first training worker, named ``hf_cpu_server_<replica>_0`` so the adapter can find it.
- :class:`HFServerAdapter` (``_ROLLOUT_REGISTRY[("hf_cpu", "async")]``) lives in each training worker:
  verl calls its ``update_weights`` after every actor update with a generator of ``(name, tensor)``;
  the adapter materialises the tensors on CPU and hands them to the server in one Ray call (the
  server merges LoRA adapters, see :mod:`verl_multiling.cpu.weights`). ``resume``/``release`` are
  no-ops: a CPU server has no device memory to free.
"""

from __future__ import annotations

import os
from typing import Any

import ray
import torch
from verl.workers.rollout.base import BaseRollout
from verl.workers.rollout.replica import RolloutReplica

from verl_multiling.cpu.cpu_platform import ROLLOUT_NAME
from verl_multiling.cpu.server import HFRolloutServer


def server_actor_name(replica_rank: int, node_rank: int = 0) -> str:
    return f"{ROLLOUT_NAME}_server_{replica_rank}_{node_rank}"


class HFCpuReplica(RolloutReplica):
    """One CPU rollout server per replica (tensor/pipeline parallel size 1 only)."""

    async def launch_servers(self) -> None:
        if self.world_size != 1:
            raise ValueError(
                f"the {ROLLOUT_NAME} rollout serves one process per replica: set "
                "actor_rollout_ref.rollout.tensor_model_parallel_size=1 (and data/pipeline parallel size 1); "
                f"got world size {self.world_size}"
            )
        scheduling: dict[str, Any] = {}
        if self.workers:
            node_id = await self.workers[0].__ray_call__.remote(lambda w: ray.get_runtime_context().get_node_id())
            scheduling["scheduling_strategy"] = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
                node_id=node_id, soft=False
            )
        name = server_actor_name(self.replica_rank) + self.name_suffix
        server = ray.remote(HFRolloutServer).options(
            name=name, num_cpus=0, max_concurrency=self.max_concurrency,
            runtime_env={"env_vars": {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}},
            **scheduling,
        ).remote(config=self.config, model_config=self.model_config, replica_rank=self.replica_rank)
        await server.get_stats.remote()  # surfaces a model-loading error here, not at the first request
        self.servers = [server]
        self._server_handle = server
        self._server_address = f"{ROLLOUT_NAME}://{name}"

    def rollout_worker_use_gpu(self) -> bool:
        return False


class HFServerAdapter(BaseRollout):
    """The training worker's handle on its replica's CPU server (weight sync and control)."""

    def __init__(self, config: Any, model_config: Any, device_mesh: Any, replica_rank: int = -1) -> None:
        super().__init__(config, model_config, device_mesh)
        rank = int(os.environ.get("RANK", "0"))
        self.replica_rank = rank if replica_rank == -1 else replica_rank
        self._server = None

    @property
    def server(self):
        if self._server is None:
            self._server = ray.get_actor(server_actor_name(self.replica_rank))
        return self._server

    async def resume(self, tags: list[str]) -> None:
        return None

    async def release(self) -> None:
        return None

    @torch.no_grad()
    async def update_weights(self, weights, global_steps: int | None = None, wire_format: str = "named_tensors",
                             peft_config: dict | None = None, base_sync_done: bool = True, **kwargs: Any) -> None:
        if wire_format != "named_tensors":
            raise NotImplementedError(f"the {ROLLOUT_NAME} rollout takes wire_format='named_tensors', got {wire_format!r}")
        named = {}
        for name, tensor in weights:
            if hasattr(tensor, "full_tensor"):
                tensor = tensor.full_tensor()
            named[name] = tensor.detach().to("cpu").contiguous()
        await self.server.update_weights.remote(named, peft_config=peft_config, global_steps=global_steps)

    def generate_sequences(self, prompts):
        raise NotImplementedError("verl 0.9.1 generates through the rollout server (agent loop), not this adapter")
