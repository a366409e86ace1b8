"""Each platform event handled once. Slack retries an event it thinks went unanswered, and a
Discord gateway that resumes replays what it missed: both adapters ask this one object, which
keeps the ids it saw in memory (two deliveries at once cannot both pass, and a replay to the same
process is answered without the database) and the ids handled in `tutor.db` (so a retry that
reaches a later process is recognised too)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Protocol

from bot.core.errors import StoreError

log = logging.getLogger(__name__)

REMEMBERED = 10_000  # ids kept in memory per platform


class Handled(Protocol):
    """The store of events handled, by platform and id (`knowledge.progress.Progress`)."""

    def was_handled(self, platform: str, event_id: str) -> bool: ...

    def first_time(self, platform: str, event_id: str) -> bool: ...


class HandledOnce:
    """The events of one platform, each let through once; the database is never read or
    written on the event loop, and a database that cannot answer lets the event through (an
    answer twice is better than none)."""

    def __init__(self, store: Handled, platform: str, remembered: int = REMEMBERED) -> None:
        self.store = store
        self.platform = platform
        self.remembered = remembered
        self._seen: OrderedDict[str, None] = OrderedDict()

    def _first_here(self, event_id: str) -> bool:
        """Marks the id in memory; False when this process saw it already."""
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        while len(self._seen) > self.remembered:
            self._seen.popitem(last=False)
        return True

    async def fresh(self, event_id: str) -> bool:
        """Whether an event is new, without recording it as handled: `done` does that once it
        was answered, so one that failed midway is answered when it comes again."""
        if not self._first_here(event_id):
            return False
        try:
            return not await asyncio.to_thread(self.store.was_handled, self.platform, event_id)
        except StoreError as exc:
            log.warning("could not check %s event %s (%s)", self.platform, event_id, exc)
            return True

    async def done(self, event_id: str) -> None:
        """Record an event as handled, for deliveries that reach a later process."""
        try:
            await asyncio.to_thread(self.store.first_time, self.platform, event_id)
        except StoreError as exc:
            log.warning("could not record %s event %s (%s)", self.platform, event_id, exc)

    async def claim(self, event_id: str) -> bool:
        """Whether an event is new, recorded as handled at once (what a replayed gateway event
        needs: it is handled as it arrives)."""
        if not self._first_here(event_id):
            return False
        try:
            return await asyncio.to_thread(self.store.first_time, self.platform, event_id)
        except StoreError as exc:
            log.warning("could not check %s event %s (%s)", self.platform, event_id, exc)
            return True
