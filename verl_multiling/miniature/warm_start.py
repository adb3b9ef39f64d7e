r"""Warm starts: SFT traces that put the tiny model where each paper's policy starts, and the SFT loop.

Each recipe's traces reproduce the starting point its paper describes (every trace's answer is correct unless
said otherwise, so the warm model is mostly right):

=============  =================================================================================================
recipe         trace mixture for a question in language ℓ_q
=============  =================================================================================================
adamame        language collapse: English reasoning with probability ``english_share`` (0.85) when ℓ_q ≠ en,
               else reasoning in ℓ_q
tapo           half ``<translation>…</translation>`` + English reasoning, half reasoning alone; the translations
               are exact for half of them and degraded (words dropped, a number changed) for the rest
reflection     ``<think>reasoning</think>`` + ``\boxed{c}``; a third add a self-check sentence inside the think
               part; a quarter break the format (no ``</think>``, or no ``<think>``)
pb_rlsvr       reasoning in ℓ_q that agrees with the English pivot (60 %) or does not (a wrong result, 40 %)
pivot          PB-RLSVR's English pivot model: correct English reasoning for English questions
=============  =================================================================================================

The SFT loop is a plain PyTorch loop over Hugging Face's ``Qwen2ForCausalLM`` (cross-entropy on the response
tokens only, AdamW, linear warm-up then cosine decay); why not verl's SFT trainer: docs/miniature.md.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from verl_multiling.miniature.task import Problem, problems
from verl_multiling.miniature.templates import REFLECTION

WARM_START_RECIPES = ("adamame", "tapo", "reflection", "pb_rlsvr", "pivot")


@dataclass(frozen=True)
class SftSettings:
    """The SFT loop's settings (ours: the papers' SFT runs train billion-parameter models for hours)."""

    steps: int = 800
    batch_size: int = 48
    lr: float = 3e-3
    warmup: int = 30
    per_language: int = 3000
    english_share: float = 0.85


def _degrade(text: str, rng: random.Random) -> str:
    """A poor translation: about a third of the words dropped and, half the time, one digit changed."""
    words = text.split(" ")
    kept = [w for w in words if rng.random() > 0.35] or words[:1]
    out = " ".join(kept)
    digits = [i for i, ch in enumerate(out) if ch.isdigit()]
    if digits and rng.random() < 0.5:
        i = rng.choice(digits)
        out = out[:i] + str((int(out[i]) + rng.randint(1, 8)) % 10) + out[i + 1:]
    return out


def _wrong(problem: Problem, rng: random.Random) -> Problem:
    """The same question with a wrong result: b shifted by 1..3 (still a one-digit, no-carry problem)."""
    for shift in rng.sample([-3, -2, -1, 1, 2, 3], 6):
        b = problem.b + shift
        ok = 1 <= b <= 9 and (problem.a % 10 + b <= 9 if problem.op == "plus" else b <= problem.a % 10)
        if ok:
            return Problem(problem.lang, problem.a, b, problem.op, problem.obj, problem.frame)
    return Problem(problem.lang, problem.a, problem.b, problem.op, problem.obj, problem.frame)


def trace(recipe: str, problem: Problem, rng: random.Random, english_share: float = 0.85) -> str:
    """One SFT response for ``problem`` under ``recipe``'s warm-start mixture (see the module table)."""
    lang = problem.lang
    if recipe == "adamame":
        reason_lang = "en" if lang != "en" and rng.random() < english_share else lang
        return problem.reasoning(reason_lang)
    if recipe == "pivot":
        return problem.reasoning("en")
    if recipe == "tapo":
        body = problem.reasoning("en")
        if rng.random() < 0.5:
            return body
        translation = problem.question_en if rng.random() < 0.5 else _degrade(problem.question_en, rng)
        return f"<translation>{translation}</translation>{body}"
    if recipe == "reflection":
        think = problem.reasoning(lang).rsplit("\\boxed", 1)[0].rstrip()
        if rng.random() < 1 / 3:
            think += " " + REFLECTION[lang].format(c=problem.answer)
        answer = f"\\boxed{{{problem.answer}}}"
        kind = rng.random()
        if kind < 0.125:
            return f"<think>{think} {answer}"          # never closes the think part
        if kind < 0.25:
            return f"{think}</think>{answer}"          # no opening tag
        return f"<think>{think}</think>{answer}"
    if recipe == "pb_rlsvr":
        source = problem if rng.random() < 0.6 else _wrong(problem, rng)
        return source.reasoning(lang)
    raise ValueError(f"no warm start for recipe {recipe!r}; choose one of {', '.join(WARM_START_RECIPES)}")


def sft_pairs(recipe: str, languages: Sequence[str], settings: SftSettings, seed: int) -> list[tuple[str, str]]:
    """(question, response) pairs of the training split for ``recipe`` (English questions only for ``pivot``)."""
    rng = random.Random(f"sft:{recipe}:{seed}")
    langs = ("en",) if recipe == "pivot" else tuple(languages)
    return [(p.question, trace(recipe, p, rng, settings.english_share))
            for p in problems("train", langs, settings.per_language, seed)]


def encode_pairs(pairs: Sequence[tuple[str, str]], tokenizer) -> list[tuple[list[int], int]]:
    """Token ids of ChatML prompt + response + ``<|im_end|>``, and where the response starts."""
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    out = []
    for question, response in pairs:
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True,
                                               tokenize=False)
        p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        r_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
        out.append((p_ids + r_ids + [eos], len(p_ids)))
    return out


def sft(model, tokenizer, pairs: Sequence[tuple[str, str]], settings: SftSettings, seed: int,
        progress: Callable[[int, float], None] | None = None) -> float:
    """Train ``model`` in place on ``pairs``; returns the mean loss of the last 20 steps.

    loss = − (1 / |R|) Σ_{t ∈ R} log p(y_t | y_<t), R = the response tokens (and the closing EOS) of the batch.
    """
    import torch

    torch.manual_seed(seed)
    data = encode_pairs(pairs, tokenizer)
    pad = tokenizer.pad_token_id
    order = random.Random(seed)
    optim = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=0.0, betas=(0.9, 0.98))

    def lr_at(step: int) -> float:
        if step < settings.warmup:
            return (step + 1) / settings.warmup
        frac = (step - settings.warmup) / max(1, settings.steps - settings.warmup)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac))

    sched = torch.optim.lr_scheduler.LambdaLR(optim, lr_at)
    model.train()
    recent: list[float] = []
    for step in range(settings.steps):
        batch = order.sample(data, min(settings.batch_size, len(data)))
        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (seq, start) in enumerate(batch):
            ids[row, :len(seq)] = torch.tensor(seq)
            labels[row, start:len(seq)] = torch.tensor(seq[start:])
            mask[row, :len(seq)] = 1
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        recent = (recent + [loss.item()])[-20:]
        if progress is not None:
            progress(step + 1, loss.item())
    model.eval()
    return sum(recent) / len(recent)


def build_warm_start(recipe: str, languages: Sequence[str], seed: int, out: Path,
                     settings: SftSettings = SftSettings(), progress=None) -> float:
    """SFT a fresh tiny model on ``recipe``'s traces and save it to ``out``; returns the final loss."""
    import torch

    from verl_multiling.miniature.assets import random_model, save_model

    torch.set_num_threads(1)  # a tiny model: one thread is as fast, and never spins against a busy core
    model, tokenizer = random_model(seed)
    loss = sft(model, tokenizer, sft_pairs(recipe, languages, settings, seed), settings, seed, progress)
    save_model(model, tokenizer, out)
    return loss
