"""The model step and its slot KV cache on a tiny random Qwen2 (built here, no download), driven
directly, without the scheduler's thread."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from bot.llm.base import GenerationError
from bot.llm.kv_cache import SlotKVCache, available_memory, cache_plan, cores, cpu_cache_plan
from bot.llm.model_step import ModelStep
from tests.bot.llm.test_backends import tiny_model  # noqa: F401  (fixture)

SHORT = [7, 7, 7]
LONG = [120, 33, 54, 2, 19, 88, 101, 64, 12]


@pytest.fixture(scope="module")
def model(tiny_model):  # noqa: F811
    from transformers import AutoModelForCausalLM

    # Float64, so that a batched row and the same row alone agree to the last bit that matters.
    return AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float64).eval()


def greedy(step: ModelStep, prompts: list[list[int]], new: int) -> list[list[int]]:
    """Prefill each prompt into its own slot, then decode all slots together."""
    slots = [step.cache.take() for _ in prompts]
    out = [[step.prefill(p, s)] for p, s in zip(prompts, slots, strict=True)]
    for _ in range(new - 1):
        chosen = step.decode([o[-1] for o in out], slots)
        for o, token in zip(out, chosen, strict=True):
            o.append(token)
    return out


@torch.inference_mode()
def test_prefill_then_decode_equals_transformers_generate(model):
    out = model.generate(torch.tensor([LONG]), max_new_tokens=12, do_sample=False, pad_token_id=0)
    step = ModelStep(model, slots=1, max_len=64)
    assert greedy(step, [LONG], 12) == [out[0, len(LONG) :].tolist()]


@torch.inference_mode()
def test_slots_decoded_together_equal_each_decoded_alone(model):
    alone = [greedy(ModelStep(model, slots=1, max_len=64), [p], 10)[0] for p in (SHORT, LONG)]
    together = greedy(ModelStep(model, slots=2, max_len=64), [SHORT, LONG], 10)
    assert together == alone


@torch.inference_mode()
def test_a_released_slot_serves_the_next_request_from_scratch(model):
    step = ModelStep(model, slots=1, max_len=64)
    first = greedy(step, [LONG], 6)
    step.cache.release(0)
    assert step.cache.lengths == [0] and step.cache.free == [0]
    assert greedy(step, [LONG], 6) == first


class OutOfMemory(ModelStep):
    """A model step whose device has no memory left."""

    def forward(self, tokens, starts, slots):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


@torch.inference_mode()
def test_a_step_out_of_memory_leaves_the_lengths_as_they_were(model):
    step = OutOfMemory(model, slots=2, max_len=64)
    step.cache.lengths[:] = [5, 9]
    with pytest.raises(torch.OutOfMemoryError):
        step.decode([1, 2], [0, 1])
    with pytest.raises(torch.OutOfMemoryError):
        step.prefill(SHORT, 0)
    assert step.cache.lengths == [5, 9]


def test_an_unsupported_model_is_refused_with_its_type():
    unsupported = SimpleNamespace(config=SimpleNamespace(model_type="gpt2"))
    with pytest.raises(GenerationError, match="gpt2"):
        ModelStep(unsupported, slots=1, max_len=16)


def test_slots_are_taken_lowest_first_and_given_back():
    cache = SlotKVCache(
        layers=1, slots=3, kv_heads=1, max_len=4, head_dim=2, device="cpu", dtype=torch.float32
    )
    assert [cache.take(), cache.take()] == [0, 1]
    cache.lengths[1] = 3
    cache.release(1)
    assert cache.lengths[1] == 0
    assert cache.take() == 1


@torch.inference_mode()
def test_a_prompt_written_in_chunks_leaves_the_same_cache_and_logits_as_written_whole(model):
    whole = ModelStep(model, slots=1, max_len=64)
    expected = whole.extend(LONG, 0)
    for size in (1, 2, 4):
        chunked = ModelStep(model, slots=1, max_len=64)
        for at in range(0, len(LONG), size):
            logits = chunked.extend(LONG[at : at + size], 0)
        assert chunked.cache.lengths == [len(LONG)]
        assert torch.allclose(logits, expected, atol=1e-9)
        span = len(LONG)
        assert torch.allclose(chunked.cache.keys[:, 0, :, :span], whole.cache.keys[:, 0, :, :span])


@torch.inference_mode()
def test_slots_out_of_order_are_read_as_well_as_slots_side_by_side(model):
    step = ModelStep(model, slots=3, max_len=64)
    for slot, prompt in ((0, SHORT), (1, LONG), (2, SHORT)):
        step.prefill(prompt, slot)
    lengths = list(step.cache.lengths)
    side_by_side = step.decode_logits([5, 9], [1, 2])  # a view of the cache
    step.cache.lengths[:] = lengths
    out_of_order = step.decode_logits([9, 5], [2, 1])  # gathered
    assert torch.allclose(side_by_side, out_of_order.flip(0), atol=1e-9)


def test_the_cache_is_sized_from_free_memory_not_a_fixed_shape():
    # Qwen2.5-1.5B in bf16: 28 layers, 2 key/value heads of 128: 28,672 bytes a position.
    shape = dict(layers=28, kv_heads=2, head_dim=128, dtype_bytes=2)
    gib = 2**30
    assert cache_plan(40 * gib, most=64, max_len=4096, **shape) == (64, 4096)
    assert cache_plan(1 * gib, most=64, max_len=4096, **shape) == (7, 4096)
    assert cache_plan(50 * 2**20, most=64, max_len=4096, **shape) == (1, 1462)
    assert cache_plan(5 * 2**20, most=64, max_len=4096, **shape) == (0, 0)
    cache = SlotKVCache(
        layers=2, slots=3, kv_heads=2, max_len=8, head_dim=4, device="cpu", dtype=torch.float32
    )
    assert cache.bytes == 2 * 2 * 3 * 2 * 8 * 4 * 4


def test_on_a_cpu_the_cache_follows_the_cores_and_the_memory_available():
    # Qwen2.5-1.5B in float32 on a CPU: 57,344 bytes a position, 235 MB a 4k chat.
    shape = dict(layers=28, kv_heads=2, head_dim=128, dtype_bytes=4)
    gib = 2**30
    # 32 chats asked for: 2 cores serve 4 at once, whatever the memory.
    assert cpu_cache_plan(100 * gib, 2, most=32, max_len=4096, **shape) == (4, 4096)
    assert cpu_cache_plan(100 * gib, 64, most=32, max_len=4096, **shape) == (32, 4096)
    # A quarter of what is available: 2 GiB available holds 2 chats of 4k, not 8.
    assert cpu_cache_plan(2 * gib, 4, most=32, max_len=4096, **shape) == (2, 4096)
    assert cpu_cache_plan(20 * 2**20, 4, most=32, max_len=4096, **shape) == (0, 0)
    assert available_memory() > 0 and cores() >= 1


def test_the_backend_on_a_cpu_sizes_its_cache_from_the_machine(tiny_model, monkeypatch):  # noqa: F811
    from bot.llm import kv_cache
    from bot.llm.hf import TransformersBackend

    monkeypatch.setattr(kv_cache, "cores", lambda: 2)
    backend = TransformersBackend(str(tiny_model), device="cpu", batch=32)
    backend.load()
    assert backend.scheduler is not None
    assert backend.scheduler.step.cache.slots == 4  # 2 chats per core, not the 32 asked for
