"""Progress you can see and the bank from the chat, through the tutor core: /stats sends a chart,
/class gives admins their group's figures, /bank lists the documents and /bank add ingests the
Markdown files attached to the message as `tutor ingest` does."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.conversation import Attachment, Incoming, Place, RecordingOutbox
from bot.tutoring.charts import PNG_SIGNATURE
from knowledge.entry import Entry
from knowledge.progress import Progress
from tests.bot.conftest import build

DOC = b"""# Speculative Decoding Notes

### 1. What does a draft model do in speculative decoding?

**Answer:** A small draft model proposes several tokens that the large model verifies at once.

**Key points:**
- The draft model is cheap and proposes k tokens.
- The target model verifies them in one forward pass.
"""

SECOND = b"""
### 2. When does speculative decoding stop paying off?

**Answer:** When the draft model's tokens are rejected too often, the extra work is wasted.
"""


@pytest.fixture
def tutor(home, embedder):
    t = build(home, embedder)
    yield t
    t.close()


def say(tutor, text, *, user="ada", workspace="team", admin=False, files=()) -> RecordingOutbox:
    out = RecordingOutbox()
    message = Incoming(
        user,
        Place("test", workspace, "general"),
        text,
        name=user,
        attachments=tuple(files),
        admin=admin,
    )
    asyncio.run(tutor.handle(message, out))
    return out


def review(progress: Progress, user: str, entry: Entry, score: int, workspace="team") -> None:
    quiz = progress.start_quiz(user, workspace, "general", "", entry.id, entry.kind)
    progress.record_review(
        quiz,
        state="answered",
        score=score,
        rating=3 if score >= 60 else 1,
        mode="test",
        covered=[],
        missed=[],
        answer="an answer",
        schedule=lambda card: ("{}", datetime.now(UTC) + timedelta(days=1)),
    )


def entries_titled(tutor, prefix: str) -> list[Entry]:
    return [e for e in tutor.store.entries() if (e.doc_title or "").startswith(prefix)]


# -- /stats ----------------------------------------------------------------------------------------


def test_stats_sends_its_text_with_a_png_chart(tutor):
    chinese = entries_titled(tutor, "Transformer 与注意力机制基础")
    review(tutor.progress, "test:ada", chinese[0], 80)
    review(tutor.progress, "test:ada", chinese[1], 40)
    (reply,) = say(tutor, "/stats").replies
    assert "Transformer 与注意力机制基础" in reply.text
    (chart,) = reply.files
    assert chart.name.endswith(".png") and chart.content.startswith(PNG_SIGNATURE)


def test_stats_before_any_answer_has_no_chart(tutor):
    (reply,) = say(tutor, "/stats").replies
    assert reply.files == ()


def test_the_chart_is_drawn_off_the_event_loop(tutor, monkeypatch):
    review(tutor.progress, "test:ada", tutor.store.entries()[0], 90)
    threads = []

    def drawing(data, lang):
        threads.append(threading.current_thread())
        return PNG_SIGNATURE

    monkeypatch.setattr("bot.core.reports.draw", drawing)
    say(tutor, "/stats")
    assert threads and threads[0] is not threading.main_thread()


# -- /class ----------------------------------------------------------------------------------------


def test_class_is_for_admins_only(tutor):
    (reply,) = say(tutor, "/class").replies
    assert reply.kind == "error" and "admin" in reply.text.lower()
    assert "\n" not in reply.text and not reply.files


def test_class_shows_the_groups_mastery_most_missed_learners_and_a_chart(tutor):
    progress = tutor.progress
    attention = entries_titled(tutor, "Transformer and Attention")
    hard, easy = attention[0], attention[1]
    review(progress, "test:ada", hard, 20)
    review(progress, "test:bob", hard, 30)
    review(progress, "test:ada", easy, 90)
    review(progress, "test:bob", easy, 100)
    review(progress, "test:bob", attention[2], 0)  # one answer only: not among the most missed
    review(progress, "test:eve", hard, 0, workspace="elsewhere")  # another workspace
    (reply,) = say(tutor, "/class", admin=True).replies
    text = reply.text
    assert "2 learner(s) reviewed in the last 7 days" in text
    assert "5 review(s)" in text
    # (20 + 30 + 90 + 100 + 0) / 5 = 48, over two learners
    assert "48% · Transformer and Attention Fundamentals (2 learner(s))" in text
    missed = text.split("Most missed")[1]
    assert f"1. {hard.title}: average 25/100 over 2 answers" in missed
    assert f"2. {easy.title}: average 95/100 over 2 answers" in missed
    assert attention[2].title not in missed
    (chart,) = reply.files
    assert chart.content.startswith(PNG_SIGNATURE)


def test_class_with_no_reviews_says_so_without_a_chart(tutor):
    (reply,) = say(tutor, "/class", admin=True).replies
    assert "Nobody here" in reply.text and not reply.files


# -- /bank -----------------------------------------------------------------------------------------


def test_bank_lists_the_documents_with_their_entries(tutor):
    (reply,) = say(tutor, "/bank").replies
    assert "**The bank**: 12 document(s)" in reply.text
    assert "- en_01_attention.md: Transformer and Attention Fundamentals (" in reply.text


def test_bank_add_takes_a_file_then_updates_it_then_leaves_it_unchanged(tutor, home):
    doc = Attachment("speculative.md", DOC)
    (added,) = say(tutor, "/bank add", admin=True, files=[doc]).replies
    assert "- speculative.md: 1 added, 0 updated, 0 removed (1 entries)" in added.text
    assert (home / "bank" / "speculative.md").read_bytes() == DOC
    hits = tutor.retriever.search("what does the draft model do in speculative decoding", 3)
    found = [tutor.store.entry(h.id) for h in hits.hits]
    assert found and found[0].source == "speculative.md"

    changed = Attachment("speculative.md", DOC.replace(b"at once", b"in parallel") + SECOND)
    (updated,) = say(tutor, "/bank add", admin=True, files=[changed]).replies
    assert "- speculative.md: 1 added, 1 updated, 0 removed (2 entries)" in updated.text

    (same,) = say(tutor, "/bank add", admin=True, files=[changed]).replies
    assert "- speculative.md: unchanged (2 entries)" in same.text
    (listing,) = say(tutor, "/bank").replies
    assert "13 document(s)" in listing.text and "- speculative.md: " in listing.text


def test_bank_add_refuses_each_bad_file_by_name_and_takes_the_good_ones(tutor, home):
    files = [
        Attachment("slides.pdf", b"%PDF-1.7 ..."),
        Attachment("empty.md", b"   \n"),
        Attachment("binary.md", bytes(range(256)) * 8),
        Attachment("huge.md", b"", fetched=False),
        Attachment("speculative.md", DOC),
    ]
    (reply,) = say(tutor, "/bank add", admin=True, files=files).replies
    lines = reply.text.splitlines()
    assert "- slides.pdf: refused, not a Markdown (.md, .markdown) or .txt file" in lines
    assert "- empty.md: refused, is empty" in lines
    assert any(line.startswith("- binary.md: refused, ") for line in lines)
    assert "- huge.md: refused, over the 20 MB limit" in lines
    assert "- speculative.md: 1 added, 0 updated, 0 removed (1 entries)" in lines
    assert str(home) not in reply.text  # the server's paths stay private
    assert sorted(p.name for p in (home / "bank").iterdir()) == ["speculative.md"]


def test_bank_add_is_for_admins_and_needs_files(tutor, home):
    (refused,) = say(tutor, "/bank add", files=[Attachment("speculative.md", DOC)]).replies
    assert refused.kind == "error" and "admin" in refused.text.lower()
    assert not (home / "bank").exists()
    (none,) = say(tutor, "/bank add", admin=True).replies
    assert none.kind == "error" and "Attach Markdown" in none.text
    (usage,) = say(tutor, "/bank remove x").replies
    assert usage.kind == "error" and usage.text.startswith("Usage: /bank")


def test_a_file_name_from_the_chat_cannot_leave_the_bank_folder(tutor, home):
    sneaky = Attachment("../../outside.md", DOC)
    (reply,) = say(tutor, "/bank add", admin=True, files=[sneaky]).replies
    assert "- outside.md: 1 added" in reply.text
    assert (home / "bank" / "outside.md").is_file() and not (home.parent / "outside.md").exists()
