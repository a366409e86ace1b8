"""What the study loop owes, in the bank's SQLite database: each learner's reminder (time of day,
timezone, the last local day it was claimed for), each workspace's daily question (channel, time
of day, timezone, the last day claimed), the daily questions posted and the private answers to
them.

A job is claimed for a day in one transaction (`claim_reminder`, `claim_daily`) before anything is
sent: a crash between the claim and the message loses that day's message, and nothing can send
it twice (at most once, across restarts and processes).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from knowledge.book import Book
from knowledge.errors import StoreError
from knowledge.progress import Quiz

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reminders (
    user TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 0,
    at TEXT NOT NULL DEFAULT '09:00',
    tz TEXT NOT NULL DEFAULT '',
    tz_set INTEGER NOT NULL DEFAULT 0,
    lang TEXT NOT NULL DEFAULT 'en',
    last_day TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dailies (
    workspace TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 0,
    channel TEXT NOT NULL,
    at TEXT NOT NULL,
    tz TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL DEFAULT 'en',
    last_day TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS daily_posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace TEXT NOT NULL,
    channel TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    day TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0,
    revealed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS daily_posts_place ON daily_posts (workspace, channel, posted_at);
CREATE TABLE IF NOT EXISTS daily_answers (
    post_id INTEGER NOT NULL,
    user TEXT NOT NULL,
    score INTEGER NOT NULL,
    missed TEXT NOT NULL DEFAULT '[]',
    answered_at TEXT NOT NULL,
    PRIMARY KEY (post_id, user)
);
"""


@dataclass(frozen=True)
class Reminder:
    """A learner's reminder of due reviews."""

    user: str
    platform: str
    enabled: bool
    at: str  # HH:MM, the learner's local time
    tz: str  # an IANA name or a ±HH:MM offset; '' for UTC
    tz_set: bool  # chosen with /remind tz (a profile's timezone does not replace it)
    lang: str
    last_day: str  # the local day (ISO) last claimed


@dataclass(frozen=True)
class Daily:
    """A workspace's daily question."""

    workspace: str
    platform: str
    enabled: bool
    channel: str
    at: str
    tz: str
    lang: str
    last_day: str


@dataclass(frozen=True)
class DailyPost:
    """One daily question as posted in a channel."""

    id: int
    workspace: str
    channel: str
    entry_id: str
    day: str
    posted_at: str
    sent: bool
    revealed: bool


@dataclass(frozen=True)
class GroupFigures:
    """How the group did on one daily question."""

    answered: int
    average: int
    most_missed: str


class AlreadyAnswered(StoreError):
    """This learner already answered this daily question."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


class StudyBook(Book):
    """Read and change what the study loop owes; each change is one transaction."""

    what = "the study schedule"
    schema = _SCHEMA

    # -- reminders ---------------------------------------------------------------------------

    def reminder(self, user: str) -> Reminder | None:
        """A learner's reminder setting, if they ever set one."""
        rows = self._read("SELECT * FROM reminders WHERE user = ?", (user,))
        return _reminder(rows[0]) if rows else None

    def reminders(self, platform: str) -> list[Reminder]:
        """The reminders switched on for one platform."""
        rows = self._read("SELECT * FROM reminders WHERE enabled = 1 AND platform = ?", (platform,))
        return [_reminder(r) for r in rows]

    def set_reminder(
        self,
        user: str,
        platform: str,
        *,
        enabled: bool | None = None,
        at: str | None = None,
        tz: str | None = None,
        tz_set: bool | None = None,
        lang: str | None = None,
    ) -> Reminder:
        """Change what is given of a learner's reminder (a new row starts off, at 09:00 UTC)."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO reminders (user, platform, updated_at) VALUES (?, ?, ?)",
                (user, platform, _iso(datetime.now(UTC))),
            )
            changes = {"enabled": enabled, "at": at, "tz": tz, "tz_set": tz_set, "lang": lang}
            for column, value in changes.items():
                if value is not None:
                    db.execute(f"UPDATE reminders SET {column} = ? WHERE user = ?", (value, user))
            row = db.execute("SELECT * FROM reminders WHERE user = ?", (user,)).fetchone()
        return _reminder(row)

    def claim_reminder(self, user: str, day: str) -> bool:
        """Mark a learner's reminder as done for local day `day`; False when it already was
        (another process, or before a restart)."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE reminders SET last_day = ? WHERE user = ? AND last_day < ?",
                (day, user, day),
            )
            return cursor.rowcount == 1

    # -- daily questions ---------------------------------------------------------------------

    def daily(self, workspace: str) -> Daily | None:
        """A workspace's daily question setting."""
        rows = self._read("SELECT * FROM dailies WHERE workspace = ?", (workspace,))
        return _daily(rows[0]) if rows else None

    def dailies(self, platform: str) -> list[Daily]:
        """The daily questions switched on for one platform."""
        rows = self._read("SELECT * FROM dailies WHERE enabled = 1 AND platform = ?", (platform,))
        return [_daily(r) for r in rows]

    def set_daily(
        self, workspace: str, platform: str, channel: str, at: str, tz: str, lang: str
    ) -> Daily:
        """Post a daily question in `channel` at `at` (local to `tz`)."""
        with self._write() as db:
            db.execute(
                "INSERT INTO dailies (workspace, platform, enabled, channel, at, tz, lang, "
                "updated_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT(workspace) DO UPDATE "
                "SET platform = excluded.platform, enabled = 1, channel = excluded.channel, "
                "at = excluded.at, tz = excluded.tz, lang = excluded.lang, "
                "updated_at = excluded.updated_at",
                (workspace, platform, channel, at, tz, lang, _iso(datetime.now(UTC))),
            )
            row = db.execute("SELECT * FROM dailies WHERE workspace = ?", (workspace,)).fetchone()
        return _daily(row)

    def stop_daily(self, workspace: str) -> bool:
        """Stop a workspace's daily question; False when there was none."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE dailies SET enabled = 0 WHERE workspace = ? AND enabled = 1", (workspace,)
            )
            return cursor.rowcount == 1

    def claim_daily(
        self, workspace: str, day: str, entry_id: str, at: datetime
    ) -> DailyPost | None:
        """Claim a workspace's daily question for local day `day` and record the post about to
        go out, at once; None when the day was already claimed."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE dailies SET last_day = ? WHERE workspace = ? AND last_day < ?",
                (day, workspace, day),
            )
            if cursor.rowcount != 1:
                return None
            channel = db.execute(
                "SELECT channel FROM dailies WHERE workspace = ?", (workspace,)
            ).fetchone()[0]
            cursor = db.execute(
                "INSERT INTO daily_posts (workspace, channel, entry_id, day, posted_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (workspace, channel, entry_id, day, _iso(at)),
            )
            row = db.execute(
                "SELECT * FROM daily_posts WHERE id = ?", (cursor.lastrowid,)
            ).fetchone()
        return _post(row)

    def mark_sent(self, post_id: int) -> None:
        """The post reached its channel: it is the workspace's open daily question."""
        with self._write() as db:
            db.execute("UPDATE daily_posts SET sent = 1 WHERE id = ?", (post_id,))

    def mark_revealed(self, post_id: int) -> None:
        """The post's reference answer was shown: it is closed."""
        with self._write() as db:
            db.execute("UPDATE daily_posts SET revealed = 1 WHERE id = ?", (post_id,))

    def post(self, post_id: int) -> DailyPost | None:
        """A daily post by id."""
        rows = self._read("SELECT * FROM daily_posts WHERE id = ?", (post_id,))
        return _post(rows[0]) if rows else None

    def open_post(self, workspace: str) -> DailyPost | None:
        """The workspace's daily question still open for answers (sent, not yet revealed)."""
        rows = self._read(
            "SELECT * FROM daily_posts WHERE workspace = ? AND sent = 1 AND revealed = 0 "
            "ORDER BY id DESC LIMIT 1",
            (workspace,),
        )
        return _post(rows[0]) if rows else None

    def recent_entries(self, workspace: str, channel: str, since: datetime) -> set[str]:
        """The entries asked as daily questions in a channel since `since`."""
        rows = self._read(
            "SELECT entry_id FROM daily_posts WHERE workspace = ? AND channel = ? "
            "AND posted_at >= ?",
            (workspace, channel, _iso(since)),
        )
        return {r["entry_id"] for r in rows}

    def add_answer(self, post_id: int, user: str, score: int, missed: list[str]) -> None:
        """Count a learner's graded answer to a daily question; AlreadyAnswered on a second."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO daily_answers (post_id, user, score, missed, answered_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    post_id,
                    user,
                    score,
                    json.dumps(missed, ensure_ascii=False),
                    _iso(datetime.now(UTC)),
                ),
            )
            if cursor.rowcount == 0:
                raise AlreadyAnswered("you already answered this daily question")

    def open_side_quiz(
        self, user: str, workspace: str, channel: str, entry_id: str, kind: str
    ) -> Quiz:
        """A quiz for an answer given outside /quiz (a daily question), to be closed at once by
        `Progress.record_review` (so it counts as a review); the learner's open quiz stays."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO quizzes (user, workspace, channel, thread, entry_id, kind, asked_at) "
                "VALUES (?, ?, ?, '', ?, ?, ?)",
                (user, workspace, channel, entry_id, kind, _iso(datetime.now(UTC))),
            )
            row = db.execute("SELECT * FROM quizzes WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return Quiz(**dict(row))

    def answered(self, post_id: int, user: str) -> bool:
        """Whether a learner answered a daily question."""
        rows = self._read(
            "SELECT 1 FROM daily_answers WHERE post_id = ? AND user = ?", (post_id, user)
        )
        return bool(rows)

    def figures(self, post_id: int) -> GroupFigures:
        """The group's figures on a daily question: answers, average score, most-missed point."""
        rows = self._read("SELECT score, missed FROM daily_answers WHERE post_id = ?", (post_id,))
        if not rows:
            return GroupFigures(0, 0, "")
        missed = Counter(p for r in rows for p in json.loads(r["missed"]))
        top = missed.most_common(1)[0][0] if missed else ""
        return GroupFigures(len(rows), round(sum(r["score"] for r in rows) / len(rows)), top)


def _reminder(row: sqlite3.Row) -> Reminder:
    return Reminder(
        user=row["user"],
        platform=row["platform"],
        enabled=bool(row["enabled"]),
        at=row["at"],
        tz=row["tz"],
        tz_set=bool(row["tz_set"]),
        lang=row["lang"],
        last_day=row["last_day"],
    )


def _daily(row: sqlite3.Row) -> Daily:
    return Daily(
        workspace=row["workspace"],
        platform=row["platform"],
        enabled=bool(row["enabled"]),
        channel=row["channel"],
        at=row["at"],
        tz=row["tz"],
        lang=row["lang"],
        last_day=row["last_day"],
    )


def _post(row: sqlite3.Row) -> DailyPost:
    return DailyPost(
        id=row["id"],
        workspace=row["workspace"],
        channel=row["channel"],
        entry_id=row["entry_id"],
        day=row["day"],
        posted_at=row["posted_at"],
        sent=bool(row["sent"]),
        revealed=bool(row["revealed"]),
    )
