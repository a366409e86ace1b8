"""The quiz lifecycle: asking a question, grading an answer (a rubric, or the tests of a coding
question run in the sandbox), hints, skipping, revealing, the review schedule (FSRS), and the
progress it adds up to (/stats, /leaderboard)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from bot.core.commands import Parsed
from bot.core.conversation import Button, Incoming, Outbox, Reply
from bot.core.parts import ReplyLimits
from bot.core.ports import EntryStore
from bot.core.reports import progress_chart
from bot.core.running import grade_message
from bot.core.threads import Threads
from bot.texts import layouts, markdown, messages
from bot.tutoring.answering import language_of
from bot.tutoring.assessing import Assessment
from bot.tutoring.code_tests import Verdict
from bot.tutoring.grading import Grader, key_points, label
from bot.tutoring.quiz import QuizMaster, parse_request
from bot.tutoring.spacing import RATINGS, Spacing, rating_for
from knowledge.entry import Entry
from knowledge.progress import Progress
from knowledge.records import NotYourReview, Quiz, QuizClosed, Review, ReviewClosed
from runner.dispatch import RunQueue
from runner.protocol import Runner

HINT_PENALTY = 10


class Quizzes:
    """/quiz, /answer, /hint, /skip, /reveal, /rate, /stats and /leaderboard, and recording a
    graded answer as a review (the daily question's too): built with the parts it uses."""

    def __init__(
        self,
        *,
        store: EntryStore,
        progress: Progress,
        grader: Grader,
        runs: RunQueue[Runner] | None,
        spacing: Spacing,
        quizmaster: QuizMaster,
        threads: Threads,
        limits: ReplyLimits,
    ) -> None:
        self.store = store
        self.progress = progress
        self.grader = grader
        self.runs = runs
        self.spacing = spacing
        self.quizmaster = quizmaster
        self.threads = threads
        self.limits = limits

    async def quiz(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        qm = self.quizmaster
        if not qm.entries():
            await out.send(Reply(messages.say(lang, "bank_empty"), kind="error"))
            return
        request = parse_request(parsed.args)
        if request.list_topics:
            await out.send(Reply(layouts.topic_list(lang, qm.topics())))
            return
        topics = [request.topic] if request.topic else self._default_topics(message)
        pool = await asyncio.to_thread(self.pool, topics)
        if pool is None:
            names = [name for name, _ in qm.topics()]
            asked = "; ".join(topics)
            await out.send(Reply(layouts.topic_unknown(lang, asked, names), kind="error"))
            return
        pick = qm.pick(message.user_key, pool, language=request.language, kind=request.kind)
        if pick is None:
            await out.send(Reply(messages.say(lang, "nothing_matches"), kind="error"))
            return
        entry = pick.entry
        place = message.place
        quiz = await asyncio.to_thread(
            self.progress.start_quiz,
            message.user_key,
            place.workspace,
            place.channel,
            place.thread,
            entry.id,
            entry.kind,
        )
        reply_lang: messages.Lang = "zh" if entry.language == "zh" else lang
        text = layouts.quiz_question(
            reply_lang,
            entry.title or entry.question[:60],
            _question_text(entry),
            entry.kind == "coding",
            layouts.why_asked(reply_lang, pick.reason),
        )
        hint, skip, reveal = layouts.quiz_buttons(reply_lang)
        buttons = (
            Button(hint, f"/hint {quiz.id}"),
            Button(skip, f"/skip {quiz.id}"),
            Button(reveal, f"/reveal {quiz.id}", "danger"),
        )
        # An answer in the question's thread may come before the post returns: it waits for
        # this post, and finds the quiz's thread recorded (in memory) when it looks again.
        with self.threads.posting(place):
            sent = await out.send(Reply(text, buttons=buttons, kind="quiz"))
            news = self.threads.note_quiz(quiz, sent.thread)
        if news:
            await self.threads.store_quiz(quiz, sent.thread)

    def _default_topics(self, message: Incoming) -> list[str]:
        return list(self.progress.places.place_settings(message.place.workspace).get("topics", []))

    def pool(self, topics: list[str]) -> list[Entry] | None:
        if not topics:
            return self.quizmaster.entries()
        found: dict[str, Entry] = {}
        for topic in topics:
            for entry in self.quizmaster.matching(topic) or []:
                found[entry.id] = entry
        return list(found.values()) or None

    async def answer(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        quiz = self.progress.open_quiz(message.user_key, message.place.workspace)
        if quiz is None:
            await out.send(Reply(messages.say(lang, "no_quiz"), kind="error"))
        elif not parsed.args.strip():
            await out.send(Reply(messages.say(lang, "need_answer"), kind="error"))
        else:
            await self.grade(quiz, message, parsed.args, lang, out)

    async def _entry_of(self, quiz: Quiz, lang: messages.Lang, out: Outbox) -> Entry | None:
        entry = self.store.entry(quiz.entry_id)
        if entry is None:
            with contextlib.suppress(QuizClosed):
                await asyncio.to_thread(self.progress.close_quiz, quiz.id, "skipped")
            await out.send(Reply(messages.say(lang, "entry_gone"), kind="error"))
        return entry

    async def grade(
        self, quiz: Quiz, message: Incoming, text: str, lang: messages.Lang, out: Outbox
    ) -> None:
        entry = await self._entry_of(quiz, lang, out)
        if entry is None:
            return
        lang = "zh" if entry.language == "zh" and language_of(text) == "zh" else lang
        notice = ""
        if entry.kind != "coding" and len(text) > self.limits.max_answer_chars:
            notice = (
                messages.say(
                    lang, "cut_notice", length=len(text), limit=self.limits.max_answer_chars
                )
                + "\n\n"
            )
            text = text[: self.limits.max_answer_chars]
        graded = await grade_message(self.grader, self.runs, entry, message, text, lang, out)
        if graded is None:
            return  # the user was told why; the quiz stays open to answer again
        if graded.verdict is not None:
            await self._tests_graded(quiz, entry, graded, graded.verdict, lang, out)
            return
        if entry.kind == "coding":
            notice = layouts.untested_code_note(lang, graded.ran, graded.why) + "\n\n"
        await self._rubric_graded(quiz, entry, graded, notice, lang, out)

    async def _tests_graded(
        self,
        quiz: Quiz,
        entry: Entry,
        graded: Assessment,
        verdict: Verdict,
        lang: messages.Lang,
        out: Outbox,
    ) -> None:
        """Record a coding answer judged by the problem's tests (the tests passed as covered, the
        failed as missed) and reply with each test."""
        penalty = min(verdict.score, HINT_PENALTY * quiz.hints)
        score = verdict.score - penalty
        review = await self.record_review(quiz, "answered", score, graded, lang, out)
        if review is None:
            return
        first = next((o for o in verdict.outcomes if not o.passed), None)
        body = layouts.code_reply(
            lang,
            verdict.passed,
            len(verdict.outcomes),
            [(o.name, o.passed) for o in verdict.outcomes],
            f"{first.name}: {first.message}" if first else "",
            verdict.error,
            penalty,
            entry.solution,
            self.due_in(lang, review),
        )
        await self._send_graded(quiz, review, body, lang, out)

    async def _rubric_graded(
        self,
        quiz: Quiz,
        entry: Entry,
        graded: Assessment,
        note: str,
        lang: messages.Lang,
        out: Outbox,
    ) -> None:
        """Record a rubric grade (less the hints' penalty) and reply with it, the reference and
        the ratings to choose from; `note` goes first."""
        penalty = min(graded.score, HINT_PENALTY * quiz.hints)
        score = graded.score - penalty
        review = await self.record_review(quiz, "answered", score, graded, lang, out)
        if review is None:
            return
        body = layouts.grade_reply(
            lang,
            score,
            list(graded.covered),
            list(graded.missed),
            graded.feedback,
            penalty,
            _reference(entry),
            self.due_in(lang, review),
        )
        await self._send_graded(quiz, review, note + body, lang, out)

    async def _send_graded(
        self, quiz: Quiz, review: Review, body: str, lang: messages.Lang, out: Outbox
    ) -> None:
        """A grade in the quiz's thread, with the suggested rating and the buttons to change it."""
        body += "\n" + layouts.rating_offer(lang, review.suggested)
        buttons = _rating_buttons(lang, review)
        thread = self.threads.thread_of(quiz)
        await out.send(Reply(body, buttons=buttons, kind="grade", thread=thread))

    # -- the learner's rating (as in Anki) --------------------------------------------------

    async def rate(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        words = parsed.args.lower().split()
        review_id = int(words.pop(0)) if words and words[0].isdigit() else None
        if len(words) != 1 or words[0] not in RATINGS:
            await out.send(Reply(messages.say(lang, "rating.usage"), kind="error", private=True))
            return
        rating = RATINGS.index(words[0]) + 1
        if review_id is None:
            last = self.progress.last_review(message.user_key, message.place.workspace)
            if last is None:
                await out.send(Reply(messages.say(lang, "rating.none"), kind="error", private=True))
                return
            review_id = last.id
        try:
            review = await asyncio.to_thread(
                self.progress.rate_review,
                review_id,
                message.user_key,
                rating,
                lambda card, at: self.spacing.rate(card, rating, at),
            )
        except NotYourReview:
            await out.send(
                Reply(messages.say(lang, "rating.not_yours"), kind="error", private=True)
            )
            return
        except ReviewClosed:
            await out.send(Reply(messages.say(lang, "rating.closed"), kind="error", private=True))
            return
        text = layouts.rating_saved(lang, rating, review.suggested, self.due_in(lang, review))
        quiz = self.progress.quiz(review.quiz_id) if review.quiz_id else None
        await out.send(Reply(text, thread=self.threads.thread_of(quiz) if quiz else ""))

    async def record_review(
        self,
        quiz: Quiz,
        state: str,
        score: int,
        graded: Assessment | None,
        lang: messages.Lang,
        out: Outbox,
    ) -> Review | None:
        """Record `quiz` as answered (`graded`: what judged it and its lists) or revealed (None),
        with `score` after the hints' penalty; None when the quiz was closed meanwhile."""
        try:
            return await asyncio.to_thread(
                self.progress.record_review,
                quiz,
                state=state,
                score=score,
                rating=rating_for(score),
                mode=graded.mode if graded else state,
                covered=list(graded.covered) if graded else [],
                missed=list(graded.missed) if graded else [],
                answer=graded.answer if graded else "",
                schedule=lambda card: self.spacing.schedule(card, score),
            )
        except QuizClosed:
            await out.send(Reply(messages.say(lang, "already_answered"), kind="error"))
            return None

    def due_in(self, lang: messages.Lang, review: Review) -> str:
        due = self.progress.next_due_of(review.user, review.entry_id)
        seconds = (due - datetime.now(UTC)).total_seconds() if due else 0
        return layouts.due_in(lang, seconds)

    async def _open_quiz(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> Quiz | None:
        """The quiz a command is about: the one its button names, else the user's open one."""
        words = parsed.args.split()
        if words and words[0].isdigit():
            quiz = self.progress.quiz(int(words[0]))
            if quiz is not None and quiz.user != message.user_key:
                await out.send(
                    Reply(messages.say(lang, "not_your_quiz"), kind="error", private=True)
                )
                return None
            if quiz is None or quiz.state != "open":
                await out.send(Reply(messages.say(lang, "quiz_over"), kind="error", private=True))
                return None
            return quiz
        quiz = self.progress.open_quiz(message.user_key, message.place.workspace)
        if quiz is None:
            await out.send(Reply(messages.say(lang, "no_quiz"), kind="error"))
        return quiz

    async def _quiz_and_entry(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> tuple[Quiz, Entry] | None:
        quiz = await self._open_quiz(message, parsed, lang, out)
        entry = await self._entry_of(quiz, lang, out) if quiz is not None else None
        return (quiz, entry) if quiz is not None and entry is not None else None

    async def hint(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        found = await self._quiz_and_entry(message, parsed, lang, out)
        if found is None:
            return
        quiz, entry = found
        hints = _hints(entry)
        try:
            given = await asyncio.to_thread(self.progress.add_hint, quiz.id, len(hints))
        except QuizClosed:
            await out.send(Reply(messages.say(lang, "no_quiz"), kind="error"))
            return
        if given is None:
            await out.send(Reply(messages.say(lang, "no_more_hints")))
            return
        text = messages.say(
            lang, "hint", text=hints[given - 1], number=given, left=len(hints) - given
        )
        await out.send(Reply(text, thread=self.threads.thread_of(quiz)))

    async def skip(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        quiz = await self._open_quiz(message, parsed, lang, out)
        if quiz is None:
            return
        try:
            await asyncio.to_thread(self.progress.close_quiz, quiz.id, "skipped")
        except QuizClosed:
            await out.send(Reply(messages.say(lang, "no_quiz"), kind="error"))
            return
        await out.send(Reply(messages.say(lang, "skipped")))

    async def reveal(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        found = await self._quiz_and_entry(message, parsed, lang, out)
        if found is None:
            return
        quiz, entry = found
        review = await self.record_review(quiz, "revealed", 0, None, lang, out)
        if review is None:
            return
        text = messages.say(
            lang, "revealed", reference=_reference(entry), due=self.due_in(lang, review)
        )
        await out.send(Reply(text, kind="grade", thread=self.threads.thread_of(quiz)))

    # -- progress ----------------------------------------------------------------------------

    async def stats(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        data = self.quizmaster.stats(message.user_key)
        chart = await progress_chart(self.quizmaster, message.user_key, lang, data)
        await out.send(Reply(layouts.stats_text(lang, data), files=chart))

    async def leaderboard(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        standings = self.progress.standings.leaderboard(message.place.workspace)
        rows = [(s.name or s.user.split(":", 1)[-1], s.points, s.answered) for s in standings]
        await out.send(Reply(layouts.leaderboard_text(lang, rows)))


def _rating_buttons(lang: messages.Lang, review: Review) -> tuple[Button, ...]:
    """Again / Hard / Good / Easy for one review, the grader's suggestion marked and primary."""
    labels = layouts.rating_buttons(lang, review.suggested)
    return tuple(
        Button(
            label, f"/rate {review.id} {name}", "primary" if n == review.suggested else "default"
        )
        for n, (label, name) in enumerate(zip(labels, RATINGS, strict=True), start=1)
    )


def _question_text(entry: Entry) -> str:
    text = entry.question
    if entry.kind == "coding" and entry.example:
        text += "\n\n" + entry.example
    return text


def _reference(entry: Entry) -> str:
    parts = [entry.answer] if entry.answer else []
    # The parser keeps a bulleted answer's points in both fields; show them once.
    parts += [f"- {p}" for p in entry.key_points if p[-30:] not in entry.answer]
    if entry.kind == "coding" and entry.solution:
        parts.append(markdown.fence(entry.solution, "python"))
    return "\n".join(parts) or entry.explanation


def _hints(entry: Entry) -> list[str]:
    if entry.kind == "coding":
        hints = []
        if entry.explanation:
            hints.append(entry.explanation.split("。")[0].split(". ")[0][:200])
        first = next(
            (ln for ln in entry.solution.splitlines() if ln.startswith(("def ", "class "))), ""
        )
        if first:
            hints.append(f"`{first.rstrip(':')}`")
        return hints
    return [f"**{label(p)}**" for p in key_points(entry)]
