"""Everyone's progress, in the bank's SQLite database: users, quizzes, reviews (one per graded
answer), each user's spaced-repetition card per entry; and, as small stores over the same
database, the answers given in chat and their feedback (`progress.answers`), the threads the
tutor knows and each workspace's settings (`progress.places`), and the ids of chat events
already handled (`progress.events`).

Every state change is one transaction (`BEGIN IMMEDIATE`, WAL mode): a review, its card and the
closing of its quiz land together or not at all, and a quiz can be closed only once, so two
answers to the same quiz at once count once. The connection is shared by the threads the bots
use for writes, one statement at a time.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

from knowledge.answers import AnswerBook
from knowledge.book import Database
from knowledge.delivery import HandledEvents
from knowledge.interviews import INTERVIEW_SCHEMA, InterviewRecords
from knowledge.places import PlaceBook
from knowledge.records import (
    NotYourReview,
    Quiz,
    QuizClosed,
    Reschedule,
    Review,
    ReviewClosed,
    Schedule,
    iso,
    now,
    review_of,
)
from knowledge.standings import Standings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quizzes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    workspace TEXT NOT NULL,
    channel TEXT NOT NULL,
    thread TEXT NOT NULL DEFAULT '',
    entry_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    hints INTEGER NOT NULL DEFAULT 0,
    asked_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX IF NOT EXISTS quizzes_open ON quizzes (user, state);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    quiz_id INTEGER UNIQUE,
    user TEXT NOT NULL,
    workspace TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    score INTEGER NOT NULL,
    rating INTEGER NOT NULL,
    mode TEXT NOT NULL,
    covered TEXT NOT NULL DEFAULT '[]',
    missed TEXT NOT NULL DEFAULT '[]',
    answer TEXT NOT NULL DEFAULT '',
    reviewed_at TEXT NOT NULL
    -- suggested, prior_card and rated_at: see _REVIEW_COLUMNS (added to older databases too)
);
CREATE INDEX IF NOT EXISTS reviews_user ON reviews (user, reviewed_at);
CREATE INDEX IF NOT EXISTS reviews_workspace ON reviews (workspace);
CREATE TABLE IF NOT EXISTS cards (
    user TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    card TEXT NOT NULL,
    due TEXT NOT NULL,
    PRIMARY KEY (user, entry_id)
);
CREATE INDEX IF NOT EXISTS cards_due ON cards (user, due);
"""

# The learner's last word on a review (as in Anki): the grader's suggested rating, the card as it
# was before the review ('' for none; NULL on reviews stored before it was kept, which cannot be
# re-rated), and when the learner chose a rating.
_REVIEW_COLUMNS = {"suggested": "INTEGER", "prior_card": "TEXT", "rated_at": "TEXT"}


class Progress(InterviewRecords):
    """Read and change everyone's progress; each change is one transaction."""

    what = "progress"
    schema = _SCHEMA + INTERVIEW_SCHEMA  # mock interviews too

    def __init__(self, where: Path | Database) -> None:
        super().__init__(where)
        # The small stores over the same database, by subject.
        self.answers = AnswerBook(self.database)
        self.places = PlaceBook(self.database)
        self.events = HandledEvents(self.database)
        self.standings = Standings(self.database)

    def close(self) -> None:
        """This store and its small stores are done (the database closes with the last)."""
        for store in (self.answers, self.places, self.events, self.standings):
            store.close()
        super().close()

    def migrate(self, db: sqlite3.Connection) -> None:
        """Review columns added since the first version."""
        have = {r["name"] for r in db.execute("PRAGMA table_info(reviews)")}
        for name, kind in _REVIEW_COLUMNS.items():
            if name not in have:
                db.execute(f"ALTER TABLE reviews ADD COLUMN {name} {kind}")

    # -- users -------------------------------------------------------------------------------

    def see_user(self, user: str, name: str) -> None:
        """Remember a user's display name (for the leaderboard)."""
        with self._write() as db:
            db.execute(
                "INSERT INTO users (user, name, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(user) DO UPDATE SET name = excluded.name, "
                "updated_at = excluded.updated_at WHERE users.name != excluded.name",
                (user, name, iso(now())),
            )

    def language(self, user: str) -> str:
        """The language a user chose with /lang ('' for: follow each message)."""
        rows = self._read("SELECT lang FROM users WHERE user = ?", (user,))
        return rows[0]["lang"] if rows else ""

    def set_language(self, user: str, lang: str) -> None:
        """Set (or with '' clear) a user's reply language."""
        with self._write() as db:
            db.execute(
                "INSERT INTO users (user, lang, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(user) DO UPDATE SET lang = excluded.lang, "
                "updated_at = excluded.updated_at",
                (user, lang, iso(now())),
            )

    # -- quizzes -----------------------------------------------------------------------------

    def start_quiz(
        self, user: str, workspace: str, channel: str, thread: str, entry_id: str, kind: str
    ) -> Quiz:
        """Open a quiz; the user's quiz still open in the same workspace is closed as skipped."""
        with self._write() as db:
            stamp = iso(now())
            db.execute(
                "UPDATE quizzes SET state = 'skipped', closed_at = ? "
                "WHERE user = ? AND workspace = ? AND state = 'open'",
                (stamp, user, workspace),
            )
            cursor = db.execute(
                "INSERT INTO quizzes (user, workspace, channel, thread, entry_id, kind, asked_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (user, workspace, channel, thread, entry_id, kind, stamp),
            )
            row = db.execute("SELECT * FROM quizzes WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return Quiz(**dict(row))

    def set_thread(self, quiz_id: int, thread: str) -> None:
        """Say where the quiz's question was posted, so replies there are answers."""
        with self._write() as db:
            db.execute("UPDATE quizzes SET thread = ? WHERE id = ?", (thread, quiz_id))

    def thread_taken(self, workspace: str, channel: str, thread: str) -> bool:
        """Whether some quiz's question was posted in this thread."""
        rows = self._read(
            "SELECT 1 FROM quizzes WHERE workspace = ? AND channel = ? AND thread = ? LIMIT 1",
            (workspace, channel, thread),
        )
        return bool(rows)

    def open_quiz(self, user: str, workspace: str) -> Quiz | None:
        """The user's open quiz in a workspace, if any."""
        rows = self._read(
            "SELECT * FROM quizzes WHERE user = ? AND workspace = ? AND state = 'open' "
            "ORDER BY id DESC LIMIT 1",
            (user, workspace),
        )
        return Quiz(**dict(rows[0])) if rows else None

    def quiz(self, quiz_id: int) -> Quiz | None:
        """A quiz by id."""
        rows = self._read("SELECT * FROM quizzes WHERE id = ?", (quiz_id,))
        return Quiz(**dict(rows[0])) if rows else None

    def add_hint(self, quiz_id: int, limit: int) -> int | None:
        """Count one more hint on an open quiz, up to `limit`; the number given so far, or None
        when all were given (two clicks at once never pass the limit)."""
        with self._write() as db:
            row = db.execute("SELECT state FROM quizzes WHERE id = ?", (quiz_id,)).fetchone()
            if row is None or row["state"] != "open":
                raise QuizClosed("this quiz is already over")
            cursor = db.execute(
                "UPDATE quizzes SET hints = hints + 1 WHERE id = ? AND hints < ?", (quiz_id, limit)
            )
            if cursor.rowcount == 0:
                return None
            return int(
                db.execute("SELECT hints FROM quizzes WHERE id = ?", (quiz_id,)).fetchone()[0]
            )

    def close_quiz(self, quiz_id: int, state: str) -> None:
        """Close an open quiz without a review (skipped)."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE quizzes SET state = ?, closed_at = ? WHERE id = ? AND state = 'open'",
                (state, iso(now()), quiz_id),
            )
            if cursor.rowcount == 0:
                raise QuizClosed("this quiz is already over")

    def record_review(
        self,
        quiz: Quiz,
        *,
        state: str,
        score: int,
        rating: int,
        mode: str,
        covered: list[str],
        missed: list[str],
        answer: str,
        schedule: Schedule,
    ) -> Review:
        """Close the quiz, store the review and reschedule the entry's card, all at once.
        Raises QuizClosed when the quiz was closed first (a second answer to it)."""
        with self._write() as db:
            stamp = iso(now())
            cursor = db.execute(
                "UPDATE quizzes SET state = ?, closed_at = ? WHERE id = ? AND state = 'open'",
                (state, stamp, quiz.id),
            )
            if cursor.rowcount == 0:
                raise QuizClosed("this quiz was already answered")
            row = db.execute(
                "SELECT card FROM cards WHERE user = ? AND entry_id = ?",
                (quiz.user, quiz.entry_id),
            ).fetchone()
            prior = row["card"] if row else None
            cursor = db.execute(
                "INSERT INTO reviews (quiz_id, user, workspace, entry_id, score, rating, mode, "
                "covered, missed, answer, reviewed_at, suggested, prior_card) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    quiz.id,
                    quiz.user,
                    quiz.workspace,
                    quiz.entry_id,
                    score,
                    rating,
                    mode,
                    json.dumps(covered, ensure_ascii=False),
                    json.dumps(missed, ensure_ascii=False),
                    answer,
                    stamp,
                    rating,
                    prior or "",
                ),
            )
            review_id = cursor.lastrowid
            card, due = schedule(prior)
            db.execute(
                "INSERT INTO cards (user, entry_id, card, due) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(user, entry_id) DO UPDATE SET card = excluded.card, "
                "due = excluded.due",
                (quiz.user, quiz.entry_id, card, iso(due)),
            )
        return Review(
            int(review_id or 0),
            quiz.id,
            quiz.user,
            quiz.workspace,
            quiz.entry_id,
            score,
            rating,
            mode,
            tuple(covered),
            tuple(missed),
            stamp,
            rating,
        )

    # -- the learner's rating (as in Anki) --------------------------------------------------

    def rate_review(self, review_id: int, user: str, rating: int, reschedule: Reschedule) -> Review:
        """Replace a review's rating with the learner's and schedule its card again from the
        card as it was before the review, at the review's time; the last rating wins until the
        user's next quiz in that workspace. Raises NotYourReview or ReviewClosed."""
        with self._write() as db:
            row = db.execute("SELECT * FROM reviews WHERE id = ?", (review_id,)).fetchone()
            if row is None:
                raise ReviewClosed(f"no review {review_id}")
            if row["user"] != user:
                raise NotYourReview("this review belongs to someone else")
            newer = db.execute(
                "SELECT 1 FROM quizzes WHERE user = ? AND workspace = ? AND id > ? LIMIT 1",
                (row["user"], row["workspace"], row["quiz_id"] or 0),
            ).fetchone()
            later = db.execute(
                "SELECT 1 FROM reviews WHERE user = ? AND entry_id = ? AND id > ? LIMIT 1",
                (row["user"], row["entry_id"], review_id),
            ).fetchone()
            if row["prior_card"] is None or newer is not None or later is not None:
                raise ReviewClosed("this review can no longer be rated")
            at = datetime.fromisoformat(row["reviewed_at"])
            card, due = reschedule(row["prior_card"] or None, at)
            stamp = iso(now())
            db.execute(
                "UPDATE reviews SET rating = ?, rated_at = ? WHERE id = ?",
                (rating, stamp, review_id),
            )
            db.execute(
                "INSERT INTO cards (user, entry_id, card, due) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(user, entry_id) DO UPDATE SET card = excluded.card, "
                "due = excluded.due",
                (row["user"], row["entry_id"], card, iso(due)),
            )
            row = db.execute("SELECT * FROM reviews WHERE id = ?", (review_id,)).fetchone()
        return review_of(row)

    def review(self, review_id: int) -> Review | None:
        """A review by id."""
        rows = self._read("SELECT * FROM reviews WHERE id = ?", (review_id,))
        return review_of(rows[0]) if rows else None

    def last_review(self, user: str, workspace: str) -> Review | None:
        """A user's latest review in a workspace (the one a plain /rate is about)."""
        rows = self._read(
            "SELECT * FROM reviews WHERE user = ? AND workspace = ? ORDER BY id DESC LIMIT 1",
            (user, workspace),
        )
        return review_of(rows[0]) if rows else None

    def card_of(self, user: str, entry_id: str) -> str | None:
        """A user's FSRS card for one entry, as JSON."""
        rows = self._read(
            "SELECT card FROM cards WHERE user = ? AND entry_id = ?", (user, entry_id)
        )
        return rows[0]["card"] if rows else None

    # -- what to ask -------------------------------------------------------------------------

    def due(self, user: str, at: datetime | None = None) -> list[str]:
        """Entry ids whose review is due for a user, most overdue first."""
        rows = self._read(
            "SELECT entry_id FROM cards WHERE user = ? AND due <= ? ORDER BY due",
            (user, iso(at or now())),
        )
        return [r["entry_id"] for r in rows]

    def seen(self, user: str) -> set[str]:
        """Entry ids the user has a card for (answered at least once)."""
        return {
            r["entry_id"] for r in self._read("SELECT entry_id FROM cards WHERE user = ?", (user,))
        }

    def next_due_of(self, user: str, entry_id: str) -> datetime | None:
        """When a user's card for one entry is next due."""
        rows = self._read("SELECT due FROM cards WHERE user = ? AND entry_id = ?", (user, entry_id))
        return datetime.fromisoformat(rows[0]["due"]) if rows else None

    # -- what was done -----------------------------------------------------------------------

    def reviews(self, user: str) -> list[Review]:
        """A user's reviews, oldest first."""
        rows = self._read("SELECT * FROM reviews WHERE user = ? ORDER BY id", (user,))
        return [review_of(r) for r in rows]

    def review_count(self) -> int:
        """How many reviews are stored, for everyone."""
        return int(self._read("SELECT count(*) FROM reviews")[0][0])

    def last_scores(self, user: str) -> dict[str, int]:
        """Entry id → the user's latest score on it."""
        rows = self._read(
            "SELECT entry_id, score FROM reviews WHERE id IN "
            "(SELECT max(id) FROM reviews WHERE user = ? GROUP BY entry_id)",
            (user,),
        )
        return {r["entry_id"]: int(r["score"]) for r in rows}
