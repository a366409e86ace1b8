"""What crosses between the tutor core and a chat adapter (Slack, Discord, the terminal): a
message in, replies out, and the outbox an adapter gives the core to send them through.

The core speaks Markdown with fenced code; an adapter turns a Reply into its platform's message
(blocks, embeds, rich text) and a Button into its platform's button, whose click comes back to the
core as a message whose text is the button's command.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from bot.texts.messages import Lang
from bot.tutoring.answering import language_of

# Which shared files are source code, and how much of them is read: adapters fetch only these.
SOURCE_LANGUAGES = {"py": "python", "txt": "python", "sh": "sh"}
MAX_SOURCE_BYTES = 200_000
MAX_SOURCE_FILES = 3


def reply_language(text: str) -> Lang:
    """The language to answer a text in, by the one rule the core uses for every message."""
    return language_of(text)


def locale_language(tag: str) -> Lang:
    """The language of a reply that has no words of the learner's to go by (a form, a button's
    answer), from the client's language setting as a BCP 47 tag: zh-CN, zh-TW, en-US …"""
    return "zh" if tag.lower().startswith("zh") else "en"


@dataclass(frozen=True)
class Place:
    """Where a message was written: platform, server/workspace, channel, and thread (if any)."""

    platform: str
    workspace: str
    channel: str
    thread: str = ""


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message or a reply (a plot, long output, a pasted file)."""

    name: str
    content: bytes
    # False for a file shared with /bank add that was not fetched (not a bank document, or over
    # the size limit): the core names it in its refusal.
    fetched: bool = True


@dataclass(frozen=True)
class Incoming:
    """A message to the tutor."""

    user: str
    place: Place
    text: str
    name: str = ""
    attachments: tuple[Attachment, ...] = ()
    admin: bool = False  # may change the server's or workspace's settings
    tz: str = ""  # the user's timezone when the platform knows it (Slack's profile)
    # The message is in a thread whose first post is the tutor's own (the platform says so):
    # a quiz's question whose thread a crash kept from being recorded can still be answered.
    under_tutor: bool = False

    @property
    def user_key(self) -> str:
        """The user across the whole store: platform and id."""
        return f"{self.place.platform}:{self.user}"


def is_source_file(name: str, size: int) -> bool:
    """Whether a file shared with a message is source code to fetch (a small .py, .txt, .sh)."""
    return _suffix(name) in SOURCE_LANGUAGES and size <= MAX_SOURCE_BYTES


def attached_code(attachments: tuple[Attachment, ...]) -> tuple[str, str]:
    """The first attached source file's text and language ("" and "python" when there is none)."""
    for attachment in attachments:
        language = SOURCE_LANGUAGES.get(_suffix(attachment.name))
        if language is None:
            continue
        try:
            return attachment.content.decode("utf-8"), language
        except UnicodeDecodeError:
            continue
    return "", "python"


# -- files for the bank: /bank add ----------------------------------------------------------------

# The suffixes `tutor ingest` reads (knowledge.ingest.BANK_SUFFIXES), without the dot.
BANK_FILE_SUFFIXES = ("md", "markdown", "txt")
MAX_BANK_FILES = 10
_BANK_ADD = re.compile(r"^\s*[/!]bank\s+add\b", re.IGNORECASE)


def is_bank_add(text: str) -> bool:
    """Whether a message asks to add its files to the bank (/bank add): then adapters fetch
    bank documents instead of source files."""
    return _BANK_ADD.match(text) is not None


def is_bank_file(name: str, size: int, max_bytes: int) -> bool:
    """Whether a file shared with /bank add is a bank document to fetch (.md, .markdown or .txt
    within the ingest's size limit)."""
    return _suffix(name) in BANK_FILE_SUFFIXES and size <= max_bytes


def _suffix(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


@dataclass(frozen=True)
class Button:
    """A choice under a reply; clicking it sends `command` as the user's message."""

    label: str
    command: str
    style: str = "default"  # default | primary | danger
    # When set, the click first opens a private box titled so, and its text follows `command`.
    box: str = ""


@dataclass(frozen=True)
class Reply:
    """One message from the tutor."""

    text: str
    buttons: tuple[Button, ...] = ()
    files: tuple[Attachment, ...] = ()
    kind: str = "info"  # info | answer | quiz | grade | run | error | help
    private: bool = False
    thread: str = ""  # where it belongs when the adapter has no thread of its own (a quiz's)


@dataclass(frozen=True)
class Sent:
    """What the adapter says about a reply it posted: the thread where answers to it land."""

    thread: str = ""


OnPosted = Callable[[Sent], None]
"""Told by a stream where its first post landed, as soon as that post returns."""


class ReplyStream(Protocol):
    """A reply written as it is generated; the adapter decides how often to show progress."""

    def write(self, text: str) -> None:
        """Append text (called from the event loop, must not block)."""

    async def close(self, reply: Reply) -> Sent:
        """Replace what was streamed with the final reply."""


class Outbox(Protocol):
    """How the core answers one incoming message."""

    async def send(self, reply: Reply) -> Sent:
        """Post a reply."""

    def stream(self, on_posted: OnPosted | None = None) -> ReplyStream:
        """Start a reply that will be streamed; `on_posted` (when given) is called with the
        thread of the stream's first post as soon as that post returns."""


@dataclass
class RecordingStream:
    """A stream that keeps what was written; used by the recording outbox."""

    box: RecordingOutbox
    on_posted: OnPosted | None = None
    chunks: list[str] = field(default_factory=list)

    def write(self, text: str) -> None:
        self.chunks.append(text)

    async def close(self, reply: Reply) -> Sent:
        self.box.streamed.append("".join(self.chunks))
        sent = await self.box.send(reply)
        if self.on_posted is not None:
            self.on_posted(sent)
        return sent


@dataclass
class RecordingOutbox:
    """An outbox that records every reply: for scripts, the one-shot CLI and tests."""

    thread: str = ""
    replies: list[Reply] = field(default_factory=list)
    streamed: list[str] = field(default_factory=list)

    async def send(self, reply: Reply) -> Sent:
        self.replies.append(reply)
        return Sent(self.thread)

    def stream(self, on_posted: OnPosted | None = None) -> RecordingStream:
        return RecordingStream(self, on_posted)

    @property
    def text(self) -> str:
        """Every reply's text, one after the other."""
        return "\n\n".join(r.text for r in self.replies)
