"""One subject's connection to the bank's SQLite database (`tutor.db`): opened in WAL mode with
its tables created, shared by threads under one lock, each change one transaction, and every
database error a StoreError that names the subject."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from knowledge.errors import StoreError
from knowledge.store import DB_NAME
from knowledge.transaction import write_transaction


class Book:
    """A subject's tables in `tutor.db`; `what` names them in error messages."""

    what = "the data"
    schema = ""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / DB_NAME
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(self.schema)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open {self.what} in {self.path} ({exc})") from None
        self._lock = threading.RLock()

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self.db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with write_transaction(self.db, self._lock, self.path, self.what) as db:
            yield db

    def _read(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self.db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read {self.what} in {self.path} ({exc})") from None
