"""Stage 1's LoRA merge: verl's own model merger on an FSDP checkpoint, then the adapter folded in.

The checkpoint is laid out as verl's FSDP checkpoint manager writes one on a single rank
(``model_world_size_1_rank_0.pt`` holding the PEFT-wrapped model's state dict, ``fsdp_config.json``,
``huggingface/`` and ``lora_train_meta.json``), for a tiny random Qwen2 with a LoRA whose B is not zero.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def lora_checkpoint(tmp_path_factory, tokenizer_dir):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoTokenizer, GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    root = tmp_path_factory.mktemp("sft_ckpt")
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    torch.manual_seed(0)
    config = Qwen2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=(len(tokenizer) + 63) // 64 * 64,
                         tie_word_embeddings=True, max_position_embeddings=256,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         architectures=["Qwen2ForCausalLM"])
    model = get_peft_model(Qwen2ForCausalLM(config),
                           LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"))
    with torch.no_grad():  # a trained adapter: B != 0, so the merge changes the weights
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.05)
    step = root / "global_step_7"
    step.mkdir()
    torch.save(model.state_dict(), step / "model_world_size_1_rank_0.pt")
    (step / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2, "world_size": 1}))
    (step / "lora_train_meta.json").write_text(json.dumps({"r": 4, "lora_alpha": 8, "task_type": "CAUSAL_LM"}))
    config.save_pretrained(step / "huggingface")
    GenerationConfig(eos_token_id=tokenizer.eos_token_id).save_pretrained(step / "huggingface")
    tokenizer.save_pretrained(step / "huggingface")
    return step, model.eval()


def _run(*args):
    out = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.mark.slow
def test_verl_merger_then_lora_merge_gives_the_adapted_model(tmp_path, lora_checkpoint):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    step, trained = lora_checkpoint
    hf = tmp_path / "merged_hf"
    _run("verl.model_merger", "merge", "--backend", "fsdp", "--local_dir", str(step), "--target_dir", str(hf))
    adapter = json.loads((hf / "lora_adapter" / "adapter_config.json").read_text())
    assert (adapter["r"], adapter["lora_alpha"]) == (4, 8)  # from lora_train_meta.json
    merged_dir = tmp_path / "merged"
    from verl_multiling.jobs.lora_merge import main

    assert main(["--model", str(hf), "--adapter", str(hf / "lora_adapter"), "--out", str(merged_dir)]) == 0

    merged = AutoModelForCausalLM.from_pretrained(str(merged_dir), dtype=torch.float32).eval()
    assert not any("lora" in name for name in merged.state_dict())
    assert (merged_dir / "tokenizer.json").is_file()
    # the same base weights (verl's merger stores bf16) with the adapter applied on the fly
    base = AutoModelForCausalLM.from_pretrained(str(hf), dtype=torch.float32)
    adapted = PeftModel.from_pretrained(base, str(hf / "lora_adapter")).eval()
    ids = torch.tensor([[9707, 1879, 11, 1246, 525, 498, 30]])
    with torch.no_grad():
        want = adapted(ids).logits
        got = merged(ids).logits
        plain = AutoModelForCausalLM.from_pretrained(str(hf), dtype=torch.float32).eval()(ids).logits
    delta = (want - plain).abs().max().item()
    error = (got - want).abs().max().item()
    print(f"adapter's effect on the logits {delta:.4f}; merged vs adapter applied on the fly {error:.2e}")
    assert delta > 1e-3, "the adapter changes the logits"
    assert error < 0.05 * delta, (error, delta)  # bf16 rounding of the merged weights only
    # and the trained model (fp32 base + adapter) agrees up to that bf16 rounding too
    with torch.no_grad():
        assert (trained(ids).logits - got).abs().max().item() < 0.05 * delta + 1e-2


def test_lora_merge_refuses_a_zero_alpha(tmp_path, lora_checkpoint):
    from verl_multiling.jobs.lora_merge import main

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 4, "lora_alpha": 0}))
    (adapter / "adapter_model.safetensors").write_bytes(b"x")
    assert main(["--model", str(tmp_path), "--adapter", str(adapter), "--out", str(tmp_path / "o")]) == 2
    assert main(["--model", str(tmp_path), "--adapter", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 2


# --- issue 22 item 5: bad adapters and paths are refused with a message; nothing non-finite is written ------


@pytest.fixture(scope="module")
def tiny_lora(tmp_path_factory):
    """A 1-layer Qwen2 (hidden 16, vocab 64) and a LoRA on q_proj whose B is not zero: merges in a second."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2Config, Qwen2ForCausalLM

    root = tmp_path_factory.mktemp("tiny_lora")
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1, vocab_size=64,
                                         tie_word_embeddings=True, max_position_embeddings=64))
    model.save_pretrained(root / "base")
    peft = get_peft_model(model, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj"]))
    with torch.no_grad():
        for name, param in peft.named_parameters():
            if "lora_B" in name:
                param.normal_()
    peft.save_pretrained(root / "adapter")
    return root / "base", root / "adapter"


def _adapter_with(tmp_path, adapter, config_text: str):
    import shutil

    copy = tmp_path / "adapter"
    shutil.copytree(adapter, copy)
    (copy / "adapter_config.json").write_text(config_text)
    return copy


def _config(adapter, **changes) -> str:
    config = json.loads((adapter / "adapter_config.json").read_text())
    config.update(changes)
    return json.dumps(config)  # allow_nan: Infinity / NaN as json.dumps and json.loads accept them


@pytest.mark.parametrize("changes, field, wanted", [
    ({"lora_alpha": float("inf")}, "lora_alpha", "'lora_alpha' is inf; it must be a positive finite number"),
    ({"lora_alpha": float("nan")}, "lora_alpha", "'lora_alpha' is nan; it must be a positive finite number"),
    ({"lora_alpha": -8}, "lora_alpha", "'lora_alpha' is -8; it must be a positive finite number"),
    ({"r": float("inf")}, "r", "'r' is inf; it must be a positive integer"),
    ({"r": 2.5}, "r", "'r' is 2.5; it must be a positive integer"),
    ({"r": True}, "r", "'r' is True; it must be a positive integer"),
])
def test_lora_merge_refuses_a_non_finite_or_non_positive_rank_or_alpha(tmp_path, tiny_lora, capsys, changes, field,
                                                                       wanted):
    from verl_multiling.jobs.lora_merge import main

    base, adapter = tiny_lora
    bad = _adapter_with(tmp_path, adapter, _config(adapter, **changes))
    out = tmp_path / "merged"
    assert main(["--model", str(base), "--adapter", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad / 'adapter_config.json'}: ") and wanted in err, err
    assert not out.exists()


@pytest.mark.parametrize("text, wanted", [
    ("[{\"r\": 2, \"lora_alpha\": 4}]", "holds a JSON list, not the adapter's config object"),
    ("{\"r\": 2,", "not valid JSON"),
])
def test_lora_merge_names_an_adapter_config_that_is_not_an_object(tmp_path, tiny_lora, capsys, text, wanted):
    from verl_multiling.jobs.lora_merge import main

    base, adapter = tiny_lora
    bad = _adapter_with(tmp_path, adapter, text)
    assert main(["--model", str(base), "--adapter", str(bad), "--out", str(tmp_path / "merged")]) == 2
    err = capsys.readouterr().err
    assert f"{bad / 'adapter_config.json'}: {wanted}" in err and "Traceback" not in err


def test_lora_merge_checks_the_merged_weights_are_finite_before_writing(tmp_path, tiny_lora, capsys):
    """A valid config but a NaN in lora_B (a diverged training run): every q_proj weight would be NaN."""
    import torch
    from safetensors.torch import load_file, save_file

    from verl_multiling.jobs.lora_merge import main

    base, adapter = tiny_lora
    bad = _adapter_with(tmp_path, adapter, (adapter / "adapter_config.json").read_text())
    weights = load_file(str(bad / "adapter_model.safetensors"))
    name = next(k for k in weights if "lora_B" in k)
    weights[name] = torch.full_like(weights[name], float("nan"))
    save_file(weights, str(bad / "adapter_model.safetensors"))
    out = tmp_path / "merged"
    assert main(["--model", str(base), "--adapter", str(bad), "--out", str(out), "--dtype", "float32"]) == 2
    err = capsys.readouterr().err
    assert "the merged weights are not finite in float32" in err and "q_proj.weight (256/256 non-finite)" in err
    assert "Nothing was written" in err and not out.exists()
    # the same adapter without the NaN merges (the check refuses only what is not finite)
    assert main(["--model", str(base), "--adapter", str(adapter), "--out", str(out), "--dtype", "float32"]) == 0
    assert (out / "model.safetensors").is_file()


@pytest.mark.parametrize("case, wanted", [
    ("missing_model", "--model {model} is not a directory"),
    ("model_without_config", "--model {model}: no config.json"),
    ("out_is_a_file", "--out {out} is a file, not a directory"),
])
def test_lora_merge_names_a_bad_path(tmp_path, tiny_lora, capsys, monkeypatch, case, wanted):
    from huggingface_hub import constants

    from verl_multiling.jobs.lora_merge import main

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    base, adapter = tiny_lora
    model, out = base, tmp_path / "merged"
    if case == "missing_model":
        model = tmp_path / "no-such-dir"
    elif case == "model_without_config":
        model = tmp_path / "empty"
        model.mkdir()
    else:
        out.write_text("a file")
    assert main(["--model", str(model), "--adapter", str(adapter), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert wanted.format(model=model, out=out) in err and "Traceback" not in err, err
