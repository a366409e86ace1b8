"""The batching scheduler on a tiny random Qwen2 (built here, no download): greedy output equals
transformers' generate, a batched request equals the same request alone, cancel, a full queue,
and recovery from running out of memory."""

from __future__ import annotations

import asyncio
import threading

import pytest
import torch

from bot.llm.base import GenerationError
from bot.llm.hf import TransformersBackend
from bot.llm.model_step import ModelStep
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
    """A model step whose first prefill waits until `release` is set: the loop is busy then."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.entered = threading.Event()
        self.release = threading.Event()

    def prefill(self, tokens, slot):
        self.entered.set()
        assert self.release.wait(60)
        return super().prefill(tokens, slot)


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
