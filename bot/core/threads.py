"""The threads the tutor posts in, known the moment a post returns.

An adapter learns where a reply landed only when its post returns (on Slack, the message's ts).
The core records that thread in memory at once and in SQLite after, so a reply there that comes
a moment later is matched (a quiz's answer, a follow-up to an answer). A message in a thread the
core does not know yet, in a channel where one of its posts is still in flight, can wait briefly
for that post to return (`Threads.settle`): the user may see a post before the adapter does.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from bot.core.conversation import OnPosted, Outbox, Place, Reply, ReplyStream, Sent
from knowledge.progress import Progress
from knowledge.records import Quiz

THREADS_REMEMBERED = 2000
SETTLE_SECONDS = 10.0


class Posting:
    """One post in flight in a channel; released when it returned (or failed)."""

    def __init__(self, threads: Threads, channel: tuple[str, str, str]) -> None:
        self.threads = threads
        self.channel = channel
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        threads._in_flight.setdefault(channel, set()).add(self.done)

    def release(self) -> None:
        """The post returned: whoever waits for this channel may look again."""
        if not self.done.done():
            self.done.set_result(None)
        waiting = self.threads._in_flight.get(self.channel)
        if waiting is not None:
            waiting.discard(self.done)
            if not waiting:
                del self.threads._in_flight[self.channel]

    def __enter__(self) -> Posting:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Threads:
    """The tutor's threads and quiz threads, in memory first and in the progress store after."""

    def __init__(self, progress: Progress, *, settle_s: float = SETTLE_SECONDS) -> None:
        self.progress = progress
        self.settle_s = settle_s
        self._known: OrderedDict[tuple[str, str, str, str], None] = OrderedDict()
        self._quizzes: OrderedDict[int, str] = OrderedDict()
        self._in_flight: dict[tuple[str, str, str], set[asyncio.Future[None]]] = {}

    # -- threads the tutor replied in --------------------------------------------------------

    def knows(self, place: Place) -> bool:
        """Whether the tutor posted in this place's thread."""
        if not place.thread:
            return False
        if _key(place, place.thread) in self._known:
            return True
        return self.progress.places.knows_thread(place.workspace, place.channel, place.thread)

    def note(self, place: Place, sent: Sent) -> bool:
        """Record in memory, at once, the thread a post landed in; whether it is new here."""
        if not sent.thread:
            return False
        key = _key(place, sent.thread)
        new = key not in self._known
        self._known[key] = None
        self._known.move_to_end(key)
        while len(self._known) > THREADS_REMEMBERED:
            self._known.popitem(last=False)
        return new

    async def store(self, place: Place, sent: Sent) -> None:
        """Write a post's thread to the progress store (off the event loop)."""
        await asyncio.to_thread(
            self.progress.places.remember_thread, place.workspace, place.channel, sent.thread
        )

    # -- quiz threads ------------------------------------------------------------------------

    def thread_of(self, quiz: Quiz) -> str:
        """Where answers to a quiz land: its question's thread, once that post returned."""
        return self._quizzes.get(quiz.id, quiz.thread)

    def note_quiz(self, quiz: Quiz, thread: str) -> bool:
        """Record in memory, at once, where a quiz's question landed; whether that is news."""
        if not thread or thread == self.thread_of(quiz):
            return False
        self._quizzes[quiz.id] = thread
        while len(self._quizzes) > THREADS_REMEMBERED:
            self._quizzes.popitem(last=False)
        return True

    async def store_quiz(self, quiz: Quiz, thread: str) -> None:
        """Write a quiz's thread to the progress store (off the event loop)."""
        await asyncio.to_thread(self.progress.set_thread, quiz.id, thread)

    # -- posts in flight ---------------------------------------------------------------------

    def posting(self, place: Place) -> Posting:
        """Mark a post in flight in a place's channel until it is released."""
        return Posting(self, (place.platform, place.workspace, place.channel))

    async def settle(self, place: Place) -> bool:
        """Wait (at most `settle_s`) for the tutor's posts in flight in this place's channel;
        whether there were any."""
        pending = set(self._in_flight.get((place.platform, place.workspace, place.channel), ()))
        if not pending:
            return False
        await asyncio.wait(pending, timeout=self.settle_s)
        return True


class NotingOutbox:
    """The adapter's outbox, recording the thread of every post the core makes through it."""

    def __init__(self, out: Outbox, threads: Threads, place: Place) -> None:
        self.out = out
        self.threads = threads
        self.place = place
        self._open: list[Posting] = []
        self._writes: list[asyncio.Task[None]] = []

    async def send(self, reply: Reply) -> Sent:
        """Post a reply; its thread is known to the core before anyone waiting looks again."""
        with self.threads.posting(self.place):
            sent = await self.out.send(reply)
            new = self.threads.note(self.place, sent)
        if new:
            await self.threads.store(self.place, sent)
        return sent

    def stream(self, on_posted: OnPosted | None = None) -> NotingStream:
        """A streamed reply whose thread is recorded when its first post returns."""
        return NotingStream(self, on_posted)

    def posted(self, sent: Sent) -> None:
        """A post of a stream returned: record its thread now, write it in the background."""
        if self.threads.note(self.place, sent):
            self._writes.append(asyncio.create_task(self.threads.store(self.place, sent)))

    def open_posting(self) -> Posting:
        """A post that will be released by the stream or, at the latest, by `finish`."""
        posting = self.threads.posting(self.place)
        self._open.append(posting)
        return posting

    async def finish(self) -> None:
        """Release what is still marked in flight and wait for the background writes."""
        for posting in self._open:
            posting.release()
        self._open.clear()
        writes, self._writes = self._writes, []
        await asyncio.gather(*writes)


class NotingStream:
    """A streamed reply over the adapter's stream, reporting its first post to the core."""

    def __init__(self, box: NotingOutbox, on_posted: OnPosted | None) -> None:
        self.box = box
        self.on_posted = on_posted
        self.inner: ReplyStream = box.out.stream(on_posted=self._posted)
        self.posting: Posting | None = None

    def write(self, text: str) -> None:
        """Append text; the first write starts the adapter's first post."""
        if self.posting is None:
            self.posting = self.box.open_posting()
        self.inner.write(text)

    def _posted(self, sent: Sent) -> None:
        self.box.posted(sent)
        if self.posting is not None:
            self.posting.release()
        if self.on_posted is not None:
            self.on_posted(sent)

    async def close(self, reply: Reply) -> Sent:
        """Finish the reply; its thread is recorded whether or not the adapter reported it."""
        if self.posting is None:
            self.posting = self.box.open_posting()
        try:
            sent = await self.inner.close(reply)
            self.box.posted(sent)
        finally:
            if self.posting is not None:
                self.posting.release()
        return sent


def _key(place: Place, thread: str) -> tuple[str, str, str, str]:
    return (place.platform, place.workspace, place.channel, thread)
