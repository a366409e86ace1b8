"""The SQLite store of the bank (sqlite-utils): documents and their entries.

One database file in the data dir, in WAL mode so readers (the bots) never wait for a writer
(an ingest). Tables for quizzes and runs are added by the code that needs them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from knowledge.entry import CodeBlock, Entry
from knowledge.errors import StoreError

DB_NAME = "tutor.db"
SCHEMA_VERSION = 1

_ENTRY_COLUMNS = {
    "id": str,
    "document": str,
    "source": str,
    "position": int,
    "title": str,
    "question": str,
    "answer": str,
    "key_points": str,
    "code": str,
    "explanation": str,
    "example": str,
    "tests": str,
    "doc_title": str,
    "section": str,
    "language": str,
    "kind": str,
    "content_hash": str,
}


@dataclass(frozen=True)
class DocumentRecord:
    """A document as the store remembers it."""

    path: str
    name: str
    title: str
    sha256: str
    parser_version: int
    encoding: str
    entries: int
    ingested_at: str


def entry_hash(entry: Entry) -> str:
    """A hash of everything stored for an entry except its place in the file."""
    data = asdict(entry)
    data.pop("position")
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _entry_row(entry: Entry, document: str) -> dict[str, Any]:
    return {
        "id": entry.id,
        "document": document,
        "source": entry.source,
        "position": entry.position,
        "title": entry.title,
        "question": entry.question,
        "answer": entry.answer,
        "key_points": json.dumps(list(entry.key_points), ensure_ascii=False),
        "code": json.dumps([asdict(c) for c in entry.code], ensure_ascii=False),
        "explanation": entry.explanation,
        "example": entry.example,
        "tests": entry.tests,
        "doc_title": entry.doc_title,
        "section": entry.section,
        "language": entry.language,
        "kind": entry.kind,
        "content_hash": entry_hash(entry),
    }


def _entry_from_row(row: dict[str, Any]) -> Entry:
    return Entry(
        id=row["id"],
        source=row["source"],
        question=row["question"],
        kind=row["kind"],
        language=row["language"],
        title=row["title"],
        answer=row["answer"],
        key_points=tuple(json.loads(row["key_points"])),
        code=tuple(CodeBlock(**c) for c in json.loads(row["code"])),
        explanation=row["explanation"],
        example=row["example"],
        tests=row["tests"],
        doc_title=row["doc_title"],
        section=row["section"],
        position=row["position"],
    )


class Store:
    """The bank's database: open it with a data dir, read and write entries and documents."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / DB_NAME
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # The bots read the bank from worker threads too; SQLite serialises the access.
            connection = sqlite3.connect(self.path, check_same_thread=False)
            self.db = sqlite_utils.Database(connection)
            self.db.enable_wal()
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the data dir {self.data_dir} ({_reason(exc)}); "
                "pass --data-dir or set TUTOR_HOME to a writable folder"
            ) from None

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def _migrate(self) -> None:
        with self.db.atomic():
            self.db.table("meta").create({"key": str, "value": str}, pk="key", if_not_exists=True)
            self.db.table("documents").create(
                {
                    "path": str,
                    "name": str,
                    "title": str,
                    "sha256": str,
                    "parser_version": int,
                    "encoding": str,
                    "entries": int,
                    "ingested_at": str,
                },
                pk="path",
                if_not_exists=True,
            )
            self.db.table("entries").create(
                _ENTRY_COLUMNS,
                pk="id",
                foreign_keys=[("document", "documents", "path")],
                if_not_exists=True,
            )
            self.db.table("entries").create_index(["document"], if_not_exists=True)
            self.db.table("entries").create_index(["kind", "language"], if_not_exists=True)
            self.db.table("meta").upsert(
                {"key": "schema_version", "value": str(SCHEMA_VERSION)}, pk="key"
            )

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Everything inside is one SQLite transaction: all of it lands, or none of it."""
        try:
            with self.db.atomic():
                yield self
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the bank at {self.path} ({_reason(exc)})") from None

    # -- documents ---------------------------------------------------------------------------

    def document(self, path: str) -> DocumentRecord | None:
        """The stored record of a document, by its resolved path."""
        rows = list(self.db.table("documents").rows_where("path = ?", [path]))
        return DocumentRecord(**rows[0]) if rows else None

    def documents(self) -> list[DocumentRecord]:
        """Every document, in the order of their paths."""
        return [DocumentRecord(**r) for r in self.db.table("documents").rows_where(order_by="path")]

    def save_document(self, record: DocumentRecord) -> None:
        """Insert or replace a document's record."""
        self.db.table("documents").upsert(asdict(record), pk="path")

    def entry_hashes(self, document: str) -> dict[str, str]:
        """Entry id → content hash for the entries of one document."""
        rows = self.db.table("entries").rows_where(
            "document = ?", [document], select="id, content_hash"
        )
        return {r["id"]: r["content_hash"] for r in rows}

    def owner(self, entry_id: str) -> str | None:
        """The document an entry id belongs to, if it is stored."""
        rows = list(self.db.table("entries").rows_where("id = ?", [entry_id], select="document"))
        return rows[0]["document"] if rows else None

    def save_entries(self, document: str, entries: list[Entry]) -> None:
        """Insert or replace entries of a document."""
        if entries:
            self.db.table("entries").upsert_all([_entry_row(e, document) for e in entries], pk="id")

    def delete_entries(self, ids: list[str]) -> None:
        """Remove entries by id."""
        for entry_id in ids:
            self.db.table("entries").delete_where("id = ?", [entry_id])

    # -- entries -----------------------------------------------------------------------------

    def entry(self, entry_id: str) -> Entry | None:
        """One entry by its id (or a unique prefix of it)."""
        rows = list(self.db.table("entries").rows_where("id = ?", [entry_id]))
        if not rows and len(entry_id) >= 4:
            rows = list(self.db.table("entries").rows_where("id LIKE ?", [entry_id + "%"], limit=2))
            if len(rows) != 1:
                return None
        return _entry_from_row(rows[0]) if rows else None

    def entries(
        self,
        *,
        kind: str | None = None,
        language: str | None = None,
        source: str | None = None,
    ) -> list[Entry]:
        """Entries, filtered, in document order."""
        where, args = [], []
        for column, value in (("kind", kind), ("language", language), ("source", source)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        rows = self.db.table("entries").rows_where(
            " AND ".join(where) or None, args, order_by="document, position"
        )
        return [_entry_from_row(r) for r in rows]

    def count(self) -> int:
        """How many entries the bank holds."""
        return self.db.table("entries").count

    def summary(self) -> dict[str, Any]:
        """Counts of the bank by language, kind and source."""
        rows = self.db.execute(
            "SELECT language, kind, source, count(*) FROM entries GROUP BY language, kind, source"
        ).fetchall()
        by_language: dict[str, int] = {}
        by_kind: dict[str, int] = {}
        by_source: dict[str, int] = {}
        for language, kind, source, n in rows:
            by_language[language] = by_language.get(language, 0) + n
            by_kind[kind] = by_kind.get(kind, 0) + n
            by_source[source] = by_source.get(source, 0) + n
        return {
            "documents": self.db.table("documents").count,
            "entries": sum(by_kind.values()),
            "by_language": dict(sorted(by_language.items())),
            "by_kind": dict(sorted(by_kind.items())),
            "by_source": dict(sorted(by_source.items())),
        }


def _reason(exc: BaseException) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
