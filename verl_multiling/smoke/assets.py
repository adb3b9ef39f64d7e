"""The smoke run's inputs: a tiny random Qwen2 with one of two tokenizers, and a recipe's data.

The model (2 layers, hidden 64, tied embeddings) is built once with transformers and cached under
``$VERL_MULTILING_CACHE/smoke``; its EOS is ``<|im_end|>`` as in Qwen2.5's instruct models. Its vocabulary
(:data:`VOCABS`, ``verl-multiling smoke --vocab``):

- ``qwen`` (the default): the offline Qwen2.5 tokenizer, 151,665 tokens, as the recipes' models use. The model
  has about 9.8M parameters, nearly all embedding, and every log-prob pass computes a 151,665-wide softmax per
  token: most of a smoke run's time and memory.
- ``small``: a byte-level BPE (at most :data:`SMALL_VOCAB_SIZE` tokens; about 4.4k) trained on the bundled rollout
  files' text, with the same special tokens and ChatML template. Any text still encodes (byte fallback), the
  bundled responses in fewer tokens than Qwen's. A scripted two-step run takes about half the wall time (69 s
  instead of 152 s for ``+recipe=reflection`` on the idle 2-core machine). The test suite's gated runs use it;
  the tokenizer is not what they test.

The data are the recipe's bundled rollouts
(``multiling.preflight_rollouts``) turned into verl's training frame, one row per prompt, so that a
scripted rollout (:mod:`verl_multiling.cpu.server`) can answer every prompt from the same file.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

from verl_multiling.plumbing.offline_tokenizer import (
    atomic_dir,
    cache_dir,
    offline_tokenizer_dir,
    train_chatml_bpe,
)

TINY_MODEL = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 2, "max_position_embeddings": 4096, "tie_word_embeddings": True}
"""The tiny model's Qwen2 shape (changing it changes the cache key)."""


VOCABS = ("qwen", "small")
"""``verl-multiling smoke --vocab`` choices; the first is the default."""
SMALL_VOCAB_SIZE = 8192
"""The small BPE's vocabulary bound (the trainer stops earlier when the bundled text has no more merges)."""


def tiny_model_dir(seed: int = 0, vocab: str = "qwen") -> Path:
    """A saved random Qwen2 + tokenizer (``vocab``: one of :data:`VOCABS`), built on first use (a few seconds)
    and reused after."""
    if vocab not in VOCABS:
        raise ValueError(f"vocab={vocab!r}: choose one of {', '.join(VOCABS)}")
    key = "-".join(f"{v}" for v in TINY_MODEL.values())
    name = f"tiny-qwen2-{key}-s{seed}" if vocab == "qwen" else f"tiny-qwen2-{key}-{small_vocab_key()}-s{seed}"
    target = cache_dir() / "smoke" / name
    if (target / "config.json").is_file() and (target / "tokenizer.json").is_file():
        return target
    return atomic_dir(target, lambda staging: _build_tiny_model(staging, seed, vocab))


def small_vocab_texts() -> list[str]:
    """Every string field of every bundled rollout file (``data/sample_*rollouts.jsonl``), in file order."""
    import json

    from verl_multiling.plumbing.paths import DATA_DIR

    texts: list[str] = []
    for path in sorted(DATA_DIR.glob("sample_*rollouts.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.extend(v for v in json.loads(line).values() if isinstance(v, str))
    return texts


def small_vocab_key() -> str:
    """The small tokenizer's cache key: its size bound and a checksum of its training text."""
    return f"bpe{SMALL_VOCAB_SIZE}-{zlib.crc32(chr(0).join(small_vocab_texts()).encode()):08x}"


def build_small_tokenizer():
    """A byte-level BPE trained on :func:`small_vocab_texts`, as a ``PreTrainedTokenizerFast`` with ChatML."""
    return train_chatml_bpe(small_vocab_texts(), SMALL_VOCAB_SIZE)


def _build_tiny_model(out: Path, seed: int, vocab: str = "qwen") -> None:
    import torch
    from transformers import (
        AutoTokenizer,
        GenerationConfig,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    if vocab == "qwen":
        tokenizer = AutoTokenizer.from_pretrained(str(offline_tokenizer_dir()))
    else:
        tokenizer = build_small_tokenizer()
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    config = Qwen2Config(vocab_size=len(tokenizer), bos_token_id=tokenizer.pad_token_id, eos_token_id=eos,
                         pad_token_id=tokenizer.pad_token_id, torch_dtype="float32", **TINY_MODEL)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    GenerationConfig(eos_token_id=[eos], pad_token_id=tokenizer.pad_token_id).save_pretrained(str(out))


def write_recipe_data(rollouts_path: str | os.PathLike, out_dir: Path, lang_key: str = "lang") -> tuple[Path, Path]:
    """train.parquet (every prompt of the rollouts) and val.parquet (the first 8), in verl's row format."""
    from verl_multiling.preflight.rollouts import load_rollouts, rows_as_dataset

    frame = rows_as_dataset(load_rollouts(rollouts_path), lang_key)
    out_dir.mkdir(parents=True, exist_ok=True)
    train, val = out_dir / "train.parquet", out_dir / "val.parquet"
    frame.to_parquet(train, index=False)
    frame.head(8).to_parquet(val, index=False)
    return train, val


PROMPT_LENGTH_STEP = 64
"""The smoke's ``data.max_prompt_length`` is the longest prompt rounded up to a multiple of this (at least 16
tokens of slack for a chat template that differs by a few tokens from the one measured here)."""


def fitted_prompt_length(train: Path, model_dir: Path) -> int:
    """The longest chat-templated prompt of ``train`` in tokens, plus 16, rounded up to a multiple of 64.

    verl pads every prompt to ``data.max_prompt_length`` (left) and every sequence to prompt plus response
    length; with no remove-padding on CPU the actor computes all of it through the whole vocabulary. With the
    Qwen2.5 tokenizer the bundled prompts are at most 292 tokens, so a fitted length of 320 instead of a fixed 512
    cuts each sequence from 768 to 576 tokens. No prompt is dropped by verl's over-long filter.
    """
    import pandas as pd
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    longest = 0
    for prompt in pd.read_parquet(train, columns=["prompt"])["prompt"]:
        text = tokenizer.apply_chat_template(list(prompt), add_generation_prompt=True, tokenize=False)
        longest = max(longest, len(tokenizer(text, add_special_tokens=False)["input_ids"]))
    return -(-(longest + 16) // PROMPT_LENGTH_STEP) * PROMPT_LENGTH_STEP
