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
    from verl_multiling.lora_merge import main

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
    from verl_multiling.lora_merge import main

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 4, "lora_alpha": 0}))
    (adapter / "adapter_model.safetensors").write_bytes(b"x")
    assert main(["--model", str(tmp_path), "--adapter", str(adapter), "--out", str(tmp_path / "o")]) == 2
    assert main(["--model", str(tmp_path), "--adapter", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 2
