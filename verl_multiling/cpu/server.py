"""The CPU rollout server: verl's token-in/token-out ``generate`` served from a transformers model.

One Ray actor per rollout replica (verl_multiling.cpu.rollout launches it). verl's agent loop calls
``generate(request_id, prompt_ids, sampling_params, ...)`` concurrently, one call per response; the
server queues the calls and decodes them in batches (left-padded prompts, a KV cache, one
:func:`~verl_multiling.cpu.sampling.sample_next` per step) in a worker thread, so control calls
(weight updates, sleep/wake) stay responsive. Weight updates and generation never overlap.

Sampling follows vLLM's contract as verl uses it: ``max_tokens = min(response_length, prompt_length +
response_length - len(prompt))`` unless the request gives one; generation stops at an EOS id of the
model's generation config or the tokenizer (the EOS id is part of the response, as in vLLM) or at
``max_tokens``; ``logprobs`` asks for the log-prob of each generated token (see ``sampling``).

Scripted mode (``engine_kwargs.hf_cpu.scripted_rollouts``: a JSONL of ``question``/``response`` rows):
a prompt whose text contains a known question is answered with that question's responses in turn
(the k-th request for a question gets response k mod m), tokenised and followed by EOS; the log-probs
are the model's own for those tokens (teacher forcing), so verl's log-prob checks stay meaningful.
Other prompts are sampled as usual; ``scripted_hits`` / ``scripted_misses`` count both.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import torch

from verl_multiling.config.confnode import node_get
from verl_multiling.cpu.sampling import apply_repetition_penalty, sample_next, sequence_logprobs
from verl_multiling.cpu.weights import lora_scale, merge_lora, split_adapters

logger = logging.getLogger(__name__)

BATCH_WINDOW_S = 0.02
"""How long the server waits for more requests after the first one before decoding a batch."""


@dataclass
class _Request:
    prompt_ids: list[int]
    max_tokens: int
    temperature: float
    top_k: int
    top_p: float
    repetition_penalty: float
    ignore_eos: bool
    want_logprobs: bool
    future: asyncio.Future = field(repr=False)

    def group_key(self) -> tuple:
        return (self.temperature, self.top_k, self.top_p, self.repetition_penalty, self.ignore_eos)


def load_scripted_rollouts(path: str | os.PathLike) -> dict[str, list[str]]:
    """``{question: [responses in file order]}`` from a JSONL with ``question`` and ``response`` fields."""
    table: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                table.setdefault(str(row["question"]).strip(), []).append(str(row["response"]))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: a scripted rollout needs 'question' and 'response' ({exc})") from None
    if not table:
        raise ValueError(f"{path}: no scripted rollouts")
    return table


def resolve_max_tokens(sampling_params: dict, prompt_len: int, prompt_length: int, response_length: int,
                       max_model_len: int | None) -> int:
    """The response budget of one request, as verl's vLLM server computes it (at least 1)."""
    limit = (max_model_len or prompt_length + response_length) - prompt_len
    if "max_tokens" in sampling_params:
        wanted = int(sampling_params["max_tokens"])
    elif "max_new_tokens" in sampling_params:
        wanted = int(sampling_params["max_new_tokens"])
    else:
        wanted = min(response_length, prompt_length + response_length - prompt_len)
    return max(1, min(wanted, limit))


class HFRolloutServer:
    """Ray actor (``ray.remote(HFRolloutServer)``) serving one rollout replica on CPU."""

    def __init__(self, config: Any, model_config: Any, replica_rank: int = 0) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

        self.config = config
        self.replica_rank = replica_rank
        path = node_get(model_config, "local_path", None) or node_get(model_config, "path", None)
        override = dict(node_get(model_config, "override_config", None) or {})
        attn = override.get("attn_implementation", "sdpa")
        self.model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32, attn_implementation=attn)
        self.model.eval()
        tokenizer_path = node_get(model_config, "local_tokenizer_path", None) or node_get(model_config, "tokenizer_path", None) or path
        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
        self.eos_ids = self._eos_ids(path, GenerationConfig)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eos_ids[0]
        self.global_steps: int | None = None
        self.weight_version = 0
        self.generator = torch.Generator().manual_seed(int(node_get(config, "seed", 0)) + 1000 * replica_rank)
        options = dict((node_get(config, "engine_kwargs", None) or {}).get("hf_cpu", None) or {})
        scripted = options.get("scripted_rollouts")
        self.scripted = load_scripted_rollouts(scripted) if scripted else {}
        self._scripted_turn: dict[str, int] = {}
        self.stats = {"requests": 0, "batches": 0, "scripted_hits": 0, "scripted_misses": 0, "weight_updates": 0}
        self._lora_base: dict[str, torch.Tensor] = {}
        self._queue: asyncio.Queue | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._compute = threading.Lock()  # generation vs weight loading
        self._worker: asyncio.Task | None = None
        self._paused = False

    def _eos_ids(self, path: str, generation_config_cls) -> list[int]:
        ids: list[int] = []
        try:
            eos = generation_config_cls.from_pretrained(path).eos_token_id
            ids += list(eos) if isinstance(eos, list | tuple) else [eos] if eos is not None else []
        except OSError:
            pass
        if self.tokenizer.eos_token_id is not None:
            ids.append(self.tokenizer.eos_token_id)
        if not ids:
            raise ValueError(f"{path}: neither the generation config nor the tokenizer names an EOS token")
        return sorted(set(int(i) for i in ids))

    # ------------------------------------------------------------------ generation
    async def generate(self, request_id: str, prompt_ids: list[int], sampling_params: dict,
                       image_data: Any = None, video_data: Any = None, **kwargs: Any):
        from verl.workers.rollout.replica import TokenOutput

        if image_data is not None or video_data is not None or kwargs.get("audio_data") is not None:
            raise NotImplementedError("the CPU rollout server serves text-only models")
        cfg = self.config
        params = dict(sampling_params)
        request = _Request(
            prompt_ids=list(prompt_ids),
            max_tokens=resolve_max_tokens(params, len(prompt_ids), node_get(cfg, "prompt_length", None), node_get(cfg, "response_length", None),
                                          node_get(cfg, "max_model_len", None)),
            temperature=float(params.get("temperature", node_get(cfg, "temperature", 1.0))),
            top_k=int(params.get("top_k", -1) if params.get("top_k") is not None else -1),
            top_p=float(params.get("top_p", 1.0)),
            repetition_penalty=float(params.get("repetition_penalty", 1.0) or 1.0),
            ignore_eos=bool(params.get("ignore_eos", node_get(cfg, "ignore_eos", False))),
            want_logprobs=bool(params.get("logprobs", False)),
            future=asyncio.get_running_loop().create_future(),
        )
        self._ensure_worker()
        await self._queue.put(request)
        token_ids, logprobs, stop_reason = await request.future
        self.stats["requests"] += 1
        return TokenOutput(token_ids=token_ids, log_probs=logprobs if request.want_logprobs else None,
                           stop_reason=stop_reason, extra_fields={"global_steps": self.global_steps})

    def _ensure_worker(self) -> None:
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop:  # a queue belongs to one event loop
            self._queue, self._loop, self._worker = asyncio.Queue(), loop, None
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._serve())

    async def _serve(self) -> None:
        max_batch = max(1, int(node_get(self.config, "max_num_seqs", 64) or 64))
        while True:
            batch = [await self._queue.get()]
            await asyncio.sleep(BATCH_WINDOW_S)
            while not self._queue.empty() and len(batch) < max_batch:
                batch.append(self._queue.get_nowait())
            groups: dict[tuple, list[_Request]] = {}
            for request in batch:
                groups.setdefault(request.group_key(), []).append(request)
            for requests in groups.values():
                try:
                    results = await asyncio.to_thread(self._run_locked, requests)
                except Exception as exc:  # every waiting request learns of it, and the server keeps serving
                    for request in requests:
                        if not request.future.done():
                            request.future.set_exception(exc)
                    continue
                for request, result in zip(requests, results, strict=True):
                    if not request.future.done():
                        request.future.set_result(result)

    def _run_locked(self, requests: list[_Request]) -> list[tuple[list[int], list[float], str]]:
        with self._compute, torch.inference_mode():
            self.stats["batches"] += 1
            results: list[Any] = [None] * len(requests)
            sampled = []
            for i, request in enumerate(requests):
                scripted = self._scripted_response(request)
                if scripted is None:
                    sampled.append(i)
                else:
                    results[i] = self._teacher_forced(request, scripted)
            if sampled:
                for i, result in zip(sampled, self._decode([requests[i] for i in sampled]), strict=True):
                    results[i] = result
            return results

    def _scripted_response(self, request: _Request) -> list[int] | None:
        if not self.scripted:
            return None
        text = self.tokenizer.decode(request.prompt_ids, skip_special_tokens=True)
        matches = [q for q in self.scripted if q and q in text]
        if not matches:
            self.stats["scripted_misses"] += 1
            return None
        question = max(matches, key=len)
        turn = self._scripted_turn.get(question, 0)
        self._scripted_turn[question] = turn + 1
        self.stats["scripted_hits"] += 1
        responses = self.scripted[question]
        ids = self.tokenizer(responses[turn % len(responses)], add_special_tokens=False)["input_ids"]
        return (list(ids) + [self.eos_ids[0]])[: request.max_tokens]

    def _teacher_forced(self, request: _Request, response: list[int]) -> tuple[list[int], list[float], str]:
        ids = torch.tensor([request.prompt_ids + response])
        logits = self.model(input_ids=ids).logits[0, len(request.prompt_ids) - 1: -1]
        logprobs = sequence_logprobs(logits, torch.tensor(response), request.temperature)
        stop = "completed" if response[-1] in self.eos_ids else "length"
        return response, logprobs.tolist(), stop

    def _decode(self, requests: list[_Request]) -> list[tuple[list[int], list[float], str]]:
        """Batched sampling with a KV cache; returns (token ids, log-probs, stop reason) per request."""
        first = requests[0]
        batch = len(requests)
        longest = max(len(r.prompt_ids) for r in requests)
        input_ids = torch.full((batch, longest), self.pad_id, dtype=torch.long)
        attention = torch.zeros((batch, longest), dtype=torch.long)
        for i, request in enumerate(requests):
            input_ids[i, longest - len(request.prompt_ids):] = torch.tensor(request.prompt_ids)
            attention[i, longest - len(request.prompt_ids):] = 1
        budget = torch.tensor([r.max_tokens for r in requests])
        eos = torch.tensor(self.eos_ids)
        vocab = self.model.config.vocab_size
        seen = torch.zeros((batch, vocab), dtype=torch.bool)
        if first.repetition_penalty != 1.0:
            seen.scatter_(1, input_ids.clamp(max=vocab - 1), attention.bool())
        out_tokens = torch.full((batch, int(budget.max())), self.pad_id, dtype=torch.long)
        out_logprobs = torch.zeros((batch, int(budget.max())))
        lengths = torch.zeros(batch, dtype=torch.long)
        done = torch.zeros(batch, dtype=torch.bool)
        hit_eos = torch.zeros(batch, dtype=torch.bool)
        position = (attention.cumsum(-1) - 1).clamp(min=0)
        out = self.model(input_ids=input_ids, attention_mask=attention, position_ids=position, use_cache=True)
        for step in range(int(budget.max())):
            logits = apply_repetition_penalty(out.logits[:, -1, :vocab], seen, first.repetition_penalty)
            tokens, logprobs = sample_next(logits, first.temperature, first.top_k, first.top_p, self.generator)
            active = ~done
            out_tokens[active, step] = tokens[active]
            out_logprobs[active, step] = logprobs[active]
            lengths += active.long()
            if first.repetition_penalty != 1.0:
                seen[torch.arange(batch), tokens] |= active
            is_eos = torch.isin(tokens, eos) & active & (not first.ignore_eos)
            hit_eos |= is_eos
            done |= is_eos | (lengths >= budget)
            if bool(done.all()):
                break
            attention = torch.cat([attention, torch.ones((batch, 1), dtype=torch.long)], dim=1)
            position = position[:, -1:] + 1
            out = self.model(input_ids=tokens[:, None], attention_mask=attention, position_ids=position,
                             past_key_values=out.past_key_values, use_cache=True)
        results = []
        for i in range(batch):
            n = int(lengths[i])
            results.append((out_tokens[i, :n].tolist(), out_logprobs[i, :n].tolist(),
                            "completed" if bool(hit_eos[i]) else "length"))
        return results

    # ------------------------------------------------------------------ weights
    async def update_weights(self, named_tensors: dict[str, torch.Tensor], peft_config: dict | None = None,
                             global_steps: int | None = None) -> int:
        """Load weights sent by verl's actor (full tensors, LoRA base weights, or LoRA adapters)."""
        await asyncio.to_thread(self._load_locked, named_tensors, peft_config)
        if global_steps is not None:
            self.global_steps = global_steps
        return self.weight_version

    def _load_locked(self, named_tensors: dict[str, torch.Tensor], peft_config: dict | None) -> None:
        plain, adapters = split_adapters(named_tensors.items())
        with self._compute, torch.no_grad():
            params = dict(self.model.named_parameters())
            params.update(dict(self.model.named_buffers()))
            tied = {"lm_head.weight"} if getattr(self.model.config, "tie_word_embeddings", False) else set()
            unknown = [n for n in plain if n not in params and n not in tied]
            if unknown:
                raise KeyError(f"weights the rollout model does not have: {unknown[:5]} ({len(unknown)} in all)")
            for name, tensor in plain.items():
                if name in params:
                    params[name].copy_(tensor.to(params[name].dtype))
                if peft_config is not None:
                    self._lora_base[name] = tensor.detach().clone()
            if adapters:
                if peft_config is None:
                    raise ValueError("LoRA adapter weights arrived without their PEFT config")
                targets = {k.rsplit(".lora_", 1)[0] + ".weight" for k in adapters}
                for name in targets - self._lora_base.keys():
                    self._lora_base[name] = params[name].detach().clone()
                for name, tensor in merge_lora(self._lora_base, adapters, lora_scale(peft_config)).items():
                    params[name].copy_(tensor)
            self.weight_version += 1
            self.stats["weight_updates"] += 1

    # ------------------------------------------------------------------ control (no-ops on CPU)
    async def set_global_steps(self, global_steps: int) -> None:
        self.global_steps = global_steps

    async def get_stats(self) -> dict:
        return dict(self.stats, weight_version=self.weight_version)

    async def wake_up(self, tags: list[str] | None = None) -> None:
        return None

    async def sleep(self) -> None:
        return None

    async def clear_kv_cache(self) -> None:
        return None

    async def release_kv_cache(self) -> None:
        return None

    async def resume_kv_cache(self) -> None:
        return None

    async def abort_all_requests(self, reject_request: bool = False) -> dict:
        return {}

    async def resume_generation(self) -> None:
        return None

    async def start_profile(self, **kwargs: Any) -> None:
        return None

    async def stop_profile(self) -> None:
        return None

