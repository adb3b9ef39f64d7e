"""The CPU backend's parts, in process: sampling, LoRA weight sync against PEFT, the rollout server on a
real tiny Qwen2, the platform, and the verl internals the backend relies on (these fail loudly when a
verl upgrade moves them). The end-to-end runs through main_ppo are in test_e2e_recipes.py and test_e2e_trainer_modes.py."""

from __future__ import annotations

import asyncio
import inspect
from types import SimpleNamespace

import pytest
import torch

from verl_multiling.cpu.sampling import apply_repetition_penalty, sample_next, sequence_logprobs, truncate_logits
from verl_multiling.cpu.weights import hf_name, lora_scale, merge_lora, split_adapters


# ---------------------------------------------------------------- sampling
def test_top_k_and_top_p_keep_exactly_the_expected_tokens():
    z = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isfinite(truncate_logits(z, top_k=2, top_p=1.0)).tolist() == [[True, True, False, False]]
    # nucleus 0.7: 0.5 alone is short of it, 0.5 + 0.3 reaches it -> two tokens
    assert torch.isfinite(truncate_logits(z, top_k=-1, top_p=0.7)).tolist() == [[True, True, False, False]]
    # a tiny top_p still keeps the most likely token
    assert torch.isfinite(truncate_logits(z, top_k=-1, top_p=1e-9)).sum().item() == 1


def test_sampling_follows_the_tempered_distribution_and_reports_full_vocab_logprobs():
    z = torch.tensor([[1.0, 0.0, -1.0]]).repeat(20000, 1)
    gen = torch.Generator().manual_seed(0)
    tokens, logprobs = sample_next(z, temperature=0.5, top_k=-1, top_p=1.0, generator=gen)
    expected = torch.softmax(z[0] / 0.5, -1)
    observed = torch.bincount(tokens, minlength=3).float() / len(tokens)
    assert torch.allclose(observed, expected, atol=0.01)
    assert torch.allclose(logprobs, torch.log(expected)[tokens], atol=1e-5)
    # truncation changes what is sampled, not the reported log-prob (verl's actor sees the full vocabulary)
    tokens, logprobs = sample_next(z[:100], temperature=1.0, top_k=1, top_p=1.0, generator=gen)
    assert tokens.eq(0).all() and torch.allclose(logprobs, torch.log_softmax(z[0], -1)[0].expand(100))


def test_greedy_and_teacher_forced_logprobs_agree():
    z = torch.randn(5, 11, generator=torch.Generator().manual_seed(1))
    tokens, logprobs = sample_next(z, temperature=0.0, top_k=-1, top_p=1.0, generator=None)
    assert tokens.tolist() == z.argmax(-1).tolist()
    assert torch.allclose(sequence_logprobs(z, tokens, temperature=0.0), logprobs)


def test_repetition_penalty_only_touches_seen_tokens():
    z = torch.tensor([[2.0, -2.0, 2.0]])
    seen = torch.tensor([[True, True, False]])
    assert apply_repetition_penalty(z, seen, 2.0).tolist() == [[1.0, -4.0, 2.0]]
    assert apply_repetition_penalty(z, seen, 1.0) is z


# ---------------------------------------------------------------- LoRA weight sync vs PEFT
def test_names_and_scale():
    assert hf_name("base_model.model.model.layers.0.self_attn.q_proj.base_layer.weight") == \
        "model.layers.0.self_attn.q_proj.weight"
    plain, adapters = split_adapters([("base_model.model.m.lora_A.weight", torch.ones(1)),
                                      ("base_model.model.m.lora_B.default.weight", torch.ones(1)),
                                      ("m.bias", torch.ones(1))])
    assert set(plain) == {"m.bias"} and set(adapters) == {"m.lora_A.weight", "m.lora_B.weight"}
    assert lora_scale({"r": 4, "lora_alpha": 8}) == 2.0
    assert lora_scale({"r": 4, "lora_alpha": 8, "use_rslora": True}) == 4.0
    with pytest.raises(ValueError, match="r/lora_alpha"):
        lora_scale({"r": None})
    with pytest.raises(ValueError, match="lora_B"):
        merge_lora({"m.weight": torch.zeros(2, 2)}, {"m.lora_A.weight": torch.ones(1, 2)}, 1.0)


@pytest.fixture(scope="module")
def tiny_model_dir():
    from verl_multiling.smoke.assets import tiny_model_dir

    return tiny_model_dir()


def _server(model_dir, scripted=None, **overrides):
    from verl_multiling.cpu.server import HFRolloutServer

    config = SimpleNamespace(prompt_length=64, response_length=16, temperature=1.0, seed=0, max_model_len=None,
                             ignore_eos=False, max_num_seqs=64,
                             engine_kwargs={"hf_cpu": {"scripted_rollouts": scripted}} if scripted else {})
    for key, value in overrides.items():
        setattr(config, key, value)
    return HFRolloutServer(config, {"path": str(model_dir)}, replica_rank=0)


def test_lora_sync_matches_peft_merge(tiny_model_dir):
    """verl's LoRA sync (base with .base_layer names, then adapters) gives the server PEFT's merged model."""
    from peft import LoraConfig, get_peft_model
    from peft.utils.save_and_load import get_peft_model_state_dict
    from transformers import AutoModelForCausalLM
    from verl.utils.fsdp_utils import replace_lora_wrapper

    peft_config = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear")
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(str(tiny_model_dir)), peft_config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.normal_(0, 0.5)
    base = {replace_lora_wrapper(k.replace("base_model.model.", ""), peft_config): v.detach().clone()
            for k, v in model.base_model.model.state_dict().items() if "lora_" not in k}
    base = {k.replace(".base_layer.weight", ".weight").replace(".weight", ".base_layer.weight")
            if ".base_layer." in k else k: v for k, v in base.items()}
    adapters = get_peft_model_state_dict(model)
    server = _server(tiny_model_dir)
    server._load_locked(base, peft_config.to_dict())
    server._load_locked(adapters, peft_config.to_dict())
    server._load_locked(adapters, peft_config.to_dict())  # a second sync must not merge twice
    merged = model.merge_and_unload()
    ids = torch.tensor([[9707, 1879, 11, 374]])
    with torch.no_grad():
        assert torch.allclose(server.model(ids).logits, merged(ids).logits, atol=1e-5)
    with pytest.raises(KeyError, match="does not have"):
        server._load_locked({"model.layers.9.mlp.up_proj.weight": torch.zeros(1)}, None)


# ---------------------------------------------------------------- the rollout server
def _generate(server, prompts, params):
    async def run():
        return await asyncio.gather(*[server.generate(f"r{i}", p, dict(params)) for i, p in enumerate(prompts)])
    return asyncio.run(run())


def test_server_batches_requests_and_logprobs_match_a_forward_pass(tiny_model_dir):
    server = _server(tiny_model_dir)
    prompts = [[9707, 1879], [9707, 1879, 11, 374, 264], [151644, 872, 198]]
    outputs = _generate(server, prompts, {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "logprobs": True})
    assert server.stats["batches"] == 1 and server.stats["requests"] == 3
    for prompt, out in zip(prompts, outputs):
        assert 1 <= len(out.token_ids) <= 16 and len(out.log_probs) == len(out.token_ids)
        assert out.stop_reason in ("completed", "length")
        with torch.no_grad():
            logits = server.model(torch.tensor([prompt + out.token_ids])).logits[0, len(prompt) - 1: -1]
        expected = sequence_logprobs(logits, torch.tensor(out.token_ids), 1.0)
        assert torch.allclose(torch.tensor(out.log_probs), expected, atol=1e-4)
    greedy = _generate(server, prompts[:1] * 2, {"temperature": 0, "logprobs": False})
    assert greedy[0].token_ids == greedy[1].token_ids and greedy[0].log_probs is None


def test_server_stops_at_eos_and_respects_max_tokens(tiny_model_dir):
    server = _server(tiny_model_dir)
    eos = server.eos_ids[0]
    # make EOS the only likely token: generation must stop right after it
    logits_bias = torch.full((server.model.config.vocab_size,), -1e4)
    logits_bias[eos] = 0.0
    server.model.lm_head.register_forward_hook(lambda m, i, o: o + logits_bias)
    out = _generate(server, [[9707]], {"temperature": 1.0, "logprobs": True})[0]
    assert out.token_ids == [eos] and out.stop_reason == "completed"
    out = _generate(server, [[9707]], {"temperature": 1.0, "ignore_eos": True, "max_tokens": 5})[0]
    assert len(out.token_ids) == 5 and out.stop_reason == "length"


def test_scripted_server_answers_known_questions_in_turn(tiny_model_dir, tmp_path):
    import json

    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(json.dumps({"question": "Combien font 2+2 ?", "response": r})
                              for r in ("La réponse est \\boxed{4}.", "The answer is \\boxed{4}.")) + "\n")
    server = _server(tiny_model_dir, scripted=str(path), response_length=64)
    prompt = server.tokenizer.apply_chat_template([{"role": "user", "content": "Combien font 2+2 ?"}],
                                                  add_generation_prompt=True, tokenize=True)
    prompt = list(prompt["input_ids"] if hasattr(prompt, "keys") else prompt)
    outs = _generate(server, [prompt] * 3, {"temperature": 1.0, "logprobs": True})
    texts = [server.tokenizer.decode(o.token_ids, skip_special_tokens=True) for o in outs]
    assert sorted(texts[:2]) == sorted(["La réponse est \\boxed{4}.", "The answer is \\boxed{4}."])
    assert texts[2] in texts[:2] and all(o.token_ids[-1] == server.eos_ids[0] for o in outs)
    assert server.stats["scripted_hits"] == 3
    other = _generate(server, [[9707, 1879]], {"temperature": 1.0})[0]  # unknown prompt: sampled
    assert server.stats["scripted_misses"] == 1 and len(other.token_ids) >= 1
    path.write_text('{"question": "q"}\n')
    with pytest.raises(ValueError, match="r.jsonl:1"):
        _server(tiny_model_dir, scripted=str(path))


def test_max_tokens_follows_verls_vllm_rule():
    from verl_multiling.cpu.server import resolve_max_tokens

    assert resolve_max_tokens({}, 10, 512, 256, None) == 256
    assert resolve_max_tokens({}, 600, 512, 256, None) == 168
    assert resolve_max_tokens({"max_tokens": 9}, 10, 512, 256, None) == 9
    assert resolve_max_tokens({"max_tokens": 0}, 10, 512, 256, None) == 1


# ---------------------------------------------------------------- platform and verl contracts
def test_cpu_platform_answers_verls_device_calls():
    from verl.plugin.platform import PlatformRegistry

    from verl_multiling.cpu.cpu_platform import PlatformCPU, init_gloo_process_group

    assert PlatformRegistry.get("cpu") is PlatformCPU
    platform = PlatformCPU()  # instantiable: every abstract method of verl's PlatformBase is implemented
    assert platform.device_name == "cpu" and platform.ray_resource_name() == "GPU"
    assert not platform.is_platform_available(use_smi_check=True)  # never auto-detected on a GPU node
    assert torch.zeros(1).to(platform.current_device()).device.type == "cpu"
    dev = platform.device_module
    for call in ("empty_cache", "synchronize", "ipc_collect", "reset_peak_memory_stats"):
        getattr(dev, call)()
    free, total = dev.mem_get_info()
    assert 0 < free <= total and dev.max_memory_allocated() == 0 and dev.device_count() == 1
    dev.set_rng_state(dev.get_rng_state())
    with dev.stream(dev.Stream()):
        pass
    assert init_gloo_process_group({"WG_BACKEND": "ray"}) is False  # not a verl worker: nothing happens


def test_verl_internals_the_cpu_backend_relies_on():
    """Each line pins a private or fragile verl 0.9.1 detail named in verl_multiling/cpu/*.py."""
    from verl.utils import distributed
    from verl.workers import engine_workers
    from verl.workers.engine import EngineRegistry
    from verl.workers.rollout import base as rollout_base
    from verl.workers.rollout.base import BaseRollout
    from verl.workers.rollout.replica import RolloutReplicaRegistry, TokenOutput

    from verl_multiling.cpu.backends import ADAPTER_PATH, register_cpu_backends
    from verl_multiling.cpu.rollout import HFCpuReplica, HFServerAdapter

    register_cpu_backends()
    register_cpu_backends()  # idempotent
    assert rollout_base._ROLLOUT_REGISTRY[("hf_cpu", "async")] == ADAPTER_PATH
    assert rollout_base.get_rollout_class("hf_cpu", "async") is HFServerAdapter
    assert RolloutReplicaRegistry.get("hf_cpu") is HFCpuReplica
    assert "cpu" in EngineRegistry._engines["language_model"]["fsdp2"]
    # verl skips its own process-group init when one exists (the gloo pre-init depends on it)
    assert "if not torch.distributed.is_initialized()" in inspect.getsource(
        distributed.initialize_global_process_group_ray)
    # the replica contract: launch_servers sets these two; TokenOutput carries these fields
    assert {"_server_handle", "_server_address"} <= set(vars(HFCpuReplica(0, _rollout_cfg(), {}, 1)))
    assert {"token_ids", "log_probs", "stop_reason", "extra_fields"} <= set(TokenOutput.model_fields)
    assert not (BaseRollout.__abstractmethods__ - set(vars(HFServerAdapter)))
    # verl's naive weight sync calls update_weights(weights, peft_config=..., base_sync_done=..., global_steps=...)
    source = inspect.getsource(engine_workers.ActorRolloutRefWorker.update_weights)
    assert "self.rollout.update_weights(" in source and "peft_config=" in source and "global_steps=" in source
    params = inspect.signature(HFServerAdapter.update_weights).parameters
    assert {"peft_config", "global_steps", "base_sync_done"} <= set(params)


def _rollout_cfg():
    from verl.workers.config import RolloutConfig

    return RolloutConfig(name="hf_cpu", tensor_model_parallel_size=1)
