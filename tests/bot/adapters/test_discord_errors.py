"""Payloads discord.py rejects, and events it cannot handle, through the real client: each is one
log line with the event, the error and an incident id, never a traceback, and the client goes on."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from discord.user import ClientUser

from bot.adapters.discord import make_client
from bot.core.once import HandledOnce
from tests.bot.adapters.discord_http import (
    APP_ID,
    BOT_ID,
    RecordingSession,
    guild_payload,
    user_payload,
)


class Untouched:
    """A tutor that fails the test if anything reaches it (its events' ledger, which the bot
    takes when it is built, included: that fails on first use)."""

    def handled_once(self, platform: str) -> HandledOnce:
        return HandledOnce(self, platform)

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a rejected payload reached the tutor ({name})")


@pytest.fixture
def client():
    loop = asyncio.new_event_loop()
    client = make_client(Untouched())

    async def setup() -> None:
        await client._async_setup_hook()
        client.http._HTTPClient__session = RecordingSession()
        state = client._connection
        state.user = ClientUser(state=state, data=user_payload(BOT_ID, "tutor", bot=True))
        state.application_id = int(APP_ID)
        state._add_guild_from_data(guild_payload())

    loop.run_until_complete(setup())
    client.loop_for_test = loop
    yield client
    loop.close()


def quiet_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    for record in caplog.records:
        assert record.exc_info is None and "Traceback" not in record.getMessage()
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


MALFORMED = [
    # (gateway event, payload discord.py cannot read)
    ("MESSAGE_CREATE", {"id": "1", "channel_id": "not-a-snowflake"}),
    ("GUILD_CREATE", {"id": None}),
    ("INTERACTION_CREATE", {"type": 2}),
]


@pytest.mark.parametrize(("event", "payload"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_gateway_payload_is_one_log_line_without_a_traceback(
    client, caplog, event, payload
):
    caplog.set_level(logging.DEBUG)

    async def feed() -> None:
        # What the gateway does with a DISPATCH: the parser the client's state registered.
        client._connection.parsers[event](payload)
        await asyncio.sleep(0)  # anything the parser scheduled gets its turn

    client.loop_for_test.run_until_complete(feed())
    (record,) = quiet_records(caplog)
    text = record.getMessage()
    assert record.name == "tutor.discord"
    assert event in text and "incident " in text
    assert "Error" in text or "Exception" in text  # the exception's type is named


def test_an_event_handler_failing_is_one_log_line_naming_the_event(client, caplog):
    caplog.set_level(logging.DEBUG)

    async def on_probe() -> None:
        raise ValueError("bad field in a payload")

    client.on_probe = on_probe

    async def dispatch() -> None:
        client.dispatch("probe")
        # dispatch runs the handler in a task; let it and on_error finish.
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        await asyncio.gather(*pending)

    client.loop_for_test.run_until_complete(dispatch())
    (record,) = quiet_records(caplog)
    text = record.getMessage()
    assert "on_probe" in text and "ValueError: bad field in a payload" in text
    assert "incident " in text
