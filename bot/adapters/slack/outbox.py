"""Sending to Slack: the outbox the core replies through (threaded posts, private replies,
files), and an answer streamed as it is written (Slack's chat streaming, or one `chat.update` a
second where that is refused). Rate-limited calls are retried by the Web API client alone
(bot/adapters/slack/limits.py); a streamed edit refused even so is skipped, its text kept for
the next."""

from __future__ import annotations

import logging
from typing import Any

from bot.adapters.slack.render import blocks, mrkdwn
from bot.core.conversation import (
    Attachment,
    Button,
    OnPosted,
    Reply,
    Sent,
)
from bot.core.pacing import PacedStream
from bot.texts import messages

log = logging.getLogger("tutor.slack")


def error_code(exc: Exception) -> str:
    """The `error` field of a Slack API failure."""
    response = getattr(exc, "response", None)
    try:
        return str(response.get("error", "")) if response is not None else ""
    except AttributeError:
        return ""


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
        response = await self.client.chat_postMessage(
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
            await self.client.chat_postEphemeral(
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
            opened = await self.client.conversations_open(users=self.user)
            await self.client.files_upload_v2(
                channel=opened["channel"]["id"],
                file_uploads=[{"content": f.content, "filename": f.name} for f in files],
            )

    async def _upload(self, files: tuple[Attachment, ...]) -> None:
        if files:
            await self.client.files_upload_v2(
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
            share = (Button(messages.say("en", "share.button"), f"/share {answer_id}", "primary"),)
        sent = await self.box.send(reply, share)
        if self.on_posted is not None:
            self.on_posted(sent)
        return sent


class SlackStream(PacedStream):
    """An answer shown as it is written, paced by the core's one rule (bot/core/pacing.py); a
    push in flight is never cancelled (it could leave a started stream unrecorded)."""

    def __init__(
        self,
        box: SlackOutbox,
        interval: float | None = None,  # None: the core's STREAM_INTERVAL
        on_posted: OnPosted | None = None,
    ) -> None:
        super().__init__(interval)
        self.box = box
        self.on_posted = on_posted
        self.streamer: Any = None
        self.ts = ""
        self.mode = "stream"  # stream | update

    async def _push(self) -> None:
        from slack_sdk.errors import SlackApiError

        text = self.text
        try:
            if self.mode == "stream":
                await self._append(text)
            else:
                await self._update(text, None)
            self.shown = text
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
                if code != "ratelimited":
                    # Nothing of the text was shown: it goes out now, not an interval later.
                    await self._push()
                    return
            elif code != "ratelimited":
                raise
            if code == "ratelimited":
                self.pacer.slowed()

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
            response = await box.client.chat_postMessage(
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
            await box.client.chat_update(channel=box.channel, ts=self.ts, text=body, blocks=layout)

    async def close(self, reply: Reply) -> Sent:
        try:
            await self._stop()
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
