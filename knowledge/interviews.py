"""Mock interviews as stored: one row per interview (who, where, how far it got) and one per
question (its entry, its state, the answer's score, the follow-up and its score).

Each step is one transaction that checks the step it expects (compare and set), so two answers
to the same question at once count once, and a restart resumes exactly where the last committed
step left the interview. `Progress` offers these methods; the tables live in its database.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from knowledge.book import Book
from knowledge.errors import StoreError

INTERVIEW_SCHEMA = """
CREATE TABLE IF NOT EXISTS interviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    workspace TEXT NOT NULL,
    channel TEXT NOT NULL,
    thread TEXT NOT NULL DEFAULT '',
    topic TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL DEFAULT 'en',
    state TEXT NOT NULL DEFAULT 'open',
    position INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE INDEX IF NOT EXISTS interviews_open ON interviews (user, workspace, state);
CREATE TABLE IF NOT EXISTS interview_items (
    interview_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    entry_id TEXT NOT NULL,
    topic TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'waiting',
    first_score INTEGER,
    follow_up TEXT NOT NULL DEFAULT '',
    follow_up_point TEXT NOT NULL DEFAULT '',
    follow_up_score INTEGER,
    score INTEGER,
    covered TEXT NOT NULL DEFAULT '[]',
    missed TEXT NOT NULL DEFAULT '[]',
    answer TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (interview_id, position)
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class Interview:
    """A mock interview: `position` is the question now asked (== the count when all were)."""

    id: int
    user: str
    workspace: str
    channel: str
    thread: str
    topic: str
    lang: str
    state: str  # open | done | stopped
    position: int
    started_at: str
    ended_at: str | None = None


@dataclass(frozen=True)
class InterviewItem:
    """One question of an interview. `state`: waiting (not asked yet), asked (its answer is
    awaited), follow_up (the follow-up's answer is awaited), done (scored)."""

    interview_id: int
    position: int
    entry_id: str
    topic: str
    state: str
    first_score: int | None
    follow_up: str
    follow_up_point: str
    follow_up_score: int | None
    score: int | None
    covered: tuple[str, ...]
    missed: tuple[str, ...]
    answer: str


class InterviewMoved(StoreError):
    """The interview is no longer at the step an answer was for (answered twice, or over)."""


class InterviewOpen(StoreError):
    """The user already has an interview open in this workspace."""


class InterviewRecords(Book):
    """The interview methods of `knowledge.progress.Progress` (its tables are in its schema)."""

    def start_interview(
        self,
        user: str,
        workspace: str,
        channel: str,
        thread: str,
        topic: str,
        lang: str,
        questions: list[tuple[str, str]],
        stamp: str,
    ) -> Interview:
        """Open an interview over (entry id, topic) pairs, its first question asked; raises
        InterviewOpen when the user has one open here already."""
        with self._write() as db:
            if db.execute(
                "SELECT 1 FROM interviews WHERE user = ? AND workspace = ? AND state = 'open'",
                (user, workspace),
            ).fetchone():
                raise InterviewOpen("an interview is already open")
            cursor = db.execute(
                "INSERT INTO interviews (user, workspace, channel, thread, topic, lang, "
                "started_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (user, workspace, channel, thread, topic, lang, stamp),
            )
            interview_id = int(cursor.lastrowid or 0)
            db.executemany(
                "INSERT INTO interview_items (interview_id, position, entry_id, topic, state) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (interview_id, n, entry_id, name, "asked" if n == 0 else "waiting")
                    for n, (entry_id, name) in enumerate(questions)
                ],
            )
            row = db.execute("SELECT * FROM interviews WHERE id = ?", (interview_id,)).fetchone()
        return Interview(**dict(row))

    def set_interview_thread(self, interview_id: int, thread: str) -> None:
        """Say where the interview's first post landed, so replies there are answers."""
        with self._write() as db:
            db.execute("UPDATE interviews SET thread = ? WHERE id = ?", (thread, interview_id))

    def open_interview(self, user: str, workspace: str) -> Interview | None:
        """The user's open interview in a workspace, if any."""
        rows = self._read(
            "SELECT * FROM interviews WHERE user = ? AND workspace = ? AND state = 'open' "
            "ORDER BY id DESC LIMIT 1",
            (user, workspace),
        )
        return Interview(**dict(rows[0])) if rows else None

    def interview(self, interview_id: int) -> Interview | None:
        """An interview by id."""
        rows = self._read("SELECT * FROM interviews WHERE id = ?", (interview_id,))
        return Interview(**dict(rows[0])) if rows else None

    def interview_items(self, interview_id: int) -> list[InterviewItem]:
        """An interview's questions, in the order they are asked."""
        rows = self._read(
            "SELECT * FROM interview_items WHERE interview_id = ? ORDER BY position",
            (interview_id,),
        )
        return [_item(r) for r in rows]

    def ask_follow_up(
        self,
        interview_id: int,
        position: int,
        *,
        first_score: int,
        covered: list[str],
        missed: list[str],
        answer: str,
        follow_up: str,
        point: str,
    ) -> None:
        """Record a question's first answer and the follow-up asked on it."""
        with self._write() as db:
            _expect(db, interview_id, position, "asked")
            db.execute(
                "UPDATE interview_items SET state = 'follow_up', first_score = ?, covered = ?, "
                "missed = ?, answer = ?, follow_up = ?, follow_up_point = ? "
                "WHERE interview_id = ? AND position = ?",
                (
                    first_score,
                    _json(covered),
                    _json(missed),
                    answer,
                    follow_up,
                    point,
                    interview_id,
                    position,
                ),
            )

    def score_interview_item(
        self,
        interview: Interview,
        position: int,
        *,
        expected: str,
        score: int,
        first_score: int,
        follow_up_score: int | None,
        covered: list[str],
        missed: list[str],
        answer: str,
        rating: int,
        mode: str,
        schedule: Callable[[str | None], tuple[str, datetime]],
        stamp: str,
    ) -> Interview:
        """Score a question, store it as a review with its card rescheduled (as a quiz's
        answer is), and ask the next question (or end the interview), all at once."""
        with self._write() as db:
            _expect(db, interview.id, position, expected)
            item = db.execute(
                "SELECT entry_id, answer FROM interview_items "
                "WHERE interview_id = ? AND position = ?",
                (interview.id, position),
            ).fetchone()
            first_answer = item["answer"] if expected == "follow_up" else answer
            db.execute(
                "UPDATE interview_items SET state = 'done', score = ?, first_score = ?, "
                "follow_up_score = ?, covered = ?, missed = ?, answer = ? "
                "WHERE interview_id = ? AND position = ?",
                (
                    score,
                    first_score,
                    follow_up_score,
                    _json(covered),
                    _json(missed),
                    first_answer,
                    interview.id,
                    position,
                ),
            )
            db.execute(
                "INSERT INTO reviews (quiz_id, user, workspace, entry_id, score, rating, mode, "
                "covered, missed, answer, reviewed_at) "
                "VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    interview.user,
                    interview.workspace,
                    item["entry_id"],
                    score,
                    rating,
                    mode,
                    _json(covered),
                    _json(missed),
                    first_answer,
                    stamp,
                ),
            )
            row = db.execute(
                "SELECT card FROM cards WHERE user = ? AND entry_id = ?",
                (interview.user, item["entry_id"]),
            ).fetchone()
            card, due = schedule(row["card"] if row else None)
            db.execute(
                "INSERT INTO cards (user, entry_id, card, due) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(user, entry_id) DO UPDATE SET card = excluded.card, "
                "due = excluded.due",
                (interview.user, item["entry_id"], card, due.astimezone(UTC).isoformat()),
            )
            nxt = db.execute(
                "UPDATE interview_items SET state = 'asked' "
                "WHERE interview_id = ? AND position = ? AND state = 'waiting'",
                (interview.id, position + 1),
            ).rowcount
            if nxt:
                db.execute(
                    "UPDATE interviews SET position = ? WHERE id = ?", (position + 1, interview.id)
                )
            else:
                db.execute(
                    "UPDATE interviews SET position = ?, state = 'done', ended_at = ? WHERE id = ?",
                    (position + 1, stamp, interview.id),
                )
            row = db.execute("SELECT * FROM interviews WHERE id = ?", (interview.id,)).fetchone()
        return Interview(**dict(row))

    def stop_interview(self, interview_id: int, stamp: str) -> Interview:
        """End an open interview early; the questions not answered stay unscored."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE interviews SET state = 'stopped', ended_at = ? "
                "WHERE id = ? AND state = 'open'",
                (stamp, interview_id),
            )
            if cursor.rowcount == 0:
                raise InterviewMoved("this interview is already over")
            row = db.execute("SELECT * FROM interviews WHERE id = ?", (interview_id,)).fetchone()
        return Interview(**dict(row))


def _expect(db: sqlite3.Connection, interview_id: int, position: int, state: str) -> None:
    row = db.execute(
        "SELECT i.state AS item, v.state AS interview, v.position AS position "
        "FROM interview_items i JOIN interviews v ON v.id = i.interview_id "
        "WHERE i.interview_id = ? AND i.position = ?",
        (interview_id, position),
    ).fetchone()
    if (
        row is None
        or row["interview"] != "open"
        or row["position"] != position
        or row["item"] != state
    ):
        raise InterviewMoved("this question was already answered")


def _json(values: list[str]) -> str:
    return json.dumps(values, ensure_ascii=False)


def _item(row: sqlite3.Row) -> InterviewItem:
    data: dict[str, Any] = dict(row)
    data["covered"] = tuple(json.loads(data["covered"]))
    data["missed"] = tuple(json.loads(data["missed"]))
    return InterviewItem(**data)


__all__ = [
    "INTERVIEW_SCHEMA",
    "Interview",
    "InterviewItem",
    "InterviewMoved",
    "InterviewOpen",
    "InterviewRecords",
]
