"""The study loop's commands: /remind (a learner's reminder of due reviews), /daily (a
workspace's daily question, admins) and the private answers to the daily question; and
`start_study`, which a long-lived front end calls to run the loop's jobs with its courier.

/answer picks what it answers: `/answer daily [N] TEXT` always the daily question; otherwise the
more recently asked of the learner's open quiz and the workspace's open daily question (one the
learner has not answered yet).
"""

from __future__ import annotations

import asyncio
import random

from bot.core.commands import Parsed
from bot.core.conversation import Incoming, Outbox, Place, Reply
from bot.core.courier import Courier
from bot.core.gaps import Gaps
from bot.core.localtime import parse_time, parse_zone
from bot.core.parts import ReplyLimits
from bot.core.ports import EntryStore
from bot.core.quizzes import Quizzes
from bot.core.running import grade_message
from bot.core.scheduler import Clock, Scheduler
from bot.core.studyjobs import DailyJob, ReminderJob
from bot.texts import layouts, messages
from bot.tutoring.grading import Grader
from knowledge.entry import Entry
from knowledge.progress import Progress
from knowledge.records import QuizClosed
from knowledge.studybook import AlreadyAnswered, DailyPost, Reminder, StudyBook
from runner.dispatch import RunQueue
from runner.protocol import Runner

DEFAULT_TIME = "09:00"


class StudyLoop:
    """The study loop's state: its book in SQLite, and once started, its scheduler and courier."""

    def __init__(self, book: StudyBook) -> None:
        self.book = book
        self.scheduler: Scheduler | None = None
        self.courier: Courier | None = None

    def changed(self) -> None:
        """A reminder or a daily question changed: the scheduler looks again."""
        if self.scheduler is not None:
            self.scheduler.poke()


def tz_label(tz: str) -> str:
    """A stored timezone as shown to people."""
    return tz or "UTC"


class Study:
    """/remind, /daily, and /answer's choice of what it answers (the daily question, or the
    open quiz through `quizzes`); and the scheduler of the loop's jobs. Built with the parts it
    uses."""

    def __init__(
        self,
        *,
        loop: StudyLoop,
        store: EntryStore,
        progress: Progress,
        grader: Grader,
        runs: RunQueue[Runner] | None,
        limits: ReplyLimits,
        quizzes: Quizzes,
        gaps: Gaps,
    ) -> None:
        self.study = loop
        self.store = store
        self.progress = progress
        self.grader = grader
        self.runs = runs
        self.limits = limits
        self.quizzes = quizzes
        self.gaps = gaps

    def study_scheduler(
        self, courier: Courier, clock: Clock | None = None, rng: random.Random | None = None
    ) -> Scheduler:
        """The scheduler of this platform's reminders and daily questions, sent by `courier`
        (not started: `start()` it on the front end's loop, or call `run_due` once)."""
        book = self.study.book
        jobs = [
            ReminderJob(book, self.progress, self.store, courier),
            DailyJob(book, self.progress, self.store, self._daily_pool, courier, rng),
            *self.gaps.jobs(courier),
        ]
        scheduler = Scheduler(jobs, clock)
        self.study.scheduler, self.study.courier = scheduler, courier
        return scheduler

    def _daily_pool(self, workspace: str) -> list[Entry]:
        topics = list(self.progress.places.place_settings(workspace).get("topics", []))
        return self.quizzes.pool(topics) or []

    # -- /remind -----------------------------------------------------------------------------

    async def remind(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        book = self.study.book
        user, platform = message.user_key, message.place.platform
        words = parsed.args.split()
        action = words[0].lower() if words else "show"
        current = await asyncio.to_thread(book.reminder, user)
        # A profile's timezone (Slack's) is taken unless the learner chose one.
        profile_tz = parse_zone(message.tz) if message.tz else None
        tz = profile_tz if profile_tz and not (current and current.tz_set) else None
        if action in ("show", "status"):
            if current is not None and tz and tz != current.tz:
                current = await asyncio.to_thread(book.set_reminder, user, platform, tz=tz)
            await out.send(Reply(self._reminder_text(lang, current), private=True))
            return
        if action == "on":
            at = parse_time(words[1]) if len(words) > 1 else (current.at if current else None)
            if len(words) > 1 and at is None:
                await out.send(Reply(messages.say(lang, "bad_time", text=words[1]), kind="error"))
                return
            changed = await asyncio.to_thread(
                book.set_reminder,
                user,
                platform,
                enabled=True,
                at=at or DEFAULT_TIME,
                tz=tz,
                lang=lang,
            )
            text = messages.say(lang, "remind.on", at=changed.at, tz=tz_label(changed.tz))
            if not changed.tz:
                text += " " + messages.say(lang, "remind.utc_note")
            self.study.changed()
            await out.send(Reply(text, private=True))
        elif action == "off":
            await asyncio.to_thread(book.set_reminder, user, platform, enabled=False)
            self.study.changed()
            await out.send(Reply(messages.say(lang, "remind.off"), private=True))
        elif action == "tz" and len(words) == 2:
            zone = parse_zone(words[1])
            if zone is None:
                await out.send(Reply(messages.say(lang, "bad_zone", text=words[1]), kind="error"))
                return
            changed = await asyncio.to_thread(
                book.set_reminder, user, platform, tz=zone, tz_set=True
            )
            self.study.changed()
            await out.send(
                Reply(messages.say(lang, "remind.tz", tz=tz_label(changed.tz)), private=True)
            )
        else:
            await out.send(Reply(messages.say(lang, "remind.usage"), kind="error"))

    def _reminder_text(self, lang: messages.Lang, reminder: Reminder | None) -> str:
        if reminder is None or not reminder.enabled:
            return messages.say(lang, "remind.status_off")
        text = messages.say(lang, "remind.status_on", at=reminder.at, tz=tz_label(reminder.tz))
        if not reminder.tz:
            text += " " + messages.say(lang, "remind.utc_note")
        return text

    # -- /daily ------------------------------------------------------------------------------

    async def daily(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        book = self.study.book
        workspace, platform = message.place.workspace, message.place.platform
        words = parsed.args.split()
        action = words[0].lower() if words else "show"
        if action in ("show", "status"):
            daily = await asyncio.to_thread(book.daily, workspace)
            if daily is None or not daily.enabled:
                text = messages.say(lang, "daily.none")
            else:
                text = messages.say(
                    lang, "daily.status", channel=daily.channel, at=daily.at, tz=tz_label(daily.tz)
                )
            await out.send(Reply(text, private=True))
            return
        if not message.admin:
            await out.send(
                Reply(messages.say(lang, "daily.admins_only"), kind="error", private=True)
            )
            return
        if action == "off":
            await asyncio.to_thread(book.stop_daily, workspace)
            self.study.changed()
            await out.send(Reply(messages.say(lang, "daily.off"), private=True))
            return
        if len(words) not in (2, 3) or not channel_name(words[0]):
            await out.send(Reply(messages.say(lang, "daily.usage"), kind="error", private=True))
            return
        channel, at = channel_name(words[0]), parse_time(words[1])
        if at is None:
            await out.send(
                Reply(messages.say(lang, "bad_time", text=words[1]), kind="error", private=True)
            )
            return
        zone = parse_zone(words[2]) if len(words) == 3 else parse_zone(message.tz or "UTC")
        if zone is None:
            await out.send(
                Reply(messages.say(lang, "bad_zone", text=words[2]), kind="error", private=True)
            )
            return
        courier = self.study.courier
        place = Place(platform, workspace, channel)
        # Checked where this front end can post; a one-shot process has no courier to ask.
        mine = courier is not None and courier.platform == platform
        if courier is not None and mine and not await courier.reachable(place):
            text = messages.say(lang, "daily.cannot_post", channel=channel)
            await out.send(Reply(text, kind="error", private=True))
            return
        daily = await asyncio.to_thread(
            book.set_daily, workspace, platform, channel, at, "" if zone == "UTC" else zone, lang
        )
        self.study.changed()
        text = messages.say(
            lang, "daily.set", channel=daily.channel, at=daily.at, tz=tz_label(daily.tz)
        )
        await out.send(Reply(text, private=True))

    # -- answers -----------------------------------------------------------------------------

    async def answer(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        """/answer: the daily question or the open quiz, whichever it is for."""
        book = self.study.book
        words = parsed.args.split(maxsplit=1)
        if words and words[0].lower() == "daily":
            rest = words[1] if len(words) > 1 else ""
            head = rest.split(maxsplit=1)
            if head and head[0].isdigit():
                post = await asyncio.to_thread(book.post, int(head[0]))
                rest = head[1] if len(head) > 1 else ""
            else:
                post = await asyncio.to_thread(book.open_post, message.place.workspace)
            await self._answer_daily(message, post, rest, lang, out)
            return
        post = await asyncio.to_thread(book.open_post, message.place.workspace)
        quiz = self.progress.open_quiz(message.user_key, message.place.workspace)
        # With a quiz open too, the daily question wins only when it came later and is still
        # unanswered by this learner.
        if post is not None and quiz is not None:
            newer = post.posted_at > quiz.asked_at
            if not newer or await asyncio.to_thread(book.answered, post.id, message.user_key):
                post = None
        if post is not None:
            await self._answer_daily(message, post, parsed.args, lang, out)
        else:
            await self.quizzes.answer(message, parsed, lang, out)

    async def _answer_daily(
        self,
        message: Incoming,
        post: DailyPost | None,
        text: str,
        lang: messages.Lang,
        out: Outbox,
    ) -> None:
        book = self.study.book
        if (
            post is None
            or not post.sent
            or post.revealed
            or post.workspace != (message.place.workspace)
        ):
            await out.send(Reply(messages.say(lang, "daily.closed"), kind="error", private=True))
            return
        if not text.strip():
            await out.send(Reply(messages.say(lang, "need_answer"), kind="error", private=True))
            return
        entry = self.store.entry(post.entry_id)
        if entry is None:
            await out.send(Reply(messages.say(lang, "entry_gone"), kind="error", private=True))
            return
        graded = await grade_message(
            self.grader,
            self.runs,
            entry,
            message,
            text,
            lang,
            out,
            limit=self.limits.max_answer_chars,
            private=True,
        )
        if graded is None:
            return  # the user was told why, and can answer again
        try:
            await asyncio.to_thread(
                book.add_answer, post.id, message.user_key, graded.score, list(graded.missed)
            )
        except AlreadyAnswered:
            await out.send(Reply(messages.say(lang, "daily.already"), kind="error", private=True))
            return
        quiz = await asyncio.to_thread(
            book.open_side_quiz,
            message.user_key,
            post.workspace,
            post.channel,
            entry.id,
            entry.kind,
        )
        try:
            review = await self.quizzes.record_review(
                quiz, "answered", graded.score, graded, lang, out
            )
        except QuizClosed:
            review = None
        due = self.quizzes.due_in(lang, review) if review is not None else ""
        body = layouts.grade_reply(
            lang,
            graded.score,
            list(graded.covered),
            list(graded.missed),
            graded.feedback,
            0,
            messages.say(lang, "daily.reference_later"),
            due,
        )
        if entry.kind == "coding" and graded.verdict is None:
            body = layouts.untested_code_note(lang, graded.ran, graded.why) + "\n\n" + body
        await out.send(Reply(body, kind="grade", private=True))


def channel_name(text: str) -> str:
    """A channel named in /daily: Slack's <#C123|name>, Discord's <#123>, #name or a bare id."""
    from bot.core.admin import channel_ref

    text = text.strip()
    return channel_ref(text.removeprefix("#") if not text.startswith("<") else text)
