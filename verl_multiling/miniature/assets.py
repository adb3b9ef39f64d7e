"""The miniature's model: a small byte-level BPE tokenizer trained offline on the task's text, saved as a real
Hugging Face tokenizer with a ChatML chat template, and a small random Qwen2 that verl loads like any other.

Both are built once (seconds) and cached under ``$VERL_MULTILING_CACHE/miniature/`` keyed by their shape.
Digits are split one per token (so the model can learn the units-digit rule of :mod:`.task`), and every other
piece is byte-level BPE, so any text round-trips exactly.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from verl_multiling.plumbing.offline_tokenizer import (
    atomic_dir,
    cache_dir,
    train_chatml_bpe,
)

TOKENIZER_VOCAB = 2048
MODEL_SHAPE = {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
               "num_key_value_heads": 2, "max_position_embeddings": 512, "tie_word_embeddings": True}
"""The tiny Qwen2's shape (changing it changes the cache key)."""


def tokenizer_texts() -> list[str]:
    """The text the BPE is trained on: every sentence shape of the task, tags and the reflection sentences."""
    from verl_multiling.miniature.task import iter_texts
    from verl_multiling.miniature.templates import REFLECTION

    texts = list(iter_texts()) + [s.format(c=47) for s in REFLECTION.values()]
    return texts + ["<think>", "</think>", "<translation>", "</translation>", "\\boxed{47}"]


def build_tokenizer(out: Path) -> None:
    """Train the BPE on :func:`tokenizer_texts` (digits one per token) and save it with ChatML."""
    train_chatml_bpe(tokenizer_texts() * 4, TOKENIZER_VOCAB, split_digits=True).save_pretrained(str(out))


def tokenizer_key() -> str:
    """The cache key: vocabulary size and a checksum of the training text (a template change retrains)."""
    return f"bpe{TOKENIZER_VOCAB}-{zlib.crc32(chr(0).join(tokenizer_texts()).encode()):08x}"


def tokenizer_dir() -> Path:
    return atomic_dir(cache_dir() / "miniature" / f"tokenizer-{tokenizer_key()}", build_tokenizer)


def model_key() -> str:
    return tokenizer_key() + "-" + "-".join(str(v) for v in MODEL_SHAPE.values())


def random_model(seed: int):
    """A freshly initialised tiny Qwen2 (fp32) for :func:`tokenizer_dir`'s tokenizer, and the tokenizer."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir()))
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    config = Qwen2Config(vocab_size=len(tokenizer), bos_token_id=tokenizer.pad_token_id, eos_token_id=eos,
                         pad_token_id=tokenizer.pad_token_id, torch_dtype="float32", **MODEL_SHAPE)
    torch.manual_seed(seed)
    return Qwen2ForCausalLM(config), tokenizer


def save_model(model, tokenizer, out: Path) -> None:
    """Model, tokenizer and a generation config whose EOS is ``<|im_end|>`` (what verl's rollout stops on)."""
    from transformers import GenerationConfig
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Writing model shards" bars say nothing about a 0.6 M-parameter model
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    GenerationConfig(eos_token_id=[eos], pad_token_id=tokenizer.pad_token_id).save_pretrained(str(out))
