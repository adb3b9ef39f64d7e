"""verl's weight-sync stream -> a transformers state dict (pure functions over names and tensors).

verl's hybrid engine sends the actor's weights to the rollout after each update in one of two forms:

- full tensors under Hugging Face names (full fine-tuning, or LoRA with ``model.lora.merge=true``);
- with LoRA (the default), once the base weights, whose adapted layers are named
  ``<module>.base_layer.weight``, then at every sync only the adapters, named
  ``base_model.model.<module>.lora_A.weight`` / ``lora_B.weight``, with the PEFT config.

The rollout model needs ``W = W_base + s * B @ A`` for each adapted module, with s = alpha / r
(or alpha / sqrt(r) for rsLoRA). The base weights are kept apart, so repeated syncs never merge twice.

>>> import torch
>>> base = {"m.weight": torch.zeros(2, 2)}
>>> adapters = {"m.lora_A.weight": torch.ones(1, 2), "m.lora_B.weight": torch.ones(2, 1)}
>>> merge_lora(base, adapters, scale=0.5)["m.weight"].tolist()
[[0.5, 0.5], [0.5, 0.5]]
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import torch

_PEFT_PREFIX = "base_model.model."
_LORA = re.compile(r"^(?P<module>.+)\.lora_(?P<which>[AB])(?:\.[A-Za-z0-9_]+)?\.weight$")


def hf_name(name: str) -> str:
    """A weight name as the plain transformers model knows it (PEFT prefix and ``.base_layer`` removed)."""
    if name.startswith(_PEFT_PREFIX):
        name = name[len(_PEFT_PREFIX):]
    return name.replace(".base_layer.", ".")


def lora_scale(peft_config: Any) -> float:
    """s = alpha / r, or alpha / sqrt(r) with rsLoRA; ``peft_config`` is a PEFT LoraConfig or a mapping."""
    get = peft_config.get if isinstance(peft_config, Mapping) else lambda k, d=None: getattr(peft_config, k, d)
    r, alpha = get("r"), get("lora_alpha")
    if not r or alpha is None:
        raise ValueError(f"LoRA weights arrived with a PEFT config without r/lora_alpha: {peft_config!r}")
    return float(alpha) / (math.sqrt(r) if get("use_rslora", False) else float(r))


def split_adapters(named: Iterable[tuple[str, torch.Tensor]]) -> tuple[dict, dict]:
    """(plain weights by HF name, LoRA A/B by ``<hf module>.lora_A|B.weight``)."""
    plain, adapters = {}, {}
    for name, tensor in named:
        match = _LORA.match(name)
        if match:
            adapters[f"{hf_name(match['module'])}.lora_{match['which']}.weight"] = tensor
        else:
            plain[hf_name(name)] = tensor
    return plain, adapters


def merge_lora(base: Mapping[str, torch.Tensor], adapters: Mapping[str, torch.Tensor], scale: float) -> dict:
    """``{<module>.weight: W_base + scale * B @ A}`` for every adapted module; other weights are not returned."""
    merged = {}
    for key, a in adapters.items():
        if not key.endswith(".lora_A.weight"):
            continue
        module = key[: -len(".lora_A.weight")]
        b = adapters.get(f"{module}.lora_B.weight")
        if b is None:
            raise ValueError(f"LoRA update has {key} but no {module}.lora_B.weight")
        target = f"{module}.weight"
        if target not in base:
            raise KeyError(f"LoRA update for {module!r}, which the rollout model does not have")
        w = base[target]
        merged[target] = (w.float() + scale * (b.float() @ a.float())).to(w.dtype)
    return merged
