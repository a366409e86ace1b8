"""The interface every language-model backend offers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Protocol, TypedDict


class Message(TypedDict):
    """One chat message."""

    role: str
    content: str


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
    ) -> AsyncIterator[str]:
        """Text chunks of the reply, as they are generated; stops early when `cancel` is set."""
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
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        watcher.cancel()
