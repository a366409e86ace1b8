"""The learner's last word on a grade (as in Anki), and coding problems the bank has no tests
for: both through the tutor core, on the real store, retriever, sandbox and FSRS."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from knowledge.progress import Progress
from tests.bot.conftest import Chat
from tests.bot.core.test_tutor import NORM_GOOD, RRF_CODE

NORM_THIN = "Pre-norm normalises before the sublayer."


def graded(chat: Chat, answer: str = NORM_THIN, user: str = "ada"):
    chat.say("/quiz post-norm", user=user)
    out = chat.say(answer, user=user)
    return out.replies[-1]


def test_a_grade_offers_the_four_ratings_with_the_suggestion_marked(chat):
    reply = graded(chat)
    review = chat.tutor.progress.reviews("test:ada")[0]
    labels = [b.label for b in reply.buttons]
    assert [label.removeprefix("✓ ") for label in labels] == ["Again", "Hard", "Good", "Easy"]
    marked = [b for b in reply.buttons if b.label.startswith("✓ ")]
    assert len(marked) == 1 and marked[0].style == "primary"
    assert marked[0] is reply.buttons[review.suggested - 1]
    assert [b.command for b in reply.buttons] == [
        f"/rate {review.id} {name}" for name in ("again", "hard", "good", "easy")
    ]
    assert "/rate" in reply.text


def test_rate_easy_reschedules_from_the_card_before_the_review(chat):
    progress: Progress = chat.tutor.progress
    graded(chat)  # a first review: the card exists now, and the next one has a prior state
    progress.db.execute("UPDATE cards SET due = '2000-01-01T00:00:00+00:00'")
    reply = graded(chat, NORM_THIN)
    review = progress.reviews("test:ada")[-1]
    assert review.suggested < 4
    prior = progress.db.execute(
        "SELECT prior_card FROM reviews WHERE id = ?", (review.id,)
    ).fetchone()[0]
    assert prior  # the card as it was before this review
    easy = next(b.command for b in reply.buttons if b.command.endswith(" easy"))

    out = chat.say(easy)

    assert "Rated Easy" in out.text
    _, expected_due = chat.tutor.spacing.rate(prior, 4, datetime.fromisoformat(review.reviewed_at))
    assert progress.next_due_of("test:ada", review.entry_id) == expected_due
    rated = progress.reviews("test:ada")[-1]
    assert (rated.rating, rated.suggested) == (4, review.suggested)
    assert rated.rated_at is not None


def test_plain_rate_in_the_terminal_rates_the_last_grade_and_the_last_rating_wins(chat):
    progress: Progress = chat.tutor.progress
    graded(chat)
    review = progress.reviews("test:ada")[-1]
    chat.say("/rate easy")
    easy_due = progress.next_due_of("test:ada", review.entry_id)
    chat.say("/rate again")
    again_due = progress.next_due_of("test:ada", review.entry_id)
    assert progress.reviews("test:ada")[-1].rating == 1
    assert again_due < easy_due
    at = datetime.fromisoformat(review.reviewed_at)
    assert again_due == chat.tutor.spacing.rate(None, 1, at)[1]


def test_no_click_keeps_the_suggested_rating(chat):
    progress: Progress = chat.tutor.progress
    graded(chat)
    review = progress.reviews("test:ada")[-1]
    at = datetime.fromisoformat(review.reviewed_at)
    suggested_due = chat.tutor.spacing.rate(None, review.suggested, at)[1]
    assert review.rating == review.suggested and review.rated_at is None
    assert (
        abs((progress.next_due_of("test:ada", review.entry_id) - suggested_due).total_seconds()) < 5
    )


def test_only_the_one_who_answered_can_rate(chat):
    progress: Progress = chat.tutor.progress
    reply = graded(chat)
    before = progress.next_due_of("test:ada", progress.reviews("test:ada")[0].entry_id)
    out = chat.say(reply.buttons[3].command, user="bob")
    assert "Only the one who answered" in out.text
    assert out.replies[0].private
    review = progress.reviews("test:ada")[0]
    assert review.rating == review.suggested
    assert progress.next_due_of("test:ada", review.entry_id) == before


def test_a_rating_after_the_next_quiz_is_refused_clearly(chat):
    reply = graded(chat)
    chat.say("/quiz")
    out = chat.say(reply.buttons[3].command)
    assert "can no longer be rated" in out.text


def test_rate_without_a_grade_or_with_a_bad_word_says_how(chat):
    assert "answer a /quiz question first" in chat.say("/rate good").text
    assert "Usage: /rate again|hard|good|easy" in chat.say("/rate brilliant").text


def test_disagreement_with_the_grader_is_counted_per_mode(chat):
    progress: Progress = chat.tutor.progress
    graded(chat)
    suggested = progress.reviews("test:ada")[-1].suggested
    chat.say("/rate easy" if suggested < 4 else "/rate again")
    graded(chat, NORM_GOOD, user="bob")
    stats = progress.standings.grading_agreement()
    assert stats["offline"]["reviews"] == 2
    assert stats["offline"]["rated"] == 1
    assert stats["offline"]["higher"] + stats["offline"]["lower"] == 1


# -- coding problems without tests -----------------------------------------------------------


class Untested:
    """The bank as the tutor sees it, with every coding problem's tests removed."""

    def __init__(self, store) -> None:
        self.store = store

    def entry(self, entry_id):
        found = self.store.entry(entry_id)
        return dataclasses.replace(found, tests="") if found else None

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_coding_quiz_without_tests_is_graded_by_rubric_and_run_and_closes(chat):
    # The quizzes read the entry they grade against through their own store.
    chat.tutor.quizzes.store = Untested(chat.tutor.quizzes.store)
    chat.say("/quiz reciprocal rank fusion")
    reply = chat.say(RRF_CODE).replies[-1]
    assert "no tests for this problem" in reply.text
    assert "runs cleanly" in reply.text
    assert chat.tutor.progress.open_quiz("test:ada", "team") is None
    review = chat.tutor.progress.reviews("test:ada")[0]
    assert review.mode == "offline"
    assert review.score >= 60  # the reference solution itself, and it runs: Good or better
    assert len(reply.buttons) == 4


def test_untested_code_that_raises_is_graded_below_good(chat):
    # The quizzes read the entry they grade against through their own store.
    chat.tutor.quizzes.store = Untested(chat.tutor.quizzes.store)
    chat.say("/quiz reciprocal rank fusion")
    broken = RRF_CODE.replace("return sorted", "1 / 0\n    return sorted") + (
        "\n```python\nreciprocal_rank_fusion([['a']])\n```"
    )
    reply = chat.say(broken).replies[-1]
    assert "does not run cleanly" in reply.text and "ZeroDivisionError" in reply.text
    assert chat.tutor.progress.open_quiz("test:ada", "team") is None
    assert chat.tutor.progress.reviews("test:ada")[0].score < 60
