"""Each platform event handled once (bot/core/once.py), over a real tutor.db."""

from __future__ import annotations

import asyncio

from bot.core.errors import StoreError
from bot.core.once import HandledOnce
from knowledge.progress import Progress


def test_a_fresh_event_stays_fresh_until_done_and_is_known_after_a_restart(tmp_path):
    progress = Progress(tmp_path)
    try:
        once = HandledOnce(progress.events, "slack")
        assert asyncio.run(once.fresh("Ev1")) is True
        # The same delivery again in this process: refused from memory, before any read.
        assert asyncio.run(once.fresh("Ev1")) is False
        assert progress.events.was_handled("slack", "Ev1") is False  # only `done` records it
        asyncio.run(once.done("Ev1"))
        assert progress.events.was_handled("slack", "Ev1") is True
        # A later process (nothing in memory) learns it from the database.
        later = HandledOnce(progress.events, "slack")
        assert asyncio.run(later.fresh("Ev1")) is False
        assert asyncio.run(later.fresh("Ev2")) is True
        # Platforms are apart: a Discord id equal to a Slack one is its own event.
        assert asyncio.run(HandledOnce(progress.events, "discord").fresh("Ev1")) is True
    finally:
        progress.close()


def test_claim_records_at_once_and_a_replay_is_refused_in_a_later_process(tmp_path):
    progress = Progress(tmp_path)
    try:
        first = HandledOnce(progress.events, "discord")
        assert asyncio.run(first.claim("1234")) is True
        assert asyncio.run(first.claim("1234")) is False
        assert progress.events.was_handled("discord", "1234") is True
        assert asyncio.run(HandledOnce(progress.events, "discord").claim("1234")) is False
    finally:
        progress.close()


def test_memory_keeps_the_latest_ids_only(tmp_path):
    progress = Progress(tmp_path)
    try:
        once = HandledOnce(progress.events, "slack", remembered=2)
        for event in ("a", "b", "c"):
            assert asyncio.run(once.fresh(event)) is True
        # "a" fell out of memory and was never recorded as done: it passes again.
        assert asyncio.run(once.fresh("a")) is True
        assert asyncio.run(once.fresh("c")) is False
    finally:
        progress.close()


class Broken:
    """A database that cannot answer."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def was_handled(self, platform: str, event_id: str) -> bool:
        self.calls.append(f"was_handled {event_id}")
        raise StoreError("disk I/O error")

    def first_time(self, platform: str, event_id: str) -> bool:
        self.calls.append(f"first_time {event_id}")
        raise StoreError("disk I/O error")


def test_a_database_that_cannot_answer_lets_the_event_through_once(caplog):
    store = Broken()
    once = HandledOnce(store, "slack")
    assert asyncio.run(once.fresh("E")) is True  # an answer twice beats none
    assert asyncio.run(once.fresh("E")) is False  # memory still holds
    asyncio.run(once.done("E"))  # logged, not raised
    assert asyncio.run(HandledOnce(store, "discord").claim("E")) is True
    assert store.calls == ["was_handled E", "first_time E", "first_time E"]
    assert "could not" in caplog.text
