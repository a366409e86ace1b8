"""What the progress stores hold and say, apart from how they store it: a quiz, a review, a
learner's standing, the errors of a quiz or review that cannot change any more, and the one
clock and timestamp format every store of `tutor.db` writes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from knowledge.errors import StoreError


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """A moment as stored: ISO 8601 in UTC."""
    return moment.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Quiz:
    """A question asked to one user, and where it was asked."""

    id: int
    user: str
    workspace: str
    channel: str
    thread: str
    entry_id: str
    kind: str
    state: str
    hints: int
    asked_at: str
    closed_at: str | None = None


@dataclass(frozen=True)
class Review:
    """One graded answer, as stored."""

    id: int
    quiz_id: int | None
    user: str
    workspace: str
    entry_id: str
    score: int
    rating: int
    mode: str
    covered: tuple[str, ...]
    missed: tuple[str, ...]
    reviewed_at: str
    suggested: int = 0  # the grader's rating; `rating` is the learner's when they chose one
    rated_at: str | None = None


@dataclass(frozen=True)
class Standing:
    """A user's place on a workspace's leaderboard."""

    user: str
    name: str
    answered: int
    points: int


class QuizClosed(StoreError):
    """The quiz was already answered, skipped or revealed."""


class NotYourReview(StoreError):
    """A rating for a review that belongs to someone else."""


class ReviewClosed(StoreError):
    """A rating for a review that can no longer change: gone, or a newer quiz came since."""


# Re-schedules a card as of the review's time: (card JSON before it or None, when) -> (card, due).
Reschedule = Callable[[str | None, datetime], tuple[str, datetime]]


# Computes (new card JSON, due time) from the previous card JSON (None for a first review).
Schedule = Callable[[str | None], tuple[str, datetime]]


def review_of(row: sqlite3.Row) -> Review:
    """A review as read from its row."""
    return Review(
        id=row["id"],
        quiz_id=row["quiz_id"],
        user=row["user"],
        workspace=row["workspace"],
        entry_id=row["entry_id"],
        score=row["score"],
        rating=row["rating"],
        mode=row["mode"],
        covered=tuple(json.loads(row["covered"])),
        missed=tuple(json.loads(row["missed"])),
        reviewed_at=row["reviewed_at"],
        suggested=row["suggested"] if row["suggested"] is not None else row["rating"],
        rated_at=row["rated_at"],
    )
