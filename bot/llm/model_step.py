"""The model's forward pass over a slot KV cache: prefill one request, decode one token for many.

The pass is the model's own layers (projections, norms, MLP and rotary tables of a Hugging Face
Qwen2/Llama-family model) around our attention over the slot cache, so the weights are used as
loaded, in place. A prompt may be written in chunks (`extend`), so a long one need not stall the
chats decoding beside it. `decode` is greedy; `decode_logits` leaves the choice to the caller
(`sampling.py`). Out of GPU memory, a step raises torch.OutOfMemoryError
and leaves the lengths it would have advanced as they were, so the caller may retry smaller.
"""

from __future__ import annotations

from typing import Any

import torch

from bot.llm.base import GenerationError
from bot.llm.kv_cache import SlotKVCache

SUPPORTED = ("qwen2", "qwen3", "llama", "mistral")


class ModelStep:
    """A loaded causal LM and the slot KV cache it reads and writes."""

    def __init__(self, model: Any, *, slots: int, max_len: int) -> None:
        config = model.config
        if getattr(config, "model_type", "") not in SUPPORTED:
            raise GenerationError(f"batched serving does not support {config.model_type} models")
        self.model = model
        self.layers = model.model.layers
        self.heads = config.num_attention_heads
        self.kv_heads = getattr(config, "num_key_value_heads", None) or self.heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        param = next(model.parameters())
        self.device, self.dtype = param.device, param.dtype
        self.cache = SlotKVCache(
            layers=len(self.layers),
            slots=slots,
            kv_heads=self.kv_heads,
            max_len=max_len,
            head_dim=self.head_dim,
            device=self.device,
            dtype=self.dtype,
        )

    def prefill(self, tokens: list[int], slot: int) -> int:
        """Fill an empty slot with a request's tokens; the greedy next token."""
        return int(self.extend(tokens, slot).argmax())

    def extend(self, tokens: list[int], slot: int) -> Any:
        """Append tokens to a slot's past in one pass (a whole prompt, or one chunk of it);
        the logits (vocab,) of the position after them."""
        logits = self.forward([tokens], [self.cache.lengths[slot]], [slot])
        self.cache.lengths[slot] += len(tokens)
        return logits[0]

    def decode(self, last: list[int], slots: list[int]) -> list[int]:
        """The greedy next token of every slot, given the last token of each, in one pass."""
        return self.decode_logits(last, slots).argmax(dim=-1).tolist()

    def decode_logits(self, last: list[int], slots: list[int]) -> Any:
        """The logits (rows, vocab) of every slot's next token, given the last token of each,
        in one pass."""
        starts = [self.cache.lengths[slot] for slot in slots]
        logits = self.forward([[token] for token in last], starts, slots)
        for slot in slots:
            self.cache.lengths[slot] += 1
        return logits

    def forward(self, tokens: list[list[int]], starts: list[int], slots: list[int]) -> Any:
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
        # Slots side by side in order are read as a view of the cache; others are gathered.
        together = slots == list(range(slots[0], slots[0] + len(slots)))
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
            self.cache.write(
                n,
                rows,
                cols,
                k.transpose(1, 2).reshape(-1, self.kv_heads, self.head_dim),
                v.transpose(1, 2).reshape(-1, self.kv_heads, self.head_dim),
            )
            if together:
                past_k, past_v = self.cache.span(n, slots[0], len(slots), span)
            else:
                past_k, past_v = self.cache.read(n, slot, span)
            # Grouped-query attention reads each key/value head for its group of query heads
            # where it lies (no copy repeated per group).
            out = torch.nn.functional.scaled_dot_product_attention(
                q, past_k, past_v, attn_mask=mask, enable_gqa=group > 1
            )
            x = x + attention.o_proj(out.transpose(1, 2).reshape(batch, width, -1))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        last = inner.norm(x[:, -1])
        return self.model.lm_head(last).float()


def _rotate_half(x: Any) -> Any:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)
