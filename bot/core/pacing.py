"""One pacing rule for every streamed answer, whatever the platform: the first piece is shown at
once, then the latest text at most once per `interval` seconds counted from the end of the last
edit (never per token), and longer after the platform said to slow down. An edit on its way is
never cut short: closing waits for it, and the final reply follows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

STREAM_INTERVAL = 1.0  # seconds between two edits of a streamed answer
SLOWED = 4  # intervals to wait after the platform refused an edit as too fast


class Pacer:
    """When the next edit of one streamed answer may go."""

    def __init__(
        self, interval: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = STREAM_INTERVAL if interval is None else interval
        self.clock = clock
        self.next_at = 0.0  # the first edit goes at once

    def wait(self) -> float:
        """Seconds until the next edit may go (0 when it may go now)."""
        return max(0.0, self.next_at - self.clock())

    def edited(self) -> None:
        """An edit went out (or none was needed): the next waits a whole interval."""
        self.next_at = max(self.next_at, self.clock() + self.interval)

    def slowed(self) -> None:
        """The platform refused an edit as too fast: wait longer before the next."""
        self.next_at = self.clock() + SLOWED * self.interval


async def pump(
    pacer: Pacer,
    closing: asyncio.Event,
    behind: Callable[[], bool],
    push: Callable[[], Awaitable[None]],
) -> None:
    """Show the latest text whenever `pacer` allows and the shown text is `behind`, until
    `closing` is set; an edit in flight finishes first. `push` raising ends the pump with it."""
    while not closing.is_set():
        try:
            await asyncio.wait_for(closing.wait(), timeout=pacer.wait())
            return
        except TimeoutError:
            pass
        if behind():
            await push()
        pacer.edited()


class PacedStream:
    """A streamed answer's text as it grows, pushed to the platform at the pace of the one rule:
    each bot's stream subclasses it and says how to show the text so far (`_push`: it sets
    `shown` when the platform has it). The first `write` starts the pacing; `_stop` ends it,
    after the push in flight, raising what a push raised."""

    def __init__(self, interval: float | None = None) -> None:
        self.pacer = Pacer(interval)
        self.text = ""
        self.shown = ""
        self.task: asyncio.Task | None = None
        self.closing = asyncio.Event()

    def write(self, text: str) -> None:
        """More of the answer."""
        self.text += text
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        await pump(self.pacer, self.closing, lambda: self.text != self.shown, self._push)

    async def _push(self) -> None:
        raise NotImplementedError

    async def _stop(self) -> None:
        self.closing.set()
        if self.task is not None:
            await self.task
