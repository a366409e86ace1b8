"""The one database object for tutor.db (knowledge/book.py): the stores of a process share its
connections, see each other's writes, and the last one closed closes it."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from knowledge.book import Book, Database
from knowledge.errors import StoreError
from knowledge.gaps import GapBook
from knowledge.progress import Progress
from knowledge.studybook import StudyBook


class Notes(Book):
    what = "the notes"
    schema = "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);"

    def add(self, text: str) -> None:
        with self._write() as db:
            db.execute("INSERT INTO notes (text) VALUES (?)", (text,))

    def texts(self) -> list[str]:
        return [r["text"] for r in self._read("SELECT text FROM notes ORDER BY id")]


def test_the_stores_of_a_process_share_one_database_and_the_last_closes_it(tmp_path):
    database = Database(tmp_path)
    progress, study, gaps, notes = (
        Progress(database),
        StudyBook(database),
        GapBook(database),
        Notes(database),
    )
    assert {s.database for s in (progress, study, gaps, notes)} == {database}
    assert progress.db is notes.db is database.writer  # one writer connection
    progress.set_language("slack:U1", "zh")
    notes.add("one")
    assert progress.language("slack:U1") == "zh" and notes.texts() == ["one"]
    for store in (progress, study, gaps):
        store.close()
    notes.add("two")  # still open: one store is left
    assert notes.texts() == ["one", "two"]
    notes.close()
    with pytest.raises(sqlite3.ProgrammingError):
        database.writer.execute("SELECT 1")


def test_a_store_given_a_folder_opens_its_own_and_sees_what_others_wrote(tmp_path):
    first = Notes(tmp_path)
    first.add("kept")
    second = Notes(tmp_path)  # another process, as it were
    try:
        assert second.database is not first.database
        assert second.texts() == ["kept"]
    finally:
        first.close()
        second.close()


def test_a_failed_change_is_rolled_back_whole_and_named(tmp_path):
    notes = Notes(tmp_path)
    try:
        with pytest.raises(StoreError, match="the notes"), notes._write() as db:
            db.execute("INSERT INTO notes (text) VALUES ('half')")
            db.execute("INSERT INTO notes (text) VALUES (NULL)")  # NOT NULL: fails
        assert notes.texts() == []
    finally:
        notes.close()


def test_a_read_does_not_wait_for_a_write_in_progress(tmp_path):
    notes = Notes(tmp_path)
    inside, release = threading.Event(), threading.Event()

    def write() -> None:
        with notes._write() as db:
            db.execute("INSERT INTO notes (text) VALUES ('pending')")
            inside.set()
            release.wait(30)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert inside.wait(30)
        # The writer holds its transaction (and the write lock); the reader answers at once,
        # from the last committed state.
        assert notes.texts() == []
    finally:
        release.set()
        writer.join()
    assert notes.texts() == ["pending"]
    notes.close()


def test_an_unwritable_folder_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="pass --data-dir or set TUTOR_HOME"):
        Notes(blocker / "home")
