"""verl's platform interface for plain CPUs (registered as ``VERL_PLATFORM=cpu``).

verl 0.9.1 resolves its platform lazily (``verl.plugin.platform.get_platform``) and falls back to
``nvidia`` when no accelerator is found, so a CPU run needs a registered ``cpu`` platform whose answers
keep verl's CUDA-shaped code paths working:

- ``device_name`` is ``"cpu"`` and ``current_device()`` is ``"cpu"`` (not ``0``: verl moves tensors with
  ``.to(get_device_id())``, and ``.to(0)`` means ``cuda:0``).
- ``device_module`` answers the ``torch.cuda`` calls verl makes (memory statistics, ``empty_cache``,
  streams, RNG state) with CPU equivalents: :class:`CpuDeviceModule`.
- ``ray_resource_name()`` is ``"GPU"``: verl builds its placement groups with ``use_gpu=True``, so the
  smoke run starts Ray with ``num_gpus=1``, a fake resource that only reserves a slot.
- ``communication_backend_name()`` is ``"gloo"``. verl's worker init builds the backend string
  ``"cpu:gloo,{device}:{backend}"``, which for ``cpu`` names the CPU twice and torch rejects it; verl
  skips its own init when a process group exists, so :func:`init_gloo_process_group` creates one first
  in every verl worker process (those started with ``WG_BACKEND=ray`` and a rank).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import timedelta
from types import ModuleType
from typing import Any

import torch
from verl.plugin.platform import PlatformBase, PlatformRegistry

PLATFORM_NAME = "cpu"
ROLLOUT_NAME = "hf_cpu"
"""``actor_rollout_ref.rollout.name`` of the transformers rollout server (:mod:`verl_multiling.cpu.server`)."""

_RANK_ENV = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def cpu_platform_requested() -> bool:
    """True when this process runs with ``VERL_PLATFORM=cpu``."""
    return os.environ.get("VERL_PLATFORM", "").strip().lower() == PLATFORM_NAME


class CpuDeviceModule(ModuleType):
    """The subset of ``torch.cuda`` that verl calls through ``get_torch_device()``, answered for a CPU.

    Memory figures are 0 (a CPU process has no device pool); ``mem_get_info`` reports the host's free and
    total memory so verl's memory logs stay meaningful.
    """

    Stream = torch.cpu.Stream
    Event = torch.cpu.Event
    stream = staticmethod(torch.cpu.stream)
    current_stream = staticmethod(torch.cpu.current_stream)
    synchronize = staticmethod(torch.cpu.synchronize)

    def __init__(self) -> None:
        super().__init__("verl_multiling.cpu.device")

    @staticmethod
    def is_available() -> bool:
        return True

    @staticmethod
    def is_initialized() -> bool:
        return True

    @staticmethod
    def device_count() -> int:
        return 1

    @staticmethod
    def current_device() -> str:
        return "cpu"

    @staticmethod
    def set_device(device: Any) -> None:
        return None

    @staticmethod
    def get_device_name(device: Any = None) -> str:
        return "cpu"

    @staticmethod
    def empty_cache() -> None:
        return None

    @staticmethod
    def ipc_collect() -> None:
        return None

    @staticmethod
    def set_per_process_memory_fraction(fraction: float, device: Any = None) -> None:
        return None

    @staticmethod
    def reset_peak_memory_stats(device: Any = None) -> None:
        return None

    @staticmethod
    def memory_allocated(device: Any = None) -> int:
        return 0

    max_memory_allocated = memory_allocated
    memory_reserved = memory_allocated
    max_memory_reserved = memory_allocated

    @staticmethod
    def mem_get_info(device: Any = None) -> tuple[int, int]:
        page = os.sysconf("SC_PAGE_SIZE")
        return os.sysconf("SC_AVPHYS_PAGES") * page, os.sysconf("SC_PHYS_PAGES") * page

    @staticmethod
    def get_rng_state(device: Any = None) -> torch.Tensor:
        return torch.get_rng_state()

    @staticmethod
    def set_rng_state(state: torch.Tensor, device: Any = None) -> None:
        torch.set_rng_state(state)

    @staticmethod
    def manual_seed(seed: int) -> None:
        torch.manual_seed(seed)

    manual_seed_all = manual_seed


DEVICE_MODULE = CpuDeviceModule()


@PlatformRegistry.register(platform=PLATFORM_NAME)
class PlatformCPU(PlatformBase):
    """verl platform ``cpu``: selected only by ``VERL_PLATFORM=cpu`` (never auto-detected)."""

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> ModuleType:
        return DEVICE_MODULE

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check: bool = False) -> bool:
        # auto-detection probes every registered platform; a CPU is always there, so never claim the
        # machine unless asked for by name (VERL_PLATFORM=cpu picks this class without probing).
        return False

    def current_device(self) -> str:  # type: ignore[override]  (verl passes it to .to(); 0 would mean cuda:0)
        return "cpu"

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        return None

    def synchronize(self, device_index: int | None = None) -> None:
        return None

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        return None

    def empty_cache(self) -> None:
        return None

    def get_device_capability(self, device_index: int = 0) -> tuple[int | None, int | None]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        return "CUDA_VISIBLE_DEVICES"

    def ray_resource_name(self) -> str:
        return "GPU"

    def ray_noset_envvars(self) -> list[str]:
        return []

    def is_ipc_supported(self) -> bool:
        return False

    @contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        return None

    def profiler_stop(self) -> None:
        return None

    def cudart(self) -> Any:
        return None


def init_gloo_process_group(environ: dict[str, str] | None = None) -> bool:
    """Create the default gloo process group in a verl worker process, if this is one and it has none.

    verl's ``initialize_global_process_group_ray`` then finds a group and keeps it. Returns True when a
    group was created here.
    """
    env = os.environ if environ is None else environ
    if env.get("WG_BACKEND") != "ray" or any(k not in env for k in _RANK_ENV):
        return False
    import torch.distributed as dist

    if dist.is_initialized():
        return False
    dist.init_process_group(
        backend="gloo",
        init_method=f"tcp://{env['MASTER_ADDR']}:{env['MASTER_PORT']}",
        rank=int(env["RANK"]),
        world_size=int(env["WORLD_SIZE"]),
        timeout=timedelta(minutes=30),
    )
    return True


if cpu_platform_requested():
    init_gloo_process_group()
