"""Answers given in chat (question, answer, citations, how it was made) and the learners' votes
on them (👍/👎, one per learner, a second replacing the first), in `tutor.db`."""

from __future__ import annotations

import json
from typing import Any

from knowledge.book import Book
from knowledge.records import iso, now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    workspace TEXT NOT NULL,
    channel TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    mode TEXT NOT NULL,
    feedback INTEGER,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    answer_id INTEGER NOT NULL,
    user TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    voted_at TEXT NOT NULL,
    PRIMARY KEY (answer_id, user)
);
"""


class AnswerBook(Book):
    """The answers the tutor gave and their feedback; each change is one transaction."""

    what = "answers"
    schema = _SCHEMA

    def record_answer(
        self,
        user: str,
        workspace: str,
        channel: str,
        question: str,
        answer: str,
        citations: list[str],
        mode: str,
    ) -> int:
        """Store an answer given in chat; its id (for feedback buttons)."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO answers (user, workspace, channel, question, answer, citations, "
                "mode, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    user,
                    workspace,
                    channel,
                    question,
                    answer,
                    json.dumps(citations),
                    mode,
                    iso(now()),
                ),
            )
            return int(cursor.lastrowid or 0)

    def set_feedback(self, answer_id: int, user: str, helpful: bool) -> bool:
        """Store one user's vote on an answer (a second vote replaces their first); False when
        there is no such answer."""
        with self._write() as db:
            if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                return False
            db.execute(
                "INSERT INTO votes (answer_id, user, helpful, voted_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(answer_id, user) DO UPDATE SET helpful = excluded.helpful, "
                "voted_at = excluded.voted_at",
                (answer_id, user, 1 if helpful else -1, iso(now())),
            )
            db.execute(
                "UPDATE answers SET feedback = "
                "(SELECT sum(helpful) FROM votes WHERE answer_id = ?) WHERE id = ?",
                (answer_id, answer_id),
            )
            return True

    def answer(self, answer_id: int) -> dict[str, Any] | None:
        """An answer given in chat: user, question, answer, citations, mode, feedback."""
        rows = self._read("SELECT * FROM answers WHERE id = ?", (answer_id,))
        return dict(rows[0]) if rows else None

    def feedback(self, answer_id: int) -> int | None:
        """The net vote on an answer (helpful minus not helpful), None before any vote."""
        rows = self._read("SELECT feedback FROM answers WHERE id = ?", (answer_id,))
        return rows[0]["feedback"] if rows else None
