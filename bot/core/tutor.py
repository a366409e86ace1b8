"""The tutor core: one message in, replies out. It holds all tutoring logic — asking, quizzes,
grading, spaced repetition, progress, running code — and knows nothing of Slack, Discord or the
terminal, which are adapters over it (`bot/core/conversation.py` is what passes between them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.core import commands, messages
from bot.core.commands import COMMANDS, Parsed
from bot.core.conversation import Attachment, Button, Incoming, Outbox, Place, Reply, Sent
from bot.core.errors import TutorError
from bot.core.ratelimit import RateLimiter
from bot.tutoring.answering import AnswerEngine, Turn, language_of
from bot.tutoring.code_tests import expected_tests, extract_code, new_marker, program, read_verdict
from bot.tutoring.grading import MAX_ANSWER_CHARS, Grader, key_points, label
from bot.tutoring.quiz import QuizMaster, parse_request
from bot.tutoring.spacing import Spacing
from knowledge.entry import Entry
from knowledge.errors import BankError, StoreError
from knowledge.progress import Progress, Quiz, QuizClosed
from retriever.errors import RetrieverError
from runner.dispatch import RunQueue
from runner.errors import RunnerBusy, RunnerError

log = logging.getLogger("tutor.core")
MAX_MESSAGE_CHARS = 20_000
MAX_QUESTION_CHARS = 2000
INLINE_OUTPUT_CHARS = 1500
HINT_PENALTY = 10
THREADS_REMEMBERED = 2000
_ONLY_CODE = re.compile(r"\s*```[ \t]*(python|py|sh|bash)?[ \t]*\n.*?```\s*", re.DOTALL)


@dataclass(frozen=True)
class ReplyLimits:
    """How much the core reads and writes."""

    max_answer_chars: int = MAX_ANSWER_CHARS
    max_question_chars: int = MAX_QUESTION_CHARS
    max_new_tokens: int = 512


class Tutor:
    """Handles messages; everything it needs comes in through the constructor."""

    def __init__(
        self,
        *,
        store: Any,
        retriever: Any,
        progress: Progress,
        engine: AnswerEngine,
        grader: Grader,
        runs: RunQueue | None,
        spacing: Spacing | None = None,
        quizmaster: QuizMaster | None = None,
        limits: ReplyLimits | None = None,
        rate: RateLimiter | None = None,
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
        self._threads: OrderedDict[tuple[str, ...], deque[Turn]] = OrderedDict()
        self._last_lang: dict[str, messages.Lang] = {}
        self._names: dict[str, str] = {}

    def close(self) -> None:
        """Release the database connections, the index and the sandbox."""
        self.retriever.close()
        self.progress.close()
        self.store.close()
        backend = getattr(self.engine, "backend", None)
        if backend is not None and hasattr(backend, "close"):
            backend.close()
        sandbox = getattr(self.runs, "sandbox", None)
        if sandbox is not None and hasattr(sandbox, "close"):
            sandbox.close()

    # -- entry point -------------------------------------------------------------------------

    async def handle(self, message: Incoming, out: Outbox) -> None:
        """Answer one message. Never raises: a failure is answered with an incident id."""
        text = commands.clean(message.text)
        lang: messages.Lang = "en"
        out = _NotingThreads(out, self.progress, message.place)
        try:
            lang = self._language(message, text)
            await self._dispatch(message, text, lang, out)
        except StoreError:
            # Storage trouble is for the logs (it names server paths), not for the chat.
            await self._incident(message, lang, out)
        except (TutorError, BankError, RetrieverError, RunnerError) as exc:
            await out.send(Reply(str(exc), kind="error"))
        except Exception:
            await self._incident(message, lang, out)

    async def _incident(self, message: Incoming, lang: messages.Lang, out: Outbox) -> None:
        incident = uuid.uuid4().hex[:8]
        log.exception("incident %s while handling a message from %s", incident, message.place)
        try:
            await out.send(Reply(messages.failure(lang, incident), kind="error"))
        except Exception:
            log.exception("incident %s: the failure could not be reported", incident)

    def _language(self, message: Incoming, text: str) -> messages.Lang:
        user = message.user_key
        chosen = self.progress.language(user)
        if chosen in ("zh", "en"):
            return chosen  # type: ignore[return-value]
        body = commands.parse(text).args if text.startswith(("/", "!")) else text
        if body.strip():
            self._last_lang[user] = language_of(body)
        default = self.progress.place_settings(message.place.workspace).get("lang") or "en"
        return self._last_lang.get(user, default)

    async def _dispatch(
        self, message: Incoming, text: str, lang: messages.Lang, out: Outbox
    ) -> None:
        if not text and not message.attachments:
            await out.send(Reply(messages.empty_message(lang), kind="error"))
            return
        wait = self.rate.check(message.user_key)
        if wait:
            if self.rate.should_warn(message.user_key):
                text = messages.slow_down(lang, wait, self.rate.limit)
                await out.send(Reply(text, kind="error", private=True))
            return
        if message.name and self._names.get(message.user_key) != message.name:
            await asyncio.to_thread(self.progress.see_user, message.user_key, message.name)
            self._names[message.user_key] = message.name
        parsed = commands.parse(text)
        handler = {
            "": self._plain,
            "ask": self._ask,
            "quiz": self._quiz,
            "answer": self._answer_command,
            "hint": self._hint,
            "skip": self._skip,
            "reveal": self._reveal,
            "stats": self._stats,
            "leaderboard": self._leaderboard,
            "run": self._run,
            "lang": self._lang,
            "help": self._help,
            "settings": self._settings,
            "feedback": self._feedback,
            "?": self._unknown,
        }[parsed.name]
        await handler(message, parsed, lang, out)

    # -- asking ------------------------------------------------------------------------------

    async def _plain(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        quiz = self.progress.open_quiz(message.user_key, message.place.workspace)
        if quiz and quiz.channel == message.place.channel and quiz.thread == message.place.thread:
            await self._grade(quiz, message, parsed.args, lang, out)
        elif _ONLY_CODE.fullmatch(parsed.args) or (not parsed.args and message.attachments):
            # A message that is nothing but a code block is code to run, as with /run.
            await self._run(message, parsed, lang, out)
        else:
            await self._ask(message, parsed, lang, out)

    async def _ask(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        question = parsed.args
        if not question.strip():
            await out.send(Reply(messages.empty_message(lang), kind="error"))
            return
        notice = ""
        if len(question) > self.limits.max_question_chars:
            notice = messages.cut_notice(lang, len(question), self.limits.max_question_chars)
            question = question[: self.limits.max_question_chars]
        place = message.place
        # A conversation is a thread: a message at the top of a channel starts a new one.
        key = (place.platform, place.workspace, place.channel, place.thread)
        history = list(self._threads.get(key, ())) if place.thread else []
        stream = out.stream()
        answer = await self.engine.answer(
            question,
            on_text=stream.write,
            history=history,
            max_new_tokens=self.limits.max_new_tokens,
        )
        answer_id = await asyncio.to_thread(
            self.progress.record_answer,
            message.user_key,
            place.workspace,
            place.channel,
            question,
            answer.answer,
            list(answer.citations),
            answer.mode,
        )
        body = answer.answer
        if answer.notice:
            body = f"_{answer.notice}_\n\n{body}"
        if notice:
            body = f"{notice}\n\n{body}"
        up, down = messages.feedback_buttons(lang)
        buttons = (
            Button(up, f"/feedback up {answer_id}"),
            Button(down, f"/feedback down {answer_id}"),
        )
        sent = await stream.close(Reply(body, buttons=buttons, kind="answer"))
        self._remember(key, sent, Turn(question, answer.answer))

    def _remember(self, key: tuple[str, ...], sent: Sent, turn: Turn) -> None:
        keys = {k for k in (key, (*key[:3], sent.thread)) if k[3]}
        for k in keys:
            turns = self._threads.setdefault(k, deque(maxlen=6))
            turns.append(turn)
            self._threads.move_to_end(k)
        while len(self._threads) > THREADS_REMEMBERED:
            self._threads.popitem(last=False)

    # -- quizzes -----------------------------------------------------------------------------

    async def _quiz(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        qm = self.quizmaster
        if not qm.entries():
            await out.send(Reply(messages.bank_empty(lang), kind="error"))
            return
        request = parse_request(parsed.args)
        if request.list_topics:
            await out.send(Reply(messages.topic_list(lang, qm.topics())))
            return
        topics = [request.topic] if request.topic else self._default_topics(message)
        pool = await asyncio.to_thread(self._pool, topics)
        if pool is None:
            names = [name for name, _ in qm.topics()]
            asked = "; ".join(topics)
            await out.send(Reply(messages.topic_unknown(lang, asked, names), kind="error"))
            return
        pick = qm.pick(message.user_key, pool, language=request.language, kind=request.kind)
        if pick is None:
            await out.send(Reply(messages.nothing_matches(lang), kind="error"))
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
        text = messages.quiz_question(
            reply_lang,
            entry.title or entry.question[:60],
            _question_text(entry),
            entry.kind == "coding",
            messages.why_asked(reply_lang, pick.reason),
        )
        hint, skip, reveal = messages.quiz_buttons(reply_lang)
        buttons = (
            Button(hint, f"/hint {quiz.id}"),
            Button(skip, f"/skip {quiz.id}"),
            Button(reveal, f"/reveal {quiz.id}", "danger"),
        )
        sent = await out.send(Reply(text, buttons=buttons, kind="quiz"))
        if sent.thread and sent.thread != quiz.thread:
            await asyncio.to_thread(self.progress.set_thread, quiz.id, sent.thread)

    def _default_topics(self, message: Incoming) -> list[str]:
        return list(self.progress.place_settings(message.place.workspace).get("topics", []))

    def _pool(self, topics: list[str]) -> list[Entry] | None:
        if not topics:
            return self.quizmaster.entries()
        found: dict[str, Entry] = {}
        for topic in topics:
            for entry in self.quizmaster.matching(topic) or []:
                found[entry.id] = entry
        return list(found.values()) or None

    async def _answer_command(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        quiz = self.progress.open_quiz(message.user_key, message.place.workspace)
        if quiz is None:
            await out.send(Reply(messages.no_quiz(lang), kind="error"))
        elif not parsed.args.strip():
            await out.send(Reply(messages.need_answer(lang), kind="error"))
        else:
            await self._grade(quiz, message, parsed.args, lang, out)

    async def _entry_of(self, quiz: Quiz, lang: messages.Lang, out: Outbox) -> Entry | None:
        entry = self.store.entry(quiz.entry_id)
        if entry is None:
            with contextlib.suppress(QuizClosed):
                await asyncio.to_thread(self.progress.close_quiz, quiz.id, "skipped")
            await out.send(Reply(messages.entry_gone(lang), kind="error"))
        return entry

    async def _grade(
        self, quiz: Quiz, message: Incoming, text: str, lang: messages.Lang, out: Outbox
    ) -> None:
        entry = await self._entry_of(quiz, lang, out)
        if entry is None:
            return
        lang = "zh" if entry.language == "zh" and language_of(text) == "zh" else lang
        if entry.kind == "coding":
            await self._judge_code(quiz, entry, message, text, lang, out)
            return
        notice = ""
        if len(text) > self.limits.max_answer_chars:
            notice = messages.cut_notice(lang, len(text), self.limits.max_answer_chars) + "\n\n"
            text = text[: self.limits.max_answer_chars]
        grade = await self.grader.grade(entry, text)
        penalty = min(grade.score, HINT_PENALTY * quiz.hints)
        score = grade.score - penalty
        review = await self._record_review(
            quiz, "answered", score, grade.mode, grade, text, lang, out
        )
        if review is None:
            return
        due = self._due_in(lang, review)
        body = messages.grade_reply(
            lang,
            score,
            list(grade.covered),
            list(grade.missed),
            grade.feedback,
            penalty,
            _reference(entry),
            due,
        )
        await out.send(Reply(notice + body, kind="grade", thread=quiz.thread))

    async def _judge_code(
        self,
        quiz: Quiz,
        entry: Entry,
        message: Incoming,
        text: str,
        lang: messages.Lang,
        out: Outbox,
    ) -> None:
        code = extract_code(text) or _attached_code(message)[0]
        if not code.strip():
            await out.send(Reply(messages.need_code(lang), kind="error"))
            return
        if not entry.tests.strip():
            raise TutorError(
                "this coding question has no tests in the bank, so it cannot be judged"
            )
        marker = new_marker()
        result = await self._run_code(message, program(code, entry.tests, marker), lang, out)
        if result is None:
            return
        verdict = read_verdict(result, marker, expected_tests(entry.tests))
        penalty = min(verdict.score, HINT_PENALTY * quiz.hints)
        score = verdict.score - penalty
        review = await self._record_review(quiz, "answered", score, "tests", None, code, lang, out)
        if review is None:
            return
        first = next((o for o in verdict.outcomes if not o.passed), None)
        body = messages.code_reply(
            lang,
            verdict.passed,
            len(verdict.outcomes),
            [(o.name, o.passed) for o in verdict.outcomes],
            f"{first.name}: {first.message}" if first else "",
            verdict.error,
            penalty,
            entry.solution,
            self._due_in(lang, review),
        )
        await out.send(Reply(body, kind="grade", thread=quiz.thread))

    async def _record_review(
        self,
        quiz: Quiz,
        state: str,
        score: int,
        mode: str,
        grade: Any,
        answer: str,
        lang: messages.Lang,
        out: Outbox,
    ) -> Any:
        from bot.tutoring.spacing import rating_for

        try:
            return await asyncio.to_thread(
                self.progress.record_review,
                quiz,
                state=state,
                score=score,
                rating=rating_for(score),
                mode=mode,
                covered=list(grade.covered) if grade else [],
                missed=list(grade.missed) if grade else [],
                answer=answer,
                schedule=lambda card: self.spacing.schedule(card, score),
            )
        except QuizClosed:
            await out.send(Reply(messages.already_answered(lang), kind="error"))
            return None

    def _due_in(self, lang: messages.Lang, review: Any) -> str:
        due = self.progress.next_due_of(review.user, review.entry_id)
        seconds = (due - datetime.now(UTC)).total_seconds() if due else 0
        return messages.due_in(lang, seconds)

    async def _open_quiz(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> Quiz | None:
        """The quiz a command is about: the one its button names, else the user's open one."""
        words = parsed.args.split()
        if words and words[0].isdigit():
            quiz = self.progress.quiz(int(words[0]))
            if quiz is not None and quiz.user != message.user_key:
                await out.send(Reply(messages.not_your_quiz(lang), kind="error", private=True))
                return None
            if quiz is None or quiz.state != "open":
                await out.send(Reply(messages.quiz_over(lang), kind="error", private=True))
                return None
            return quiz
        quiz = self.progress.open_quiz(message.user_key, message.place.workspace)
        if quiz is None:
            await out.send(Reply(messages.no_quiz(lang), kind="error"))
        return quiz

    async def _quiz_and_entry(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> tuple[Quiz, Entry] | None:
        quiz = await self._open_quiz(message, parsed, lang, out)
        entry = await self._entry_of(quiz, lang, out) if quiz is not None else None
        return (quiz, entry) if quiz is not None and entry is not None else None

    async def _hint(
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
            await out.send(Reply(messages.no_quiz(lang), kind="error"))
            return
        if given is None:
            await out.send(Reply(messages.no_more_hints(lang)))
            return
        text = messages.hint(lang, hints[given - 1], given, len(hints) - given)
        await out.send(Reply(text, thread=quiz.thread))

    async def _skip(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        quiz = await self._open_quiz(message, parsed, lang, out)
        if quiz is None:
            return
        try:
            await asyncio.to_thread(self.progress.close_quiz, quiz.id, "skipped")
        except QuizClosed:
            await out.send(Reply(messages.no_quiz(lang), kind="error"))
            return
        await out.send(Reply(messages.skipped(lang)))

    async def _reveal(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        found = await self._quiz_and_entry(message, parsed, lang, out)
        if found is None:
            return
        quiz, entry = found
        review = await self._record_review(quiz, "revealed", 0, "revealed", None, "", lang, out)
        if review is None:
            return
        reference = _reference(entry)
        await out.send(
            Reply(
                messages.revealed(lang, reference, self._due_in(lang, review)),
                kind="grade",
                thread=quiz.thread,
            )
        )

    # -- progress ----------------------------------------------------------------------------

    async def _stats(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        data = self.quizmaster.stats(message.user_key)
        await out.send(Reply(messages.stats_text(lang, data)))

    async def _leaderboard(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        standings = self.progress.leaderboard(message.place.workspace)
        rows = [(s.name or s.user.split(":", 1)[-1], s.points, s.answered) for s in standings]
        await out.send(Reply(messages.leaderboard_text(lang, rows)))

    # -- running code ------------------------------------------------------------------------

    async def _run(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        code, language = _snippet(parsed.args)
        if not code.strip():
            code, language = _attached_code(message)
        if not code.strip():
            await out.send(Reply(messages.need_code_to_run(lang), kind="error"))
            return
        result = await self._run_code(message, code, lang, out, language)
        if result is None:
            return
        stdout, stderr = result.stdout, result.stderr
        files = [Attachment(f.path, f.content) for f in result.files]
        if len(stdout) + len(stderr) > INLINE_OUTPUT_CHARS:
            files.append(
                Attachment(
                    "output.txt",
                    (stdout + ("\n--- stderr ---\n" + stderr if stderr else "")).encode(),
                )
            )
            stdout = _head(stdout, INLINE_OUTPUT_CHARS // 2)
            stderr = _head(stderr, INLINE_OUTPUT_CHARS // 2)
        if result.timed_out:
            ending = "timed out" if lang == "en" else "超时"
        elif result.signal:
            ending = f"killed by {result.signal}" if lang == "en" else f"被 {result.signal} 终止"
        else:
            ending = f"exit {result.exit_code}"
        if result.truncated:
            ending += " · output cut" if lang == "en" else " · 输出已截断"
        body = messages.run_reply(
            lang, stdout, stderr, ending, result.duration_ms, [f.name for f in files]
        )
        await out.send(Reply(body, files=tuple(files), kind="run"))

    async def _run_code(
        self,
        message: Incoming,
        code: str,
        lang: messages.Lang,
        out: Outbox,
        language: str = "python",
    ) -> Any:
        if self.runs is None:
            raise TutorError("running code is switched off here (no sandbox is configured)")
        try:
            return await asyncio.to_thread(self.runs.run, message.user_key, code, language)
        except RunnerBusy as exc:
            await out.send(Reply(messages.run_busy(lang, str(exc)), kind="error"))
            return None

    # -- small commands ----------------------------------------------------------------------

    async def _lang(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        choice = parsed.args.strip().lower()
        if choice not in ("zh", "en", "auto"):
            await out.send(Reply(messages.lang_usage(lang), kind="error"))
            return
        await asyncio.to_thread(
            self.progress.set_language, message.user_key, "" if choice == "auto" else choice
        )
        shown: messages.Lang = choice if choice in ("zh", "en") else lang  # type: ignore[assignment]
        await out.send(Reply(messages.lang_set(shown, choice)))

    async def _help(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        rows = [(c.usage, c.zh if lang == "zh" else c.en) for c in COMMANDS]
        topics = [name for name, _ in self.quizmaster.topics()]
        await out.send(Reply(messages.help_text(lang, rows, topics), kind="help"))

    async def _settings(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        workspace = message.place.workspace
        current = self.progress.place_settings(workspace)
        words = parsed.args.split(maxsplit=1)
        action = words[0].lower() if words else "show"
        rest = words[1].strip() if len(words) > 1 else ""
        if action == "show":
            await out.send(Reply(messages.settings_text(lang, current), private=True))
            return
        if action not in ("watch", "unwatch", "lang", "topics"):
            await out.send(Reply(messages.settings_usage(lang), kind="error", private=True))
            return
        if not message.admin:
            await out.send(Reply(messages.admins_only(lang), kind="error", private=True))
            return
        updated = dict(current)
        if action in ("watch", "unwatch"):
            channel = _channel_ref(rest) if rest else message.place.channel
            if not channel:
                await out.send(Reply(messages.settings_usage(lang), kind="error", private=True))
                return
            watched = [c for c in current.get("watch", []) if c != channel]
            updated["watch"] = [*watched, channel] if action == "watch" else watched
        elif action == "lang":
            if rest not in ("zh", "en", "auto"):
                await out.send(Reply(messages.settings_usage(lang), kind="error", private=True))
                return
            updated["lang"] = "" if rest == "auto" else rest
        else:
            updated["topics"] = [t.strip() for t in rest.replace("；", ";").split(";") if t.strip()]
        await asyncio.to_thread(self.progress.set_place_settings, workspace, updated)
        text = messages.settings_saved(lang) + "\n" + messages.settings_text(lang, updated)
        await out.send(Reply(text, private=True))

    # -- what adapters ask -------------------------------------------------------------------

    def watched(self, place: Place) -> bool:
        """Whether every message of this channel is for the tutor (an admin chose so)."""
        return place.channel in self.progress.place_settings(place.workspace).get("watch", [])

    def follows(self, place: Place) -> bool:
        """Whether this is a thread the tutor replied in, so messages there need no mention."""
        return bool(place.thread) and self.progress.knows_thread(
            place.workspace, place.channel, place.thread
        )

    async def _feedback(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        words = parsed.args.split()
        if len(words) != 2 or words[0] not in ("up", "down") or not words[1].isdigit():
            await self._unknown(message, Parsed("?", "", "feedback"), lang, out)
            return
        helpful = words[0] == "up"
        await asyncio.to_thread(
            self.progress.set_feedback, int(words[1]), message.user_key, helpful
        )
        await out.send(Reply(messages.feedback_thanks(lang, helpful), private=True))

    async def _unknown(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        suggestion = commands.closest(parsed.raw_name)
        await out.send(
            Reply(messages.unknown_command(lang, parsed.raw_name, suggestion), kind="error")
        )


class _NotingThreads:
    """An outbox that remembers the threads the tutor's replies open, so follow-ups there are
    answered without a mention."""

    def __init__(self, out: Outbox, progress: Progress, place: Place) -> None:
        self.out = out
        self.progress = progress
        self.place = place

    async def note(self, sent: Sent) -> Sent:
        if sent.thread:
            await asyncio.to_thread(
                self.progress.remember_thread, self.place.workspace, self.place.channel, sent.thread
            )
        return sent

    async def send(self, reply: Reply) -> Sent:
        return await self.note(await self.out.send(reply))

    def stream(self) -> Any:
        inner = self.out.stream()
        noting = self

        class Stream:
            def write(self, text: str) -> None:
                inner.write(text)

            async def close(self, reply: Reply) -> Sent:
                return await noting.note(await inner.close(reply))

        return Stream()


def _channel_ref(text: str) -> str:
    """A channel named in a message: Slack's <#C123|name>, Discord's <#123>, or a bare id."""

    match = re.match(r"^<#([A-Za-z0-9]+)(?:\|[^>]*)?>$", text.strip())
    if match:
        return match.group(1)
    return text.strip() if re.fullmatch(r"[A-Za-z0-9]+", text.strip()) else ""


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
        parts.append(messages.fence(entry.solution, "python"))
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


def _snippet(text: str) -> tuple[str, str]:
    """The code of /run and its language: a fenced block (python, sh) or the text itself."""

    match = re.search(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)```", text, re.DOTALL)
    if match:
        lang = match.group(1).lower()
        return match.group(2), "sh" if lang in ("sh", "bash", "shell") else "python"
    return text.strip().strip("`"), "python"


def _attached_code(message: Incoming) -> tuple[str, str]:
    """The first attached source file's text and language ("" when there is none)."""
    for attachment in message.attachments:
        suffix = attachment.name.rsplit(".", 1)[-1].lower()
        if suffix in ("py", "txt", "sh"):
            try:
                text = attachment.content.decode("utf-8")
            except UnicodeDecodeError:
                continue
            return text, "sh" if suffix == "sh" else "python"
    return "", "python"


def _head(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "\n…"
