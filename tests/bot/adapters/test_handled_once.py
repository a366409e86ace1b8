"""An event is answered once even across a restart: Slack's retries of an event the previous
process answered, and what a resumed Discord session replays, reach a new app over the same data
dir and are left alone, while new events are answered as usual."""

from __future__ import annotations

import copy

import pytest

from tests.bot.adapters.discord_http import (
    BOT_ID,
    CHANNEL_ID,
    channel_message,
    slash,
    thread_payload,
)
from tests.bot.adapters.slack_api import SlackAPI
from tests.bot.adapters.test_discord import Discord
from tests.bot.adapters.test_slack import Slack, answers, mention, message
from tests.bot.conftest import build

RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


@pytest.fixture
def api():
    server = SlackAPI()
    yield server
    server.close()


def test_a_slack_retry_reaching_a_restarted_bot_is_not_answered_again(home, embedder, api):
    event = mention("what is the KV cache?", ts="1700000000.000001")
    first = Slack(build(home, embedder), api)
    try:
        assert first.event(event, event_id="EvAcrossRestart")[0] == 200
        first.settle()
    finally:
        first.close()
        first.tutor.close()
    assert len(answers(api)) == 1

    second = Slack(build(home, embedder), api)
    try:
        assert second.event(event, event_id="EvAcrossRestart", headers=RETRY)[0] == 200
        second.settle()
        assert len(answers(api)) == 1  # the retry was acknowledged, not answered
        second.event(mention("and the KV cache again?", ts="1700000000.000050"))
        second.settle()
    finally:
        second.close()
        second.tutor.close()
    assert [a["thread_ts"] for a in answers(api)] == ["1700000000.000001", "1700000000.000050"]


def test_a_slack_event_whose_handling_a_crash_cut_short_is_answered_when_retried(
    home, embedder, api, monkeypatch
):
    # A kill -9 after the acknowledgement skips everything after the reply: as if the process
    # died before recording the event, which is what `handled` would have written.
    event = mention("what is the KV cache?", ts="1700000000.000001")
    first = Slack(build(home, embedder), api)
    with monkeypatch.context() as patch:
        patch.setattr(first.bot, "handled", _never_recorded)
        try:
            assert first.event(event, event_id="EvCutShort")[0] == 200
            first.settle()
        finally:
            first.close()
            first.tutor.close()
    assert len(answers(api)) == 1

    second = Slack(build(home, embedder), api)
    try:
        assert second.event(event, event_id="EvCutShort", headers=RETRY)[0] == 200
        second.settle()
    finally:
        second.close()
        second.tutor.close()
    assert len(answers(api)) == 2  # handled again: nothing said it was answered


async def _never_recorded(body: dict) -> None:
    return None


REPLAYS = {
    "interaction": ("interact", lambda: slash("help")),
    "message": ("message", lambda: channel_message(f"<@{BOT_ID}> /help", mentions=[BOT_ID])),
}


@pytest.mark.parametrize("kind", REPLAYS)
def test_a_discord_event_replayed_to_a_restarted_client_is_handled_once(home, embedder, kind):
    feed, make = REPLAYS[kind]
    payload = make()
    first = Discord(build(home, embedder))
    try:
        getattr(first, feed)(copy.deepcopy(payload))
        first.handled(1)
        assert first.session.requests
    finally:
        first.close()
        first.tutor.close()

    second = Discord(build(home, embedder))
    try:
        getattr(second, feed)(copy.deepcopy(payload))  # the same id, replayed after a resume
        second.settle()
        assert second.watched.handled == 0 and second.session.requests == []
        getattr(second, feed)(make())  # a new one is handled as usual
        second.handled(1)
    finally:
        second.close()
        second.tutor.close()


def _quiz_whose_thread_was_never_written(home, embedder, api, monkeypatch) -> str:
    """/quiz in a process that dies after Slack took the question but before the store knew its
    thread (the two writes after the post never happen); the question's ts."""
    first = Slack(build(home, embedder), api)
    with monkeypatch.context() as patch:
        patch.setattr(first.tutor.threads, "store", _not_written)
        patch.setattr(first.tutor.threads, "store_quiz", _not_written)
        try:
            first.command("/quiz", "post-norm")
            first.settle()
        finally:
            first.close()
            first.tutor.close()
    (question,) = api.named("chat.postMessage")
    return question.response["ts"]


async def _not_written(*args: object) -> None:
    return None


GUILD = "800000000000000001"
ANSWER = "Pre-norm normalises the sublayer input and keeps an identity path."


def test_an_answer_under_a_quiz_question_whose_thread_a_crash_lost_is_graded(
    home, embedder, api, monkeypatch
):
    ts = _quiz_whose_thread_was_never_written(home, embedder, api, monkeypatch)
    second = Slack(build(home, embedder), api)
    try:
        assert second.tutor.progress.open_quiz("slack:U1", "T1").thread == ""
        # Slack says whose post started the thread: the tutor's own.
        second.event(message(ANSWER, ts="1700000900.000100", thread_ts=ts, parent_user_id="UBOT"))
        second.settle()
        (graded,) = api.named("chat.postMessage")[1:]
        assert graded.body["thread_ts"] == ts and "Score:" in graded.body["text"]
        assert second.tutor.progress.open_quiz("slack:U1", "T1") is None
        assert len(second.tutor.progress.reviews("slack:U1")) == 1
        assert second.tutor.progress.thread_taken("T1", "C1", ts)
    finally:
        second.close()
        second.tutor.close()


def test_a_reply_under_someone_elses_post_or_another_quiz_does_not_take_the_lost_thread(
    home, embedder, api, monkeypatch
):
    ts = _quiz_whose_thread_was_never_written(home, embedder, api, monkeypatch)
    second = Slack(build(home, embedder), api)
    try:
        # A thread a person started: not the tutor's, and not for it.
        second.event(message(ANSWER, ts="1700000900.000100", thread_ts=ts, parent_user_id="U2"))
        second.settle()
        assert len(api.named("chat.postMessage")) == 1
        # The tutor's post of another quiz (recorded): this quiz does not take its thread.
        other = second.tutor.progress.start_quiz("slack:U2", "T1", "C1", "", "x", "concept")
        second.tutor.progress.set_thread(other.id, "1700000500.000001")
        second.event(
            message(
                ANSWER, ts="1700000900.000200", thread_ts="1700000500.000001", parent_user_id="UBOT"
            )
        )
        second.settle()
        assert second.tutor.progress.open_quiz("slack:U1", "T1").thread == ""
        assert not second.tutor.progress.reviews("slack:U1")
    finally:
        second.close()
        second.tutor.close()


def _discord_quiz_whose_thread_was_never_written(home, embedder, monkeypatch) -> str:
    """/quiz on Discord in a process that dies after the quiz's thread was opened but before
    the store knew it; the thread's id."""
    first = Discord(build(home, embedder))
    with monkeypatch.context() as patch:
        patch.setattr(first.tutor.threads, "store", _not_written)
        patch.setattr(first.tutor.threads, "store_quiz", _not_written)
        try:
            first.interact(slash("quiz", {"topic": "post-norm"}))
            first.handled(1)
            (opened,) = first.session.named("POST", r"/messages/\d+/threads$")
            return opened.response["id"]
        finally:
            first.close()
            first.tutor.close()


def test_an_answer_in_a_discord_quiz_thread_a_crash_kept_from_being_recorded_is_graded(
    home, embedder, monkeypatch
):
    thread = _discord_quiz_whose_thread_was_never_written(home, embedder, monkeypatch)

    second = Discord(build(home, embedder))
    try:
        quiz = second.tutor.progress.open_quiz("discord:600000000000000001", GUILD)
        assert quiz.thread == ""
        # The thread Discord says the bot opened (owner_id), after the restart.
        second.gateway("parse_thread_create", thread_payload(thread, CHANNEL_ID, "quiz"))
        second.message(channel_message(ANSWER, channel_id=thread))
        second.handled(1)
        (graded,) = second.session.named("POST", rf"^/channels/{thread}/messages$")
        assert "Score:" in graded.payload["content"]
        assert second.tutor.progress.open_quiz("discord:600000000000000001", GUILD) is None
    finally:
        second.close()
        second.tutor.close()


def test_a_discord_thread_someone_else_opened_is_not_taken_for_a_lost_quiz_thread(
    home, embedder, monkeypatch
):
    _discord_quiz_whose_thread_was_never_written(home, embedder, monkeypatch)

    second = Discord(build(home, embedder))
    try:
        theirs = {**thread_payload("800000000000000777", CHANNEL_ID, "chat"), "owner_id": "1"}
        second.gateway("parse_thread_create", theirs)
        second.message(channel_message(ANSWER, channel_id="800000000000000777"))
        second.settle()
        assert second.session.requests == []  # not for the tutor
        assert second.tutor.progress.open_quiz("discord:600000000000000001", GUILD).thread == ""
    finally:
        second.close()
        second.tutor.close()
