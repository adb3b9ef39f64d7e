"""A CPU backend for verl 0.9.1, so that real ``main_ppo`` training steps run without a GPU.

Activate it in every process of a run with verl's own hook for external modules::

    VERL_USE_EXTERNAL_MODULES=verl_multiling.cpu VERL_PLATFORM=cpu python -m verl.trainer.main_ppo ...

(``verl-multiling smoke`` sets both, and the overrides listed in :mod:`verl_multiling.smoke.overrides`).
Nothing here is imported on a GPU node unless asked for: :mod:`verl_multiling.register` imports the
verl-side registrations (:mod:`verl_multiling.cpu.backends`) only when the ``cpu`` platform is active.

Pieces, bottom up:

- :mod:`~verl_multiling.cpu.sampling`: pure torch sampling (temperature, top-k, top-p) and log-probs.
- :mod:`~verl_multiling.cpu.weights`: pure functions that turn verl's weight-sync stream (full tensors,
  or a LoRA base followed by adapters) into a state dict, merging ``W + (alpha/r) B A``.
- :mod:`~verl_multiling.cpu.cpu_platform`: verl's platform interface for ``cpu`` (device module, gloo, a
  fake Ray ``GPU`` resource so verl's placement groups can be built).
- :mod:`~verl_multiling.cpu.server`: the rollout server, a Ray actor that serves verl's token-in/token-out
  ``generate`` from a transformers model, batching concurrent requests.
- :mod:`~verl_multiling.cpu.rollout`: verl's ``RolloutReplica`` and ``BaseRollout`` adapters for it.
- :mod:`~verl_multiling.cpu.backends`: registration into verl's engine and rollout registries.
"""

from verl_multiling.cpu.cpu_platform import PLATFORM_NAME, ROLLOUT_NAME, PlatformCPU, cpu_platform_requested

__all__ = ["PLATFORM_NAME", "ROLLOUT_NAME", "PlatformCPU", "cpu_platform_requested"]
