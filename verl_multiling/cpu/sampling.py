"""Pure torch sampling for the CPU rollout server: one decoding step over a batch of logits.

For logits z (batch x vocab) at temperature tau > 0 the sampling distribution is

    p = softmax(z / tau), restricted to the k most likely tokens (top-k, k > 0) and to the smallest set
    whose mass reaches top_p (nucleus), then renormalised;

and the reported log-prob of the chosen token y is log softmax(z / tau)_y over the *whole* vocabulary,
which is what verl's actor recomputes (it divides the logits by the rollout temperature), so the
rollout-vs-actor log-prob gap measures only numerics and weight sync. tau = 0 is greedy decoding with
log-probs at tau = 1.

>>> import torch
>>> z = torch.tensor([[2.0, 1.0, -1.0]])
>>> sample_next(z, temperature=0.0, top_k=-1, top_p=1.0, generator=None)[0].tolist()
[0]
>>> tok, lp = sample_next(z, temperature=1.0, top_k=1, top_p=1.0, generator=torch.Generator().manual_seed(0))
>>> tok.tolist(), round(lp.item(), 4) == round(torch.log_softmax(z, -1)[0, 0].item(), 4)
([0], True)
"""

from __future__ import annotations

import torch


def apply_repetition_penalty(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL-style penalty: divide the positive logits (multiply the negative ones) of tokens in ``seen``.

    ``seen`` is a (batch x vocab) bool mask of tokens already in each sequence. ``penalty == 1`` is a no-op.
    """
    if penalty == 1.0:
        return logits
    scaled = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, scaled, logits)


def truncate_logits(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Set to -inf every logit outside the top-k (k > 0) and outside the nucleus of mass ``top_p`` (< 1)."""
    vocab = logits.shape[-1]
    if 0 < top_k < vocab:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        mass_before = torch.cumsum(probs, dim=-1) - probs  # mass of strictly more likely tokens
        drop_sorted = mass_before >= top_p  # the most likely token always stays (mass_before = 0)
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample_next(
    logits: torch.Tensor,
    temperature: float,
    top_k: int,
    top_p: float,
    generator: torch.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Next token per row and its log-prob (see the module docstring for which distribution)."""
    logits = logits.float()
    if temperature <= 0.0:
        tokens = logits.argmax(dim=-1)
        logprobs = torch.log_softmax(logits, dim=-1)
    else:
        scaled = logits / temperature
        logprobs = torch.log_softmax(scaled, dim=-1)
        probs = torch.softmax(truncate_logits(scaled, top_k, top_p), dim=-1)
        tokens = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    return tokens, logprobs.gather(-1, tokens[:, None]).squeeze(-1)


def sequence_logprobs(logits: torch.Tensor, tokens: torch.Tensor, temperature: float) -> torch.Tensor:
    """log softmax(z / tau) of given tokens: logits (n x vocab) predict tokens (n,). tau <= 0 counts as 1."""
    tau = temperature if temperature > 0 else 1.0
    return torch.log_softmax(logits.float() / tau, dim=-1).gather(-1, tokens[:, None]).squeeze(-1)
