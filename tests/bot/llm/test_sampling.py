"""Choosing tokens: greedy is the plain argmax, the repetition penalty is transformers' own rule,
top-p keeps the smallest set of tokens that reaches its mass, and stop strings are found in text
that arrives in pieces."""

from __future__ import annotations

import asyncio

import pytest
import torch

from bot.llm.base import cut_at_stops, held_back, stop_at
from bot.llm.sampling import GREEDY, Sampling, choose, generator_for, nucleus, penalise


def test_greedy_rows_are_the_argmax_and_need_no_generator():
    logits = torch.randn(3, 50, generator=torch.Generator().manual_seed(1))
    assert choose(logits, [GREEDY] * 3, [[], [], []], [None] * 3) == logits.argmax(-1).tolist()
    assert generator_for(GREEDY, "cpu") is None
    assert GREEDY.greedy and not Sampling(temperature=0.7).greedy


def test_the_repetition_penalty_is_the_one_transformers_applies():
    from transformers import RepetitionPenaltyLogitsProcessor

    logits = torch.tensor([[2.0, -1.0, 0.5, -3.0, 4.0]])
    seen = [0, 1, 1, 3]
    theirs = RepetitionPenaltyLogitsProcessor(1.5)(torch.tensor([seen]), logits.clone())
    assert torch.allclose(penalise(logits[0], seen, 1.5), theirs[0])
    assert torch.equal(penalise(logits[0], seen, 1.0), logits[0])


def test_top_p_keeps_the_smallest_set_that_reaches_its_mass():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    kept = nucleus(probs.log(), 1.0, 0.75)
    assert (kept > 0).tolist() == [True, True, False, False]
    assert torch.allclose(kept[:2], torch.tensor([0.5, 0.3]) / 0.8)
    assert (nucleus(probs.log(), 1.0, 0.01) > 0).tolist() == [True, False, False, False]
    assert torch.allclose(nucleus(probs.log(), 1.0, 1.0), probs)


def test_a_seeded_draw_repeats_and_stays_inside_the_nucleus():
    logits = torch.tensor([[3.0, 2.9, 0.0, -5.0, -5.0]] * 200)
    sampling = Sampling(temperature=1.0, top_p=0.9, seed=3)
    draws = [
        choose(logits, [sampling] * 200, [[]] * 200, [generator_for(sampling, "cpu")] * 200)
        for _ in range(2)
    ]
    assert draws[0] == draws[1]
    assert set(draws[0]) == {0, 1}  # both likely tokens drawn, the unlikely ones never


def test_bad_options_are_refused_with_what_is_wrong():
    with pytest.raises(ValueError, match="temperature"):
        Sampling(temperature=-1)
    with pytest.raises(ValueError, match="top_p"):
        Sampling(top_p=0)


def test_stop_strings_are_found_and_their_beginnings_held_back():
    assert stop_at("an answer\n\nUser: more", ("User:", "###")) == len("an answer\n\n")
    assert stop_at("nothing here", ("User:",)) == -1
    assert held_back("an answer\n\nUs", ("User:",)) == 2
    assert held_back("an answer", ("User:",)) == 0


def test_a_reply_is_cut_before_a_stop_string_split_across_chunks_and_the_rest_is_not_read():
    read: list[str] = []

    async def chunks():
        for chunk in ["The KV cache keeps keys", " and values.\nUs", "er: next?", " never"]:
            read.append(chunk)
            yield chunk

    async def shown() -> list[str]:
        return [c async for c in cut_at_stops(chunks(), ("\nUser:",))]

    out = asyncio.run(shown())
    assert "".join(out) == "The KV cache keeps keys and values."
    assert not any("Us" in c for c in out)  # the stop's beginning was held back, then dropped
    assert read[-1] == "er: next?"  # nothing read after the stop
