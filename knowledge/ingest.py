"""Ingesting documents into the store: read and parse every file first, then write all of it in
one transaction, so a bad file in the batch leaves the bank exactly as it was."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from knowledge.decode import decode
from knowledge.entry import Entry
from knowledge.errors import InputError
from knowledge.parse import PARSER_VERSION, parse
from knowledge.store import DocumentRecord, Store, entry_hash

BANK_SUFFIXES = (".md", ".markdown", ".txt")
STARTER_DIR = Path(__file__).parent / "starter"


@dataclass(frozen=True)
class LoadedDocument:
    """A file read and parsed, not yet stored."""

    path: str
    name: str
    sha256: str
    encoding: str
    title: str
    entries: tuple[Entry, ...]


@dataclass
class IngestReport:
    """What an ingest did; `as_json()` is the contract's `--json` summary."""

    files: int = 0
    entries: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    warnings: list[str] = field(default_factory=list)
    changed_ids: list[str] = field(default_factory=list)
    removed_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, int]:
        """The summary the command-line contract promises."""
        return {
            "files": self.files,
            "entries": self.entries,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
        }


def collect(paths: Iterable[Path]) -> list[Path]:
    """The bank files named by paths: files as given, folders searched for .md/.markdown/.txt."""
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError(f"{path}: no such file or folder")
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in BANK_SUFFIXES and not p.name.startswith(".")
            )
            if not files:
                raise InputError(f"{path}: the folder holds no .md, .markdown or .txt files")
            found.extend(files)
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(f"{path}: is not a regular file or folder")
    unique: dict[Path, Path] = {}
    for p in found:
        unique.setdefault(p.resolve(), p)
    return list(unique.values())


def load(path: Path, max_bytes: int) -> LoadedDocument:
    """Read, decode and parse one file, or raise InputError naming it."""
    name = path.name
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"{path}: is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit "
                "(split it, or raise TUTOR_MAX_FILE_MB)"
            )
        data = path.read_bytes()
    except PermissionError:
        raise InputError(f"{path}: cannot be read (permission denied)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not data.strip():
        raise InputError(f"{path}: is empty")
    text, encoding = decode(data, str(path))
    if not text.strip():
        raise InputError(f"{path}: is empty")
    document = parse(text, name)
    return LoadedDocument(
        path=str(path.resolve()),
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
        title=document.title,
        entries=document.entries,
    )


def _unique_ids(doc: LoadedDocument, store: Store, taken: dict[str, str]) -> LoadedDocument:
    """Entry ids come from the file name and the question; two files of the same name in two
    folders asking the same question get the second one's id salted with its folder."""
    entries = []
    for entry in doc.entries:
        entry_id = entry.id
        salt = 0
        while (taken.get(entry_id, doc.path) != doc.path) or (
            (owner := store.owner(entry_id)) is not None and owner != doc.path
        ):
            salt += 1
            digest = hashlib.sha1(f"{doc.path}\n{entry.id}\n{salt}".encode()).hexdigest()
            entry_id = digest[:12]
        taken[entry_id] = doc.path
        entries.append(replace(entry, id=entry_id) if entry_id != entry.id else entry)
    return replace(doc, entries=tuple(entries))


def ingest(store: Store, paths: Iterable[Path], *, max_bytes: int) -> IngestReport:
    """Ingest files and folders; idempotent, and a changed file replaces only its own entries."""
    files = collect(paths)
    docs = [load(p, max_bytes) for p in files]

    report = IngestReport(files=len(docs))
    taken: dict[str, str] = {}
    with store.transaction():
        for doc in docs:
            if not doc.entries:
                report.warnings.append(
                    f"{doc.path}: no recognisable questions, so no entries were taken from it"
                )
            known = store.document(doc.path)
            if (
                known is not None
                and known.sha256 == doc.sha256
                and known.parser_version == PARSER_VERSION
            ):
                report.entries += known.entries
                continue
            doc = _unique_ids(doc, store, taken)
            report.entries += len(doc.entries)
            old = store.entry_hashes(doc.path)
            new_ids = {e.id for e in doc.entries}
            changed = [e for e in doc.entries if old.get(e.id) != entry_hash(e)]
            gone = sorted(set(old) - new_ids)
            report.added += sum(1 for e in changed if e.id not in old)
            report.updated += sum(1 for e in changed if e.id in old)
            report.removed += len(gone)
            report.changed_ids.extend(e.id for e in changed)
            report.removed_ids.extend(gone)
            store.delete_entries(gone)
            store.save_document(
                DocumentRecord(
                    path=doc.path,
                    name=doc.name,
                    title=doc.title,
                    sha256=doc.sha256,
                    parser_version=PARSER_VERSION,
                    encoding=doc.encoding,
                    entries=len(doc.entries),
                    ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
                )
            )
            store.save_entries(doc.path, list(doc.entries))
    return report
