"""The interface every language-model backend offers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol, TypedDict


class Message(TypedDict):
    """One chat message."""

    role: str
    content: str


class GenerationError(Exception):
    """The model could not be loaded or could not answer; str() is one line for people."""


class Backend(Protocol):
    """A language model that streams text."""

    name: str

    def stream(
        self,
        messages: list[Message],
        *,
        max_new_tokens: int = 512,
        cancel: asyncio.Event | None = None,
    ) -> AsyncIterator[str]:
        """Text chunks of the reply, as they are generated; stops early when `cancel` is set."""
        ...


async def drain_thread(queue: asyncio.Queue, done: object) -> AsyncIterator[str]:
    """Chunks a worker thread puts on `queue` until it puts `done` (or an exception)."""
    while True:
        item = await queue.get()
        if item is done:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


def put(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue, item: object) -> bool:
    """Hand an item from a worker thread to the loop; False once the loop is gone (the
    consumer stopped listening), which tells the worker to stop."""
    try:
        loop.call_soon_threadsafe(queue.put_nowait, item)
    except RuntimeError:
        return False
    return True
