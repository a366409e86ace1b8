"""The one database object for `tutor.db` and the stores over it.

`Database` holds the connections: one writer (WAL; each change one transaction, BEGIN IMMEDIATE,
under one lock) and one reader (in WAL mode a read never waits for a writer, so the bots' event
loops are not held up while another process writes). Each store over it (`Book`: progress, the
study loop's schedule, the bank's gaps) brings its own tables and migrations, created once, and
names its data in error messages. The stores of one process share one `Database`; the last one
closed closes it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from knowledge.errors import StoreError
from knowledge.store import DB_NAME
from knowledge.transaction import write_transaction


class Database:
    """`tutor.db`'s connections, shared by threads and by the stores over it."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / DB_NAME
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            self.writer.row_factory = sqlite3.Row
            self.writer.execute("PRAGMA journal_mode=WAL")
            self.writer.execute("PRAGMA synchronous=NORMAL")
            self.reader = sqlite3.connect(self.path, check_same_thread=False, timeout=10.0)
            self.reader.row_factory = sqlite3.Row
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the database {self.path} ({exc}); "
                "pass --data-dir or set TUTOR_HOME to a writable folder"
            ) from None
        self.lock = threading.RLock()
        self._read_lock = threading.Lock()
        self._users = 0
        self._schemas: set[str] = set()

    def attach(self, schema: str, what: str) -> None:
        """A store over this database: its tables created (once per process)."""
        with self.lock:
            if schema and schema not in self._schemas:
                try:
                    self.writer.executescript(schema)
                except sqlite3.Error as exc:
                    raise StoreError(f"cannot open {what} in {self.path} ({exc})") from None
                self._schemas.add(schema)
            self._users += 1

    def release(self) -> None:
        """A store is done with the database: the last one closes the connections."""
        with self.lock, self._read_lock:
            self._users -= 1
            if self._users <= 0:
                self.writer.close()
                self.reader.close()

    @contextmanager
    def write(self, what: str) -> Iterator[sqlite3.Connection]:
        """The writer inside one transaction; `what` names the data in an error."""
        with write_transaction(self.writer, self.lock, self.path, what) as db:
            yield db

    def read(self, sql: str, args: tuple | list, what: str) -> list[sqlite3.Row]:
        """The rows of one query, on the reader."""
        with self._read_lock:
            try:
                return self.reader.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read {what} in {self.path} ({exc})") from None


class Book:
    """A subject's tables in `tutor.db` (`schema`, then `migrate`); `what` names them in error
    messages. Given a folder, it opens a `Database` of its own; given a `Database`, it shares it."""

    what = "the data"
    schema = ""

    def __init__(self, where: Path | Database) -> None:
        self.database = where if isinstance(where, Database) else Database(where)
        self.path = self.database.path
        self.database.attach(self.schema, self.what)
        try:
            with self.database.lock:
                self.migrate(self.database.writer)
        except sqlite3.Error as exc:
            self.database.release()
            raise StoreError(f"cannot open {self.what} in {self.path} ({exc})") from None

    def migrate(self, db: sqlite3.Connection) -> None:
        """Bring tables of an older version up to this one (columns added since)."""

    @property
    def db(self) -> sqlite3.Connection:
        """The writer connection (for a store's own statements and for checks in tests)."""
        return self.database.writer

    def close(self) -> None:
        """This store is done; the database closes with the last of its stores."""
        self.database.release()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self.database.write(self.what) as db:
            yield db

    def _read(self, sql: str, args: tuple | list = ()) -> list[sqlite3.Row]:
        return self.database.read(sql, args, self.what)
