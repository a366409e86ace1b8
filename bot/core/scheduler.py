"""The study loop's clock: one asyncio task that sleeps until the next job is due, runs what is
owed, and sleeps again.

What is owed lives in SQLite (`knowledge.studybook`), so a restart loses nothing: the new task
asks each job when it is next due and catches up on what is still owed. Tests drive `run_due`
with a fake clock; the task itself naps through an injectable `nap`, never polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

log = logging.getLogger("tutor.scheduler")

# Woken at least this often even with nothing due: another process (a second bot over the same
# data dir) may have changed the settings, and the wall clock may have jumped.
MAX_NAP = 3600.0
MIN_NAP = 1.0


class Clock(Protocol):
    """Where the scheduler reads the time."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class Job(Protocol):
    """Something owed at times: it says when next, and does what is owed."""

    name: str

    def next_due(self, now: datetime) -> datetime | None:
        """The next moment something is owed (past when owed already), None when never."""

    async def run_due(self, now: datetime) -> None:
        """Do what is owed at `now`."""


Nap = Callable[[float, asyncio.Event], Awaitable[None]]


async def nap(seconds: float, poked: asyncio.Event) -> None:
    """Sleep `seconds`, or until poked (a setting changed)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(poked.wait(), timeout=seconds)


class Scheduler:
    """Runs jobs when they are due, in one task."""

    def __init__(
        self, jobs: Sequence[Job], clock: Clock | None = None, *, sleep: Nap = nap
    ) -> None:
        self.jobs = list(jobs)
        self.clock = clock or SystemClock()
        self.sleep = sleep
        self._poked = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def next_wake(self, now: datetime) -> datetime | None:
        """The earliest moment any job is next due."""
        times = []
        for job in self.jobs:
            due = await asyncio.to_thread(job.next_due, now)
            if due is not None:
                times.append(due)
        return min(times, default=None)

    async def run_due(self, now: datetime | None = None) -> int:
        """Run every job that is due at `now` (the clock's time by default); how many ran. A
        failing job is logged and does not stop the others."""
        now = now or self.clock.now()
        ran = 0
        for job in self.jobs:
            due = await asyncio.to_thread(job.next_due, now)
            if due is None or due > now:
                continue
            try:
                await job.run_due(now)
            except Exception:
                log.exception("the %s job failed", job.name)
            ran += 1
        return ran

    def poke(self) -> None:
        """A setting changed: look again at when the next job is due."""
        self._poked.set()

    async def run(self) -> None:
        """Run due jobs, nap until the next one, forever."""
        while True:
            self._poked.clear()  # a change from here on is seen by the next turn
            await self.run_due(self.clock.now())
            now = self.clock.now()
            wake = await self.next_wake(now)
            seconds = MAX_NAP if wake is None else (wake - now).total_seconds()
            # A job still owed right after running (it failed before claiming) is tried again
            # a little later, not in a tight loop.
            await self.sleep(min(max(seconds, MIN_NAP), MAX_NAP), self._poked)

    def start(self) -> asyncio.Task:
        """Start the task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self.run(), name="study-scheduler")
        return self._task

    async def stop(self) -> None:
        """Stop the task (a job in the middle of sending is cancelled with it)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
