"""What every group of the tutor's handlers shares: the parts the core is given, its limits, and
the shape of a handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.commands import Parsed
from bot.core.conversation import Incoming, Outbox
from bot.core.gaps import Gaps
from bot.core.ports import EntryStore, Retriever
from bot.core.ratelimit import RateLimiter
from bot.core.threads import Threads
from bot.texts import messages
from bot.tutoring.answering import AnswerEngine
from bot.tutoring.grading import MAX_ANSWER_CHARS, Grader
from bot.tutoring.quiz import QuizMaster
from bot.tutoring.spacing import Spacing
from knowledge.progress import Progress
from runner.dispatch import RunQueue
from runner.protocol import Runner

MAX_QUESTION_CHARS = 2000

Handler = Callable[[Incoming, Parsed, messages.Lang, Outbox], Awaitable[None]]
"""A command's handler: the message, its parsed command, the reply language, the outbox."""


@dataclass(frozen=True)
class ReplyLimits:
    """How much the core reads and writes."""

    max_answer_chars: int = MAX_ANSWER_CHARS
    max_question_chars: int = MAX_QUESTION_CHARS
    max_new_tokens: int = 512
    # The largest file /bank add takes: `tutor ingest`'s limit (TUTOR_MAX_FILE_MB).
    max_bank_bytes: int = 20_000_000


class Parts:
    """The parts the handler groups use; `bot.core.tutor.Tutor` sets them in its constructor."""

    store: EntryStore
    retriever: Retriever
    progress: Progress
    engine: AnswerEngine
    grader: Grader
    runs: RunQueue[Runner] | None
    spacing: Spacing
    quizmaster: QuizMaster
    limits: ReplyLimits
    rate: RateLimiter
    threads: Threads
    gaps: Gaps
