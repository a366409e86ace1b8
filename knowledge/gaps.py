"""The questions the bank could not answer, in the bank's SQLite database, for the people who keep
the bank: each question the tutor called related or off-topic, or answered and saw marked 👎,
with where and when it was asked, its language, the coverage decision with the closest entries and
their scores, and the asker's platform id (to count distinct askers). Rows are kept per workspace
(a Slack workspace, a Discord server) and deleted after a number of days (`sweep`).

Beside them: each workspace's weekly digest (channel, weekday, time, timezone, the last local day
claimed, so a digest goes out at most once a week across restarts), and the gaps an entry added
later filled (so the digest can say which).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from knowledge.book import Book

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gap_questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL,
    workspace TEXT NOT NULL,
    channel TEXT NOT NULL,
    user TEXT NOT NULL,
    question TEXT NOT NULL,
    lang TEXT NOT NULL,
    decision TEXT NOT NULL,
    in_field INTEGER NOT NULL,
    closest TEXT NOT NULL DEFAULT '[]',
    answer_id INTEGER UNIQUE,
    asked_at TEXT NOT NULL,
    filled_at TEXT,
    filled_by TEXT
);
CREATE INDEX IF NOT EXISTS gap_questions_place ON gap_questions (workspace, asked_at);
CREATE TABLE IF NOT EXISTS gap_digests (
    workspace TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 0,
    channel TEXT NOT NULL,
    weekday INTEGER NOT NULL,
    at TEXT NOT NULL,
    tz TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL DEFAULT 'en',
    last_day TEXT NOT NULL DEFAULT '',
    last_sent_at TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
"""

DECISIONS = ("related", "off-topic", "disliked")


@dataclass(frozen=True)
class Closest:
    """An entry near a question, with the retriever's score."""

    id: str
    title: str
    score: float


@dataclass(frozen=True)
class Asked:
    """One recorded question the bank did not answer."""

    id: int
    platform: str
    workspace: str
    channel: str
    user: str
    question: str
    lang: str
    decision: str  # related | off-topic | disliked
    in_field: bool  # False: far outside the bank's field (cooking, weather)
    closest: tuple[Closest, ...]
    asked_at: datetime
    filled_at: datetime | None = None
    filled_by: str = ""

    @property
    def asker(self) -> str:
        """Who asked, as one key across platforms."""
        return f"{self.platform}:{self.user}"


@dataclass(frozen=True)
class Digest:
    """A workspace's weekly digest of gaps."""

    workspace: str
    platform: str
    enabled: bool
    channel: str
    weekday: int  # 0 Monday … 6 Sunday
    at: str  # HH:MM local
    tz: str
    lang: str
    last_day: str  # the local day (ISO) last claimed
    last_sent_at: datetime | None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class GapBook(Book):
    """Read and change the recorded gaps and the digests; each change is one transaction."""

    what = "the bank's gaps"
    schema = _SCHEMA

    # -- questions ---------------------------------------------------------------------------

    def record(
        self,
        *,
        platform: str,
        workspace: str,
        channel: str,
        user: str,
        question: str,
        lang: str,
        decision: str,
        in_field: bool,
        closest: Sequence[Closest],
        at: datetime,
        answer_id: int | None = None,
    ) -> bool:
        """Keep one question; False when the answer it came from was recorded already (a second
        👎 on the same answer)."""
        if decision not in DECISIONS:
            raise ValueError(f"unknown coverage decision {decision!r}")
        near = json.dumps([[c.id, c.title, round(c.score, 4)] for c in closest])
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO gap_questions (platform, workspace, channel, user, "
                "question, lang, decision, in_field, closest, answer_id, asked_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    platform,
                    workspace,
                    channel,
                    user,
                    question,
                    lang,
                    decision,
                    int(in_field),
                    near,
                    answer_id,
                    _iso(at),
                ),
            )
            return cursor.rowcount == 1

    def questions(
        self, workspace: str | None, since: datetime, *, in_field: bool | None = True
    ) -> list[Asked]:
        """The questions asked since `since`, oldest first: one workspace's, or every
        workspace's with None; `in_field` None for far ones too."""
        sql = "SELECT * FROM gap_questions WHERE asked_at >= ?"
        args: list[object] = [_iso(since)]
        if workspace is not None:
            sql += " AND workspace = ?"
            args.append(workspace)
        if in_field is not None:
            sql += " AND in_field = ?"
            args.append(int(in_field))
        return [_asked(r) for r in self._read(sql + " ORDER BY asked_at, id", tuple(args))]

    def mark_filled(self, ids: Sequence[int], entry_id: str, at: datetime) -> int:
        """Note that entry `entry_id` now covers these questions; how many were open."""
        with self._write() as db:
            changed = 0
            for question_id in ids:
                changed += db.execute(
                    "UPDATE gap_questions SET filled_at = ?, filled_by = ? "
                    "WHERE id = ? AND filled_at IS NULL",
                    (_iso(at), entry_id, question_id),
                ).rowcount
            return changed

    def sweep(self, before: datetime) -> int:
        """Delete the questions asked before `before`; how many went."""
        with self._write() as db:
            return db.execute(
                "DELETE FROM gap_questions WHERE asked_at < ?", (_iso(before),)
            ).rowcount

    def count(self) -> int:
        """How many questions are kept, in every workspace."""
        return int(self._read("SELECT COUNT(*) AS n FROM gap_questions")[0]["n"])

    # -- the weekly digest -------------------------------------------------------------------

    def digest(self, workspace: str) -> Digest | None:
        """A workspace's digest setting."""
        rows = self._read("SELECT * FROM gap_digests WHERE workspace = ?", (workspace,))
        return _digest(rows[0]) if rows else None

    def digests(self, platform: str) -> list[Digest]:
        """The digests switched on for one platform."""
        rows = self._read(
            "SELECT * FROM gap_digests WHERE enabled = 1 AND platform = ?", (platform,)
        )
        return [_digest(r) for r in rows]

    def set_digest(
        self,
        workspace: str,
        platform: str,
        channel: str,
        weekday: int,
        at: str,
        tz: str,
        lang: str,
    ) -> Digest:
        """Send the weekly digest to `channel` on `weekday` at `at` (local to `tz`)."""
        with self._write() as db:
            db.execute(
                "INSERT INTO gap_digests (workspace, platform, enabled, channel, weekday, at, tz, "
                "lang, updated_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?) ON CONFLICT(workspace) DO "
                "UPDATE SET platform = excluded.platform, enabled = 1, channel = "
                "excluded.channel, weekday = excluded.weekday, at = excluded.at, tz = "
                "excluded.tz, lang = excluded.lang, updated_at = excluded.updated_at",
                (workspace, platform, channel, weekday, at, tz, lang, _iso(datetime.now(UTC))),
            )
            row = db.execute(
                "SELECT * FROM gap_digests WHERE workspace = ?", (workspace,)
            ).fetchone()
        return _digest(row)

    def stop_digest(self, workspace: str) -> bool:
        """Stop a workspace's digest; False when there was none."""
        with self._write() as db:
            return (
                db.execute(
                    "UPDATE gap_digests SET enabled = 0 WHERE workspace = ? AND enabled = 1",
                    (workspace,),
                ).rowcount
                == 1
            )

    def claim_digest(self, workspace: str, day: str, at: datetime) -> Digest | None:
        """Claim the digest of local day `day` before it is sent: at most once a week (a day at
        least seven days after the last one claimed, whatever the weekday was then). The
        digest as it was before the claim (its last sending), None when not owed."""
        week_before = (date.fromisoformat(day) - timedelta(days=7)).isoformat()
        with self._write() as db:
            row = db.execute(
                "SELECT * FROM gap_digests WHERE workspace = ?", (workspace,)
            ).fetchone()
            if row is None or not row["enabled"] or (row["last_day"] > week_before):
                return None
            db.execute(
                "UPDATE gap_digests SET last_day = ?, last_sent_at = ? WHERE workspace = ?",
                (day, _iso(at), workspace),
            )
        return _digest(row)


def _asked(row: sqlite3.Row) -> Asked:
    closest = tuple(Closest(i, t, float(s)) for i, t, s in json.loads(row["closest"]))
    return Asked(
        id=row["id"],
        platform=row["platform"],
        workspace=row["workspace"],
        channel=row["channel"],
        user=row["user"],
        question=row["question"],
        lang=row["lang"],
        decision=row["decision"],
        in_field=bool(row["in_field"]),
        closest=closest,
        asked_at=datetime.fromisoformat(row["asked_at"]),
        filled_at=_when(row["filled_at"]),
        filled_by=row["filled_by"] or "",
    )


def _digest(row: sqlite3.Row) -> Digest:
    return Digest(
        workspace=row["workspace"],
        platform=row["platform"],
        enabled=bool(row["enabled"]),
        channel=row["channel"],
        weekday=row["weekday"],
        at=row["at"],
        tz=row["tz"],
        lang=row["lang"],
        last_day=row["last_day"],
        last_sent_at=_when(row["last_sent_at"]),
    )
