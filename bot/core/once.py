"""Each platform event handled once. Slack retries an event it thinks went unanswered, and a
Discord gateway that resumes replays what it missed: both adapters ask this one object, which
keeps the ids it saw in memory (two deliveries at once cannot both pass, and a replay to the same
process is answered without the database) and the ids handled in `tutor.db` (so a retry that
reaches a later process is recognised too)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
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

    async def _ask(
        self, ask: Callable[[str, str], bool], event_id: str, doing: str, unsure: bool
    ) -> bool:
        """The store's answer off the event loop; `unsure` when it cannot say (so that the
        event is let through)."""
        try:
            return await asyncio.to_thread(ask, self.platform, event_id)
        except StoreError as exc:
            log.warning("could not %s %s event %s (%s)", doing, self.platform, event_id, exc)
            return unsure

    async def fresh(self, event_id: str) -> bool:
        """Whether an event is new, without recording it as handled: `done` does that once it
        was answered, so one that failed midway is answered when it comes again."""
        if not self._first_here(event_id):
            return False
        return not await self._ask(self.store.was_handled, event_id, "check", unsure=False)

    async def done(self, event_id: str) -> None:
        """Record an event as handled, for deliveries that reach a later process."""
        await self._ask(self.store.first_time, event_id, "record", unsure=True)

    async def claim(self, event_id: str) -> bool:
        """Whether an event is new, recorded as handled at once (what a replayed gateway event
        needs: it is handled as it arrives)."""
        return self._first_here(event_id) and await self._ask(
            self.store.first_time, event_id, "check", unsure=True
        )
