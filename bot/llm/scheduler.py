"""Serving many chats at once on one model: a continuous-batching scheduler on its own thread.

Requests join and leave the running batch at every step (continuous batching, as vLLM and SGLang
schedule it): a new request takes a free slot of the model step's KV cache and its prompt is
written there in chunks of at most `prefill_budget` tokens, one chunk between two decode steps,
so a long prompt does not stall the chats already answering; each step decodes one token for
every active request in one forward pass (`model_step.py`), greedy or sampled per request
(`sampling.py`). A request
ends at EOS, at its token budget, or when it is cancelled; its slot is free for the next one at
once. Out of GPU memory, the scheduler halves its batch, puts the newest requests back in the
queue (they resume where they were) and goes on; a request that does not fit alone gets a clear
error, and the others are served.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from bot.llm.base import GenerationError
from bot.llm.model_step import ModelStep
from bot.llm.sampling import GREEDY, Sampling, choose, generator_for

log = logging.getLogger("tutor.llm.scheduler")
REGROW_STEPS = 200
PREFILL_BUDGET = 512  # prompt tokens written between two decode steps


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
    sampling: Sampling = GREEDY
    written: int = 0  # how many of `tokens` its slot holds
    generator: Any = None  # its own random generator when it samples

    @property
    def tokens(self) -> list[int]:
        """Everything the model has seen: the prompt and what it wrote."""
        return self.prompt + self.generated


class BatchScheduler:
    """Continuous batching over a model step's slots; one thread runs the loop."""

    def __init__(
        self,
        step: ModelStep,
        *,
        eos: set[int],
        max_waiting: int = 256,
        prefill_budget: int = PREFILL_BUDGET,
    ) -> None:
        self.step = step
        self.prefill_budget = max(1, prefill_budget)
        self.filling: collections.deque[Request] = collections.deque()  # prompts being written
        self.cache = step.cache
        self.eos = eos
        self.max_batch = step.cache.slots
        self.max_len = step.cache.max_len
        self.max_waiting = max_waiting
        self.active: list[Request] = []
        self.waiting: collections.deque[Request] = collections.deque()
        self.batch_limit = self.max_batch
        self._calm = 0
        # Read by the metrics when scraped: plain numbers, written by the loop's thread alone
        # (rejected under the lock).
        self.tokens_generated = 0
        self.tokens_per_s = 0.0  # of the latest decode step; 0 while idle
        self.rejected = 0
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="tutor-batch", daemon=True)
        self._thread.start()

    # -- the caller's side -------------------------------------------------------------------

    def submit(
        self,
        prompt: list[int],
        max_new_tokens: int,
        on_token: Callable[[int], None],
        stop: threading.Event | None = None,
        sampling: Sampling = GREEDY,
    ) -> Request:
        """Queue a request (setting `stop` ends it); GenerationError at once when the queue is
        full or the prompt cannot fit."""
        if len(prompt) + max_new_tokens > self.max_len:
            max_new_tokens = self.max_len - len(prompt)
            if max_new_tokens < 1:
                raise GenerationError("the question is too long for the language model's context")
        request = Request(
            list(prompt), max_new_tokens, on_token, stop or threading.Event(), sampling=sampling
        )
        request.generator = generator_for(sampling, self.step.device)
        with self._wake:
            if len(self.waiting) >= self.max_waiting:
                self.rejected += 1
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
                    while (
                        not self._closed
                        and not self.waiting
                        and not self.active
                        and not self.filling
                    ):
                        self._wake.wait()
                    if self._closed:
                        break
                try:
                    self._admit()
                    self._drop_stopped()
                    self._fill()
                    if self.active:
                        self._decode()
                    if not self.active:
                        self.tokens_per_s = 0.0
                except Exception as exc:  # a bug must not leave callers waiting forever
                    log.exception("the generation loop failed")
                    for request in [*self.active, *self.filling, *self.waiting]:
                        self._finish(request, GenerationError(f"the language model failed ({exc})"))
                    self.waiting.clear()
        for request in [*self.active, *self.filling, *self.waiting]:
            self._finish(request, GenerationError("the language model was shut down"))

    def _admit(self) -> None:
        """Give waiting requests free slots, up to the batch limit; their prompts are written
        by `_fill`."""
        while self.cache.free and len(self.active) + len(self.filling) < self.batch_limit:
            with self._wake:
                if not self.waiting:
                    return
                request = self.waiting.popleft()
            if request.stop.is_set():
                self._finish(request)
                continue
            request.slot = self.cache.take()
            request.written = 0
            self.filling.append(request)

    def _fill(self) -> None:
        """Write up to `prefill_budget` prompt tokens, oldest request first; a request whose
        prompt is written gets its first token and joins the decoding batch."""
        budget = self.prefill_budget
        while self.filling and budget > 0:
            request = self.filling[0]
            tokens = request.tokens
            chunk = tokens[request.written : request.written + budget]
            try:
                logits = self.step.extend(chunk, request.slot)
            except torch.OutOfMemoryError:
                self.filling.popleft()
                self._release(request)
                if self._shrink():
                    with self._wake:
                        self.waiting.appendleft(request)  # its prompt is written again
                else:
                    self._finish(request, _oom())
                return
            request.written += len(chunk)
            budget -= len(chunk)
            if request.written < len(tokens):
                continue
            self.filling.popleft()
            self.active.append(request)
            (token,) = choose(logits[None], [request.sampling], [tokens], [request.generator])
            self._take(request, token)

    def _decode(self) -> None:
        """One token for every active request, in one forward pass."""
        batch = list(self.active)
        started = time.perf_counter()
        try:
            logits = self.step.decode_logits(
                [r.generated[-1] for r in batch], [r.slot for r in batch]
            )
            chosen = choose(
                logits,
                [r.sampling for r in batch],
                [r.tokens if not r.sampling.greedy else [] for r in batch],
                [r.generator for r in batch],
            )
        except torch.OutOfMemoryError:
            if not self._shrink():
                for request in batch:
                    self._finish(request, _oom())
            return
        self.tokens_per_s = len(batch) / max(time.perf_counter() - started, 1e-9)
        self._calm += 1
        if self._calm >= REGROW_STEPS and self.batch_limit < self.max_batch:
            self.batch_limit += 1  # memory pressure passes: win the batch back slowly
            self._calm = 0
        for request, token in zip(batch, chosen, strict=True):
            self._take(request, token)

    def _take(self, request: Request, token: int) -> None:
        request.generated.append(token)
        self.tokens_generated += 1
        ended = token in self.eos
        if not ended:
            request.on_token(token)
        full = self.cache.lengths[request.slot] + 1 >= self.max_len
        if ended or full or len(request.generated) >= request.max_new_tokens:
            self._finish(request)

    def _drop_stopped(self) -> None:
        for request in [r for r in [*self.active, *self.filling] if r.stop.is_set()]:
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
        while self.filling and len(self.active) + len(self.filling) > self.batch_limit:
            request = self.filling.pop()  # the newest: its prompt is written again later
            self._release(request)
            with self._wake:
                self.waiting.appendleft(request)
        while len(self.active) > self.batch_limit:
            request = self.active.pop()
            self._release(request)
            with self._wake:
                self.waiting.appendleft(request)  # resumes from its tokens so far
        return True

    def _release(self, request: Request) -> None:
        if request.slot >= 0:
            self.cache.release(request.slot)
            request.slot = -1

    def _finish(self, request: Request, error: BaseException | None = None) -> None:
        if request in self.active:
            self.active.remove(request)
        if request in self.filling:
            self.filling.remove(request)
        self._release(request)
        request.error = error
        request.done.set()


def _oom() -> GenerationError:
    return GenerationError(
        "the language model ran out of GPU memory on this question; try a shorter one"
    )
