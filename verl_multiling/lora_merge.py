r"""Merge a LoRA adapter into its base model's weights and save a plain Hugging Face model.

Stage 1 of AdaMame ends, in the authors' released runs, with the SFT LoRA merged into the base model
(LLaMA-Factory's ``export``); stage 2 then trains a fresh LoRA on the merged weights. verl's own model
merger (``python -m verl.model_merger merge --backend fsdp``) turns an FSDP checkpoint into the base
weights plus ``lora_adapter/`` (PEFT format) but does not fold the adapter in; this module does that last
step with PEFT's ``merge_and_unload``. For every adapted linear layer with rank r and scale α:

    W' = W + (α / r) · B A        (A: r × d_in, B: d_out × r; no LoRA dropout at merge time)

The merge runs in float32 and the result is saved in ``--dtype`` (default: the dtype the base config
names, bfloat16 for verl's merger output). The tokenizer and generation config travel along.

    python -m verl_multiling.lora_merge --model MERGED_HF --adapter MERGED_HF/lora_adapter --out MERGED
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

__all__ = ["check_adapter", "main", "merge_lora"]

_DTYPES = ("bfloat16", "float16", "float32")


def check_adapter(adapter_dir: str | Path) -> dict:
    """The adapter's PEFT config, checked: rank > 0 and alpha > 0.

    verl's merger writes ``lora_alpha = 0`` when the checkpoint has no ``lora_train_meta.json``; merging
    that would silently add nothing, so it is an error here.

    Raises:
        FileNotFoundError: no ``adapter_config.json`` / weights in ``adapter_dir``.
        ValueError: a missing or non-positive ``r`` or ``lora_alpha`` (naming the field and the fix).
    """
    adapter_dir = Path(adapter_dir)
    config_path = adapter_dir / "adapter_config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"--adapter {adapter_dir}: no adapter_config.json (verl's model merger writes "
                                "it to <target_dir>/lora_adapter when the checkpoint has LoRA weights)")
    if not any((adapter_dir / name).is_file() for name in ("adapter_model.safetensors", "adapter_model.bin")):
        raise FileNotFoundError(f"--adapter {adapter_dir}: no adapter_model.safetensors")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    for field in ("r", "lora_alpha"):
        value = config.get(field)
        if not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(
                f"{config_path}: '{field}' is {value!r}; it must be positive. verl's merger sets lora_alpha=0 "
                "when the checkpoint lacks lora_train_meta.json: write the training run's value there "
                "(e.g. \"lora_alpha\": 16) and merge again"
            )
    return config


def merge_lora(model_dir: str | Path, adapter_dir: str | Path, out_dir: str | Path,
               dtype: str | None = None) -> Path:
    """Fold ``adapter_dir`` into the model in ``model_dir`` and save it, tokenizer included, to ``out_dir``.

    Returns ``out_dir``. Raises as :func:`check_adapter`, and ``ValueError`` for an unknown ``dtype``.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    check_adapter(adapter_dir)
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if dtype is None:
        config = AutoConfig.from_pretrained(str(model_dir))
        configured = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
        dtype = str(configured).removeprefix("torch.") if configured is not None else "bfloat16"
    if dtype not in _DTYPES:
        raise ValueError(f"--dtype must be one of {list(_DTYPES)}, got {dtype!r}")
    base = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged = merged.to(getattr(torch, dtype))
    out_dir.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out_dir))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    except (OSError, ValueError):
        tokenizer = None
    if tokenizer is not None:
        tokenizer.save_pretrained(str(out_dir))
    return out_dir


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m verl_multiling.lora_merge", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="base model directory (verl merger's --target_dir)")
    parser.add_argument("--adapter", required=True, help="PEFT adapter directory (<target_dir>/lora_adapter)")
    parser.add_argument("--out", required=True, help="output directory of the merged model")
    parser.add_argument("--dtype", default=None, choices=_DTYPES, help="saved dtype (default: the base config's)")
    args = parser.parse_args(argv)
    try:
        out = merge_lora(args.model, args.adapter, args.out, args.dtype)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"merged {args.adapter} into {args.model} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
