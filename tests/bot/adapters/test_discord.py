"""The Discord bot through discord.py's real command tree, views and message handling: raw
gateway payloads in, and every HTTP request recorded at the session discord.py sends them with."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from discord.user import ClientUser

from bot.adapters.discord import CommandButton, make_client, split
from tests.bot.adapters.discord_http import (
    APP_ID,
    BOT_ID,
    CHANNEL_ID,
    GUILD_ID,
    RecordingSession,
    channel_message,
    click,
    guild_payload,
    interaction_payload,
    slash,
    thread_payload,
    user_payload,
)
from tests.bot.adapters.test_slack import CHUNKS, Slow
from tests.bot.conftest import Scripted, build


class Discord:
    """A discord.py client wired to the tutor, fed raw payloads on its own event loop."""

    def __init__(self, tutor: Any, cooldown: tuple[int, float] = (100, 60.0)) -> None:
        self.tutor = tutor
        self.loop = asyncio.new_event_loop()
        self.client = make_client(tutor, cooldown=cooldown)
        self.session = RecordingSession()
        self.run(self._setup())

    async def _setup(self) -> None:
        client = self.client
        await client._async_setup_hook()
        client.http._HTTPClient__session = self.session
        client.http._global_over = asyncio.Event()  # what logging in would have set
        client.http._global_over.set()
        state = client._connection
        state.user = ClientUser(state=state, data=user_payload(BOT_ID, "tutor", bot=True))
        state.application_id = int(APP_ID)
        client.add_dynamic_items(CommandButton)
        state._add_guild_from_data(guild_payload())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def interact(self, payload: dict[str, Any]) -> None:
        async def feed() -> None:
            self.client._connection.parse_interaction_create(payload)

        self.run(feed())

    def gateway(self, parser: str, payload: dict[str, Any]) -> None:
        async def feed() -> None:
            getattr(self.client._connection, parser)(payload)

        self.run(feed())

    def message(self, payload: dict[str, Any]) -> None:
        async def feed() -> None:
            self.client._connection.parse_message_create(payload)

        self.run(feed())

    def wait(self, check: Any) -> None:
        self.run(self.session.wait_for(check))

    def settle(self) -> None:
        """Let scheduled work run (for checks that something did NOT happen)."""
        self.run(asyncio.sleep(0.5))

    def close(self) -> None:
        async def cancel() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel())
        self.loop.close()


@pytest.fixture
def discord_bot(home, embedder, sandbox):
    bot = Discord(build(home, embedder, sandbox=sandbox))
    yield bot
    bot.close()


def followups(session: RecordingSession):
    return session.named("POST", r"^/webhooks/\d+/[^/]+$")


def callbacks(session: RecordingSession):
    return session.named("POST", r"/callback$")


def values(request) -> list[str]:
    return [
        c["custom_id"] for row in request.payload.get("components", []) for c in row["components"]
    ]


# -- slash commands ------------------------------------------------------------------------------


def test_quiz_defers_then_follows_up_with_buttons_and_opens_a_thread(discord_bot):
    d = discord_bot
    d.interact(slash("quiz", {"topic": "post-norm"}))
    d.wait(lambda _: d.session.named("POST", r"/messages/\d+/threads$"))
    (callback,) = callbacks(d.session)
    assert callback.payload["type"] == 5  # deferred, "thinking"
    (question,) = followups(d.session)
    assert "post-norm" in question.payload["content"]
    assert [v.split()[0] for v in values(question)] == [
        "tutor:/hint",
        "tutor:/skip",
        "tutor:/reveal",
    ]
    assert question.payload["allowed_mentions"] == {"parse": []}
    # The answer in the quiz's thread, without a mention, is graded.
    thread = d.tutor.progress.open_quiz("discord:600000000000000001", GUILD_ID).thread
    assert thread
    # Discord announces the new thread to the bot (THREAD_CREATE); then the user answers in it.
    d.gateway(
        "parse_thread_create", {**thread_payload(thread, CHANNEL_ID, "quiz"), "newly_created": True}
    )
    d.message(
        channel_message(
            "Pre-norm normalises the sublayer input, keeping an identity path.", channel_id=thread
        )
    )
    d.wait(lambda _: d.session.named("POST", rf"^/channels/{thread}/messages$"))
    graded = d.session.named("POST", rf"^/channels/{thread}/messages$")[0]
    assert "Score:" in graded.payload["content"]


def test_ask_answers_in_a_follow_up_with_mentions_off(home, embedder):
    d = Discord(
        build(home, embedder, backend=Scripted("Scaling keeps the softmax sane [1]. @everyone"))
    )
    try:
        d.interact(slash("ask", {"question": "why divide attention scores by sqrt(d_k)?"}))
        d.wait(lambda _: followups(d.session))
        (answer,) = followups(d.session)
        assert "Scaling keeps the softmax sane" in answer.payload["content"]
        assert answer.payload["allowed_mentions"] == {"parse": []}
        assert [v.split()[:2] for v in values(answer)] == [
            ["tutor:/feedback", "up"],
            ["tutor:/feedback", "down"],
        ]
    finally:
        d.close()


def test_a_button_works_without_the_view_that_made_it_after_a_restart(discord_bot):
    d = discord_bot
    d.interact(slash("ask", {"question": "what is the KV cache?"}))
    d.wait(lambda _: followups(d.session))
    down = values(followups(d.session)[0])[1]
    # A fresh client (a restart) still routes the click: the buttons are persistent.
    again = Discord(d.tutor)
    try:
        again.interact(click(down, message_id="700000000000009999"))
        again.wait(lambda _: followups(again.session))
        assert callbacks(again.session)[0].payload["type"] == 6  # deferred update
        assert "Thanks" in followups(again.session)[0].payload["content"]
        assert d.tutor.progress.feedback(int(down.split()[-1])) == -1
    finally:
        again.close()


def test_run_without_code_opens_a_modal_whose_code_runs(discord_bot):
    d = discord_bot
    d.interact(slash("run"))
    d.wait(lambda _: callbacks(d.session))
    modal = callbacks(d.session)[0].payload
    assert modal["type"] == 9
    field = modal["data"]["components"][0]["components"][0]["custom_id"]
    submit = interaction_payload(
        5,
        {
            "custom_id": modal["data"]["custom_id"],
            "components": [
                {
                    "type": 1,
                    "components": [{"type": 4, "custom_id": field, "value": "print(6 * 7)"}],
                }
            ],
        },
    )
    d.interact(submit)
    d.wait(lambda _: followups(d.session))
    assert "42" in followups(d.session)[0].payload["content"]


def test_run_output_with_a_mention_pings_nobody_and_plots_are_attached(discord_bot):
    d = discord_bot
    code = (
        "```python\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "plt.plot([1, 2])\nplt.savefig('plot.png')\nprint('@everyone ' + '`' * 3)\n```"
    )
    d.interact(slash("run", {"code": code}))
    d.wait(lambda _: followups(d.session))
    (reply,) = followups(d.session)
    assert reply.payload["allowed_mentions"] == {"parse": []}
    assert reply.payload["content"].count("```") == 2  # the output cannot close its block
    assert [name for name, _ in reply.files] == ["plot.png"], reply.payload["content"]
    assert reply.files[0][1].startswith(b"\x89PNG")


def test_commands_have_a_per_user_cooldown(home, embedder):
    d = Discord(build(home, embedder), cooldown=(2, 60.0))
    try:
        for _ in range(3):
            d.interact(slash("help"))
        d.wait(lambda _: len(callbacks(d.session)) == 3)
        refused = [c for c in callbacks(d.session) if c.payload["type"] == 4]
        assert len(refused) == 1
        assert refused[0].payload["data"]["flags"] & 64  # ephemeral
        assert "at most 2 a minute" in refused[0].payload["data"]["content"]
    finally:
        d.close()


def test_settings_need_manage_server(discord_bot):
    d = discord_bot
    d.interact(slash("settings", {"text": f"watch <#{CHANNEL_ID}>"}))
    d.wait(lambda _: followups(d.session))
    assert "Only admins" in followups(d.session)[0].payload["content"]
    manage_guild = str(1 << 5)
    d.interact(slash("settings", {"text": f"watch <#{CHANNEL_ID}>"}, permissions=manage_guild))
    d.wait(lambda _: len(followups(d.session)) == 2)
    assert "Saved" in followups(d.session)[1].payload["content"]


# -- messages ------------------------------------------------------------------------------------


def test_a_mention_opens_a_thread_and_the_answer_goes_there(discord_bot):
    d = discord_bot
    d.message(channel_message(f"<@{BOT_ID}> what is the KV cache?", mentions=[BOT_ID]))
    d.wait(lambda _: d.session.named("POST", r"^/channels/\d+/messages$"))
    (thread,) = d.session.named("POST", r"/messages/\d+/threads$")
    assert thread.path.startswith(f"/channels/{CHANNEL_ID}/")
    (sent,) = d.session.named("POST", r"^/channels/\d+/messages$")
    assert not sent.path.startswith(f"/channels/{CHANNEL_ID}/")  # in the new thread
    assert "KV cache" in sent.payload["content"] and sent.payload["allowed_mentions"] == {
        "parse": []
    }


def test_messages_not_for_the_tutor_are_left_alone(discord_bot):
    d = discord_bot
    d.message(channel_message("lunch anyone?"))
    d.message(channel_message("ok", author=BOT_ID))
    d.settle()
    assert d.session.requests == []


def test_a_watched_channel_is_answered_without_a_mention(discord_bot):
    d = discord_bot
    from knowledge.progress import Progress

    progress: Progress = d.tutor.progress
    progress.set_place_settings("800000000000000001", {"watch": [CHANNEL_ID]})
    d.message(channel_message("what is the KV cache?"))
    d.wait(lambda _: d.session.named("POST", r"^/channels/\d+/messages$"))


def test_long_answers_are_split_under_2000_characters(discord_bot):
    d = discord_bot
    d.message(channel_message(f"<@{BOT_ID}> /quiz code en", mentions=[BOT_ID]))
    d.wait(lambda _: d.session.named("POST", r"^/channels/\d+/messages$"))
    d.message(channel_message(f"<@{BOT_ID}> /reveal", mentions=[BOT_ID]))
    d.wait(lambda _: len(d.session.named("POST", r"^/channels/\d+/messages$")) >= 2)
    for request in d.session.named("POST", r"^/channels/\d+/messages$"):
        assert len(request.payload["content"]) <= 2000


def test_split_keeps_code_blocks_closed():
    text = "intro\n```python\n" + "\n".join(f"x{n} = {n}" for n in range(600)) + "\n```\nend"
    pieces = split(text)
    assert len(pieces) > 1 and all(len(p) <= 2000 for p in pieces)
    assert all(p.count("```") % 2 == 0 for p in pieces)


def test_answers_stream_by_editing_at_most_about_once_a_second(home, embedder):
    d = Discord(build(home, embedder, backend=Slow(CHUNKS, 0.1)))
    try:
        started = d.loop.time()
        d.interact(slash("ask", {"question": "why divide attention scores by sqrt(d_k)?"}))
        d.wait(
            lambda requests: any(
                "word23" in str(r.payload.get("content")) and r.method == "PATCH" for r in requests
            )
        )
        elapsed = d.loop.time() - started
        edits = d.session.named("PATCH", r"/messages/\d+$")
        assert len(followups(d.session)) == 1
        assert len(edits) <= elapsed + 2 < len(CHUNKS)
        assert values(edits[-1])[0].startswith("tutor:/feedback up")
    finally:
        d.close()
