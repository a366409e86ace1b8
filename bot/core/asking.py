"""Answering questions, with the memory of each thread's last turns (a thread is a
conversation: a follow-up there is searched and answered with what was said before)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque

from bot.core.commands import Parsed
from bot.core.conversation import Button, Incoming, Outbox, Reply, Sent
from bot.core.gaps import Gaps
from bot.core.parts import ReplyLimits
from bot.texts import layouts, messages
from bot.tutoring.answering import Answer, AnswerEngine, Turn
from knowledge.progress import Progress

log = logging.getLogger("tutor.asking")

THREADS_REMEMBERED = 2000
TURNS_REMEMBERED = 6

ThreadKey = tuple[str, str, str, str]  # platform, workspace, channel, thread


class Asking:
    """/ask (and a plain question), with the last turns of each thread: built with the answer
    engine, the progress store (answers are kept), the gaps (what the bank did not cover) and
    the reply limits."""

    def __init__(
        self, engine: AnswerEngine, progress: Progress, gaps: Gaps, limits: ReplyLimits
    ) -> None:
        self.engine = engine
        self.progress = progress
        self.gaps = gaps
        self.limits = limits
        self._turns: OrderedDict[ThreadKey, deque[Turn]] = OrderedDict()

    async def ask(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        question = parsed.args
        if not question.strip():
            await out.send(Reply(messages.say(lang, "empty_message"), kind="error"))
            return
        notice = ""
        if len(question) > self.limits.max_question_chars:
            notice = messages.say(
                lang, "cut_notice", length=len(question), limit=self.limits.max_question_chars
            )
            question = question[: self.limits.max_question_chars]
        place = message.place
        # A conversation is a thread: a message at the top of a channel starts a new one.
        key = (place.platform, place.workspace, place.channel, place.thread)
        history = list(self._turns.get(key, ())) if place.thread else []
        stream = out.stream()
        answer = await self.engine.answer(
            question,
            on_text=stream.write,
            history=history,
            max_new_tokens=self.limits.max_new_tokens,
        )
        answer_id = await asyncio.to_thread(
            self.progress.answers.record_answer,
            message.user_key,
            place.workspace,
            place.channel,
            question,
            answer.answer,
            list(answer.citations),
            answer.mode,
        )
        await self._note_gap(message, question, answer)
        body = answer.answer
        if answer.notice:
            body = f"_{answer.notice}_\n\n{body}"
        if notice:
            body = f"{notice}\n\n{body}"
        up, down = layouts.feedback_buttons(lang)
        buttons = (
            Button(up, f"/feedback up {answer_id}"),
            Button(down, f"/feedback down {answer_id}"),
        )
        sent = await stream.close(Reply(body, buttons=buttons, kind="answer"))
        self._remember(key, sent, Turn(question, answer.answer))

    async def _note_gap(self, message: Incoming, question: str, answer: Answer) -> None:
        """Keep a question the bank did not cover for /gaps; a failure there never costs the
        learner their answer."""
        try:
            await asyncio.to_thread(self.gaps.note_answer, message, question, answer)
        except Exception:
            log.exception("a question the bank did not cover could not be recorded")

    def _remember(self, key: ThreadKey, sent: Sent, turn: Turn) -> None:
        keys = {k for k in (key, (*key[:3], sent.thread)) if k[3]}
        for k in keys:
            turns = self._turns.setdefault(k, deque(maxlen=TURNS_REMEMBERED))
            turns.append(turn)
            self._turns.move_to_end(k)
        while len(self._turns) > THREADS_REMEMBERED:
            self._turns.popitem(last=False)
