"""The progress store: one transaction per change, a quiz closed once, due order, leaderboard."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from knowledge.delivery import HANDLED_TTL
from knowledge.errors import StoreError
from knowledge.progress import Progress
from knowledge.records import QuizClosed


@pytest.fixture
def progress(data_dir):
    p = Progress(data_dir)
    yield p
    p.close()


def schedule_in(days: float):
    def schedule(previous):
        due = datetime.now(UTC) + timedelta(days=days)
        return json.dumps({"previous": previous is not None}), due

    return schedule


def review(progress, quiz, score=80, days=1.0, schedule=None):
    return progress.record_review(
        quiz,
        state="answered",
        score=score,
        rating=3,
        mode="offline",
        covered=["a"],
        missed=["b"],
        answer="text",
        schedule=schedule or schedule_in(days),
    )


def test_a_quiz_is_answered_once_even_from_many_threads(progress):
    quiz = progress.start_quiz("u", "w", "c", "", "e1", "concept")

    def answer(_):
        try:
            review(progress, quiz)
            return "ok"
        except QuizClosed:
            return "closed"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(answer, range(16)))
    assert outcomes.count("ok") == 1 and outcomes.count("closed") == 15
    assert len(progress.reviews("u")) == 1


def test_a_failing_schedule_leaves_nothing_half_written(progress):
    quiz = progress.start_quiz("u", "w", "c", "", "e1", "concept")

    def broken(previous):
        raise RuntimeError("scheduler failed")

    with pytest.raises(RuntimeError):
        review(progress, quiz, schedule=broken)
    assert progress.reviews("u") == []
    assert progress.open_quiz("u", "w").id == quiz.id
    assert progress.seen("u") == set()


def test_starting_a_quiz_skips_the_users_open_one(progress):
    first = progress.start_quiz("u", "w", "c", "", "e1", "concept")
    second = progress.start_quiz("u", "w", "c", "", "e2", "concept")
    assert progress.quiz(first.id).state == "skipped"
    assert progress.open_quiz("u", "w").id == second.id
    # Another workspace's quiz is left alone.
    other = progress.start_quiz("u", "x", "c", "", "e3", "concept")
    assert progress.open_quiz("u", "w").id == second.id and other.state == "open"


def test_due_lists_overdue_first_and_cards_keep_their_history(progress):
    for entry_id, days in (("late", -2), ("later", -1), ("future", 3)):
        quiz = progress.start_quiz("u", "w", "c", "", entry_id, "concept")
        review(progress, quiz, days=days)
    assert progress.due("u") == ["late", "later"]
    quiz = progress.start_quiz("u", "w", "c", "", "late", "concept")
    review(progress, quiz, days=5)
    card = progress.db.execute("SELECT card FROM cards WHERE entry_id = 'late'").fetchone()[0]
    assert json.loads(card) == {"previous": True}
    assert progress.due("u") == ["later"]


def test_hints_count_on_open_quizzes_only(progress):
    quiz = progress.start_quiz("u", "w", "c", "", "e1", "concept")
    assert progress.add_hint(quiz.id, 2) == 1
    assert progress.add_hint(quiz.id, 2) == 2
    assert progress.add_hint(quiz.id, 2) is None  # all given
    progress.close_quiz(quiz.id, "skipped")
    with pytest.raises(QuizClosed):
        progress.add_hint(quiz.id, 2)
    with pytest.raises(QuizClosed):
        progress.close_quiz(quiz.id, "skipped")


def test_leaderboard_is_per_workspace_by_points(progress):
    progress.see_user("u1", "Ada")
    for user, workspace, score in (
        ("u1", "w", 90),
        ("u1", "w", 50),
        ("u2", "w", 100),
        ("u3", "x", 100),
    ):
        review(
            progress, progress.start_quiz(user, workspace, "c", "", f"e-{score}", "concept"), score
        )
    board = progress.standings.leaderboard("w")
    assert [(s.user, s.name, s.points, s.answered) for s in board] == [
        ("u1", "Ada", 14, 2),
        ("u2", "", 10, 1),
    ]


def test_language_and_place_settings_round_trip(progress):
    assert progress.language("u") == ""
    progress.set_language("u", "zh")
    assert progress.language("u") == "zh"
    progress.places.set_place_settings("w", {"watch": ["c1"], "lang": "zh"})
    assert progress.places.place_settings("w") == {"watch": ["c1"], "lang": "zh"}
    assert progress.places.place_settings("other") == {}


def test_unwritable_data_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="TUTOR_HOME"):
        Progress(blocker / "data")


def test_feedback_is_one_vote_per_user(progress):
    answer = progress.answers.record_answer("u1", "w", "c", "q", "a", ["e1"], "llm")
    assert progress.answers.feedback(answer) is None
    assert progress.answers.set_feedback(answer, "u2", helpful=False)
    assert progress.answers.set_feedback(answer, "u2", helpful=False)  # again: still one vote
    assert progress.answers.feedback(answer) == -1
    progress.answers.set_feedback(answer, "u3", helpful=True)
    progress.answers.set_feedback(answer, "u4", helpful=True)
    assert progress.answers.feedback(answer) == 1
    assert not progress.answers.set_feedback(answer + 100, "u2", helpful=True)


def test_reads_are_not_held_up_by_a_writer_in_another_process(progress, data_dir):
    import sqlite3

    other = sqlite3.connect(data_dir / "tutor.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        assert progress.language("u") == ""
        assert progress.due("u") == []
    finally:
        other.execute("ROLLBACK")
        other.close()


# -- events already handled ----------------------------------------------------------------------


def test_an_event_is_handled_the_first_time_only_even_after_a_restart(progress, data_dir):
    assert progress.events.first_time("slack", "Ev1")
    assert not progress.events.first_time("slack", "Ev1")
    assert progress.events.first_time("discord", "Ev1")  # ids are per platform
    again = Progress(data_dir)
    try:
        assert not again.events.first_time("slack", "Ev1")
    finally:
        again.close()


def test_an_event_delivered_from_many_threads_at_once_is_first_once(progress):
    with ThreadPoolExecutor(max_workers=8) as pool:
        firsts = list(pool.map(lambda _: progress.events.first_time("slack", "EvRace"), range(32)))
    assert firsts.count(True) == 1


def test_handled_event_ids_expire_after_the_ttl_and_are_swept(progress):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert progress.events.first_time("slack", "EvOld", at=start)
    assert not progress.events.first_time(
        "slack", "EvOld", at=start + HANDLED_TTL - timedelta(seconds=1)
    )
    # Past the TTL the id is forgotten: it counts as new again (and is kept from then on).
    later = start + HANDLED_TTL + timedelta(seconds=1)
    assert progress.events.first_time("slack", "EvOld", at=later)
    assert not progress.events.first_time("slack", "EvOld", at=later + timedelta(minutes=1))
    # Ids nobody asks about again are dropped by the next sweep, not kept forever.
    for n in range(5):
        progress.events.first_time("slack", f"Ev{n}", at=later)
    assert progress.events.handled_count() == 6
    progress.events.first_time("slack", "EvNew", at=later + HANDLED_TTL * 2)
    assert progress.events.handled_count() == 1
