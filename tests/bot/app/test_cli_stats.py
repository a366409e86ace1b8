"""`tutor stats --grading`: how often learners overrode the grader, per grading mode."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from bot.app.cli import cli
from knowledge.progress import Progress


def _review(progress: Progress, user: str, mode: str, rating: int) -> int:
    quiz = progress.start_quiz(user, "team", "general", "", "e1", "concept")
    due = datetime.now(UTC) + timedelta(days=1)
    review = progress.record_review(
        quiz,
        state="answered",
        score=70,
        rating=rating,
        mode=mode,
        covered=[],
        missed=[],
        answer="an answer",
        schedule=lambda card: ("{}", due),
    )
    return review.id


def test_stats_grading_counts_overrides_per_mode(tmp_path):
    progress = Progress(tmp_path)
    first = _review(progress, "test:ada", "offline", 3)
    progress.rate_review(first, "test:ada", 4, lambda card, at: ("{}", at))
    _review(progress, "test:bob", "offline", 3)
    tested = _review(progress, "test:cy", "tests", 4)
    progress.rate_review(tested, "test:cy", 4, lambda card, at: ("{}", at))
    progress.close()

    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "stats", "--grading", "--json"])

    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["grading"]
    assert rows["offline"] == {
        "reviews": 2,
        "rated": 1,
        "higher": 1,
        "lower": 0,
        "disagreement": 1.0,
    }
    assert rows["tests"]["disagreement"] == 0.0
    text = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "stats", "--grading"]).output
    assert "offline" in text and "disagreed 100%" in text and "disagreed 0%" in text
