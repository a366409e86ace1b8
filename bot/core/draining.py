"""Stopping without dropping replies: the tutor's `handle` calls in flight and the streams they
have open. A stopping tutor starts no new work, lets the work in flight finish for a while, and
at the deadline closes every stream still open with the text it has so far and a note, so that
no answer is left half-drawn (Slack's stream still open, Discord's `▌` cursor)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.core.conversation import OnPosted, Outbox, Reply, ReplyStream, Sent
from bot.texts import messages

log = logging.getLogger("tutor.core")
# How long the streams cut at the deadline (and final replies on their way) get to be delivered.
CUT_SECONDS = 5.0


class CutStream:
    """The adapter's stream, keeping what was written so that a deadline can close it."""

    def __init__(self, inner: ReplyStream) -> None:
        self.inner = inner
        self.text = ""
        self.state = "open"  # open | closing | closed | cut

    def write(self, text: str) -> None:
        if self.state == "open":
            self.text += text
            self.inner.write(text)

    async def close(self, reply: Reply) -> Sent:
        if self.state != "open":
            return Sent()  # cut at the deadline: what was written went out with the note
        self.state = "closing"
        try:
            return await self.inner.close(reply)
        finally:
            self.state = "closed"

    async def cut(self, note: str) -> None:
        """Close with the text so far and `note`: the deadline came before the reply's end."""
        self.state = "cut"
        text = f"{self.text.rstrip()}\n\n{note}" if self.text.strip() else note
        await self.inner.close(Reply(text, kind="answer"))


@dataclass
class Work:
    """One `handle` call in flight: the language it answers in and the streams it opened."""

    lang: messages.Lang = "en"
    streams: list[CutStream] = field(default_factory=list)

    def outbox(self, out: Outbox) -> Outbox:
        """`out`, with every stream it opens known to this work."""
        return _WorkOutbox(out, self)


@dataclass
class _WorkOutbox:
    out: Outbox
    work: Work

    async def send(self, reply: Reply) -> Sent:
        return await self.out.send(reply)

    def stream(self, on_posted: OnPosted | None = None) -> CutStream:
        stream = CutStream(self.out.stream(on_posted=on_posted))
        self.work.streams.append(stream)
        return stream


class Draining:
    """The work in flight, and whether the tutor still takes new work."""

    def __init__(self, cut_s: float = CUT_SECONDS) -> None:
        self.stopping = False
        self.cut_s = cut_s
        self._work: dict[asyncio.Task[None], Work] = {}

    @property
    def in_flight(self) -> int:
        """How many `handle` calls are under way."""
        return len(self._work)

    async def run(self, start: Callable[[Work], Awaitable[None]]) -> None:
        """Run `start(work)` as work in flight; it returns early when the deadline cuts it."""
        work = Work()
        task: asyncio.Task[None] = asyncio.ensure_future(start(work))
        self._work[task] = work
        task.add_done_callback(self._work.pop)
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not task.cancelled() or (current is not None and current.cancelling()):
                raise  # the caller itself is being cancelled, not cut by the deadline

    async def stop(self, timeout: float) -> bool:
        """Take no new work; wait up to `timeout` s for the work in flight, then cut what is
        left (its open streams closed with a note); whether everything finished in time."""
        self.stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        # Looped: a refusal started while waiting is work in flight too.
        while self._work and (left := deadline - loop.time()) > 0:
            await asyncio.wait(list(self._work), timeout=left)
        if not self._work:
            return True
        cuts: list[Awaitable[None]] = []
        for task, work in list(self._work.items()):
            opened = [s for s in work.streams if s.state == "open"]
            for stream in opened:
                stream.state = "cut"  # what the work writes while it unwinds is not shown
                cuts.append(stream.cut(messages.say(work.lang, "cut_short")))
            # A final reply on its way is let land; anything else stops here.
            if not any(s.state == "closing" for s in work.streams):
                task.cancel()
        log.warning("stopping: %d replies still in flight at the deadline", len(self._work))
        pending = [asyncio.ensure_future(c) for c in cuts] + list(self._work)
        done, late = await asyncio.wait(pending, timeout=self.cut_s)
        for task in late:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("closing a reply at the deadline failed", exc_info=task.exception())
        return False
