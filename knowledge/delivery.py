"""Delivery bookkeeping in `tutor.db`: the ids of chat events already handled, so a retry
(Slack) or a replay (Discord) is not answered twice, across restarts and processes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from knowledge.book import Book
from knowledge.records import now

# Slack retries an event for about 5 minutes and Discord replays what a resumed session
# missed: an id kept for an hour outlives both.
HANDLED_TTL = timedelta(hours=1)
_SWEEP_EVERY = timedelta(minutes=5)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handled_events (
    platform TEXT NOT NULL,
    event_id TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (platform, event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS handled_events_at ON handled_events (at);
"""


class HandledEvents(Book):
    """The events handled in the last HANDLED_TTL, by platform and id."""

    what = "the events handled"
    schema = _SCHEMA

    def __init__(self, where: Any) -> None:
        super().__init__(where)
        self._swept = 0.0

    def first_time(self, platform: str, event_id: str, at: datetime | None = None) -> bool:
        """Whether an event is delivered for the first time in HANDLED_TTL, across restarts and
        processes: True once per id, False for its retries and replays."""
        moment = (at or now()).timestamp()
        expired = moment - HANDLED_TTL.total_seconds()
        with self._write() as db:
            # One statement decides: a new id is inserted, an expired one is taken again, a
            # live one is left alone (no row changed: not the first time).
            cursor = db.execute(
                "INSERT INTO handled_events (platform, event_id, at) VALUES (?, ?, ?) "
                "ON CONFLICT(platform, event_id) DO UPDATE SET at = excluded.at "
                "WHERE handled_events.at < ?",
                (platform, event_id, moment, expired),
            )
            first = cursor.rowcount == 1
            if abs(moment - self._swept) >= _SWEEP_EVERY.total_seconds():
                # Expired ids only take space: dropped now and then, through the index on `at`.
                db.execute("DELETE FROM handled_events WHERE at < ?", (expired,))
                self._swept = moment
        return first

    def was_handled(self, platform: str, event_id: str, at: datetime | None = None) -> bool:
        """Whether an event was recorded as handled within HANDLED_TTL (a read; nothing is
        marked)."""
        moment = (at or now()).timestamp()
        rows = self._read(
            "SELECT 1 FROM handled_events WHERE platform = ? AND event_id = ? AND at >= ?",
            (platform, event_id, moment - HANDLED_TTL.total_seconds()),
        )
        return bool(rows)

    def handled_count(self) -> int:
        """How many event ids are kept (expired ones included until the next sweep)."""
        return int(self._read("SELECT count(*) FROM handled_events")[0][0])
