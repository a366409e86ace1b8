"""The gap book: questions kept per workspace with their closest entries, one row per answer marked
👎, swept by age, marked filled once, and a weekly digest claimed at most once a week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from knowledge.gaps import Closest, GapBook

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)


@pytest.fixture
def book(tmp_path):
    b = GapBook(tmp_path)
    yield b
    b.close()


def keep(book: GapBook, question: str, *, at=NOW, workspace="W1", answer_id=None, field=True):
    return book.record(
        platform="slack",
        workspace=workspace,
        channel="C1",
        user="U1",
        question=question,
        lang="en",
        decision="disliked" if answer_id else "related",
        in_field=field,
        closest=[Closest("ab12", "KV cache", 0.83)],
        at=at,
        answer_id=answer_id,
    )


def test_questions_are_kept_per_workspace_with_their_closest_entries(book):
    keep(book, "What is LoRA?")
    keep(book, "Best pizza dough?", field=False)
    keep(book, "What is DPO?", workspace="W2")
    (asked,) = book.questions("W1", NOW - timedelta(days=1))
    assert (asked.question, asked.asker, asked.closest) == (
        "What is LoRA?",
        "slack:U1",
        (Closest("ab12", "KV cache", 0.83),),
    )
    assert len(book.questions("W1", NOW - timedelta(days=1), in_field=None)) == 2
    assert len(book.questions(None, NOW - timedelta(days=1))) == 2
    with pytest.raises(ValueError):
        book.record(
            platform="p", workspace="w", channel="c", user="u", question="q", lang="en",
            decision="answered", in_field=True, closest=[], at=NOW,
        )  # fmt: skip


def test_an_answer_marked_unhelpful_twice_is_kept_once(book):
    assert keep(book, "What is a KV cache?", answer_id=7)
    assert not keep(book, "What is a KV cache?", answer_id=7)
    assert book.count() == 1


def test_the_sweep_deletes_by_age_only(book):
    keep(book, "old", at=NOW - timedelta(days=91))
    keep(book, "new", at=NOW - timedelta(days=89))
    assert book.sweep(NOW - timedelta(days=90)) == 1
    assert [a.question for a in book.questions(None, NOW - timedelta(days=400))] == ["new"]


def test_a_question_is_filled_once(book):
    keep(book, "What is LoRA?")
    (asked,) = book.questions("W1", NOW - timedelta(days=1))
    assert book.mark_filled([asked.id], "cd34", NOW) == 1
    assert book.mark_filled([asked.id], "ef56", NOW) == 0
    (asked,) = book.questions("W1", NOW - timedelta(days=1))
    assert (asked.filled_by, asked.filled_at) == ("cd34", NOW)


def test_a_digest_is_claimed_at_most_once_a_week_whatever_its_day(book):
    assert book.claim_digest("W1", "2026-12-07", NOW) is None  # none set
    book.set_digest("W1", "slack", "C9", 0, "09:00", "", "en")
    first = book.claim_digest("W1", "2026-12-07", NOW)
    assert first is not None and first.last_sent_at is None
    assert book.claim_digest("W1", "2026-12-07", NOW) is None
    book.set_digest("W1", "slack", "C9", 4, "09:00", "", "en")  # moved to Friday
    assert book.claim_digest("W1", "2026-12-11", NOW + timedelta(days=4)) is None
    second = book.claim_digest("W1", "2026-12-18", NOW + timedelta(days=11))
    assert second is not None and second.last_sent_at == NOW
    assert book.stop_digest("W1") and not book.stop_digest("W1")
    assert book.digests("slack") == []
