"""The study loop through Bolt's real request path: the daily question's "Answer privately"
button opens a modal (views.open with the click's trigger_id), the modal's view_submission is
graded and answered privately; reminders go out as DMs; /tutor-remind reads the profile's
timezone."""

from __future__ import annotations

import json
import random
import urllib.parse
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.adapters.slack import SlackCourier
from tests.bot.adapters.slack_api import SlackAPI
from tests.bot.adapters.test_slack import Slack
from tests.bot.conftest import build
from tests.bot.core.test_study import ANSWER, NINE, FakeClock


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


def interaction(slack: Slack, payload: dict[str, Any]) -> tuple[int, str]:
    form = urllib.parse.urlencode({"payload": json.dumps(payload)})
    return slack.post(form, "application/x-www-form-urlencoded")


def run_jobs(slack: Slack, moment: datetime) -> None:
    tutor = slack.tutor
    scheduler = tutor.study_scheduler(SlackCourier(slack.app.client), FakeClock(moment))
    scheduler.jobs[1].rng = random.Random(3)
    slack.run(scheduler.run_due(moment))


def test_the_daily_answer_box_is_a_modal_whose_submission_is_graded_privately(slack, api):
    tutor = slack.tutor
    tutor.progress.places.set_place_settings("T1", {"topics": ["post-norm"]})
    tutor.study.book.set_daily("T1", "slack", "C9", "09:00", "", "en")
    run_jobs(slack, NINE)
    (post,) = api.named("chat.postMessage")
    assert post.body["channel"] == "C9" and "Question of the day" in post.body["text"]
    (button,) = post.body["blocks"][-1]["elements"]
    assert button["action_id"] == "tutor_box_0"
    # The click, as Slack sends it, carries a trigger_id: the modal opens with it.
    status, _ = interaction(
        slack,
        {
            "type": "block_actions",
            "user": {"id": "U1"},
            "team": {"id": "T1"},
            "channel": {"id": "C9"},
            "message": {"ts": post.response["ts"]},
            "actions": [{**button, "type": "button"}],
            "response_url": api.url.replace("/api/", "/respond/box"),
            "trigger_id": "trigger-box",
        },
    )
    assert status == 200
    api.wait_for(lambda calls: any(c.method == "views.open" for c in calls))
    (opened,) = api.named("views.open")
    assert opened.body["trigger_id"] == "trigger-box"
    view = opened.body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "modal" and view["title"]["text"] == "Answer privately"
    assert view["blocks"][0]["label"]["text"] == "Your answer"
    # The submission comes back as a view_submission.
    status, _ = interaction(
        slack,
        {
            "type": "view_submission",
            "team": {"id": "T1"},
            "user": {"id": "U1", "team_id": "T1"},
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": view["callback_id"],
                "private_metadata": view["private_metadata"],
                "state": {
                    "values": {"answer": {"text": {"type": "plain_text_input", "value": ANSWER}}}
                },
            },
        },
    )
    assert status == 200
    slack.settle()
    api.wait_for(lambda calls: any(c.method == "chat.postEphemeral" for c in calls))
    (graded,) = api.named("chat.postEphemeral")
    assert graded.body["user"] == "U1" and graded.body["channel"] == "C9"
    assert "Score:" in graded.body["text"]
    assert len(tutor.progress.reviews("slack:U1")) == 1  # it counts in the review schedule
    assert tutor.study.book.figures(1).answered == 1
    assert len(api.named("chat.postMessage")) == 1  # nothing in the channel: no spoilers


def test_a_reminder_is_a_direct_message_opened_with_conversations_open(slack, api):
    tutor = slack.tutor
    entry = tutor.store.entries()[0]
    tutor.progress.db.execute(
        "INSERT INTO cards (user, entry_id, card, due) VALUES ('slack:U1', ?, '{}', ?)",
        (entry.id, "2000-01-01T00:00:00+00:00"),
    )
    tutor.study.book.set_reminder("slack:U1", "slack", enabled=True, at="09:00")
    api.fail["conversations.open"] = [{"ok": True, "channel": {"id": "D1"}}]
    run_jobs(slack, NINE)
    (opened,) = api.named("conversations.open")
    assert opened.body["users"] == "U1"
    (dm,) = api.named("chat.postMessage")
    assert dm.body["channel"] == "D1" and "Reviews due today: 1" in dm.body["text"]
    assert dm.body["blocks"][-1]["elements"][0]["value"] == "/quiz"


def test_remind_takes_the_timezone_of_the_slack_profile(slack, api):
    api.fail["users.info"] = [{"ok": True, "user": {"id": "U1", "tz": "Asia/Shanghai"}}]
    slack.command("/tutor-remind", "on 08:00")
    slack.settle()
    api.wait_for(lambda calls: any(c.method.startswith("respond/") for c in calls))
    (reply,) = [c for c in api.calls if c.method.startswith("respond/")]
    assert "08:00 (Asia/Shanghai)" in reply.body["text"]
    assert reply.body["response_type"] == "ephemeral"


def test_daily_in_a_channel_the_bot_is_not_in_is_refused(slack, api):
    api.admins.add("U1")
    api.fail["conversations.info"] = [{"ok": True, "channel": {"id": "C7", "is_member": False}}]
    slack.tutor.study_scheduler(SlackCourier(slack.app.client))
    slack.command("/tutor-daily", "<#C7|random> 09:00")
    slack.settle()
    api.wait_for(lambda calls: any(c.method.startswith("respond/") for c in calls))
    (reply,) = [c for c in api.calls if c.method.startswith("respond/")]
    assert "I cannot post in <#C7>" in reply.body["text"]
    assert slack.tutor.study.book.daily("T1") is None


def keep_gap(tutor: Any, workspace: str, platform: str) -> None:
    """Two learners asked about LoRA in this workspace, and the bank had no answer."""
    from knowledge.gaps import Closest

    for user, question in (("U7", "What is LoRA?"), ("U8", "LoRA 的秩 r 怎么选？")):
        tutor.gaps.book.record(
            platform=platform,
            workspace=workspace,
            channel="C1",
            user=user,
            question=question,
            lang="en",
            decision="related",
            in_field=True,
            closest=[Closest("ab12", "Fine-tuning", 0.8)],
            at=datetime.now(UTC),
        )


def test_gaps_is_a_private_slash_command_for_admins(slack, api):
    keep_gap(slack.tutor, "T1", "slack")
    slack.command("/gaps")
    slack.settle()
    api.wait_for(lambda calls: any(c.method.startswith("respond/") for c in calls))
    (refused,) = [c for c in api.calls if c.method.startswith("respond/")]
    assert "Only admins" in refused.body["text"]
    api.admins.add("UADMIN")
    slack.command("/gaps", user="UADMIN")
    slack.settle()
    api.wait_for(lambda calls: len([c for c in calls if c.method.startswith("respond/")]) == 2)
    listed = [c for c in api.calls if c.method.startswith("respond/")][-1]
    assert "LoRA" in listed.body["text"] and "2 asker(s)" in listed.body["text"]
    assert listed.body["response_type"] == "ephemeral"
