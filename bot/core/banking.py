"""The bank from the chat: /bank lists its documents, /bank add (admins) ingests the Markdown
files attached to the message exactly as `tutor ingest` does, then brings the search index in
step.

Attached files are kept under `<data dir>/bank/` by name, so a document sent again replaces its
earlier version (the ingest is idempotent per path). Each file passes the ingest's own checks
(size, empty, binary, encoding) on its own, so one bad file is refused by name while the others
are taken, all of them in one transaction.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from bot.core.commands import Parsed
from bot.core.conversation import (
    BANK_FILE_SUFFIXES,
    MAX_BANK_FILES,
    Attachment,
    Incoming,
    Outbox,
    Reply,
)
from bot.core.errors import TutorError
from bot.core.parts import ReplyLimits
from bot.core.ports import EntryStore, Retriever
from bot.texts import layouts, messages
from knowledge.errors import InputError
from knowledge.ingest import ingest, load
from knowledge.store import Store
from retriever.errors import RetrieverError

BANK_FOLDER = "bank"


@dataclass(frozen=True)
class FileOutcome:
    """What /bank add did with one file: `refused` holds the reason when it was not taken."""

    name: str
    added: int = 0
    updated: int = 0
    removed: int = 0
    entries: int = 0
    refused: str = ""

    @property
    def changed(self) -> bool:
        """Whether the bank changed because of this file."""
        return bool(self.added or self.updated or self.removed)

    def line(self, lang: messages.Lang) -> str:
        """The reply's line for this file."""
        if self.refused:
            return messages.say(lang, "bank.refused", name=self.name, reason=self.refused)
        if self.changed:
            return messages.say(
                lang,
                "bank.changed",
                name=self.name,
                added=self.added,
                updated=self.updated,
                removed=self.removed,
                entries=self.entries,
            )
        if not self.entries:
            return messages.say(lang, "bank.no_entries", name=self.name)
        return messages.say(lang, "bank.unchanged", name=self.name, entries=self.entries)


def file_name(name: str) -> str:
    """A shared file's name as kept in the bank folder: no folders, no hidden files, no
    characters a file system could read as more than a name."""
    base = Path(name.replace("\\", "/")).name.strip()
    base = re.sub(r"[^\w.\- ]", "_", base).lstrip(".")
    return base[:120] or "document.md"


def take(data_dir: Path, files: list[Attachment], max_bytes: int) -> list[FileOutcome]:
    """Check each file as the ingest does, keep the good ones under the bank folder and ingest
    them in one transaction, through a connection of its own; what happened to each."""
    folder = data_dir / BANK_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    outcomes: dict[str, FileOutcome] = {}
    staged: dict[str, Path] = {}
    for attachment in files:
        name = file_name(attachment.name)
        incoming = folder / f".incoming-{uuid.uuid4().hex[:8]}-{name}"
        incoming.write_bytes(attachment.content)
        try:
            load(incoming, max_bytes)
        except InputError as exc:
            incoming.unlink(missing_ok=True)
            outcomes[name] = FileOutcome(name, refused=_reason(exc, incoming))
            continue
        if name in staged:  # the same name twice in one message: the last one counts
            staged[name].unlink(missing_ok=True)
        staged[name] = incoming
        outcomes.pop(name, None)
    if not staged:
        return list(outcomes.values())
    bank = Store(data_dir)
    try:
        before = {}
        targets = []
        for name, incoming in staged.items():
            target = (folder / name).resolve()
            before[name] = bank.entry_hashes(str(target))
            os.replace(incoming, target)
            targets.append(target)
        report = ingest(bank, targets, max_bytes=max_bytes)
        changed = set(report.changed_ids)
        for name, target in zip(staged, targets, strict=True):
            old, new = before[name], bank.entry_hashes(str(target))
            outcomes[name] = FileOutcome(
                name,
                added=len((set(new) - set(old)) & changed),
                updated=len(set(old) & changed),
                removed=len(set(old) - set(new)),
                entries=len(new),
            )
    finally:
        bank.close()
    return list(outcomes.values())


def _reason(exc: InputError, path: Path) -> str:
    """The ingest's message without the server's path it begins with."""
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


class Banking:
    """/bank: the bank's documents, and /bank add for admins. Built with the bank's store, the
    retriever it brings in step, and the largest file it takes."""

    def __init__(self, store: EntryStore, retriever: Retriever, limits: ReplyLimits) -> None:
        self.store = store
        self.retriever = retriever
        self.limits = limits

    async def bank(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        words = parsed.args.split()
        action = words[0].lower() if words else "list"
        if action in ("list", "show"):
            documents = await asyncio.to_thread(self._store().documents)
            rows = [(d.name, d.title, d.entries) for d in documents]
            await out.send(Reply(layouts.bank_list(lang, rows), private=True))
        elif action == "add":
            await self._add(message, lang, out)
        else:
            await out.send(Reply(messages.say(lang, "bank.usage"), kind="error", private=True))

    def _store(self) -> Store:
        if not isinstance(self.store, Store):
            raise TutorError("this tutor's bank cannot be read or changed from the chat")
        return self.store

    async def _add(self, message: Incoming, lang: messages.Lang, out: Outbox) -> None:
        if not message.admin:
            await out.send(
                Reply(messages.say(lang, "bank.admins_only"), kind="error", private=True)
            )
            return
        limit = self.limits.max_bank_bytes
        if not message.attachments:
            text = layouts.bank_no_files(lang, limit / 1e6)
            await out.send(Reply(text, kind="error", private=True))
            return
        refused, wanted = [], []
        for attachment in message.attachments[:MAX_BANK_FILES]:
            name = file_name(attachment.name)
            suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            if suffix not in BANK_FILE_SUFFIXES:
                refused.append(FileOutcome(name, refused=messages.say(lang, "bank.not_markdown")))
            elif not attachment.fetched:
                refused.append(FileOutcome(name, refused=layouts.bank_too_big(lang, limit / 1e6)))
            else:
                wanted.append(attachment)
        data_dir = self._store().data_dir
        taken = await asyncio.to_thread(take, data_dir, wanted, limit) if wanted else []
        lines = [o.line(lang) for o in [*taken, *refused]]
        if any(o.changed for o in taken):
            try:
                await asyncio.to_thread(self.retriever.sync)
            except RetrieverError as exc:
                lines.append(messages.say(lang, "bank.index_failed", reason=str(exc)))
        await out.send(Reply(layouts.bank_report(lang, lines), private=True))
