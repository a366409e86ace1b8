"""Slack's requests routed to the tutor core: events, slash commands (named from the core's
registry), button clicks and private answer boxes, each event handled once."""

from __future__ import annotations

import dataclasses
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
    Incoming,
    Place,
    is_bank_add,
    is_bank_file,
    is_source_file,
    reply_language,
)
from bot.texts import messages

if TYPE_CHECKING:
    from bot.core.tutor import Tutor

from bot.adapters.slack.outbox import SlackOutbox
from bot.adapters.slack.render import mrkdwn, plain

log = logging.getLogger("tutor.slack")
ADMIN_TTL = 600.0
_MENTION = re.compile(r"<@[A-Z0-9]+>\s*")
BOX_CALLBACK = "tutor_box"  # the modal of a button that opens a private answer box
# Slack's slash commands and which reply privately, from the core's registry (Slack keeps some
# names for itself: /remind is /tutor-remind here).
SLASH_COMMANDS = {c.slack_name: f"/{c.name}" for c in SLASH}
PRIVATE_COMMANDS = tuple(c.slack_name for c in SLASH if c.private)


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
            await respond(text=messages.say("en", "share.gone"), response_type="ephemeral")
            return
        question, answer = own
        text = messages.say(
            "en", "share.post", asker=f"<@{user}>", question=mrkdwn(question), answer=mrkdwn(answer)
        )
        await client.chat_postMessage(channel=channel, text=text[:3900], unfurl_links=False)
        await respond(
            text=messages.say("en", "share.done"), response_type="ephemeral", replace_original=True
        )

    async def on_error(self, error: Exception, body: dict[str, Any], logger: Any) -> None:
        incident = uuid.uuid4().hex[:8]
        log.error("incident %s in a Slack handler", incident, exc_info=error)
        channel = (body.get("event") or {}).get("channel") or body.get("channel_id")
        user = (body.get("event") or {}).get("user") or body.get("user_id")
        if channel and user:
            try:
                await self.app.client.chat_postEphemeral(
                    channel=channel,
                    user=user,
                    text=messages.say("en", "failure", incident=incident),
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
            "submit": {"type": "plain_text", "text": messages.say(lang, "box.submit")},
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
        await client.views_open(trigger_id=body["trigger_id"], view=view)

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
