"""The study loop through discord.py's real client: the daily question's "Answer privately"
button opens a modal whose submission is graded in an ephemeral follow-up, and /remind and
/daily are in the command tree."""

from __future__ import annotations

import asyncio
import random

import pytest

from bot.adapters.discord import NO_MENTIONS, BoxButton, DiscordCourier
from bot.core.conversation import Button, Place, Reply
from tests.bot.adapters.discord_http import CHANNEL_ID, GUILD_ID, click, interaction_payload, slash
from tests.bot.adapters.test_discord import Discord, callbacks, followups
from tests.bot.conftest import build
from tests.bot.core.test_study import ANSWER, NINE, FakeClock, RecordingCourier

EPHEMERAL = 64


@pytest.fixture
def discord_bot(home, embedder):
    bot = Discord(build(home, embedder))
    bot.client.add_dynamic_items(BoxButton)
    yield bot
    bot.close()


def test_the_daily_answer_box_is_a_modal_graded_in_an_ephemeral_follow_up(discord_bot):
    d = discord_bot
    tutor = d.tutor
    tutor.progress.places.set_place_settings(GUILD_ID, {"topics": ["post-norm"]})
    tutor.study.book.set_daily(GUILD_ID, "discord", CHANNEL_ID, "09:00", "", "en")
    courier = RecordingCourier(platform="discord")
    scheduler = tutor.study_scheduler(courier, FakeClock(NINE), random.Random(3))
    d.run(scheduler.run_due(NINE))
    ((place, post),) = courier.posts
    assert place.channel == CHANNEL_ID
    (button,) = post.buttons
    custom_id = BoxButton(button.label, button.command, button.box).item.custom_id
    d.interact(click(custom_id, message_id="700000000000000042"))
    d.settle()
    modal = callbacks(d.session)[0].payload
    assert modal["type"] == 9  # a modal, opened in answer to the click
    field = modal["data"]["components"][0]["components"][0]
    assert field["label"] == "Your answer"
    submit = interaction_payload(
        5,
        {
            "custom_id": modal["data"]["custom_id"],
            "components": [
                {
                    "type": 1,
                    "components": [{"type": 4, "custom_id": field["custom_id"], "value": ANSWER}],
                }
            ],
        },
    )
    d.interact(submit)
    d.handled(1)
    (graded,) = followups(d.session)
    assert "Score:" in graded.payload["content"]
    assert graded.payload["flags"] & EPHEMERAL
    assert len(tutor.progress.reviews("discord:600000000000000001")) == 1


def test_remind_is_a_slash_command_answered_privately(discord_bot):
    d = discord_bot
    d.interact(slash("remind", {"text": "on 08:00"}))
    d.handled(1)
    (reply,) = followups(d.session)
    assert "08:00 (UTC)" in reply.payload["content"]
    assert reply.payload["flags"] & EPHEMERAL


def test_daily_needs_manage_server(discord_bot):
    d = discord_bot
    d.interact(slash("daily", {"text": f"<#{CHANNEL_ID}> 09:00"}))
    d.handled(1)
    assert "Only admins" in followups(d.session)[0].payload["content"]
    d.interact(slash("daily", {"text": f"<#{CHANNEL_ID}> 09:00"}, permissions="32"))
    d.handled(2)
    assert "every day at 09:00" in followups(d.session)[1].payload["content"]


class Target:
    """A DM or channel that records what is sent to it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    async def send(self, content: str, **kwargs) -> None:
        self.sent.append((content, kwargs))


def test_the_discord_courier_sends_reminders_by_dm_and_daily_questions_in_the_channel():
    dm, channel = Target(), Target()

    class User:
        async def create_dm(self) -> Target:
            return dm

    class Client:
        async def fetch_user(self, user_id: int) -> User:
            assert user_id == 600000000000000001
            return User()

        def get_channel(self, channel_id: int) -> Target:
            assert channel_id == int(CHANNEL_ID)
            return channel

    courier = DiscordCourier(Client())

    async def send() -> None:
        reminder = Reply("Reviews due today: 2", buttons=(Button("Start review", "/quiz"),))
        await courier.direct("discord:600000000000000001", reminder)
        await courier.post(Place("discord", GUILD_ID, CHANNEL_ID), Reply("Question of the day"))

    asyncio.run(send())
    ((text, kwargs),) = dm.sent
    assert text == "Reviews due today: 2" and kwargs["allowed_mentions"] is NO_MENTIONS
    assert kwargs["view"].children[0].custom_id == "tutor:/quiz"
    assert channel.sent[0][0] == "Question of the day"


def test_gaps_needs_manage_server_and_answers_privately(discord_bot):
    from tests.bot.adapters.test_slack_study import keep_gap

    d = discord_bot
    keep_gap(d.tutor, str(GUILD_ID), "discord")
    d.interact(slash("gaps", {}))
    d.handled(1)
    assert "Only admins" in followups(d.session)[0].payload["content"]
    d.interact(slash("gaps", {}, permissions="32"))
    d.handled(2)
    listed = followups(d.session)[1].payload
    assert "LoRA" in listed["content"] and "2 asker(s)" in listed["content"]
    assert listed["flags"] & EPHEMERAL
