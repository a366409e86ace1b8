"""The Discord bot through discord.py's real command tree, views and message handling: raw
gateway payloads in, and every HTTP request recorded at the session discord.py sends them with."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from discord.user import ClientUser

from bot.adapters.discord import CommandButton, make_client, split
from bot.core import pacing
from bot.texts import layouts
from tests.bot.adapters.discord_http import (
    APP_ID,
    BOT_ID,
    CHANNEL_ID,
    GUILD_ID,
    Hold,
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


class Watched:
    """The tutor as the bot sees it, telling the test when a streamed answer starts closing and
    how many messages and interactions it has handled to their end."""

    def __init__(self, tutor: Any) -> None:
        self.tutor = tutor
        self.closing = asyncio.Event()
        self.handled = 0
        self.changed = asyncio.Condition()
        # Set once the bot asks whether a thread is one the tutor follows.
        self.asked = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tutor, name)

    def follows(self, place: Any) -> bool:
        self.asked.set()
        return self.tutor.follows(place)

    async def following(self, place: Any) -> bool:
        self.asked.set()
        return await self.tutor.following(place)

    async def handle(self, incoming: Any, out: Any) -> None:
        try:
            await self.tutor.handle(incoming, WatchedOutbox(out, self.closing))
        finally:
            async with self.changed:
                self.handled += 1
                self.changed.notify_all()


class WatchedOutbox:
    """An outbox whose streams set `closing` when the core closes them."""

    def __init__(self, out: Any, closing: asyncio.Event) -> None:
        self.out = out
        self.closing = closing

    def __getattr__(self, name: str) -> Any:
        return getattr(self.out, name)

    def stream(self, on_posted: Any = None) -> Any:
        inner = self.out.stream(on_posted=on_posted)
        closing = self.closing

        class Stream:
            def write(self, text: str) -> None:
                inner.write(text)

            async def close(self, reply: Any) -> Any:
                closing.set()
                return await inner.close(reply)

        return Stream()


class Discord:
    """A discord.py client wired to the tutor, fed raw payloads on its own event loop."""

    def __init__(self, tutor: Any, cooldown: tuple[int, float] = (100, 60.0)) -> None:
        self.tutor = tutor
        self.watched = Watched(tutor)
        self.loop = asyncio.new_event_loop()
        self.client = make_client(self.watched, cooldown=cooldown)
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

    def handled(self, count: int) -> None:
        """Let the bot work until the tutor has handled `count` messages or interactions."""

        async def until() -> None:
            async with asyncio.timeout(60), self.watched.changed:
                await self.watched.changed.wait_for(lambda: self.watched.handled >= count)

        self.run(until())

    def release_on_closing(self, held: Hold) -> None:
        """Let the bot work until its streamed answer is closing, then let `held` answer."""
        self.release_when(self.watched.closing, held)

    def release_when(self, event: asyncio.Event, held: Hold) -> None:
        """Let the bot work until `event` is set, then let `held` answer."""
        self.wait_for(event)
        held.release.set()

    def wait_for(self, event: asyncio.Event) -> None:
        """Let the bot work until `event` is set."""

        async def until() -> None:
            async with asyncio.timeout(60):
                await event.wait()

        self.run(until())

    def settle(self) -> None:
        """Let every event the client dispatched run to its end (for checks that something did
        NOT happen)."""

        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            async with asyncio.timeout(60):
                await asyncio.gather(*tasks)

        self.run(drain())

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


def final(session: RecordingSession, posted):
    """A streamed message as it ended: its last edit (the first piece is posted at once and
    the answer edited in), or the post itself when it went out whole."""
    edits = session.named("PATCH", rf"/messages/{posted.response['id']}$")
    return edits[-1] if edits else posted


# -- slash commands ------------------------------------------------------------------------------


def test_quiz_defers_then_follows_up_with_buttons_and_opens_a_thread(discord_bot):
    d = discord_bot
    d.interact(slash("quiz", {"topic": "post-norm"}))
    d.handled(1)
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
    d.handled(2)
    graded = d.session.named("POST", rf"^/channels/{thread}/messages$")[0]
    assert "Score:" in graded.payload["content"]


def test_ask_answers_privately_with_a_share_button_that_posts_to_the_channel(home, embedder):
    d = Discord(
        build(home, embedder, backend=Scripted("Scaling keeps the softmax sane [1]. @everyone"))
    )
    try:
        d.interact(slash("ask", {"question": "why divide attention scores by sqrt(d_k)?"}))
        d.handled(1)
        (first,) = followups(d.session)
        assert first.payload["flags"] & 64  # private, as on Slack: the registry says so
        answer = final(d.session, first)
        assert "Scaling keeps the softmax sane" in answer.payload["content"]
        assert answer.payload["allowed_mentions"] == {"parse": []}
        answer_id = values(answer)[0].split()[-1]
        assert values(answer) == [
            f"tutor:/feedback up {answer_id}",
            f"tutor:/feedback down {answer_id}",
            f"tutor:/share {answer_id}",
        ]
        share = values(answer)[2]
        # Someone else clicking cannot share it; the asker's click posts it to the channel.
        webhook = r"^/webhooks/\d+/[^/]+$"
        d.interact(click(share, message_id="700000000000000042", user_id="600000000000000002"))
        refused = d.run(d.session.until("POST", webhook, 2))[-1]
        assert "no longer be shared" in refused.payload["content"]
        assert refused.payload["flags"] & 64
        assert not d.session.named("POST", rf"^/channels/{CHANNEL_ID}/messages$")
        d.interact(click(share, message_id="700000000000000042"))
        done = d.run(d.session.until("POST", webhook, 3))[-1]
        assert "Shared" in done.payload["content"]
        (posted,) = d.session.named("POST", rf"^/channels/{CHANNEL_ID}/messages$")
        assert "<@600000000000000001> asked" in posted.payload["content"]
        assert "Scaling keeps the softmax sane" in posted.payload["content"]
        assert posted.payload["allowed_mentions"] == {"parse": []}
    finally:
        d.close()


def test_a_button_works_without_the_view_that_made_it_after_a_restart(discord_bot):
    d = discord_bot
    d.interact(slash("ask", {"question": "what is the KV cache?"}))
    d.handled(1)
    down = values(final(d.session, followups(d.session)[0]))[1]
    # A fresh client (a restart) still routes the click: the buttons are persistent.
    again = Discord(d.tutor)
    try:
        again.interact(click(down, message_id="700000000000009999"))
        again.handled(1)
        assert callbacks(again.session)[0].payload["type"] == 6  # deferred update
        assert "Thanks" in followups(again.session)[0].payload["content"]
        assert d.tutor.progress.answers.feedback(int(down.split()[-1])) == -1
    finally:
        again.close()


def test_run_without_code_opens_a_modal_whose_code_runs(discord_bot):
    d = discord_bot
    d.interact(slash("run"))
    d.settle()
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
    d.handled(1)
    assert "42" in followups(d.session)[0].payload["content"]


def test_the_run_box_speaks_chinese_to_a_client_set_to_chinese(discord_bot):
    d = discord_bot
    d.interact({**slash("run"), "locale": "zh-CN"})
    d.settle()
    modal = callbacks(d.session)[0].payload["data"]
    assert modal["title"] == "运行 Python"
    assert modal["components"][0]["components"][0]["label"] == "代码"


def test_slash_commands_are_described_in_english_and_in_chinese_for_chinese_clients(discord_bot):
    d = discord_bot
    d.run(d.client.setup_hook())  # what logging in runs: the translator is set, then the sync
    (sync,) = d.session.named("PUT", r"^/applications/\d+/commands$")
    commands = {command["name"]: command for command in sync.payload}
    assert set(commands) == {
        "ask", "quiz", "answer", "run", "stats", "leaderboard", "help", "settings"
    } | {"class", "bank", "gaps"} | {"remind", "daily", "interview"}  # fmt: skip
    for name, command in commands.items():
        assert command["description"] == layouts.slash_description("en", name)
        assert command["description_localizations"] == {
            "zh-CN": layouts.slash_description("zh", name)
        }
        assert len(command["description_localizations"]["zh-CN"]) <= 100
    topic = next(o for o in commands["quiz"]["options"] if o["name"] == "topic")
    assert (topic["description"], topic["description_localizations"]) == (
        "A topic, or its number",
        {"zh-CN": "主题名或编号"},
    )


def test_run_output_with_a_mention_pings_nobody_and_plots_are_attached(discord_bot):
    d = discord_bot
    code = (
        "```python\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "plt.plot([1, 2])\nplt.savefig('plot.png')\nprint('@everyone ' + '`' * 3)\n```"
    )
    d.interact(slash("run", {"code": code}))
    d.handled(1)
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
        d.handled(2)  # the third never reaches the tutor
        d.settle()
        refused = [c for c in callbacks(d.session) if c.payload["type"] == 4]
        assert len(refused) == 1
        assert refused[0].payload["data"]["flags"] & 64  # ephemeral
        assert "at most 2 a minute" in refused[0].payload["data"]["content"]
    finally:
        d.close()


def test_settings_need_manage_server(discord_bot):
    d = discord_bot
    d.interact(slash("settings", {"text": f"watch <#{CHANNEL_ID}>"}))
    d.handled(1)
    assert "Only admins" in followups(d.session)[0].payload["content"]
    manage_guild = str(1 << 5)
    d.interact(slash("settings", {"text": f"watch <#{CHANNEL_ID}>"}, permissions=manage_guild))
    d.handled(2)
    assert "Saved" in followups(d.session)[1].payload["content"]


# -- messages ------------------------------------------------------------------------------------


def test_a_mention_opens_a_thread_and_the_answer_goes_there(discord_bot):
    d = discord_bot
    d.message(channel_message(f"<@{BOT_ID}> what is the KV cache?", mentions=[BOT_ID]))
    d.handled(1)
    (thread,) = d.session.named("POST", r"/messages/\d+/threads$")
    assert thread.path.startswith(f"/channels/{CHANNEL_ID}/")
    (sent,) = d.session.named("POST", r"^/channels/\d+/messages$")
    assert sent.path == f"/channels/{thread.response['id']}/messages"  # in the new thread
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
    progress.places.set_place_settings("800000000000000001", {"watch": [CHANNEL_ID]})
    d.message(channel_message("what is the KV cache?"))
    d.handled(1)
    assert d.session.named("POST", r"^/channels/\d+/messages$")


def test_long_answers_are_split_under_2000_characters(discord_bot):
    d = discord_bot
    d.message(channel_message(f"<@{BOT_ID}> /quiz code en", mentions=[BOT_ID]))
    d.handled(1)
    d.message(channel_message(f"<@{BOT_ID}> /reveal", mentions=[BOT_ID]))
    d.handled(2)
    assert len(d.session.named("POST", r"^/channels/\d+/messages$")) >= 2
    for request in d.session.named("POST", r"^/channels/\d+/messages$"):
        assert len(request.payload["content"]) <= 2000


def test_split_keeps_code_blocks_closed():
    text = "intro\n```python\n" + "\n".join(f"x{n} = {n}" for n in range(600)) + "\n```\nend"
    pieces = split(text)
    assert len(pieces) > 1 and all(len(p) <= 2000 for p in pieces)
    assert all(p.count("```") % 2 == 0 for p in pieces)


def test_answers_stream_by_editing_as_the_core_paces(home, embedder, monkeypatch):
    # As on Slack: the pacing rule is tested on a fake clock (tests/bot/core/test_pacing.py);
    # with an interval longer than the answer, the first piece is posted at once and the
    # message is edited once more, with the whole answer, whatever the machine's speed.
    monkeypatch.setattr(pacing, "STREAM_INTERVAL", 3600.0)
    d = Discord(build(home, embedder, backend=Slow(CHUNKS, 0.0)))
    try:
        d.interact(slash("ask", {"question": "why divide attention scores by sqrt(d_k)?"}))
        d.handled(1)
        edits = d.session.named("PATCH", r"/messages/\d+$")
        assert len(followups(d.session)) == 1
        assert len(edits) == 1
        assert "word23" in edits[-1].payload["content"]
        assert values(edits[-1])[0].startswith("tutor:/feedback up")
    finally:
        d.close()


# -- a streamed answer that finishes while the bot's first post is on its way ---------------------


class Gated:
    """A model that writes its first words, waits for `gate`, then writes the rest."""

    name = "gated"

    def __init__(self, head: list[str], tail: list[str]) -> None:
        self.head = head
        self.tail = tail
        self.gate = asyncio.Event()

    async def stream(self, messages, *, max_new_tokens=512, cancel=None):
        for chunk in self.head:
            yield chunk
        await self.gate.wait()
        for chunk in self.tail:
            yield chunk


def shown(session: RecordingSession) -> dict[str, tuple[str, str]]:
    """The bot's channel messages as Discord shows them in the end: id -> (channel, content)."""
    messages: dict[str, tuple[str, str]] = {}
    for request in session.requests:
        match = re.fullmatch(r"/channels/(\d+)/messages(?:/(\d+))?", request.path)
        if match is None or "content" not in request.payload:
            continue
        channel, edited = match.groups()
        if request.method == "POST" and edited is None:
            messages[request.response["id"]] = (channel, request.payload["content"])
        elif request.method == "PATCH" and edited in messages:
            messages[edited] = (channel, request.payload["content"])
    return messages


@pytest.mark.parametrize(
    "slow",
    [r"/messages/\d+/threads$", r"^/channels/\d+/messages$"],
    ids=["thread-creation", "first-message"],
)
def test_an_answer_done_before_its_first_post_lands_edits_that_post_in_the_new_thread(
    home, embedder, slow
):
    model = Gated(["Scaling ", "keeps "], ["the softmax sane [1]. ", "@everyone"])
    d = Discord(build(home, embedder, backend=model))
    try:
        held = d.session.hold("POST", slow)
        # The model ends its answer only once the first post is on its way (and held there).
        model.gate = held.arrived
        d.message(
            channel_message(
                f"<@{BOT_ID}> why divide attention scores by sqrt(d_k)?", mentions=[BOT_ID]
            )
        )
        d.release_on_closing(held)
        d.handled(1)
        (opened,) = d.session.named("POST", r"/messages/\d+/threads$")
        thread = opened.response["id"]
        (message,) = shown(d.session).values()
        channel, content = message
        assert channel == thread
        assert "Scaling keeps the softmax sane" in content
        assert not content.endswith("▌")
        assert "[1]" not in content
        posts = d.session.named("POST", r"^/channels/\d+/messages$")
        edits = d.session.named("PATCH", r"^/channels/\d+/messages/\d+$")
        assert all(r.payload["allowed_mentions"] == {"parse": []} for r in posts + edits)
    finally:
        d.close()


# -- a follow-up in a thread whose first post is still on its way ---------------------------------


def test_a_follow_up_in_the_thread_before_the_first_post_there_returns_is_answered(discord_bot):
    d = discord_bot
    first_post = d.session.hold("POST", r"^/channels/\d+/messages$")
    d.message(channel_message(f"<@{BOT_ID}> what is the KV cache?", mentions=[BOT_ID]))
    d.wait_for(first_post.arrived)  # the thread is open; the tutor's first post there is held
    (opened,) = d.session.named("POST", r"/messages/\d+/threads$")
    thread = opened.response["id"]
    # The user sees the new thread and writes in it before the tutor's post there returns.
    d.gateway(
        "parse_thread_create", {**thread_payload(thread, CHANNEL_ID, "kv"), "newly_created": True}
    )
    d.message(channel_message("and why does it grow with the context?", channel_id=thread))
    d.release_when(d.watched.asked, first_post)
    d.settle()
    assert d.watched.handled == 2
    posts = d.session.named("POST", rf"^/channels/{thread}/messages$")
    assert len(posts) == 2, [p.payload.get("content") for p in posts]
