"""A stopping tutor: it starts nothing new, lets the answers in flight finish, and at the deadline
closes the streams still open with their text so far and a note."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.conversation import Incoming, OnPosted, Place, RecordingOutbox, Reply, Sent
from bot.texts import messages
from tests.bot.conftest import Chat, Scripted, build

CHANNEL = Place("test", "team", "general")
FIRST_WORDS = "The KV cache keeps "
LAST_WORDS = "the keys and values of earlier tokens [1]."


class HeldModel(Scripted):
    """A model that writes its first words, then waits for `release` before the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def stream(self, messages, *, max_new_tokens=512, cancel=None):
        self.seen.append(messages)
        yield FIRST_WORDS
        # Reached once the first words were handed on: the answer is being written.
        self.started.set()
        await self.release.wait()
        yield LAST_WORDS


@pytest.fixture
def held(home, embedder):
    model = HeldModel()
    chat = Chat(build(home, embedder, backend=model))
    yield chat, model
    chat.close()


def test_drain_waits_for_the_answer_in_flight_and_starts_no_new_work(held):
    chat, model = held
    tutor = chat.tutor

    async def scenario() -> tuple[RecordingOutbox, RecordingOutbox, bool, bool]:
        out = RecordingOutbox()
        asking = asyncio.create_task(
            tutor.handle(Incoming("ada", CHANNEL, "what is the KV cache?"), out)
        )
        await model.started.wait()
        draining = asyncio.create_task(tutor.drain(60))
        late = RecordingOutbox()
        # Created after the drain, so the drain has begun (tasks start in order) when it runs.
        await asyncio.create_task(tutor.handle(Incoming("bob", CHANNEL, "what is RAG?"), late))
        waited = not draining.done()
        model.release.set()
        finished = await asyncio.wait_for(draining, 60)
        await asking
        return out, late, waited, finished

    out, late, waited, finished = chat.loop.run_until_complete(scenario())
    assert waited and finished
    (answer,) = out.replies
    assert answer.kind == "answer"
    assert FIRST_WORDS.strip() in answer.text and "earlier tokens" in answer.text
    assert messages.say("en", "cut_short") not in answer.text
    # The message that came while stopping started nothing: told to come back, no model call.
    assert [r.text for r in late.replies] == [messages.say("en", "restarting")]
    assert len(model.seen) == 1


@pytest.mark.parametrize(
    ("question", "lang"),
    [("what is the KV cache?", "en"), ("KV cache 是什么？为什么能加快解码？", "zh")],
)
def test_a_stream_still_open_at_the_deadline_is_closed_with_its_text_and_a_note(
    held, question, lang
):
    chat, model = held

    async def scenario() -> tuple[RecordingOutbox, bool]:
        out = RecordingOutbox()
        asking = asyncio.create_task(chat.tutor.handle(Incoming("ada", CHANNEL, question), out))
        await model.started.wait()
        finished = await chat.tutor.drain(0)  # the model never finishes: the deadline is now
        # The cut handle call returns as usual: the adapter's handler is not cancelled.
        await asyncio.wait_for(asking, 10)
        return out, finished

    out, finished = chat.loop.run_until_complete(scenario())
    assert not finished
    (closed,) = out.replies
    assert closed.text == f"{FIRST_WORDS.rstrip()}\n\n{messages.say(lang, 'cut_short')}"
    assert out.streamed == [FIRST_WORDS]


class SlowClosingOutbox(RecordingOutbox):
    """An outbox whose streamed reply takes until `delivered` is set to close."""

    def __init__(self) -> None:
        super().__init__()
        self.closing = asyncio.Event()
        self.delivered = asyncio.Event()

    def stream(self, on_posted: OnPosted | None = None) -> SlowClosingStream:
        return SlowClosingStream(self)


class SlowClosingStream:
    def __init__(self, box: SlowClosingOutbox) -> None:
        self.box = box

    def write(self, text: str) -> None:
        """Progress is not shown."""

    async def close(self, reply: Reply) -> Sent:
        self.box.closing.set()
        await self.box.delivered.wait()
        return await self.box.send(reply)


def test_a_final_answer_on_its_way_at_the_deadline_is_let_land(home, embedder):
    chat = Chat(build(home, embedder, backend=Scripted("The KV cache keeps keys [1].")))

    async def scenario() -> tuple[SlowClosingOutbox, bool]:
        out = SlowClosingOutbox()
        asking = asyncio.create_task(
            chat.tutor.handle(Incoming("ada", CHANNEL, "what is the KV cache?"), out)
        )
        await out.closing.wait()
        draining = asyncio.create_task(chat.tutor.drain(0))
        # The answer's close wakes only after the drain's first step (tasks run in the order
        # they were woken), which finds it past its deadline with the answer on its way.
        out.delivered.set()
        finished = await asyncio.wait_for(draining, 10)
        await asyncio.wait_for(asking, 10)
        return out, finished

    try:
        out, finished = chat.loop.run_until_complete(scenario())
    finally:
        chat.close()
    assert not finished  # the deadline came first …
    (answer,) = out.replies  # … yet the final answer landed whole, with no note
    assert "keeps keys" in answer.text and messages.say("en", "cut_short") not in answer.text


def test_a_caller_cancelled_while_waiting_is_still_cancelled(held):
    chat, model = held

    async def scenario() -> bool:
        asking = asyncio.create_task(
            chat.tutor.handle(Incoming("ada", CHANNEL, "what is the KV cache?"), RecordingOutbox())
        )
        await model.started.wait()
        asking.cancel()
        try:
            await asking
        except asyncio.CancelledError:
            return chat.tutor.draining.in_flight == 0
        return False

    assert chat.loop.run_until_complete(scenario())
