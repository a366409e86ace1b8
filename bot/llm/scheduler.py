"""Serving many chats at once on one model: an owned decode loop with continuous batching.

Requests join and leave the running batch at every step (continuous batching, as vLLM and SGLang
schedule it): a new request is prefilled into a free slot of a preallocated KV cache, then each
step decodes one token for every active request in one forward pass, with batched greedy
selection. A request ends at EOS, at its token budget, or when it is cancelled; its slot is free
for the next one at once.

The forward pass is the model's own layers (projections, norms, MLP and rotary tables of a
Hugging Face Qwen2/Llama-family model) around our attention over the slot cache, so the
weights are used as loaded, in place. Out of GPU memory, the engine halves its batch, puts the
newest requests back in the queue (they resume where they were) and goes on; a request that does
not fit alone gets a clear error, and the others are served.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from bot.llm.base import GenerationError

log = logging.getLogger("tutor.engine")
SUPPORTED = ("qwen2", "qwen3", "llama", "mistral")
REGROW_STEPS = 200


@dataclass
class Request:
    """One chat's generation: its tokens so far, and how to tell the caller about new ones."""

    prompt: list[int]
    max_new_tokens: int
    on_token: Callable[[int], None]
    stop: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    generated: list[int] = field(default_factory=list)
    error: BaseException | None = None
    slot: int = -1

    @property
    def tokens(self) -> list[int]:
        """Everything the model has seen: the prompt and what it wrote."""
        return self.prompt + self.generated


class Engine:
    """Continuous batching over a slot KV cache; one thread runs the loop."""

    def __init__(
        self,
        model: Any,
        *,
        eos: set[int],
        max_batch: int = 64,
        max_len: int = 4096,
        max_waiting: int = 256,
    ) -> None:
        config = model.config
        if getattr(config, "model_type", "") not in SUPPORTED:
            raise GenerationError(f"batched serving does not support {config.model_type} models")
        self.model = model
        self.eos = eos
        self.max_batch = max_batch
        self.max_len = max_len
        self.max_waiting = max_waiting
        self.layers = model.model.layers
        self.heads = config.num_attention_heads
        self.kv_heads = getattr(config, "num_key_value_heads", None) or self.heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        param = next(model.parameters())
        self.device, self.dtype = param.device, param.dtype
        shape = (len(self.layers), max_batch, self.kv_heads, max_len, self.head_dim)
        self.keys = torch.zeros(shape, device=self.device, dtype=self.dtype)
        self.values = torch.zeros(shape, device=self.device, dtype=self.dtype)
        self.lengths = [0] * max_batch
        self.free = list(range(max_batch - 1, -1, -1))
        self.active: list[Request] = []
        self.waiting: collections.deque[Request] = collections.deque()
        self.batch_limit = max_batch
        self._calm = 0
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="tutor-engine", daemon=True)
        self._thread.start()

    # -- the caller's side -------------------------------------------------------------------

    def submit(
        self,
        prompt: list[int],
        max_new_tokens: int,
        on_token: Callable[[int], None],
        stop: threading.Event | None = None,
    ) -> Request:
        """Queue a request (setting `stop` ends it); GenerationError at once when the queue is
        full or the prompt cannot fit."""
        if len(prompt) + max_new_tokens > self.max_len:
            max_new_tokens = self.max_len - len(prompt)
            if max_new_tokens < 1:
                raise GenerationError("the question is too long for the language model's context")
        request = Request(list(prompt), max_new_tokens, on_token, stop or threading.Event())
        with self._wake:
            if len(self.waiting) >= self.max_waiting:
                raise GenerationError("the language model is busy: try again in a moment")
            self.waiting.append(request)
            self._wake.notify()
        return request

    def close(self) -> None:
        """Stop the loop; requests still running end with an error."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=30)

    # -- the loop ----------------------------------------------------------------------------

    def _loop(self) -> None:
        with torch.inference_mode():
            while True:
                with self._wake:
                    while not self._closed and not self.waiting and not self.active:
                        self._wake.wait()
                    if self._closed:
                        break
                try:
                    self._admit()
                    self._drop_stopped()
                    if self.active:
                        self._decode()
                except Exception as exc:  # a bug must not leave callers waiting forever
                    log.exception("the generation loop failed")
                    for request in [*self.active, *self.waiting]:
                        self._finish(request, GenerationError(f"the language model failed ({exc})"))
                    self.waiting.clear()
        for request in [*self.active, *self.waiting]:
            self._finish(request, GenerationError("the language model was shut down"))

    def _admit(self) -> None:
        """Prefill waiting requests into free slots, up to the batch limit."""
        while self.free and len(self.active) < self.batch_limit:
            with self._wake:
                if not self.waiting:
                    return
                request = self.waiting.popleft()
            if request.stop.is_set():
                self._finish(request)
                continue
            slot = self.free.pop()
            request.slot = slot
            tokens = request.tokens
            try:
                logits = self._forward([tokens], [0], [slot])
            except torch.OutOfMemoryError:
                self._release(request)
                if self._shrink():
                    with self._wake:
                        self.waiting.appendleft(request)
                else:
                    self._finish(request, _oom())
                return
            self.lengths[slot] = len(tokens)
            self.active.append(request)
            self._take(request, int(logits[0].argmax()))

    def _decode(self) -> None:
        """One token for every active request, in one forward pass."""
        batch = list(self.active)
        tokens = [[r.generated[-1]] for r in batch]
        starts = [self.lengths[r.slot] for r in batch]
        try:
            logits = self._forward(tokens, starts, [r.slot for r in batch])
        except torch.OutOfMemoryError:
            if not self._shrink():
                for request in batch:
                    self._finish(request, _oom())
            return
        self._calm += 1
        if self._calm >= REGROW_STEPS and self.batch_limit < self.max_batch:
            self.batch_limit += 1  # memory pressure passes: win the batch back slowly
            self._calm = 0
        chosen = logits.argmax(dim=-1).tolist()
        for request, token in zip(batch, chosen, strict=True):
            self.lengths[request.slot] += 1
            self._take(request, token)

    def _take(self, request: Request, token: int) -> None:
        request.generated.append(token)
        ended = token in self.eos
        if not ended:
            request.on_token(token)
        full = self.lengths[request.slot] + 1 >= self.max_len
        if ended or full or len(request.generated) >= request.max_new_tokens:
            self._finish(request)

    def _drop_stopped(self) -> None:
        for request in [r for r in self.active if r.stop.is_set()]:
            self._finish(request)

    def _shrink(self) -> bool:
        """Out of memory: halve the batch, requeue the newest requests; False at batch 1."""
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if self.batch_limit <= 1 and len(self.active) <= 1:
            return False
        self.batch_limit = max(1, min(self.batch_limit, len(self.active)) // 2)
        self._calm = 0
        log.warning("out of GPU memory: batch limit now %d", self.batch_limit)
        while len(self.active) > self.batch_limit:
            request = self.active.pop()
            self._release(request)
            with self._wake:
                self.waiting.appendleft(request)  # resumes from its tokens so far
        return True

    def _release(self, request: Request) -> None:
        if request.slot >= 0:
            self.lengths[request.slot] = 0
            self.free.append(request.slot)
            request.slot = -1

    def _finish(self, request: Request, error: BaseException | None = None) -> None:
        if request in self.active:
            self.active.remove(request)
        self._release(request)
        request.error = error
        request.done.set()

    # -- the model ---------------------------------------------------------------------------

    def _forward(self, tokens: list[list[int]], starts: list[int], slots: list[int]) -> Any:
        """Logits of the last position of each row; writes the rows' keys and values into
        their slots at positions start.. (all rows of one call have the same length)."""
        device = self.device
        ids = torch.tensor(tokens, device=device)
        batch, width = ids.shape
        start = torch.tensor(starts, device=device)
        positions = start[:, None] + torch.arange(width, device=device)[None, :]
        slot = torch.tensor(slots, device=device)
        span = int(max(starts)) + width
        # Row b may see key k when k <= its query's position (causal, and its own past only).
        keys_at = torch.arange(span, device=device)
        mask = keys_at[None, None, None, :] <= positions[:, None, :, None]
        inner = self.model.model
        x = inner.embed_tokens(ids)
        cos, sin = inner.rotary_emb(x, positions)
        cos, sin = cos[:, None], sin[:, None]
        rows = slot.repeat_interleave(width)
        cols = positions.reshape(-1)
        group = self.heads // self.kv_heads
        for n, layer in enumerate(self.layers):
            attention = layer.self_attn
            h = layer.input_layernorm(x)
            q = attention.q_proj(h).view(batch, width, self.heads, self.head_dim)
            k = attention.k_proj(h).view(batch, width, self.kv_heads, self.head_dim)
            v = attention.v_proj(h).view(batch, width, self.kv_heads, self.head_dim)
            if hasattr(attention, "q_norm"):  # Qwen3 normalises queries and keys per head
                q, k = attention.q_norm(q), attention.k_norm(k)
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
            q = q * cos + _rotate_half(q) * sin
            k = k * cos + _rotate_half(k) * sin
            self.keys[n][rows, :, cols] = k.transpose(1, 2).reshape(
                -1, self.kv_heads, self.head_dim
            )
            self.values[n][rows, :, cols] = v.transpose(1, 2).reshape(
                -1, self.kv_heads, self.head_dim
            )
            past_k = self.keys[n][slot, :, :span]
            past_v = self.values[n][slot, :, :span]
            if group > 1:
                past_k = past_k.repeat_interleave(group, dim=1)
                past_v = past_v.repeat_interleave(group, dim=1)
            out = torch.nn.functional.scaled_dot_product_attention(
                q, past_k, past_v, attn_mask=mask
            )
            x = x + attention.o_proj(out.transpose(1, 2).reshape(batch, width, -1))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        last = inner.norm(x[:, -1])
        return self.model.lm_head(last).float()


def _rotate_half(x: Any) -> Any:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _oom() -> GenerationError:
    return GenerationError(
        "the language model ran out of GPU memory on this question; try a shorter one"
    )
