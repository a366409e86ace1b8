"""Slack: /stats' chart is uploaded to the user's direct messages (a private reply has no files
of its own), and Markdown files shared with /bank add reach the bank (admins)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.bot.adapters.slack_api import SlackAPI
from tests.bot.adapters.test_slack import Slack, message
from tests.bot.conftest import build

DOC = b"""# Speculative Decoding Notes

### 1. What does a draft model do in speculative decoding?

**Answer:** A small draft model proposes several tokens that the large model verifies at once.
"""


@pytest.fixture
def api():
    server = SlackAPI()
    yield server
    server.close()


@pytest.fixture
def slack(home, embedder, api):
    s = Slack(build(home, embedder), api)
    yield s
    s.close()
    s.tutor.close()


def test_stats_uploads_its_chart_to_the_users_direct_messages(slack, api):
    progress = slack.tutor.progress
    entry = slack.tutor.store.entries()[0]
    quiz = progress.start_quiz("slack:U1", "T1", "C1", "", entry.id, entry.kind)
    progress.record_review(
        quiz,
        state="answered",
        score=80,
        rating=3,
        mode="test",
        covered=[],
        missed=[],
        answer="x",
        schedule=lambda card: ("{}", datetime.now(UTC) + timedelta(days=1)),
    )
    slack.command("/stats")
    api.wait_for(lambda calls: any(c.method == "files.completeUploadExternal" for c in calls))
    (opened,) = api.named("conversations.open")
    assert opened.body["users"] == "U1"
    (upload,) = api.named("files.getUploadURLExternal")
    assert upload.body["filename"] == "progress.png"
    complete = api.named("files.completeUploadExternal")[0].body
    assert complete["channel_id"] == "DU1"
    assert any(c.method.startswith("respond/") for c in api.calls)  # the text, privately


def test_a_markdown_file_shared_with_bank_add_is_ingested_for_an_admin_only(slack, api):
    api.files["/files/speculative.md"] = DOC
    base = api.url.replace("/api/", "")

    def share(ts: str, user: str) -> None:
        event = message("/bank add", ts=ts, channel_type="im", channel="D1", user=user)
        event["subtype"] = "file_share"
        event["files"] = [
            {
                "name": "speculative.md",
                "size": len(DOC),
                "url_private_download": f"{base}/files/speculative.md",
            },
            {"name": "slides.pdf", "size": 10**9, "url_private_download": f"{base}/files/x"},
        ]
        slack.event(event)
        slack.settle()

    share("1700000000.000500", "U1")
    assert "Only admins" in api.named("chat.postEphemeral")[-1].body["text"]
    api.admins.add("UADMIN")
    share("1700000000.000501", "UADMIN")
    text = api.named("chat.postEphemeral")[-1].body["text"]
    assert "speculative.md: 1 added" in text and "slides.pdf: refused" in text
    fetched = [c for c in api.calls if c.method == "files/"]
    assert len(fetched) == 2  # the Markdown file, once per message; never the PDF
