"""Progress to look at, read from the reviews: the leaderboard, the figures behind a learner's
chart (/stats) and a group's overview (/class), and how the grader's suggested ratings compare
with the learners' own (`tutor stats --grading`). A small store over `tutor.db`: it reads the
tables `knowledge/progress.py` writes."""

from __future__ import annotations

from datetime import datetime, timedelta

from knowledge.book import Book
from knowledge.records import Standing, iso, now


class Standings(Book):
    """Reads of the reviews that add up to standings and figures."""

    what = "progress"

    def grading_agreement(self) -> dict[str, dict[str, int]]:
        """Per grading mode: reviews, how many the learner rated, and how many of those they
        rated higher or lower than the grader suggested."""
        rows = self._read(
            "SELECT mode, count(*) AS reviews, count(rated_at) AS rated, "
            "sum(rated_at IS NOT NULL AND rating > coalesce(suggested, rating)) AS higher, "
            "sum(rated_at IS NOT NULL AND rating < coalesce(suggested, rating)) AS lower "
            "FROM reviews GROUP BY mode ORDER BY mode"
        )
        return {
            r["mode"]: {
                "reviews": int(r["reviews"]),
                "rated": int(r["rated"]),
                "higher": int(r["higher"] or 0),
                "lower": int(r["lower"] or 0),
            }
            for r in rows
        }

    def leaderboard(
        self, workspace: str, limit: int = 10, since: datetime | None = None
    ) -> list[Standing]:
        """The workspace's users by points (the sum of their scores / 10), best first."""
        start = iso(since or (now() - timedelta(days=36500)))
        rows = self._read(
            "SELECT r.user, coalesce(u.name, '') AS name, count(*) AS answered, "
            "sum(r.score) AS total FROM reviews r LEFT JOIN users u ON u.user = r.user "
            "WHERE r.workspace = ? AND r.reviewed_at >= ? GROUP BY r.user "
            "ORDER BY total DESC, answered DESC, r.user LIMIT ?",
            (workspace, start, limit),
        )
        return [
            Standing(r["user"], r["name"], int(r["answered"]), round(int(r["total"]) / 10))
            for r in rows
        ]

    def daily_counts(
        self, since: datetime, *, user: str = "", workspace: str = "", passing: int = 60
    ) -> list[tuple[str, int, int]]:
        """(UTC day as YYYY-MM-DD, reviews, reviews scoring at least `passing`) for each day
        since `since` with a review, of one user or of everyone in one workspace."""
        where, args = ("user = ?", [user]) if user else ("workspace = ?", [workspace])
        rows = self._read(
            "SELECT substr(reviewed_at, 1, 10) AS day, count(*) AS n, "
            f"sum(score >= ?) AS correct FROM reviews WHERE {where} AND reviewed_at >= ? "
            "GROUP BY day ORDER BY day",
            [passing, *args, iso(since)],
        )
        return [(r["day"], int(r["n"]), int(r["correct"])) for r in rows]

    def latest_scores_in(self, workspace: str) -> list[tuple[str, str, int]]:
        """(user, entry id, score) of each user's latest review of each entry in a workspace."""
        rows = self._read(
            "SELECT user, entry_id, score FROM reviews WHERE id IN "
            "(SELECT max(id) FROM reviews WHERE workspace = ? GROUP BY user, entry_id)",
            (workspace,),
        )
        return [(r["user"], r["entry_id"], int(r["score"])) for r in rows]

    def most_missed(
        self, workspace: str, limit: int = 5, min_answers: int = 2
    ) -> list[tuple[str, float, int]]:
        """(entry id, average score, answers) of the entries a workspace scores lowest on,
        counting only entries answered at least `min_answers` times."""
        rows = self._read(
            "SELECT entry_id, avg(score) AS average, count(*) AS answers FROM reviews "
            "WHERE workspace = ? GROUP BY entry_id HAVING count(*) >= ? "
            "ORDER BY average, answers DESC, entry_id LIMIT ?",
            (workspace, min_answers, limit),
        )
        return [(r["entry_id"], float(r["average"]), int(r["answers"])) for r in rows]

    def learners_since(self, workspace: str, since: datetime) -> int:
        """How many users of a workspace have a review since `since`."""
        rows = self._read(
            "SELECT count(DISTINCT user) FROM reviews WHERE workspace = ? AND reviewed_at >= ?",
            (workspace, iso(since)),
        )
        return int(rows[0][0])
