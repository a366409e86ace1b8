"""Mock interviews (/interview): the tutor asks a series of questions in one thread, grades each
answer (a rubric, or a programming problem's tests), asks at most one follow-up per question on
the most important key point missed, and ends with a scorecard; every scored question is a
review, so the missed ones come back on the learner's schedule. The state is in the progress
store, one transaction a step, so a restart resumes where the interview was."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from bot.core.commands import Parsed
from bot.core.conversation import Incoming, Outbox, Place, Reply
from bot.core.parts import Handler, ReplyLimits
from bot.core.ports import EntryStore
from bot.core.running import grade_message
from bot.core.telemetry import Telemetry
from bot.core.threads import Threads
from bot.texts import layouts, messages
from bot.tutoring import interview as rules
from bot.tutoring.answering import AnswerEngine
from bot.tutoring.code_rubric import rubric_entry
from bot.tutoring.grading import Grader, label
from bot.tutoring.quiz import QuizMaster
from bot.tutoring.spacing import Spacing, rating_for
from knowledge.entry import Entry
from knowledge.interviews import Interview, InterviewItem, InterviewMoved, InterviewOpen
from knowledge.progress import Progress
from runner.dispatch import RunQueue
from runner.protocol import Runner

log = logging.getLogger("tutor.interviews")


def _stamp() -> str:
    return datetime.now(UTC).isoformat()


class Interviews:
    """/interview, and the routing of answers while an interview is open: built with the parts
    it uses."""

    def __init__(
        self,
        *,
        store: EntryStore,
        progress: Progress,
        engine: AnswerEngine,
        grader: Grader,
        runs: RunQueue[Runner] | None,
        spacing: Spacing,
        quizmaster: QuizMaster,
        threads: Threads,
        limits: ReplyLimits,
        telemetry: Telemetry,
    ) -> None:
        self.store = store
        self.progress = progress
        self.engine = engine
        self.grader = grader
        self.runs = runs
        self.spacing = spacing
        self.quizmaster = quizmaster
        self.threads = threads
        self.limits = limits
        self.telemetry = telemetry

    def handlers(self, table: dict[str, Handler]) -> dict[str, Handler]:
        """/interview, and the handlers of plain messages, /answer and /quiz wrapped so that an
        open interview comes first."""
        plain, answer, quiz = table[""], table["answer"], table["quiz"]

        async def plain_or_answer(
            message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
        ) -> None:
            found = await self.here(message)
            if found is None:
                await plain(message, parsed, lang, out)
            else:
                self.count(message, "answer")
                await self.answer(found, message, parsed.args, lang, out)

        async def answer_or_interview(
            message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
        ) -> None:
            found = self.progress.open_interview(message.user_key, message.place.workspace)
            if found is None:
                await answer(message, parsed, lang, out)
            elif not parsed.args.strip() and not message.attachments:
                await out.send(Reply(messages.say(lang, "need_answer"), kind="error"))
            else:
                await self.answer(found, message, parsed.args, lang, out)

        async def quiz_unless_interview(
            message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
        ) -> None:
            if self.progress.open_interview(message.user_key, message.place.workspace):
                await out.send(Reply(messages.say(lang, "interview.blocks_quiz"), kind="error"))
            else:
                await quiz(message, parsed, lang, out)

        return {
            "interview": self.command,
            "": plain_or_answer,
            "answer": answer_or_interview,
            "quiz": quiz_unless_interview,
        }

    def count(self, message: Incoming, name: str) -> None:
        """Count a plain message as the command it turned out to be."""
        self.telemetry.requested(message.place.platform, name)

    async def here(self, message: Incoming) -> Interview | None:
        """The user's open interview when this message is in its thread."""
        place = message.place
        found = self.progress.open_interview(message.user_key, place.workspace)
        if found is None or _in_thread(found, place):
            return found
        if place.thread and await self.threads.settle(place):
            # The interview's first post may have been on its way back: look again.
            found = self.progress.open_interview(message.user_key, place.workspace)
            if found is not None and _in_thread(found, place):
                return found
        return None

    def language(self, interview: Interview, user: str, lang: messages.Lang) -> messages.Lang:
        return messages.as_lang(self.progress.language(user), messages.as_lang(interview.lang))

    # -- /interview --------------------------------------------------------------------------

    async def command(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        request = rules.parse_request(parsed.args)
        user, place = message.user_key, message.place
        current = self.progress.open_interview(user, place.workspace)
        if request.stop:
            if current is None:
                await out.send(Reply(messages.say(lang, "interview.none_open"), kind="error"))
            else:
                await self.stop(current, self.language(current, user, lang), out)
            return
        if request.bad_count:
            await out.send(Reply(messages.say(lang, "interview.bad_count"), kind="error"))
            return
        if current is not None:
            await self.reminder(current, self.language(current, user, lang), out)
            return
        qm = self.quizmaster
        if not qm.entries():
            await out.send(Reply(messages.say(lang, "bank_empty"), kind="error"))
            return
        pool, label = await asyncio.to_thread(self.pool, message, request.topic)
        if pool is None:
            names = [name for name, _ in qm.topics()]
            text = layouts.interview_topic_unknown(lang, request.topic, names)
            await out.send(Reply(text, kind="error"))
            return
        latest = self.progress.last_scores(user)
        chosen = rules.plan(
            pool,
            request.count,
            qm.rng,
            latest,
            lang,
            weakest_only=not request.topic and bool(latest),
        )
        if not chosen:
            await out.send(Reply(messages.say(lang, "nothing_matches"), kind="error"))
            return
        if not request.topic and not latest:
            label = "*"
        try:
            interview = await asyncio.to_thread(
                self.progress.start_interview,
                user,
                place.workspace,
                place.channel,
                place.thread,
                label,
                lang,
                [(e.id, rules.topic_of(e)) for e in chosen],
                _stamp(),
            )
        except InterviewOpen:
            current = self.progress.open_interview(user, place.workspace)
            if current is not None:
                await self.reminder(current, lang, out)
            return
        first = self.question(lang, 0, len(chosen), chosen[0])
        text = layouts.interview_intro(lang, len(chosen), label, first)
        # A reply in the new thread may come before the post returns: it waits for this post
        # (`settle`), and finds the interview's thread stored when it looks again.
        with self.threads.posting(place):
            sent = await out.send(Reply(text, kind="interview"))
            if sent.thread and sent.thread != interview.thread:
                await asyncio.to_thread(
                    self.progress.set_interview_thread, interview.id, sent.thread
                )

    def pool(self, message: Incoming, topic: str) -> tuple[list[Entry] | None, str]:
        """The entries an interview draws from, and how its topic is named ("" by default)."""
        qm = self.quizmaster
        if topic:
            found = qm.matching(topic)
            if found and topic.isdigit():
                return found, rules.topic_of(found[0])
            return found, topic
        chosen = self.progress.places.place_settings(message.place.workspace).get("topics", [])
        if not chosen:
            return qm.entries(), ""
        pool: dict[str, Entry] = {}
        for name in chosen:
            for entry in qm.matching(name) or []:
                pool[entry.id] = entry
        return list(pool.values()) or qm.entries(), ""

    def question(self, lang: messages.Lang, position: int, count: int, entry: Entry) -> str:
        question = entry.question
        if entry.kind == "coding" and entry.example:
            question += "\n\n" + entry.example
        title = entry.title or rules.topic_of(entry)
        return layouts.interview_question(
            lang, position + 1, count, title, question, entry.kind == "coding"
        )

    async def reminder(self, interview: Interview, lang: messages.Lang, out: Outbox) -> None:
        """Say an interview is open, and ask its current question (or follow-up) again."""
        items = self.progress.interview_items(interview.id)
        item = items[min(interview.position, len(items) - 1)]
        text = messages.say(
            lang, "interview.already_open", number=item.position + 1, count=len(items)
        )
        if item.follow_up:
            text += "\n\n" + messages.say(lang, "interview.follow_up", text=item.follow_up)
        else:
            entry = self.store.entry(item.entry_id)
            if entry is not None:
                text += "\n\n" + self.question(lang, item.position, len(items), entry)
        await out.send(Reply(text, kind="interview", thread=interview.thread))

    # -- answers -----------------------------------------------------------------------------

    async def answer(
        self, interview: Interview, message: Incoming, text: str, lang: messages.Lang, out: Outbox
    ) -> None:
        lang = self.language(interview, message.user_key, lang)
        items = self.progress.interview_items(interview.id)
        if interview.position >= len(items):
            return
        item = items[interview.position]
        entry = self.store.entry(item.entry_id)
        if entry is None:
            await out.send(Reply(messages.say(lang, "entry_gone"), kind="error"))
            await self.stop(interview, lang, out)
            return
        text = text[: self.limits.max_answer_chars]
        tested = entry.kind == "coding" and bool(entry.tests.strip())
        against = entry
        if item.state == "follow_up" and not tested:
            against = rules.point_entry(entry, item.follow_up_point, item.follow_up)  # prose
        graded = await grade_message(self.grader, self.runs, against, message, text, lang, out)
        if graded is None:
            return  # the user was told why, and can answer again
        score, answer, mode = graded.score, graded.answer, graded.mode
        covered, missed = list(graded.covered), list(graded.missed)
        if graded.grade is None:
            failed = (
                [o.name for o in graded.verdict.outcomes if not o.passed] if graded.verdict else []
            )
            point = f"`{failed[0]}`" if failed else (missed[0] if missed else "")
        else:
            graded_against = rubric_entry(against) if against.kind == "coding" else against
            point = rules.missed_point(graded_against, graded.grade)
        try:
            if item.state == "asked" and point:
                await self.follow_up(
                    interview, item, entry, answer, point, tested, score, covered, missed, lang, out
                )
                return
            if item.state == "follow_up":
                first = item.first_score or 0
                total = rules.combine(first, score)
                if not tested:
                    # Graded against the one point: the first answer's lists, that point settled.
                    settled = [label(item.follow_up_point)] if covered else []
                    covered = [*item.covered, *settled]
                    missed = [m for m in item.missed if m not in settled]
                after = await self.score(
                    interview,
                    item,
                    "follow_up",
                    total,
                    first,
                    score,
                    covered,
                    missed,
                    f"{item.answer}\n\n{answer}",
                    mode,
                )
            else:
                total = score
                after = await self.score(
                    interview, item, "asked", score, score, None, covered, missed, answer, mode
                )
        except InterviewMoved:
            await out.send(Reply(messages.say(lang, "already_answered"), kind="error"))
            return
        await self.ask_next(
            after, lang, out, messages.say(lang, "interview.noted", score=rules.score_text(total))
        )

    async def follow_up(
        self,
        interview: Interview,
        item: InterviewItem,
        entry: Entry,
        answer: str,
        point: str,
        tested: bool,
        score: int,
        covered: list[str],
        missed: list[str],
        lang: messages.Lang,
        out: Outbox,
    ) -> None:
        backend = None if tested else self.engine.backend
        phrased = await rules.phrase_follow_up(backend, entry, answer, point, lang)
        shown = point if tested else label(point)
        text = phrased or layouts.interview_follow_up_text(lang, shown, tested)
        await asyncio.to_thread(
            self.progress.ask_follow_up,
            interview.id,
            item.position,
            first_score=score,
            covered=covered,
            missed=missed,
            answer=answer,
            follow_up=text,
            point=point,
        )
        await out.send(
            Reply(
                messages.say(lang, "interview.follow_up", text=text),
                kind="interview",
                thread=interview.thread,
            )
        )

    async def score(
        self,
        interview: Interview,
        item: InterviewItem,
        expected: str,
        score: int,
        first: int,
        follow_up: int | None,
        covered: list[str],
        missed: list[str],
        answer: str,
        mode: str,
    ) -> Interview:
        return await asyncio.to_thread(
            self.progress.score_interview_item,
            interview,
            item.position,
            expected=expected,
            score=score,
            first_score=first,
            follow_up_score=follow_up,
            covered=covered,
            missed=missed,
            answer=answer,
            rating=rating_for(score),
            mode=mode,
            schedule=lambda card: self.spacing.schedule(card, score),
            stamp=_stamp(),
        )

    async def ask_next(
        self, interview: Interview, lang: messages.Lang, out: Outbox, noted: str
    ) -> None:
        """After a scored question: the next question, or the scorecard."""
        if interview.state != "open":
            card = self.scorecard(interview, lang)
            await out.send(Reply(noted + "\n\n" + card, kind="grade", thread=interview.thread))
            return
        items = self.progress.interview_items(interview.id)
        item = items[interview.position]
        entry = self.store.entry(item.entry_id)
        if entry is None:
            await out.send(Reply(messages.say(lang, "entry_gone"), kind="error"))
            await self.stop(interview, lang, out)
            return
        question = self.question(lang, item.position, len(items), entry)
        await out.send(Reply(noted + "\n\n" + question, kind="interview", thread=interview.thread))

    # -- the end -----------------------------------------------------------------------------

    async def stop(self, interview: Interview, lang: messages.Lang, out: Outbox) -> None:
        """End early; a first answer awaiting its follow-up is scored as it stands."""
        items = self.progress.interview_items(interview.id)
        if interview.position < len(items) and items[interview.position].state == "follow_up":
            item = items[interview.position]
            first = item.first_score or 0
            with contextlib.suppress(InterviewMoved):
                interview = await self.score(
                    interview,
                    item,
                    "follow_up",
                    first,
                    first,
                    None,
                    list(item.covered),
                    list(item.missed),
                    item.answer,
                    "stopped",
                )
        if interview.state == "open":
            try:
                interview = await asyncio.to_thread(
                    self.progress.stop_interview, interview.id, _stamp()
                )
            except InterviewMoved:
                await out.send(Reply(messages.say(lang, "interview.none_open"), kind="error"))
                return
        if not any(i.state == "done" for i in self.progress.interview_items(interview.id)):
            await out.send(
                Reply(messages.say(lang, "interview.nothing_answered"), thread=interview.thread)
            )
            return
        card = self.scorecard(interview, lang)
        await out.send(Reply(card, kind="grade", thread=interview.thread))

    def scorecard(self, interview: Interview, lang: messages.Lang) -> str:
        items = self.progress.interview_items(interview.id)
        titles = {}
        for item in items:
            entry = self.store.entry(item.entry_id)
            titles[item.entry_id] = (entry.title if entry else "") or item.entry_id
        return rules.scorecard_text(items, titles, lang)


def _in_thread(interview: Interview, place: Place) -> bool:
    return interview.channel == place.channel and interview.thread == place.thread
