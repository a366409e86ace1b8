"""Replies to Discord: in a message's channel or thread, as an interaction's follow-ups, and
an answer streamed by editing one message, paced by the core's one rule."""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot.adapters.discord.render import (
    LIMIT,
    NO_MENTIONS,
    PRIVATE_SECONDS,
    files_of,
    lang_of,
    shareable,
    split,
    view_of,
)
from bot.core.conversation import (
    OnPosted,
    Reply,
    Sent,
)
from bot.core.pacing import PacedStream
from bot.texts import messages

log = logging.getLogger("tutor.discord")


class ChannelOutbox:
    """Replies to a message: in its channel or thread (opening a thread for a new question)."""

    def __init__(
        self, message: discord.Message, *, open_thread: bool, thread_name: str = "tutor"
    ) -> None:
        self.message = message
        self.target: Any = message.channel
        self.open_thread = open_thread
        self.thread_name = thread_name
        self.thread = ""

    async def _where(self) -> Any:
        if self.open_thread:
            self.open_thread = False
            try:
                thread = await self.message.create_thread(name=self.thread_name[:90] or "tutor")
                self.target = thread
                self.thread = str(thread.id)
            except (discord.HTTPException, ValueError) as exc:
                log.info("could not open a thread (%s): replying in the channel", exc)
        return self.target

    async def send(self, reply: Reply) -> Sent:
        target = await self._where()
        pieces = split(reply.text)
        for n, piece in enumerate(pieces):
            kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
            if reply.private:
                # A channel has no private messages: this one goes away after a while.
                kwargs["delete_after"] = PRIVATE_SECONDS
            if n == len(pieces) - 1:
                view = view_of(reply.buttons)
                if view is not None:
                    kwargs["view"] = view
                if reply.files:
                    kwargs["files"] = files_of(reply.files)
            await target.send(piece, **kwargs)
        return Sent(self.thread)

    def stream(self, on_posted: OnPosted | None = None) -> EditingStream:
        return EditingStream(self, on_posted)

    async def first(self, text: str) -> Any:
        target = await self._where()
        return await target.send(text[:LIMIT], allowed_mentions=NO_MENTIONS)


class InteractionOutbox:
    """Replies to a slash command or a button: follow-ups after a deferral."""

    def __init__(self, interaction: discord.Interaction, *, private: bool = False) -> None:
        self.interaction = interaction
        self.private = private
        self.thread = ""

    async def send(self, reply: Reply) -> Sent:
        private = self.private or reply.private
        if self.private:
            reply = shareable(reply)
        # mock interviews: in a private thread where the server allows one
        interview = reply.kind == "interview" and not private and not self.thread
        if interview and await self._private_thread(reply):
            return Sent(self.thread)
        pieces = split(reply.text)
        message = None
        for n, piece in enumerate(pieces):
            final = n == len(pieces) - 1
            kwargs: dict[str, Any] = {
                "allowed_mentions": NO_MENTIONS,
                "ephemeral": private,
                "wait": True,
            }
            if final:
                view = view_of(reply.buttons)
                if view is not None:
                    kwargs["view"] = view
                if reply.files:
                    kwargs["files"] = files_of(reply.files)
            message = await self.interaction.followup.send(piece, **kwargs)
        opens = reply.kind in ("quiz", "interview")  # an interview: when no private thread
        if opens and not private and message is not None and not self.thread:
            await self._thread_for(message, reply)
        return Sent(self.thread)

    async def _thread_for(self, message: Any, reply: Reply) -> None:
        """A quiz asked in a server channel gets a thread for its answers."""
        channel = self.interaction.channel
        if isinstance(channel, discord.TextChannel):
            try:
                title = reply.text.split("\n", 1)[0].strip("*")[:90]
                thread = await channel.create_thread(name=title or "quiz", message=message)
                self.thread = str(thread.id)
            except discord.HTTPException as exc:
                log.info("could not open a quiz thread (%s)", exc)

    async def _private_thread(self, reply: Reply) -> bool:
        """A mock interview in a private thread with the learner; False where none opens."""
        channel = self.interaction.channel
        if not isinstance(channel, discord.TextChannel):
            return False
        try:
            title = reply.text.split("\n", 1)[0].strip("*")[:90]
            thread = await channel.create_thread(
                name=title or "interview", type=discord.ChannelType.private_thread, invitable=False
            )
            await thread.add_user(self.interaction.user)
            for piece in split(reply.text):
                await thread.send(piece, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.info("could not open a private interview thread (%s)", exc)
            return False
        self.thread = str(thread.id)
        note = messages.say(
            lang_of(self.interaction.locale), "interview.thread", where=thread.mention
        )
        await self.interaction.followup.send(note, ephemeral=True, allowed_mentions=NO_MENTIONS)
        return True

    def stream(self, on_posted: OnPosted | None = None) -> EditingStream:
        return EditingStream(self, on_posted)

    async def first(self, text: str) -> Any:
        return await self.interaction.followup.send(
            text[:LIMIT], wait=True, allowed_mentions=NO_MENTIONS, ephemeral=self.private
        )


class EditingStream(PacedStream):
    """An answer shown as it is written: one message, edited as the core's one pacing rule
    allows (bot/core/pacing.py); a post on its way is never cut short (the first one opens the
    thread and makes the message)."""

    def __init__(
        self,
        box: ChannelOutbox | InteractionOutbox,
        on_posted: OnPosted | None = None,
        interval: float | None = None,  # None: the core's STREAM_INTERVAL
    ) -> None:
        super().__init__(interval)
        self.box = box
        self.on_posted = on_posted
        self.message: Any = None

    async def _push(self) -> None:
        text = self.text
        await self._show(text)
        self.shown = text

    async def _show(self, text: str) -> None:
        preview = (text if len(text) <= LIMIT - 2 else text[: LIMIT - 3] + "…") + " ▌"
        if self.message is None:
            self.message = await self.box.first(preview)
            self._posted(Sent(self.box.thread))
        else:
            await self.message.edit(content=preview, allowed_mentions=NO_MENTIONS)

    async def close(self, reply: Reply) -> Sent:
        if isinstance(self.box, InteractionOutbox) and self.box.private:
            reply = shareable(reply)
        try:
            await self._stop()
        except discord.HTTPException as exc:
            log.info("a streamed update failed (%s); the final answer follows", exc)
        if self.message is None:
            sent = await self.box.send(reply)
            self._posted(sent)
            return sent
        pieces = split(reply.text)
        head = pieces[0] if len(pieces) > 1 else reply.text
        rest = Reply("\n".join(pieces[1:]), reply.buttons, reply.files, reply.kind, reply.private)
        kwargs: dict[str, Any] = {"content": head, "allowed_mentions": NO_MENTIONS}
        if len(pieces) == 1:
            view = view_of(reply.buttons)
            if view is not None:
                kwargs["view"] = view
            if reply.files:
                kwargs["attachments"] = files_of(reply.files)
        await self.message.edit(**kwargs)
        if len(pieces) > 1:
            await self.box.send(rest)
        return Sent(self.box.thread)

    def _posted(self, sent: Sent) -> None:
        if self.on_posted is not None:
            self.on_posted(sent)


async def send_to(target: Any, reply: Reply) -> None:
    """A reply posted whole in a channel or a DM, split under Discord's limit."""
    pieces = split(reply.text)
    for n, piece in enumerate(pieces):
        kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
        if n == len(pieces) - 1:
            view = view_of(reply.buttons)
            if view is not None:
                kwargs["view"] = view
            if reply.files:
                kwargs["files"] = files_of(reply.files)
        await target.send(piece, **kwargs)
