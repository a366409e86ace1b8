"""Ingest is idempotent, replaces only a changed file's entries, and writes all or nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from knowledge.errors import InputError, StoreError
from knowledge.ingest import ingest
from knowledge.store import Store

MAX = 20_000_000
BANK_FILES = 7
BANK_ENTRIES = 15


@pytest.fixture
def store(data_dir: Path):
    s = Store(data_dir)
    yield s
    s.close()


def snapshot(store: Store) -> list[tuple]:
    rows = store.db.execute("SELECT id, content_hash FROM entries ORDER BY id").fetchall()
    docs = store.db.execute("SELECT path, sha256 FROM documents ORDER BY path").fetchall()
    return rows + docs


def test_first_ingest_adds_every_entry(store, bank_dir):
    report = ingest(store, [bank_dir], max_bytes=MAX)
    assert report.as_json() == {
        "files": BANK_FILES,
        "entries": BANK_ENTRIES,
        "added": BANK_ENTRIES,
        "updated": 0,
        "removed": 0,
    }
    assert store.count() == BANK_ENTRIES
    assert any("no_questions.md" in w for w in report.warnings)


def test_second_ingest_of_the_same_files_changes_nothing(store, bank_dir):
    ingest(store, [bank_dir], max_bytes=MAX)
    before = snapshot(store)
    again = ingest(store, [bank_dir], max_bytes=MAX)
    assert again.as_json() == {
        "files": BANK_FILES,
        "entries": BANK_ENTRIES,
        "added": 0,
        "updated": 0,
        "removed": 0,
    }
    assert snapshot(store) == before


def test_changed_answer_updates_only_that_entry(store, bank_dir):
    ingest(store, [bank_dir], max_bytes=MAX)
    other = {e.id: e for e in store.entries(source="titled_zh.txt")}
    path = bank_dir / "own_format_en.md"
    path.write_text(
        path.read_text().replace("Temperature zero", "A temperature of zero"), encoding="utf-8"
    )
    report = ingest(store, [bank_dir], max_bytes=MAX)
    assert (report.added, report.updated, report.removed) == (0, 1, 0)
    assert {e.id: e for e in store.entries(source="titled_zh.txt")} == other
    greedy = store.entries(source="own_format_en.md")[0]
    assert greedy.explanation.startswith("A temperature of zero")


def test_removed_question_disappears_and_added_one_appears(store, bank_dir):
    ingest(store, [bank_dir], max_bytes=MAX)
    path = bank_dir / "question_en.md"
    text = path.read_text(encoding="utf-8")
    start = text.index("### 2.")
    end = text.index("---", start)
    new_question = (
        "### 2. Why stream tokens?\n\n"
        "**Question:** Why do chat products stream tokens to the user?\n\n"
        "**Answer:** Streaming hides generation time behind reading time.\n\n"
    )
    path.write_text(text[:start] + new_question + text[end:], encoding="utf-8")
    report = ingest(store, [path], max_bytes=MAX)
    assert (report.files, report.added, report.updated, report.removed) == (1, 1, 0, 1)
    questions = [e.question for e in store.entries(source="question_en.md")]
    assert "Why do chat products stream tokens to the user?" in questions
    assert not any("batching several requests" in q for q in questions)
    assert store.count() == BANK_ENTRIES


def test_a_bad_file_in_the_batch_leaves_the_bank_untouched(store, bank_dir):
    ingest(store, [bank_dir], max_bytes=MAX)
    before = snapshot(store)
    (bank_dir / "own_format_en.md").write_text("**Question:** New?\n\n**Answer:** Yes.\n")
    (bank_dir / "zz_broken.md").write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(InputError, match=r"zz_broken\.md: is a binary file"):
        ingest(store, [bank_dir], max_bytes=MAX)
    assert snapshot(store) == before


def test_a_failure_while_writing_rolls_back_the_whole_ingest(store, bank_dir, monkeypatch):
    calls = {"n": 0}
    real = Store.save_entries

    def failing(self, document, entries):
        calls["n"] += 1
        if calls["n"] == 3:
            raise sqlite3.OperationalError("disk I/O error")
        real(self, document, entries)

    monkeypatch.setattr(Store, "save_entries", failing)
    with pytest.raises(StoreError, match="disk I/O error"):
        ingest(store, [bank_dir], max_bytes=MAX)
    assert store.count() == 0
    assert store.documents() == []


def test_same_file_name_in_two_folders_keeps_both(store, bank_dir, tmp_path):
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    (copy / "own_format_en.md").write_bytes((bank_dir / "own_format_en.md").read_bytes())
    ingest(store, [bank_dir / "own_format_en.md"], max_bytes=MAX)
    report = ingest(store, [copy / "own_format_en.md"], max_bytes=MAX)
    assert report.added == 2
    assert store.count() == 4
    again = ingest(store, [bank_dir / "own_format_en.md", copy / "own_format_en.md"], max_bytes=MAX)
    assert (again.added, again.updated, again.removed) == (0, 0, 0)


def test_oversized_file_is_refused_before_reading(store, tmp_path):
    big = tmp_path / "big.md"
    big.write_bytes(b"**Question:** x?\n\n**Answer:** y.\n" + b"a" * 1_500_000)
    with pytest.raises(InputError, match=r"big.md: is 1.5 MB, over the 1 MB limit"):
        ingest(store, [big], max_bytes=1_000_000)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"  \n\n\t \n", "is empty")],
    ids=["empty", "blank"],
)
def test_empty_files_are_refused(store, tmp_path, content, message):
    path = tmp_path / "empty.md"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        ingest(store, [path], max_bytes=MAX)


def test_missing_path_is_refused(store, tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        ingest(store, [tmp_path / "nope.md"], max_bytes=MAX)


def test_folder_without_bank_files_is_refused(store, tmp_path):
    (tmp_path / "only.png").write_bytes(b"\x89PNG")
    with pytest.raises(InputError, match=r"holds no \.md, \.markdown or \.txt files"):
        ingest(store, [tmp_path], max_bytes=MAX)


def test_store_is_in_wal_mode(store):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_data_dir_that_is_a_file_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="pass --data-dir or set TUTOR_HOME to a writable folder"):
        Store(blocker / "data")
