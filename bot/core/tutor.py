"""The tutor core: one message in, replies out. `Tutor` reads a message, picks its handler and
turns failures into replies; the handlers live by feature in `asking`, `quizzes`, `running` and
`admin`, the threads the tutor posts in are recorded by `threads`. It knows nothing of Slack,
Discord or the terminal, which are adapters over it (`bot/core/conversation.py` is what passes
between them).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid

from bot.core import commands
from bot.core.admin import Admin
from bot.core.asking import Asking
from bot.core.banking import Banking
from bot.core.commands import Parsed
from bot.core.conversation import Incoming, Outbox, Place, Reply
from bot.core.courier import Courier
from bot.core.draining import Draining, Work
from bot.core.errors import for_people
from bot.core.gaps import KEEP_DAYS, Gaps
from bot.core.interviews import Interviews
from bot.core.once import HandledOnce
from bot.core.parts import Handler, ReplyLimits
from bot.core.ports import EntryStore, Retriever
from bot.core.quizzes import Quizzes
from bot.core.ratelimit import RateLimiter
from bot.core.reports import Reports
from bot.core.running import Running
from bot.core.scheduler import Clock, Scheduler
from bot.core.study import Study, StudyLoop
from bot.core.telemetry import Telemetry
from bot.core.threads import NotingOutbox, Threads
from bot.texts import layouts, messages
from bot.tutoring.answering import AnswerEngine, language_of
from bot.tutoring.fences import only_fence
from bot.tutoring.grading import Grader
from bot.tutoring.quiz import QuizMaster
from bot.tutoring.spacing import Spacing
from knowledge.gaps import GapBook
from knowledge.progress import Progress
from knowledge.records import Quiz
from knowledge.studybook import StudyBook
from runner.dispatch import RunQueue
from runner.protocol import Runner

__all__ = ["ReplyLimits", "Tutor"]

log = logging.getLogger("tutor.core")
MAX_MESSAGE_CHARS = 20_000
# A message that is nothing but a block of these is code to run, as with /run.
RUNNABLE_FENCES = ("", "python", "py", "sh", "bash")


class Tutor:
    """Handles messages; everything it needs comes in through the constructor."""

    def __init__(
        self,
        *,
        store: EntryStore,
        retriever: Retriever,
        progress: Progress,
        engine: AnswerEngine,
        grader: Grader,
        runs: RunQueue[Runner] | None,
        spacing: Spacing | None = None,
        quizmaster: QuizMaster | None = None,
        limits: ReplyLimits | None = None,
        rate: RateLimiter | None = None,
        threads: Threads | None = None,
        telemetry: Telemetry | None = None,
        study: StudyLoop | None = None,
        gaps_days: int = KEEP_DAYS,
    ) -> None:
        self.store = store
        self.retriever = retriever
        self.progress = progress
        self.engine = engine
        self.grader = grader
        self.runs = runs
        self.spacing = spacing or Spacing()
        self.quizmaster = quizmaster or QuizMaster(store, retriever, progress)
        self.limits = limits or ReplyLimits()
        self.rate = rate or RateLimiter()
        self.threads = threads or Threads(progress)
        self.telemetry = telemetry or Telemetry()
        self.telemetry.watch_engine(engine)
        if runs is not None:
            self.telemetry.runs.watch(runs)
        self.draining = Draining()
        # The study loop (reminders, daily questions): its schedule lives beside the progress.
        self.study = study or StudyLoop(StudyBook(progress.database))
        # What the bank is missing: one feature object, given only the parts it uses.
        self.gaps = Gaps(
            GapBook(progress.database),
            retriever,
            store,
            lambda: self.engine.backend,
            keep_days=gaps_days,
        )
        self.gaps.changed = self.study.changed
        # Feature objects, each given only the parts it uses.
        self.running = Running(runs)
        self.reports = Reports(self.quizmaster)
        self.banking = Banking(store, retriever, self.limits)
        self.asking = Asking(engine, progress, self.gaps, self.limits)
        self.admin = Admin(progress, self.quizmaster, self.gaps)
        self.quizzes = Quizzes(
            store=store,
            progress=progress,
            grader=grader,
            runs=runs,
            spacing=self.spacing,
            quizmaster=self.quizmaster,
            threads=self.threads,
            limits=self.limits,
        )
        self.studying = Study(
            loop=self.study,
            store=store,
            progress=progress,
            grader=grader,
            runs=runs,
            limits=self.limits,
            quizzes=self.quizzes,
            gaps=self.gaps,
        )
        self._last_lang: dict[str, messages.Lang] = {}
        self._names: dict[str, str] = {}
        self._handlers: dict[str, Handler] = {
            "": self._plain,
            "ask": self.asking.ask,
            "quiz": self.quizzes.quiz,
            "answer": self.studying.answer,  # the open quiz, or the daily question
            "hint": self.quizzes.hint,
            "skip": self.quizzes.skip,
            "reveal": self.quizzes.reveal,
            "rate": self.quizzes.rate,
            "stats": self.quizzes.stats,
            "leaderboard": self.quizzes.leaderboard,
            "run": self.running.run,
            "lang": self.admin.lang,
            "help": self.admin.help,
            "settings": self.admin.settings,
            "feedback": self.admin.feedback,
            "remind": self.studying.remind,
            "daily": self.studying.daily,
            "?": self.admin.unknown,
        }
        # -- progress to see and the bank from the chat: /class (admins), /bank --
        self._handlers.update(
            {
                "class": self.reports.class_overview,
                "bank": self.banking.bank,
                "gaps": self.gaps.command,
            }
        )
        # -- mock interviews: /interview, and answers while one is open come to it first --
        self.interviews = Interviews(
            store=store,
            progress=progress,
            engine=engine,
            grader=grader,
            runs=runs,
            spacing=self.spacing,
            quizmaster=self.quizmaster,
            threads=self.threads,
            limits=self.limits,
            telemetry=self.telemetry,
        )
        self._handlers.update(self.interviews.handlers(self._handlers))

    def close(self) -> None:
        """Release the database connections, the index, the language model and the sandbox."""
        self.retriever.close()
        self.progress.close()
        self.study.book.close()
        self.gaps.close()
        self.store.close()
        if self.engine.backend is not None:
            self.engine.backend.close()
        if self.runs is not None:
            self.runs.close()

    # -- for the adapters: what only the core knows ------------------------------------------

    def study_scheduler(
        self, courier: Courier, clock: Clock | None = None, rng: random.Random | None = None
    ) -> Scheduler:
        """The scheduler of this platform's reminders, daily questions and gap digests, sent by
        `courier` (not started: `start()` it on the front end's loop, or call `run_due` once)."""
        return self.studying.study_scheduler(courier, clock, rng)

    def handled_once(self, platform: str) -> HandledOnce:
        """A platform's events, each let through once, across restarts (bot/core/once.py)."""
        return HandledOnce(self.progress.events, platform)

    async def own_answer(self, answer_id: str, user_key: str) -> tuple[str, str] | None:
        """The question and answer of answer `answer_id` when it was given to `user_key` (a
        learner shares only their own), else None."""
        if not answer_id.isdigit():
            return None
        row = await asyncio.to_thread(self.progress.answers.answer, int(answer_id))
        if row is None or row["user"] != user_key:
            return None
        return row["question"], row["answer"]

    # -- entry point -------------------------------------------------------------------------

    async def handle(self, message: Incoming, out: Outbox) -> None:
        """Answer one message. Never raises: a failure is answered with an incident id. Once
        the tutor is stopping, nothing is started: the message is told to come back."""
        if self.draining.stopping:
            await self.draining.run(lambda work: self._refuse(message, out))
        else:
            await self.draining.run(lambda work: self._handle(message, out, work))

    async def drain(self, timeout: float) -> bool:
        """Stop taking new work, let the replies in flight finish for up to `timeout` s, then
        close the streams still open with their text so far and a note; whether all finished."""
        return await self.draining.stop(timeout)

    async def _refuse(self, message: Incoming, out: Outbox) -> None:
        try:
            lang = self._language(message, commands.clean(message.text))
            await out.send(Reply(messages.say(lang, "restarting"), kind="error", private=True))
        except Exception:
            log.exception("could not tell %s that the tutor is stopping", message.place)

    async def _handle(self, message: Incoming, out: Outbox, work: Work) -> None:
        text = commands.clean(message.text)
        lang: messages.Lang = "en"
        metered = self.telemetry.outbox(work.outbox(out))
        noting = NotingOutbox(metered, self.threads, message.place)
        try:
            lang = work.lang = self._language(message, text)
            await self._dispatch(message, text, lang, noting)
        except Exception as exc:
            said = for_people(exc)
            self.telemetry.failed("incident" if said is None else "people")
            if said is None:
                await self._incident(message, lang, noting)
            else:
                await noting.send(Reply(said, kind="error"))
        finally:
            await noting.finish()

    async def _incident(self, message: Incoming, lang: messages.Lang, out: Outbox) -> None:
        incident = uuid.uuid4().hex[:8]
        log.exception("incident %s while handling a message from %s", incident, message.place)
        try:
            await out.send(Reply(messages.say(lang, "failure", incident=incident), kind="error"))
        except Exception:
            log.exception("incident %s: the failure could not be reported", incident)

    def _language(self, message: Incoming, text: str) -> messages.Lang:
        user = message.user_key
        chosen = self.progress.language(user)
        if chosen in ("zh", "en"):
            return messages.as_lang(chosen)
        body = commands.parse(text).args if text.startswith(("/", "!")) else text
        if body.strip():
            self._last_lang[user] = language_of(body)
        place = self.progress.places.place_settings(message.place.workspace).get("lang")
        default = messages.as_lang(place)
        return self._last_lang.get(user, default)

    async def _dispatch(
        self, message: Incoming, text: str, lang: messages.Lang, out: Outbox
    ) -> None:
        if not text and not message.attachments:
            await out.send(Reply(messages.say(lang, "empty_message"), kind="error"))
            return
        wait = self.rate.check(message.user_key)
        if wait:
            self.telemetry.limited(message.place.platform)
            if self.rate.should_warn(message.user_key):
                text = layouts.slow_down(lang, wait, self.rate.limit)
                await out.send(Reply(text, kind="error", private=True))
            return
        if message.name and self._names.get(message.user_key) != message.name:
            await asyncio.to_thread(self.progress.see_user, message.user_key, message.name)
            self._names[message.user_key] = message.name
        parsed = commands.parse(text)
        if parsed.name:  # a plain message is counted once `_plain` knows what it is
            self.telemetry.requested(message.place.platform, parsed.name)
        await self._handlers[parsed.name](message, parsed, lang, out)

    async def _plain(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        """A message without a command: a quiz's answer in its thread, code to run, or a
        question."""
        place = message.place
        quiz = self.progress.open_quiz(message.user_key, place.workspace)
        answers = quiz is not None and self._in_quiz_thread(quiz, place)
        if quiz is not None and not answers and place.thread and await self.threads.settle(place):
            # The quiz's question may have been on its way back from the chat: now that it is
            # back, its thread is known (in memory) and this may be the answer.
            quiz = self.progress.open_quiz(message.user_key, place.workspace)
            answers = quiz is not None and self._in_quiz_thread(quiz, place)
        if quiz is not None and not answers and await self._adopts(quiz, message):
            answers = True
        block = only_fence(parsed.args)
        if quiz is not None and answers:
            self.telemetry.requested(place.platform, "answer")
            await self.quizzes.grade(quiz, message, parsed.args, lang, out)
        elif (block is not None and block.language in RUNNABLE_FENCES) or (
            not parsed.args and message.attachments
        ):
            self.telemetry.requested(place.platform, "run")
            await self.running.run(message, parsed, lang, out)
        else:
            self.telemetry.requested(place.platform, "ask")
            await self.asking.ask(message, parsed, lang, out)

    def _in_quiz_thread(self, quiz: Quiz, place: Place) -> bool:
        return quiz.channel == place.channel and self.threads.thread_of(quiz) == place.thread

    async def _adopts(self, quiz: Quiz, message: Incoming) -> bool:
        """Whether a reply under one of the tutor's own posts answers the user's quiz whose
        question thread was never recorded (the process stopped between the post and its
        write): the quiz takes that thread, unless another quiz already has it."""
        place = message.place
        if not (message.under_tutor and place.thread and quiz.channel == place.channel):
            return False
        if self.threads.thread_of(quiz):
            return False
        taken = await asyncio.to_thread(
            self.progress.thread_taken, place.workspace, place.channel, place.thread
        )
        if taken:
            return False
        if self.threads.note_quiz(quiz, place.thread):
            await self.threads.store_quiz(quiz, place.thread)
        log.info("quiz %s takes thread %s (its question's was not recorded)", quiz.id, place.thread)
        return True

    # -- what adapters ask -------------------------------------------------------------------

    def watched(self, place: Place) -> bool:
        """Whether every message of this channel is for the tutor (an admin chose so)."""
        return place.channel in self.progress.places.place_settings(place.workspace).get(
            "watch", []
        )

    def follows(self, place: Place) -> bool:
        """Whether this is a thread the tutor replied in, so messages there need no mention."""
        return self.threads.knows(place)

    async def following(self, place: Place) -> bool:
        """`follows`, after waiting briefly for the tutor's posts still in flight in this
        channel (a reply there may come before the post's own answer reaches the adapter)."""
        if self.follows(place):
            return True
        return bool(place.thread) and await self.threads.settle(place) and self.follows(place)
