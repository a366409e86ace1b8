"""Choosing the next token of each row of a decode step: greedy, or sampled with temperature,
top-p and a repetition penalty, on the logits' own device.

Greedy (temperature 0, no penalty) is `argmax` over the logits as they come, so it stays
bit-identical to the plain loop. A sampled row draws from its request's own generator, seeded,
so a chat with a seed is reproducible whatever else shares its batch. The chosen ids leave the
device once per step, in one copy.
"""

from __future__ import annotations

from typing import Any

import torch

from bot.llm.base import GREEDY, Sampling

__all__ = ["GREEDY", "Sampling", "choose", "generator_for", "nucleus", "penalise"]


def penalise(logits: Any, seen: list[int], penalty: float) -> Any:
    """One row's logits with the tokens already seen made less likely (the CTRL rule that
    transformers uses: divide a positive logit by the penalty, multiply a negative one)."""
    if penalty == 1.0 or not seen:
        return logits
    ids = torch.tensor(sorted(set(seen)), device=logits.device)
    picked = logits[ids]
    out = logits.clone()
    out[ids] = torch.where(picked > 0, picked / penalty, picked * penalty)
    return out


def nucleus(logits: Any, temperature: float, top_p: float) -> Any:
    """The probabilities of one row after temperature, with the tokens outside the smallest
    set whose mass reaches top_p set to zero (the most likely token is always kept)."""
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p >= 1.0:
        return probs
    ordered, order = torch.sort(probs, descending=True)
    before = torch.cumsum(ordered, dim=-1) - ordered  # mass of the tokens ranked above
    ordered = torch.where(before < top_p, ordered, torch.zeros_like(ordered))
    kept = torch.zeros_like(probs).scatter(-1, order, ordered)
    return kept / kept.sum()


def choose(
    logits: Any,
    samplings: list[Sampling],
    histories: list[list[int]],
    generators: list[Any],
) -> list[int]:
    """The next token of each row of `logits` (rows, vocab): argmax for greedy rows, a draw
    from the row's generator for the others."""
    chosen = logits.argmax(dim=-1)
    if all(s.greedy for s in samplings):
        return chosen.tolist()
    picks = []
    for row, (sampling, seen, generator) in enumerate(
        zip(samplings, histories, generators, strict=True)
    ):
        if sampling.greedy:
            picks.append(chosen[row])
            continue
        scores = penalise(logits[row], seen, sampling.repetition_penalty)
        if sampling.temperature == 0:
            picks.append(scores.argmax())
            continue
        probs = nucleus(scores, sampling.temperature, sampling.top_p)
        picks.append(torch.multinomial(probs, 1, generator=generator)[0])
    return torch.stack(picks).tolist()


def generator_for(sampling: Sampling, device: Any) -> Any:
    """A request's own random generator on the device (None for greedy): seeded when asked."""
    if sampling.greedy or sampling.temperature == 0:
        return None
    generator = torch.Generator(device=device)
    if sampling.seed is None:
        generator.seed()
    else:
        generator.manual_seed(sampling.seed)
    return generator
