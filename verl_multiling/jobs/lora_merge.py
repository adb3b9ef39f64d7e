r"""Merge a LoRA adapter into its base model's weights and save a plain Hugging Face model.

Stage 1 of AdaMame ends, in the authors' released runs, with the SFT LoRA merged into the base model
(LLaMA-Factory's ``export``); stage 2 then trains a fresh LoRA on the merged weights. verl's own model
merger (``python -m verl.model_merger merge --backend fsdp``) turns an FSDP checkpoint into the base
weights plus ``lora_adapter/`` (PEFT format) but does not fold the adapter in; this module does that last
step with PEFT's ``merge_and_unload``. For every adapted linear layer with rank r and scale α:

    W' = W + (α / r) · B A        (A: r × d_in, B: d_out × r; no LoRA dropout at merge time)

The merge runs in float32 and the result is saved in ``--dtype`` (default: the dtype the base config
names, bfloat16 for verl's merger output). The tokenizer and generation config travel along.

    python -m verl_multiling.jobs.lora_merge --model MERGED_HF --adapter MERGED_HF/lora_adapter --out MERGED
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Sequence

__all__ = ["check_adapter", "check_finite", "main", "merge_lora"]

_DTYPES = ("bfloat16", "float16", "float32")


def check_adapter(adapter_dir: str | Path) -> dict:
    """The adapter's PEFT config, checked: ``r`` a positive integer, ``lora_alpha`` a positive finite number.

    verl's merger writes ``lora_alpha = 0`` when the checkpoint has no ``lora_train_meta.json``; merging
    that would silently add nothing, so it is an error here. JSON also admits ``Infinity`` and ``NaN``: a
    scale alpha / r that is not finite would make every adapted weight non-finite.

    Raises:
        FileNotFoundError: no ``adapter_config.json`` / weights in ``adapter_dir``.
        ValueError: ``adapter_config.json`` not a JSON object, or a missing, non-positive or non-finite
            ``r`` or ``lora_alpha`` (naming the field, the file and the fix).
    """
    adapter_dir = Path(adapter_dir)
    config_path = adapter_dir / "adapter_config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"--adapter {adapter_dir}: no adapter_config.json (verl's model merger writes "
                                "it to <target_dir>/lora_adapter when the checkpoint has LoRA weights)")
    if not any((adapter_dir / name).is_file() for name in ("adapter_model.safetensors", "adapter_model.bin")):
        raise FileNotFoundError(f"--adapter {adapter_dir}: no adapter_model.safetensors")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{config_path}: not valid JSON ({exc}); write it again from the training run's LoRA "
                         "settings (PEFT's LoraConfig.save_pretrained, or verl's model merger)") from None
    if not isinstance(config, dict):
        raise ValueError(f"{config_path}: holds a JSON {type(config).__name__}, not the adapter's config object "
                         "({\"r\": ..., \"lora_alpha\": ..., ...}); write the object PEFT saves")
    fixes = {"r": "the LoRA rank the adapter was trained with (e.g. \"r\": 16)",
             "lora_alpha": "the training run's value (e.g. \"lora_alpha\": 16). verl's merger sets lora_alpha=0 "
                           "when the checkpoint lacks lora_train_meta.json: write the value there and merge again"}
    for field in ("r", "lora_alpha"):
        value = config.get(field)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if field == "r":
            valid = number and isinstance(value, int) and value > 0
            want = "a positive integer"
        else:
            valid = number and math.isfinite(value) and value > 0
            want = "a positive finite number"
        if not valid:
            raise ValueError(f"{config_path}: '{field}' is {value!r}; it must be {want}. Write {fixes[field]}")
    return config


def check_finite(model, dtype: str) -> None:
    """Every parameter and buffer of the merged model is finite (after the cast to ``dtype``).

    Raises:
        ValueError: naming the tensors with non-finite values (how many of how many); nothing is written.
    """
    import torch

    bad = []
    for name, tensor in list(model.state_dict().items()):
        if tensor.is_floating_point():
            finite = torch.isfinite(tensor)
            if not bool(finite.all()):
                bad.append(f"{name} ({int((~finite).sum())}/{finite.numel()} non-finite)")
    if bad:
        more = f" and {len(bad) - 5} more tensors" if len(bad) > 5 else ""
        raise ValueError(f"the merged weights are not finite in {dtype}: {', '.join(bad[:5])}{more}. Nothing was "
                         "written. Check the base model's weights and the adapter's weights and lora_alpha / r; "
                         "if the values only overflow in float16, merge with --dtype bfloat16 or float32")


def _load_error(flag: str, path: Path, exc: Exception) -> ValueError:
    cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ValueError(f"{flag} {path}: could not be loaded ({cause}); pass the directory verl's model merger "
                      "wrote (--target_dir) and its lora_adapter/")


def merge_lora(model_dir: str | Path, adapter_dir: str | Path, out_dir: str | Path,
               dtype: str | None = None) -> Path:
    """Fold ``adapter_dir`` into the model in ``model_dir`` and save it, tokenizer included, to ``out_dir``.

    Returns ``out_dir``. Raises as :func:`check_adapter` and :func:`check_finite`; ``ValueError`` for an
    unknown ``dtype``, a ``model_dir`` that is not a model directory, or an ``out_dir`` that cannot be
    written (checked before loading anything).
    """
    from verl_multiling.evaluation.generate import check_model_reachable
    from verl_multiling.plumbing.output_files import check_output_dir

    check_adapter(adapter_dir)
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    text = str(model_dir)
    if not model_dir.expanduser().is_dir() and (model_dir.exists() or model_dir.is_absolute()
                                                or text.startswith((".", "~")) or text.count("/") > 1):
        why = "a file" if model_dir.exists() else "not found"
        raise ValueError(f"--model {model_dir} is not a directory ({why}); give the base model's directory "
                         "(verl's model merger's --target_dir)")
    try:
        check_model_reachable(text)  # a local directory with config.json, or a cached hub name
    except ConnectionError as exc:
        raise ValueError(f"--model {model_dir} is not a directory; give the base model's directory (verl's "
                         f"model merger's --target_dir). As a hub name: {exc}") from None
    check_output_dir(out_dir, "--out")
    import torch
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    if dtype is None:
        try:
            config = AutoConfig.from_pretrained(str(model_dir))
        except (OSError, ValueError) as exc:
            raise _load_error("--model", model_dir, exc) from exc
        configured = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
        dtype = str(configured).removeprefix("torch.") if configured is not None else "bfloat16"
    if dtype not in _DTYPES:
        raise ValueError(f"--dtype must be one of {list(_DTYPES)}, got {dtype!r}")
    try:
        base = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise _load_error("--model", model_dir, exc) from exc
    try:
        merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise _load_error("--adapter", Path(adapter_dir), exc) from exc
    merged = merged.to(getattr(torch, dtype))
    check_finite(merged, dtype)
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
    parser = argparse.ArgumentParser(prog="python -m verl_multiling.jobs.lora_merge", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="base model directory (verl merger's --target_dir)")
    parser.add_argument("--adapter", required=True, help="PEFT adapter directory (<target_dir>/lora_adapter)")
    parser.add_argument("--out", required=True, help="output directory of the merged model")
    parser.add_argument("--dtype", default=None, choices=_DTYPES, help="saved dtype (default: the base config's)")
    args = parser.parse_args(argv)
    try:
        out = merge_lora(args.model, args.adapter, args.out, args.dtype)
    except (ValueError, OSError) as exc:  # OSError: FileNotFoundError, ConnectionError (an offline hub name), a write
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"merged {args.adapter} into {args.model} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
