"""The interface every language-model backend offers."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol, TypedDict


class Message(TypedDict):
    """One chat message."""

    role: str
    content: str


@dataclass(frozen=True)
class Sampling:
    """How one chat's tokens are chosen; the default is greedy."""

    temperature: float = 0.0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    stop: tuple[str, ...] = ()  # text that ends the reply (not shown); matched on the text
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError("temperature must be 0 (greedy) or more")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.repetition_penalty <= 0:
            raise ValueError("repetition_penalty must be more than 0")

    @property
    def greedy(self) -> bool:
        """Whether the choice is the plain argmax of the logits."""
        return self.temperature == 0 and self.repetition_penalty == 1.0


GREEDY = Sampling()


class GenerationError(Exception):
    """The model could not be loaded or could not answer; str() is one line for people."""


class Backend(Protocol):
    """A language model that streams text: what the answer engine and the grader call, and
    what the wiring loads at start and the tutor closes at the end."""

    name: str

    def load(self) -> None:
        """Get ready to answer (idempotent); GenerationError, one line for people, when it
        cannot."""
        ...

    def close(self) -> None:
        """Release what `load` and answering took; no stream is started after."""
        ...

    def stream(
        self,
        messages: list[Message],
        *,
        max_new_tokens: int = 512,
        cancel: asyncio.Event | None = None,
        sampling: Sampling | None = None,
    ) -> AsyncIterator[str]:
        """Text chunks of the reply, as they are generated; stops early when `cancel` is set.
        Greedy unless `sampling` says otherwise (only answers pass it: a judge stays greedy)."""
        ...


Emit = Callable[[object], bool]


async def stream_from_thread(
    work: Callable[[Emit, threading.Event], None],
    cancel: asyncio.Event | None,
    on_error: Callable[[BaseException], BaseException],
) -> AsyncIterator[str]:
    """Run `work(emit, stop)` in a thread and yield what it emits.

    `emit` returns False once nobody listens; `stop` is set when `cancel` is set or the consumer
    stops early, and the work should end soon after. An exception of the work is raised here,
    turned into one for people by `on_error`."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    done = object()
    stop = threading.Event()

    def emit(item: object) -> bool:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone
            stop.set()
            return False
        return True

    def target() -> None:
        try:
            work(emit, stop)
        except BaseException as exc:
            emit(on_error(exc))
        finally:
            emit(done)

    async def watch() -> None:
        if cancel is not None:
            await cancel.wait()
            stop.set()

    watcher = asyncio.create_task(watch())
    threading.Thread(target=target, daemon=True).start()
    try:
        while True:
            item = await queue.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        watcher.cancel()


def stop_at(text: str, stops: tuple[str, ...]) -> int:
    """Where the first stop string starts in `text`, or -1."""
    found = [at for at in (text.find(s) for s in stops if s) if at >= 0]
    return min(found) if found else -1


def held_back(text: str, stops: tuple[str, ...]) -> int:
    """How many characters at the end of `text` could be the start of a stop string (not shown
    yet: the next tokens may complete it)."""
    longest = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:n]):
                longest = max(longest, n)
                break
    return longest


async def cut_at_stops(
    chunks: AsyncGenerator[str, None], stops: tuple[str, ...]
) -> AsyncIterator[str]:
    """The chunks up to the first stop string (which is not shown); the rest is not read, so
    the generation behind `chunks` is told to stop. Text that may be the start of a stop string
    waits for the next chunk."""
    pending = ""
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            pending += chunk
            at = stop_at(pending, stops)
            if at >= 0:
                if at:
                    yield pending[:at]
                return
            shown = len(pending) - held_back(pending, stops)
            if shown:
                yield pending[:shown]
                pending = pending[shown:]
    if pending:
        yield pending
