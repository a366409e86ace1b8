"""The batching scheduler on a tiny random Qwen2 (built here, no download): greedy output equals
transformers' generate, a batched request equals the same request alone, cancel, a full queue,
and recovery from running out of memory."""

from __future__ import annotations

import asyncio
import itertools
import threading

import pytest
import torch

from bot.llm.base import GenerationError
from bot.llm.hf import TransformersBackend
from bot.llm.model_step import ModelStep
from bot.llm.sampling import Sampling
from bot.llm.scheduler import BatchScheduler
from tests.bot.llm.test_backends import CHAT, tiny_model  # noqa: F401  (fixture)

PROMPTS = [
    [5, 17, 42, 99, 3],
    [7, 7, 7],
    [120, 33, 54, 2, 19, 88, 101, 64, 12],
    [250, 1],
    [60, 61, 62, 63, 64, 65],
    [300, 200, 100],
]


@pytest.fixture(scope="module")
def model(tiny_model):  # noqa: F811
    from transformers import AutoModelForCausalLM

    # Float64, so that a batched row and the same row alone agree to the last bit that matters.
    return AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float64).eval()


def run(
    scheduler: BatchScheduler, prompt: list[int], new: int, stop: threading.Event | None = None
):
    got: list[int] = []
    request = scheduler.submit(prompt, new, got.append, stop)
    return request, got


def alone(model, prompt: list[int], new: int) -> list[int]:
    scheduler = BatchScheduler(ModelStep(model, slots=1, max_len=256), eos=set())
    try:
        request, got = run(scheduler, prompt, new)
        assert request.done.wait(60) and request.error is None
        return got
    finally:
        scheduler.close()


def test_greedy_output_equals_transformers_generate(model):
    prompt = PROMPTS[2]
    with torch.inference_mode():
        out = model.generate(
            torch.tensor([prompt]), max_new_tokens=20, do_sample=False, pad_token_id=0
        )
    assert alone(model, prompt, 20) == out[0, len(prompt) :].tolist()


def test_batched_requests_equal_the_same_requests_alone(model):
    budgets = [20, 7, 15, 25, 3, 12]  # requests end at different steps; others join then
    expected = [alone(model, p, n) for p, n in zip(PROMPTS, budgets, strict=True)]
    scheduler = BatchScheduler(ModelStep(model, slots=4, max_len=256), eos=set())
    try:
        runs = [run(scheduler, p, n) for p, n in zip(PROMPTS, budgets, strict=True)]
        for request, _ in runs:
            assert request.done.wait(60) and request.error is None
        assert [got for _, got in runs] == expected
    finally:
        scheduler.close()


def test_cancelled_request_stops_and_the_others_go_on(model):
    scheduler = BatchScheduler(ModelStep(model, slots=4, max_len=1024), eos=set())
    try:
        stop = threading.Event()
        cancelled, got = run(scheduler, PROMPTS[0], 900, stop)
        other, other_got = run(scheduler, PROMPTS[1], 30)
        stop.set()
        assert cancelled.done.wait(60) and cancelled.error is None
        assert len(got) < 900
        assert other.done.wait(60) and len(other_got) == 30
    finally:
        scheduler.close()


class Held(ModelStep):
    """A model step whose prompt writing waits until `release` is set: the loop is busy then."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.entered = threading.Event()
        self.release = threading.Event()

    def extend(self, tokens, slot):
        self.entered.set()
        assert self.release.wait(60)
        return super().extend(tokens, slot)


def test_a_full_queue_is_refused_at_once(model):
    step = Held(model, slots=1, max_len=1024)
    scheduler = BatchScheduler(step, eos=set(), max_waiting=1)
    try:
        first, _ = run(scheduler, PROMPTS[0], 1000)
        assert step.entered.wait(60)  # the loop has taken the first request off the queue
        run(scheduler, PROMPTS[1], 10)
        with pytest.raises(GenerationError, match="busy"):
            run(scheduler, PROMPTS[2], 10)
        first.stop.set()
    finally:
        step.release.set()
        scheduler.close()


def test_a_prompt_longer_than_the_context_is_refused(model):
    scheduler = BatchScheduler(ModelStep(model, slots=1, max_len=16), eos=set())
    try:
        with pytest.raises(GenerationError, match="too long"):
            run(scheduler, list(range(1, 30)), 10)
    finally:
        scheduler.close()


class Cramped(ModelStep):
    """A model step whose device runs out of memory above two rows, or on a long prompt."""

    def forward(self, tokens, starts, slots):
        if len(tokens) > 2 or len(tokens[0]) > 40:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return super().forward(tokens, starts, slots)


def test_out_of_memory_shrinks_the_batch_and_every_request_still_finishes(model):
    budgets = [12, 9, 14, 6]
    expected = [alone(model, p, n) for p, n in zip(PROMPTS[:4], budgets, strict=True)]
    scheduler = BatchScheduler(Cramped(model, slots=4, max_len=256), eos=set())
    try:
        runs = [run(scheduler, p, n) for p, n in zip(PROMPTS[:4], budgets, strict=True)]
        for request, _ in runs:
            assert request.done.wait(60) and request.error is None
        assert [got for _, got in runs] == expected
        assert scheduler.batch_limit <= 2
        # A request that does not fit even alone gets a clear error; the scheduler keeps serving.
        too_big, _ = run(scheduler, list(range(1, 60)), 5)
        assert too_big.done.wait(60)
        assert "ran out of GPU memory" in str(too_big.error)
        after, got = run(scheduler, PROMPTS[3], 5)
        assert after.done.wait(60) and after.error is None and got == alone(model, PROMPTS[3], 5)
    finally:
        scheduler.close()


def test_backend_serves_concurrent_chats_through_the_scheduler(tiny_model):  # noqa: F811
    backend = TransformersBackend(str(tiny_model), device="cpu", batch=4)

    async def ask(text: str) -> str:
        chat = [*CHAT[:1], {"role": "user", "content": text}]
        return "".join([c async for c in backend.stream(chat, max_new_tokens=16)])

    async def all_at_once() -> list[str]:
        return await asyncio.gather(*(ask(q) for q in ("kv cache", "quantization", "attention")))

    try:
        answers = asyncio.run(all_at_once())
        assert backend.scheduler is not None
        assert all(answers)
        # The streamed text is the decoded tokens: the same chat alone reads the same.
        assert asyncio.run(ask("quantization")) == answers[1]
    finally:
        backend.close()


class Logged(ModelStep):
    """A model step that notes each pass: ("write", slot, tokens) or ("decode", slots)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.passes: list[tuple] = []

    def extend(self, tokens, slot):
        self.passes.append(("write", slot, len(tokens)))
        return super().extend(tokens, slot)

    def decode_logits(self, last, slots):
        self.passes.append(("decode", tuple(slots)))
        return super().decode_logits(last, slots)


def test_a_prompt_written_in_chunks_gives_the_same_tokens_as_written_whole(model):
    prompt = PROMPTS[2]  # nine tokens
    for budget in (1, 2, 4):
        step = Logged(model, slots=1, max_len=256)
        scheduler = BatchScheduler(step, eos=set(), prefill_budget=budget)
        try:
            request, got = run(scheduler, prompt, 12)
            assert request.done.wait(60) and request.error is None
        finally:
            scheduler.close()
        assert got == alone(model, prompt, 12)
        writes = [p[2] for p in step.passes if p[0] == "write"]
        assert sum(writes) == len(prompt) and max(writes) <= budget


def test_chats_already_answering_keep_decoding_while_a_long_prompt_is_written(model):
    step = Logged(model, slots=2, max_len=512)
    scheduler = BatchScheduler(step, eos=set(), prefill_budget=8)
    answering = threading.Event()
    try:
        tokens: list[int] = []

        def first_token(token: int) -> None:
            tokens.append(token)
            answering.set()

        first = scheduler.submit(PROMPTS[1], 200, first_token)
        assert answering.wait(60)
        long_prompt = [5 + n % 300 for n in range(64)]
        second, got = run(scheduler, long_prompt, 4)
        assert second.done.wait(60) and second.error is None
        first.stop.set()
        assert first.done.wait(60)
    finally:
        scheduler.close()
    assert got == alone(model, long_prompt, 4)
    # The long prompt went in eight chunks into the second slot (slots are taken lowest first),
    # and the first chat, in slot 0, decoded between every two.
    order = [p for p in step.passes if p[0] == "decode" or p[1] == 1]
    writes = [n for n, p in enumerate(order) if p[0] == "write"]
    assert [order[n][2] for n in writes] == [8] * 8
    for a, b in itertools.pairwise(writes):
        assert any(p[0] == "decode" and 0 in p[1] for p in order[a + 1 : b])


def test_sampled_chats_are_reproducible_by_seed_and_greedy_ones_are_unchanged_beside_them(model):
    sampled = Sampling(temperature=1.5, top_p=0.95, repetition_penalty=1.3, seed=7)
    expected = alone(model, PROMPTS[0], 10)
    outputs = []
    for _ in range(2):
        scheduler = BatchScheduler(ModelStep(model, slots=2, max_len=256), eos=set())
        try:
            draw = scheduler.submit(PROMPTS[2], 10, (drawn := []).append, sampling=sampled)
            plain, got = run(scheduler, PROMPTS[0], 10)
            assert draw.done.wait(60) and plain.done.wait(60)
        finally:
            scheduler.close()
        assert got == expected  # greedy beside a sampled chat: bit for bit the same
        outputs.append(drawn)
    assert outputs[0] == outputs[1]
    assert outputs[0] != alone(model, PROMPTS[2], 10)  # it did sample
