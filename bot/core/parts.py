"""What the tutor's features share: the limits on what the core reads and writes, and the shape
of a command's handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.commands import Parsed
from bot.core.conversation import Incoming, Outbox
from bot.texts import messages
from bot.tutoring.grading import MAX_ANSWER_CHARS

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
