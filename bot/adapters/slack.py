"""The Slack adapter (slack-bolt, async): Slack's events, slash commands and button clicks in,
the tutor core's replies out as threaded messages with Block Kit buttons, streamed answers and
uploaded files. It holds no tutoring logic.

Answers stream with Bolt's `say_stream` (Slack's `chat.startStream` / `appendStream` /
`stopStream`) and fall back to `chat.postMessage` plus `chat.update` where streaming is refused;
either way at most about once a second, never per token. Slack answers rate limits with
`"ok": false, "error": "ratelimited"` (and sometimes HTTP 429): the stream backs off and keeps
the text it has not delivered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import logging
import re
import time
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any

from bot.core.commands import SLASH, command_of
from bot.core.conversation import (
    MAX_BANK_FILES,
    MAX_SOURCE_BYTES,
    MAX_SOURCE_FILES,
    Attachment,
    Button,
    Incoming,
    OnPosted,
    Place,
    Reply,
    Sent,
    is_bank_add,
    is_bank_file,
    is_source_file,
    reply_language,
)
from bot.texts import messages

if TYPE_CHECKING:
    from bot.core.tutor import Tutor

log = logging.getLogger("tutor.slack")
SECTION_CHARS = 2900  # a section block holds at most 3000 characters
STREAM_INTERVAL = 1.0
ADMIN_TTL = 600.0
# Slack's slash commands and which reply privately, from the core's registry (Slack keeps some
# names for itself: /remind is /tutor-remind here).
SLASH_COMMANDS = {c.slack_name: f"/{c.name}" for c in SLASH}
PRIVATE_COMMANDS = tuple(c.slack_name for c in SLASH if c.private)
MAX_BODY = 2**20  # Slack's requests take a few KiB
SIGNATURE_AGE = 300  # seconds, as Slack asks
_MENTION = re.compile(r"<@[A-Z0-9]+>\s*")
BOX_CALLBACK = "tutor_box"  # the modal of a button that opens a private answer box


def mrkdwn(text: str) -> str:
    """The core's Markdown as Slack mrkdwn, with &, < and > escaped (no accidental mentions)."""
    parts = re.split(r"(```.*?```|`[^`\n]*`)", text, flags=re.DOTALL)
    out = []
    for n, part in enumerate(parts):
        part = part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if n % 2 == 0:
            part = re.sub(r"\*\*(.+?)\*\*", r"*\1*", part)
            part = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"<\2|\1>", part)
            # Channel references the core writes (settings) stay links.
            part = re.sub(r"&lt;#([A-Z0-9]+)&gt;", r"<#\1>", part)
        out.append(part)
    return "".join(out)


def plain(text: str) -> str:
    """Slack's message text as the user typed it: links and channel names back to plain text,
    &, < and > unescaped (user mentions stay as Slack writes them)."""
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2", text)
    text = re.sub(r"<(https?://[^>]+)>", r"\1", text)
    text = re.sub(r"<(mailto:[^|>]+)\|([^>]+)>", r"\2", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks(reply: Reply, extra: tuple[Button, ...] = ()) -> list[dict[str, Any]]:
    """Block Kit for a reply: its text in sections, its buttons in an actions block."""
    text = mrkdwn(reply.text) or " "
    sections: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[i : i + SECTION_CHARS]}}
        for i in range(0, len(text), SECTION_CHARS)
    ][:45]
    buttons = [*reply.buttons, *extra]
    if buttons:
        elements = []
        for n, button in enumerate(buttons):
            element: dict[str, Any] = {
                "type": "button",
                "text": {"type": "plain_text", "text": button.label[:75]},
                "action_id": f"tutor_{n}",
                "value": button.command[:2000],
            }
            if button.box:  # opens a private box first (a modal): see SlackBot.on_box_button
                element["action_id"] = f"tutor_box_{n}"
                element["value"] = json.dumps({"command": button.command, "box": button.box})
            if button.style in ("primary", "danger"):
                element["style"] = button.style
            elements.append(element)
        sections.append({"type": "actions", "elements": elements[:25]})
    return sections


def error_code(exc: Exception) -> str:
    """The `error` field of a Slack API failure."""
    response = getattr(exc, "response", None)
    try:
        return str(response.get("error", "")) if response is not None else ""
    except AttributeError:
        return ""


async def call(method: Any, attempts: int = 4, **kwargs: Any) -> Any:
    """Call a Web API method; on "ratelimited" back off (Retry-After when given) and retry."""
    from slack_sdk.errors import SlackApiError

    for attempt in range(attempts):
        try:
            return await method(**kwargs)
        except SlackApiError as exc:
            if error_code(exc) != "ratelimited" or attempt == attempts - 1:
                raise
            headers = getattr(exc.response, "headers", {}) or {}
            retry = headers.get("Retry-After") or headers.get("retry-after")
            await asyncio.sleep(min(float(retry) if retry else 0.5 * 2**attempt, 30.0))
    raise AssertionError("unreachable")


class SlackOutbox:
    """Replies to one Slack message, command or click: in its thread, or privately."""

    def __init__(
        self,
        client: Any,
        *,
        channel: str,
        user: str,
        team: str,
        thread: str = "",
        respond: Any = None,
        private: bool = False,
        say_stream: Any = None,
    ) -> None:
        self.client = client
        self.say_stream = say_stream
        self.channel = channel
        self.user = user
        self.team = team
        self.thread = thread
        self.respond = respond
        self.private = private

    async def send(self, reply: Reply, extra: tuple[Button, ...] = ()) -> Sent:
        if self.private or reply.private:
            await self._send_private(reply, extra)
            return Sent(self.thread)
        if not self.thread and reply.thread:
            self.thread = reply.thread  # e.g. /answer's grade goes to the quiz's thread
        response = await call(
            self.client.chat_postMessage,
            channel=self.channel,
            thread_ts=self.thread or None,
            text=mrkdwn(reply.text)[:3900],
            blocks=blocks(reply, extra),
            unfurl_links=False,
            unfurl_media=False,
        )
        if not self.thread:
            self.thread = response["ts"]
        await self._upload(reply.files)
        return Sent(self.thread)

    async def _send_private(self, reply: Reply, extra: tuple[Button, ...]) -> None:
        text = mrkdwn(reply.text)[:3900]
        if self.respond is not None:
            await self.respond(text=text, blocks=blocks(reply, extra), response_type="ephemeral")
        else:
            await call(
                self.client.chat_postEphemeral,
                channel=self.channel,
                user=self.user,
                thread_ts=self.thread or None,
                text=text,
                blocks=blocks(reply, extra),
            )
        await self._upload_privately(reply.files)

    async def _upload_privately(self, files: tuple[Attachment, ...]) -> None:
        """A private reply's files (a progress chart): Slack has no private files in a channel,
        so they go to the user's direct messages with the tutor."""
        if files:
            opened = await call(self.client.conversations_open, users=self.user)
            await call(
                self.client.files_upload_v2,
                channel=opened["channel"]["id"],
                file_uploads=[{"content": f.content, "filename": f.name} for f in files],
            )

    async def _upload(self, files: tuple[Attachment, ...]) -> None:
        if files:
            await call(
                self.client.files_upload_v2,
                channel=self.channel,
                thread_ts=self.thread or None,
                file_uploads=[{"content": f.content, "filename": f.name} for f in files],
            )

    def stream(self, on_posted: OnPosted | None = None) -> Any:
        if self.private:
            return _Collected(self, on_posted)
        return SlackStream(self, on_posted=on_posted)


class _Collected:
    """A private reply cannot be edited in place: it is sent once, when complete."""

    def __init__(self, box: SlackOutbox, on_posted: OnPosted | None = None) -> None:
        self.box = box
        self.on_posted = on_posted

    def write(self, text: str) -> None:
        """Nothing is shown until the reply is complete."""

    async def close(self, reply: Reply) -> Sent:
        share: tuple[Button, ...] = ()
        if reply.kind == "answer" and reply.buttons:
            answer_id = reply.buttons[0].command.split()[-1]
            share = (Button(messages.share_button("en"), f"/share {answer_id}", "primary"),)
        sent = await self.box.send(reply, share)
        if self.on_posted is not None:
            self.on_posted(sent)
        return sent


class SlackStream:
    """An answer shown as it is written, updated at most once per STREAM_INTERVAL."""

    def __init__(
        self,
        box: SlackOutbox,
        interval: float = STREAM_INTERVAL,
        on_posted: OnPosted | None = None,
    ) -> None:
        self.box = box
        self.interval = interval
        self.on_posted = on_posted
        self.text = ""
        self.shown = ""
        self.streamer: Any = None
        self.ts = ""
        self.mode = "stream"  # stream | update
        self.next_at = 0.0
        self.task: asyncio.Task | None = None
        self.closing = asyncio.Event()

    def write(self, text: str) -> None:
        self.text += text
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        # A push in flight is never cancelled (it could leave a started stream unrecorded):
        # closing waits for it, then the loop ends.
        while not self.closing.is_set():
            delay = max(0.0, self.next_at - time.monotonic())
            try:
                await asyncio.wait_for(self.closing.wait(), timeout=delay)
                return
            except TimeoutError:
                pass
            if self.text != self.shown:
                await self._push()
            self.next_at = max(self.next_at, time.monotonic() + self.interval)

    async def _push(self) -> None:
        from slack_sdk.errors import SlackApiError

        text = self.text
        try:
            if self.mode == "stream":
                await self._append(text)
            else:
                await self._update(text, None)
            self.shown = text
            self.next_at = time.monotonic() + self.interval
            self._posted()
        except SlackApiError as exc:
            code = error_code(exc)
            if self.mode == "stream":
                # The streaming helper may hold text it did not deliver; from here on the whole
                # text goes with chat.update, which cannot duplicate or lose any of it.
                log.info("chat streaming failed (%s): falling back to chat.update", code)
                self.mode = "update"
                if self.streamer is not None and self.streamer.ts:
                    self.ts = self.streamer.ts
                else:
                    self.streamer = None
            elif code != "ratelimited":
                raise
            if code == "ratelimited":
                self.next_at = time.monotonic() + 4 * self.interval

    def _posted(self) -> None:
        """Tell the core where the answer landed as soon as its first post returned: a
        follow-up in the thread must not wait for the answer's last edit."""
        if self.on_posted is not None and self.ts and self.box.thread:
            on_posted, self.on_posted = self.on_posted, None
            on_posted(Sent(self.box.thread))

    async def _append(self, text: str) -> None:
        box = self.box
        if self.streamer is None:
            if not box.thread:
                raise _NoThread()
            # Bolt's say_stream knows the event's channel, thread and recipient; our own
            # pacing decides when to send, so the helper's buffer flushes on every append.
            self.streamer = (
                await box.say_stream(buffer_size=1, thread_ts=box.thread)
                if box.say_stream is not None
                else await box.client.chat_stream(
                    channel=box.channel,
                    thread_ts=box.thread,
                    recipient_team_id=box.team or None,
                    recipient_user_id=box.user or None,
                    buffer_size=1,
                )
            )
        await self.streamer.append(markdown_text=mrkdwn(text[len(self.shown) :]))
        self.ts = self.streamer.ts or self.ts

    async def _update(self, text: str, reply: Reply | None) -> None:
        box = self.box
        body = mrkdwn(text)[:3900] or "…"
        layout = blocks(reply) if reply else blocks(Reply(text or "…"))
        if not self.ts:
            response = await call(
                box.client.chat_postMessage,
                channel=box.channel,
                thread_ts=box.thread or None,
                text=body,
                blocks=layout,
                unfurl_links=False,
            )
            self.ts = response["ts"]
            if not box.thread:
                box.thread = self.ts
        else:
            await call(
                box.client.chat_update, channel=box.channel, ts=self.ts, text=body, blocks=layout
            )

    async def close(self, reply: Reply) -> Sent:
        self.closing.set()
        if self.task is not None:
            try:
                await self.task
            except _NoThread:
                pass
            except Exception:
                log.exception("streaming an answer to Slack failed; sending it whole")
        if self.streamer is not None:
            self.ts = self.ts or self.streamer.ts or ""
            if self.streamer.ts:
                try:
                    await self.streamer.stop()
                except Exception as exc:
                    log.info("chat.stopStream failed (%s)", error_code(exc) or exc)
        if self.ts:
            await self._update(reply.text, reply)
            await self.box._upload(reply.files)
            return Sent(self.box.thread)
        return await self.box.send(reply)


class _NoThread(Exception):
    """Streaming needs a thread to reply in; a top-level reply is sent whole instead."""


class SlackBot:
    """Routes Slack's requests to the tutor core."""

    def __init__(self, tutor: Tutor, app: Any) -> None:
        self.tutor = tutor
        self.app = app
        self.bot_user = ""
        self._once = tutor.handled_once("slack")
        self._admins: dict[str, tuple[bool, float]] = {}
        self._zones: dict[str, str] = {}  # each user's timezone, from users.info
        self._register()

    # -- wiring Bolt's listeners -------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        for name in SLASH_COMMANDS:
            app.command(name)(self.on_command)
        app.action(re.compile(r"^tutor_\d+$"))(self.on_button)
        app.action(re.compile(r"^tutor_box_\d+$"))(self.on_box_button)
        app.view(BOX_CALLBACK)(self.on_box_submit)
        app.error(self.on_error)

    async def first_time(self, body: dict[str, Any]) -> bool:
        """Slack retries an event it thinks was missed (same event_id, X-Slack-Retry-Num): each
        event is handled once, across restarts too (the core's `HandledOnce`). This only checks;
        `handled` records it once the reply is out, so an event whose handling a crash cut short
        is handled again when Slack retries it (its effects are idempotent: a quiz counts one
        answer)."""
        event_id = body.get("event_id") or ""
        return await self._once.fresh(event_id) if event_id else True

    async def handled(self, body: dict[str, Any]) -> None:
        """Record an event as answered, for retries that reach a later process."""
        event_id = body.get("event_id") or ""
        if event_id:
            await self._once.done(event_id)

    async def is_admin(self, client: Any, user: str) -> bool:
        """Whether a user is a workspace admin or owner (asked again after ADMIN_TTL)."""
        known = self._admins.get(user)
        if known is None or time.monotonic() - known[1] > ADMIN_TTL:
            try:
                info = await client.users_info(user=user)
                member = info["user"]
                admin = bool(member.get("is_admin") or member.get("is_owner"))
                self._zones[user] = str(member.get("tz") or "")
            except Exception as exc:
                log.info("users.info failed (%s): treating the user as not an admin", exc)
                return False
            known = self._admins[user] = (admin, time.monotonic())
        return known[0]

    async def _incoming(
        self, client: Any, user: str, team: str, channel: str, thread: str, text: str
    ) -> Incoming:
        # users.info only for the commands the registry says need it.
        command = command_of(text)
        admin = command is not None and command.admin and await self.is_admin(client, user)
        tz = ""
        if command is not None and command.timezone:
            await self.is_admin(client, user)  # reads the profile, timezone included
            tz = self._zones.get(user, "")
        return Incoming(user, Place("slack", team, channel, thread), text, admin=admin, tz=tz)

    # -- events ------------------------------------------------------------------------------

    async def on_mention(
        self, body: dict[str, Any], event: dict[str, Any], client: Any, say_stream: Any = None
    ) -> None:
        if not await self.first_time(body):
            return
        text = plain(_MENTION.sub("", event.get("text", "")).strip())
        try:
            await self._message(client, body, event, text, say_stream)
        finally:
            await self.handled(body)

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], client: Any, say_stream: Any = None
    ) -> None:
        # Edits, joins and bots' own messages are not for the tutor; a message with a file is.
        if event.get("subtype") not in (None, "file_share") or event.get("bot_id"):
            return
        text = event.get("text", "")
        direct = event.get("channel_type") == "im"
        if not direct and self.bot_user and f"<@{self.bot_user}>" in text:
            return  # app_mention answers it
        text = plain(_MENTION.sub("", text).strip() if direct else text)
        team = body.get("team_id", "")
        place = Place("slack", team, event.get("channel", ""), event.get("thread_ts", ""))
        # Not `follows`: Slack can deliver a reply in a new thread before the answer to the post
        # that starts it, and only the core knows which of its posts are still in flight.
        # A reply under the tutor's own post is for it even when a crash kept the thread from
        # being recorded (Slack names the thread's first author in `parent_user_id`).
        under = bool(place.thread) and self._by_tutor(event)
        followed = bool(place.thread) and (await self.tutor.following(place) or under)
        watched = not place.thread and self.tutor.watched(place)
        # Only messages for the tutor are recorded as handled (not every message it can see).
        if (direct or followed or watched) and await self.first_time(body):
            try:
                await self._message(client, body, event, text, say_stream)
            finally:
                await self.handled(body)

    def _by_tutor(self, event: dict[str, Any]) -> bool:
        """Whether a message's thread was started by the tutor's own post."""
        return bool(self.bot_user) and event.get("parent_user_id") == self.bot_user

    async def _message(
        self,
        client: Any,
        body: dict[str, Any],
        event: dict[str, Any],
        text: str,
        say_stream: Any = None,
    ) -> None:
        team = body.get("team_id", "")
        user = event.get("user", "")
        channel = event.get("channel", "")
        thread = event.get("thread_ts", "")
        out = SlackOutbox(
            client,
            channel=channel,
            user=user,
            team=team,
            thread=thread or event.get("ts", ""),
            say_stream=say_stream,
        )
        message = await self._incoming(client, user, team, channel, thread, text)
        if thread and self._by_tutor(event):
            message = dataclasses.replace(message, under_tutor=True)
        files = await self._files(client, event.get("files") or [], text)
        if files:
            message = dataclasses.replace(message, attachments=files)
        await self.tutor.handle(message, out)

    async def _files(
        self, client: Any, files: list[dict[str, Any]], text: str = ""
    ) -> tuple[Attachment, ...]:
        """Small source files shared with a message (a .py to run or to answer a coding quiz),
        or with /bank add every file by name and the bank documents within the ingest's limit.
        The bot token goes only to Slack's own file host (or the configured API host)."""
        import aiohttp

        allowed = {"files.slack.com", urllib.parse.urlparse(client.base_url).hostname}
        found = []
        bank = is_bank_add(text)
        limit = self.tutor.limits.max_bank_bytes if bank else MAX_SOURCE_BYTES
        # A bank document's declared size may be wrong: one byte over lets the ingest refuse it.
        cap = limit + 1 if bank else MAX_SOURCE_BYTES
        for item in files[: MAX_BANK_FILES if bank else MAX_SOURCE_FILES]:
            name, url = item.get("name", ""), item.get("url_private_download", "")
            size = int(item.get("size") or 0)
            if bank and not is_bank_file(name, size, limit):
                found.append(Attachment(name, b"", fetched=False))  # refused by name
                continue
            if not bank and not is_source_file(name, size):
                continue
            if urllib.parse.urlparse(url).hostname not in allowed:
                continue
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(url, headers={"Authorization": f"Bearer {client.token}"}) as got,
                ):
                    if got.status == 200:
                        found.append(Attachment(name, (await got.read())[:cap]))
            except aiohttp.ClientError as exc:
                log.info("could not fetch a shared file (%s)", exc)
        return tuple(found)

    # -- slash commands and buttons ----------------------------------------------------------

    async def on_command(
        self, ack: Any, command: dict[str, Any], client: Any, respond: Any
    ) -> None:
        # Slack waits 3 seconds for the acknowledgement; the work goes on after it.
        await ack()
        name = command.get("command", "")
        text = f"{SLASH_COMMANDS.get(name, name)} {plain(command.get('text', ''))}".strip()
        user, team, channel = command["user_id"], command.get("team_id", ""), command["channel_id"]
        out = SlackOutbox(
            client,
            channel=channel,
            user=user,
            team=team,
            respond=respond,
            private=name in PRIVATE_COMMANDS,
        )
        message = await self._incoming(client, user, team, channel, "", text)
        await self.tutor.handle(message, out)

    async def on_button(self, ack: Any, body: dict[str, Any], client: Any, respond: Any) -> None:
        await ack()
        action = body["actions"][0]
        value = action.get("value", "")
        user = body["user"]["id"]
        team = (body.get("team") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id", "")
        message = body.get("message") or {}
        thread = message.get("thread_ts") or message.get("ts", "")
        if value.startswith("/share "):
            await self._share(client, respond, user, channel, value.split()[-1])
            return
        out = SlackOutbox(client, channel=channel, user=user, team=team, thread=thread)
        incoming = await self._incoming(client, user, team, channel, thread, value)
        await self.tutor.handle(incoming, out)

    async def _share(
        self, client: Any, respond: Any, user: str, channel: str, answer_id: str
    ) -> None:
        own = await self.tutor.own_answer(answer_id, f"slack:{user}")
        if own is None:
            await respond(text=messages.share_gone("en"), response_type="ephemeral")
            return
        question, answer = own
        text = messages.shared_answer("en", f"<@{user}>", mrkdwn(question), mrkdwn(answer))
        await call(client.chat_postMessage, channel=channel, text=text[:3900], unfurl_links=False)
        await respond(text=messages.shared("en"), response_type="ephemeral", replace_original=True)

    async def on_error(self, error: Exception, body: dict[str, Any], logger: Any) -> None:
        incident = uuid.uuid4().hex[:8]
        log.error("incident %s in a Slack handler", incident, exc_info=error)
        channel = (body.get("event") or {}).get("channel") or body.get("channel_id")
        user = (body.get("event") or {}).get("user") or body.get("user_id")
        if channel and user:
            try:
                await self.app.client.chat_postEphemeral(
                    channel=channel, user=user, text=messages.failure("en", incident)
                )
            except Exception:
                log.info("could not tell the user about incident %s", incident)

    # -- the study loop: private answer boxes ------------------------------------------------

    async def on_box_button(self, ack: Any, body: dict[str, Any], client: Any) -> None:
        """A button that opens a private answer box: a modal, opened with the click's trigger_id;
        its text comes back as a view_submission (`on_box_submit`)."""
        await ack()
        action = body["actions"][0]
        try:
            wanted = json.loads(action.get("value", ""))
            command, box = str(wanted["command"]), str(wanted["box"])
        except (ValueError, KeyError, TypeError):
            log.info("a box button with an unreadable value")
            return
        lang = reply_language(box)
        label = (action.get("text") or {}).get("text") or box
        channel = (body.get("channel") or {}).get("id", "")
        view = {
            "type": "modal",
            "callback_id": BOX_CALLBACK,
            "title": {"type": "plain_text", "text": label[:24]},
            "submit": {"type": "plain_text", "text": messages.box_submit(lang)},
            "private_metadata": json.dumps({"command": command, "channel": channel}),
            "blocks": [
                {
                    "type": "input",
                    "block_id": "answer",
                    "label": {"type": "plain_text", "text": box[:2000]},
                    "element": {
                        "type": "plain_text_input",
                        "action_id": "text",
                        "multiline": True,
                        "max_length": 3000,
                    },
                }
            ],
        }
        await call(client.views_open, trigger_id=body["trigger_id"], view=view)

    async def on_box_submit(
        self, ack: Any, body: dict[str, Any], view: dict[str, Any], client: Any
    ) -> None:
        """The text of a private answer box, sent as the box's command; the reply is private."""
        await ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        value = (((view.get("state") or {}).get("values") or {}).get("answer") or {}).get(
            "text"
        ) or {}
        text = plain(str(value.get("value") or ""))
        user = body["user"]["id"]
        team = (body.get("team") or {}).get("id", "") or body["user"].get("team_id", "")
        channel = str(meta.get("channel", ""))
        out = SlackOutbox(client, channel=channel, user=user, team=team, private=True)
        incoming = await self._incoming(
            client, user, team, channel, "", f"{meta.get('command', '')} {text}"
        )
        await self.tutor.handle(incoming, out)


# -- the study loop: messages nobody asked for ----------------------------------------------------


class SlackCourier:
    """Reminders by direct message (conversations.open, chat.postMessage) and daily questions
    in channels, through the Web API."""

    platform = "slack"

    def __init__(self, client: Any) -> None:
        self.client = client

    async def direct(self, user_key: str, reply: Reply) -> Sent:
        user = user_key.split(":", 1)[-1]
        opened = await call(self.client.conversations_open, users=user)
        channel = opened["channel"]["id"]
        return await SlackOutbox(self.client, channel=channel, user=user, team="").send(reply)

    async def post(self, place: Place, reply: Reply) -> Sent:
        box = SlackOutbox(self.client, channel=place.channel, user="", team=place.workspace)
        return await box.send(reply)

    async def reachable(self, place: Place) -> bool:
        """Whether the bot is a member of the channel (it cannot post elsewhere)."""
        from slack_sdk.errors import SlackApiError

        try:
            info = await call(self.client.conversations_info, channel=place.channel)
        except SlackApiError as exc:
            log.info("conversations.info on %s failed (%s)", place.channel, error_code(exc))
            return False
        channel = info.get("channel") or {}
        return bool(channel.get("is_member") or channel.get("is_im"))


def build_app(
    tutor: Tutor, *, token: str, signing_secret: str, api_url: str
) -> tuple[Any, SlackBot]:
    """The Bolt app and its router; the Web API at `api_url` (Slack's, a proxy, or a test's)."""
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=token, base_url=api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret,
        # Socket Mode has no signatures to check; HTTP mode always checks them.
        request_verification_enabled=bool(signing_secret),
        logger=logging.getLogger("tutor.slack.bolt"),
    )
    return app, SlackBot(tutor, app)


def signed(secret: str, raw: bytes, headers: Any, now: float | None = None) -> bool:
    """Whether a request bears Slack's signature over its body's bytes as received, made within
    SIGNATURE_AGE seconds (an older one is a replay)."""
    stamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not re.fullmatch(r"[0-9]{1,12}", stamp) or not signature.isascii():
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > SIGNATURE_AGE:
        return False
    # slack_sdk's SignatureVerifier computes this HMAC over the body decoded as UTF-8 and
    # raises on bytes that are not: the same HMAC over the bytes refuses them quietly.
    base = b"v0:" + stamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def slack_body(raw: bytes, content_type: str) -> str | None:
    """The body as text when it has a shape Slack sends (a JSON object for events; a form with a
    `payload` JSON object for interactions or a `command` for slash commands), else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if content_type == "application/json":
        return text if _json_object(text) else None
    # Bolt reads any body that starts with "{" as JSON.
    if content_type != "application/x-www-form-urlencoded" or text.startswith("{"):
        return None
    form = urllib.parse.parse_qs(text, keep_blank_values=True)
    if "payload" in form:
        return text if len(form["payload"]) == 1 and _json_object(form["payload"][0]) else None
    return text if form.get("command") or form.get("ssl_check") == ["1"] else None


def _read_as_a_form(bolt_request: Any, text: str) -> None:
    """Bolt reads any form body holding the word "payload" as an interaction's payload, so a
    slash command asking about one ("/ask what is the payload of …") would reach no listener:
    a form with no `payload` field is given to Bolt as the fields it holds. Bolt's signature
    check still reads the raw body, which is left as received."""
    if "payload" not in text:
        return
    fields = dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
    if "payload" in fields:
        return
    from slack_bolt.context.async_context import AsyncBoltContext
    from slack_bolt.request.async_internals import build_async_context

    bolt_request.body = fields
    bolt_request.context = build_async_context(AsyncBoltContext({}), fields)


def _json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:  # JSONDecodeError, and numbers too long to convert
        return False


async def start_http(app: Any, host: str, port: int, path: str = "/slack/events") -> Any:
    """Serve Slack's requests at `path` (aiohttp); the runner, whose `cleanup()` stops it.

    Whatever comes in is checked before Bolt parses it: a body over MAX_BODY gets 413, a
    missing, bad or stale signature 401, a body Slack would not send 400, each with one log
    line and nothing of the body; another method gets 405, another path 404."""
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response
    from slack_bolt.request.async_request import AsyncBoltRequest

    secret = app._signing_secret  # Bolt keeps it for its own check, which stays on
    if not secret:
        raise ValueError("serving Slack over HTTP needs the app's signing secret")

    async def handle(request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_BODY:
            return refuse(413, "a body over %d bytes", MAX_BODY)
        try:
            raw = await request.read()  # stops past client_max_size
        except web.HTTPRequestEntityTooLarge:
            return refuse(413, "a body over %d bytes", MAX_BODY)
        if not signed(secret, raw, request.headers):
            return refuse(401, "no valid signature (missing, wrong or stale)")
        text = slack_body(raw, request.content_type)
        if text is None:
            return refuse(400, "a signed body Slack does not send (%.60r)", request.content_type)
        bolt_request = AsyncBoltRequest(
            body=text, query=request.query_string, headers=dict(request.headers)
        )
        if request.content_type == "application/x-www-form-urlencoded":
            _read_as_a_form(bolt_request, text)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    def refuse(status: int, why: str, *args: Any) -> web.Response:
        log.info("refused a request to %s with %d: " + why, path, status, *args)
        return web.Response(status=status)

    web_app = web.Application(client_max_size=MAX_BODY)
    web_app.add_routes([web.post(path, handle)])
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner
