"""One write transaction on a SQLite connection shared by threads: taken under the owner's lock,
BEGIN IMMEDIATE, rolled back on any failure, and a database error turned into a StoreError."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from knowledge.errors import StoreError


@contextmanager
def write_transaction(
    db: sqlite3.Connection, lock: AbstractContextManager, path: Path, what: str
) -> Iterator[sqlite3.Connection]:
    """The connection inside one transaction; `what` names the data in the error message."""
    with lock:
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot save {what} in {path} ({exc})") from None
