"""The slot KV cache: every layer's keys and values, preallocated for a fixed number of slots.

A slot holds one request's past (its prompt and what it wrote so far), up to `max_len`
positions; a request takes a free slot when it starts and gives it back when it ends, so no
memory is allocated while serving.
"""

from __future__ import annotations

import os
from typing import Any

import torch


def cache_plan(
    free_bytes: int,
    *,
    most: int,
    max_len: int,
    layers: int,
    kv_heads: int,
    head_dim: int,
    dtype_bytes: int,
    share: float = 0.8,
) -> tuple[int, int]:
    """Slots and positions per slot for a cache in `share` of the device's free memory (the
    rest is left for activations and the allocator): as many slots of `max_len` positions as
    fit, at most `most`; when not even one fits, one slot as long as fits. (0, 0) when no
    memory is left for even a short chat."""
    per_position = 2 * layers * kv_heads * head_dim * dtype_bytes  # keys and values
    budget = int(free_bytes * share)
    slots = min(most, budget // (per_position * max_len))
    if slots >= 1:
        return slots, max_len
    positions = budget // per_position
    return (1, positions) if positions >= 256 else (0, 0)


# On a CPU the cache gets this share of the memory available (the rest is the weights' working
# room, the process and the machine's other work), and at most this many chats decode together
# per core: a CPU writes a few tokens a second, so slots beyond that only hold memory.
CPU_CACHE_SHARE = 0.25
CPU_CHATS_PER_CORE = 2


def available_memory() -> int:
    """Bytes of memory this machine can still give (MemAvailable), 0 when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return 0


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_cache_plan(
    available: int, n_cores: int, *, most: int, max_len: int, **shape: int
) -> tuple[int, int]:
    """`cache_plan` on a CPU: chats decoded together from the cores, memory from what is
    available."""
    return cache_plan(
        available,
        most=min(most, CPU_CHATS_PER_CORE * max(1, n_cores)),
        max_len=max_len,
        share=CPU_CACHE_SHARE,
        **shape,
    )


class SlotKVCache:
    """Keys and values of shape (layers, slots, kv_heads, max_len, head_dim), and which slots
    are free and how far each used one is filled."""

    def __init__(
        self,
        *,
        layers: int,
        slots: int,
        kv_heads: int,
        max_len: int,
        head_dim: int,
        device: Any,
        dtype: Any,
    ) -> None:
        shape = (layers, slots, kv_heads, max_len, head_dim)
        self.keys = torch.zeros(shape, device=device, dtype=dtype)
        self.values = torch.zeros(shape, device=device, dtype=dtype)
        self.slots = slots
        self.max_len = max_len
        self.bytes = 2 * self.keys.numel() * self.keys.element_size()
        self.lengths = [0] * slots
        # Popped from the end: slot 0 is taken first.
        self.free = list(range(slots - 1, -1, -1))

    def take(self) -> int:
        """A free slot, now in use (IndexError when none is free)."""
        return self.free.pop()

    def release(self, slot: int) -> None:
        """Give a slot back; what it held is forgotten."""
        self.lengths[slot] = 0
        self.free.append(slot)

    def write(self, layer: int, rows: Any, cols: Any, keys: Any, values: Any) -> None:
        """Store one layer's keys and values (n, kv_heads, head_dim) at slot rows[i], position
        cols[i]."""
        self.keys[layer][rows, :, cols] = keys
        self.values[layer][rows, :, cols] = values

    def span(self, layer: int, first: int, count: int, span: int) -> tuple[Any, Any]:
        """One layer's keys and values of slots first..first+count-1, positions 0..span-1, as
        views of the cache (nothing copied)."""
        last = first + count
        return self.keys[layer][first:last, :, :span], self.values[layer][first:last, :, :span]

    def read(self, layer: int, slots: Any, span: int) -> tuple[Any, Any]:
        """One layer's keys and values of the given slots, positions 0..span-1."""
        return self.keys[layer][slots, :, :span], self.values[layer][slots, :, :span]
