"""An event is answered once even across a restart: Slack's retries of an event the previous
process answered, and what a resumed Discord session replays, reach a new app over the same data
dir and are left alone, while new events are answered as usual."""

from __future__ import annotations

import copy

import pytest

from tests.bot.adapters.discord_http import BOT_ID, channel_message, slash
from tests.bot.adapters.slack_api import SlackAPI
from tests.bot.adapters.test_discord import Discord
from tests.bot.adapters.test_slack import Slack, answers, mention
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
