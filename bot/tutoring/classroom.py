"""Progress to look at: the figures behind a learner's chart (/stats) and a group's overview
(/class), read from the progress database and the bank's topics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.tutoring.charts import DAYS, WEEKS, ChartData, DayCount, chart_data
from bot.tutoring.quiz import QuizMaster
from bot.tutoring.spacing import PASS

MOST_MISSED = 5
MIN_ANSWERS = 2


@dataclass(frozen=True)
class ClassReport:
    """A server's or workspace's progress: reviews (30 days), learners (7 days), mastery by
    topic as (topic, mastery 0-100, learners), the most missed as (title, average, answers)."""

    reviews: int
    learners: int
    topics: tuple[tuple[str, int, int], ...]
    missed: tuple[tuple[str, int, int], ...]
    chart: ChartData

    def as_dict(self) -> dict:
        """The figures as the message catalogue's `class_text` takes them."""
        return {
            "reviews": self.reviews,
            "learners": self.learners,
            "topics": list(self.topics),
            "missed": list(self.missed),
        }


def _counts(rows: list[tuple[str, int, int]]) -> list[DayCount]:
    return [DayCount(date.fromisoformat(day), n, correct) for day, n, correct in rows]


def _since(today: date) -> datetime:
    days = max(DAYS, 7 * WEEKS)
    return datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)


def learner_chart(
    qm: QuizMaster, user: str, topics: list[tuple[str, int]], title: str, now: datetime
) -> ChartData:
    """A learner's chart: their reviews per day and week, and `topics` (name, mastery)."""
    today = now.astimezone(UTC).date()
    rows = qm.progress.standings.daily_counts(_since(today), user=user, passing=PASS)
    return chart_data(_counts(rows), topics, today, title)


def class_report(qm: QuizMaster, workspace: str, title: str, now: datetime) -> ClassReport:
    """A workspace's overview: mastery by topic is the mean of each learner's latest score on
    each question of the topic they answered."""
    progress = qm.progress
    today = now.astimezone(UTC).date()
    rows = progress.standings.daily_counts(_since(today), workspace=workspace, passing=PASS)
    month = today - timedelta(days=DAYS - 1)
    reviews = sum(n for day, n, _ in rows if date.fromisoformat(day) >= month)
    learners = progress.standings.learners_since(workspace, now - timedelta(days=7))
    entries = {e.id: e for e in qm.entries()}
    scores: dict[str, list[int]] = {}
    people: dict[str, set[str]] = {}
    for user, entry_id, score in progress.standings.latest_scores_in(workspace):
        entry = entries.get(entry_id)
        if entry is None:
            continue  # removed from the bank since
        topic = entry.doc_title or entry.source
        scores.setdefault(topic, []).append(score)
        people.setdefault(topic, set()).add(user)
    topics = sorted(
        ((t, round(sum(s) / len(s)), len(people[t])) for t, s in scores.items()),
        key=lambda row: (-row[1], row[0]),
    )
    missed = []
    for entry_id, average, answers in progress.standings.most_missed(
        workspace, MOST_MISSED, MIN_ANSWERS
    ):
        entry = entries.get(entry_id)
        name = (entry.title or entry.question[:60]) if entry is not None else entry_id
        missed.append((name, round(average), answers))
    chart = chart_data(_counts(rows), [(t, m) for t, m, _ in topics], today, title)
    return ClassReport(reviews, learners, tuple(topics), tuple(missed), chart)
