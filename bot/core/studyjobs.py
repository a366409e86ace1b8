"""The study loop's jobs, run by `bot.core.scheduler`: each learner's reminder of due reviews
(a direct message) and each workspace's daily question (a channel post, which first reveals the
day before's reference answer with the group's figures).

Both are at most once a day: the day is claimed in SQLite before the message goes out, so a
crash between the two loses that day's message instead of sending it twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.core.conversation import Button, Place, Reply
from bot.core.courier import Courier
from bot.core.localtime import owed
from bot.core.ports import EntryStore
from bot.texts import layouts, messages
from knowledge.entry import Entry
from knowledge.progress import Progress
from knowledge.studybook import Daily, DailyPost, Reminder, StudyBook

log = logging.getLogger("tutor.study")

# A daily question is not asked again in the same channel within this many days.
RECENT_DAYS = 30
MAX_TOPICS = 5


def _lang(text: str) -> messages.Lang:
    return "zh" if text == "zh" else "en"


def topic_of(entry: Entry) -> str:
    """The topic an entry is listed under (its document's title), as /quiz lists them."""
    return entry.doc_title or entry.source


class ReminderJob:
    """A direct message to each learner with reviews due, once a day at their time."""

    name = "reminders"

    def __init__(
        self, book: StudyBook, progress: Progress, store: EntryStore, courier: Courier
    ) -> None:
        self.book = book
        self.progress = progress
        self.store = store
        self.courier = courier

    def next_due(self, now: datetime) -> datetime | None:
        reminders = self.book.reminders(self.courier.platform)
        return min((owed(now, r.at, r.tz, r.last_day)[0] for r in reminders), default=None)

    async def run_due(self, now: datetime) -> None:
        for reminder in await asyncio.to_thread(self.book.reminders, self.courier.platform):
            due, day = owed(now, reminder.at, reminder.tz, reminder.last_day)
            if due <= now:
                await self._remind(reminder, day, now)

    async def _remind(self, reminder: Reminder, day: str, now: datetime) -> None:
        due = await asyncio.to_thread(self.progress.due, reminder.user, now)
        # Claimed before sending (at most once): a crash after this line loses today's reminder.
        if not await asyncio.to_thread(self.book.claim_reminder, reminder.user, day):
            return
        if not due:
            return
        lang = _lang(reminder.lang)
        topics: list[str] = []
        for entry_id in due:
            entry = self.store.entry(entry_id)
            if entry is not None and topic_of(entry) not in topics:
                topics.append(topic_of(entry))
        text = layouts.reminder(lang, len(due), topics[:MAX_TOPICS])
        button = Button(messages.say(lang, "reminder.button"), "/quiz", "primary")
        try:
            await self.courier.direct(reminder.user, Reply(text, buttons=(button,)))
        except Exception:
            log.exception("the reminder to %s for %s could not be sent", reminder.user, day)


Pool = Callable[[str], list[Entry]]
"""The entries a workspace's daily question may come from (its /settings topics)."""


class DailyJob:
    """A question of the day in each workspace's chosen channel."""

    name = "daily questions"

    def __init__(
        self,
        book: StudyBook,
        progress: Progress,
        store: EntryStore,
        pool: Pool,
        courier: Courier,
        rng: random.Random | None = None,
    ) -> None:
        self.book = book
        self.progress = progress
        self.store = store
        self.pool = pool
        self.courier = courier
        self.rng = rng or random.Random()

    def next_due(self, now: datetime) -> datetime | None:
        dailies = self.book.dailies(self.courier.platform)
        return min((owed(now, d.at, d.tz, d.last_day)[0] for d in dailies), default=None)

    async def run_due(self, now: datetime) -> None:
        for daily in await asyncio.to_thread(self.book.dailies, self.courier.platform):
            due, day = owed(now, daily.at, daily.tz, daily.last_day)
            if due <= now:
                await self._post(daily, day, now)

    def choose(self, daily: Daily, now: datetime) -> Entry | None:
        """A concept question for the group: not asked in the channel lately, from the
        workspace's topics, the one its members have answered least."""
        entries = [e for e in self.pool(daily.workspace) if e.kind == "concept"]
        recent = self.book.recent_entries(
            daily.workspace, daily.channel, now - timedelta(days=RECENT_DAYS)
        )
        fresh = [e for e in entries if e.id not in recent] or entries
        if not fresh:
            return None
        answered = self.progress.standings.leaderboard(daily.workspace)
        seen = set()
        for standing in answered:
            seen |= self.progress.seen(standing.user)
        unseen = [e for e in fresh if e.id not in seen]
        return self.rng.choice(unseen or fresh)

    async def _post(self, daily: Daily, day: str, now: datetime) -> None:
        entry = await asyncio.to_thread(self.choose, daily, now)
        if entry is None:
            log.warning("no concept question for the daily question of %s", daily.workspace)
            return
        before = await asyncio.to_thread(self.book.open_post, daily.workspace)
        post = await asyncio.to_thread(self.book.claim_daily, daily.workspace, day, entry.id, now)
        if post is None:
            return
        lang = _lang(daily.lang)
        parts = []
        if before is not None:
            parts.append(self.reveal(before, lang))
        title = entry.title or entry.question[:60]
        parts.append(messages.say(lang, "daily.question", title=title, question=entry.question))
        label = messages.say(lang, "daily.button")
        button = Button(
            label, f"/answer daily {post.id}", "primary", box=messages.say(lang, "daily.box")
        )
        place = Place(self.courier.platform, daily.workspace, daily.channel)
        try:
            await self.courier.post(place, Reply("\n\n".join(parts), buttons=(button,)))
        except Exception:
            log.exception("the daily question of %s for %s could not be posted", place, day)
            return
        if before is not None:
            await asyncio.to_thread(self.book.mark_revealed, before.id)
        await asyncio.to_thread(self.book.mark_sent, post.id)

    def reveal(self, post: DailyPost, lang: messages.Lang) -> str:
        """The previous daily question's reference answer and how the group did."""
        from bot.core.quizzes import _reference

        entry = self.store.entry(post.entry_id)
        figures = self.book.figures(post.id)
        if entry is None:
            return layouts.daily_figures(
                lang, figures.answered, figures.average, figures.most_missed
            )
        return messages.say(
            lang,
            "daily.reveal",
            title=entry.title or entry.question[:60],
            reference=_reference(entry),
            figures=layouts.daily_figures(
                lang, figures.answered, figures.average, figures.most_missed
            ),
        )
