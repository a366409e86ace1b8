"""Discord's interactions and messages routed to the tutor core: slash commands of the core's
registry, button clicks, the messages addressed to the tutor, and the files shared with them."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.core.commands import Command
from bot.core.conversation import (
    MAX_BANK_FILES,
    MAX_SOURCE_FILES,
    Attachment,
    Incoming,
    Place,
    is_bank_add,
    is_bank_file,
    is_source_file,
)
from bot.texts import messages

if TYPE_CHECKING:
    from bot.core.tutor import Tutor

from bot.adapters.discord.outbox import ChannelOutbox, InteractionOutbox
from bot.adapters.discord.render import NO_MENTIONS, RunModal, lang_of, split

log = logging.getLogger("tutor.discord")


class DiscordBot:
    """Routes Discord's interactions and messages to the tutor core."""

    def __init__(self, tutor: Tutor, client: Any) -> None:
        self.tutor = tutor
        self.client = client
        self._once = tutor.handled_once("discord")

    @staticmethod
    def place(channel: Any, guild_id: int | None) -> Place:
        """Server, channel and thread of a Discord channel (a thread is its own channel)."""
        workspace = str(guild_id) if guild_id else f"dm-{getattr(channel, 'id', '')}"
        if isinstance(channel, discord.Thread):
            return Place("discord", workspace, str(channel.parent_id), str(channel.id))
        return Place("discord", workspace, str(getattr(channel, "id", "")))

    @staticmethod
    def admin(user: Any) -> bool:
        permissions = getattr(user, "guild_permissions", None)
        return bool(permissions and permissions.manage_guild)

    async def first_time(self, snowflake: int) -> bool:
        """A resumed gateway session replays what it missed: each interaction and message (by
        id) is handled once, across restarts too (the core's `HandledOnce`)."""
        return await self._once.claim(str(snowflake))

    # -- interactions ------------------------------------------------------------------------

    async def command(
        self,
        interaction: discord.Interaction,
        text: str,
        *,
        private: bool = False,
        attachments: tuple[Attachment, ...] = (),
    ) -> None:
        """A slash command: defer at once (Discord waits 3 s), then the core's follow-ups."""
        if not await self.first_time(interaction.id):
            return
        await interaction.response.defer(thinking=True, ephemeral=private)
        await self._handle_interaction(interaction, text, private, attachments)

    async def slash(
        self, interaction: discord.Interaction, command: Command, values: dict[str, Any]
    ) -> None:
        """A slash command of the core's registry, its option values joined into the chat text
        the command stands for (a file option travels as an attachment)."""
        if command.name == "run" and not values.get("code"):  # an empty /run: a box for code
            await interaction.response.send_modal(RunModal(lang_of(interaction.locale)))
            return
        text = command.text(values)
        files: tuple[Attachment, ...] = ()
        for option in command.options:
            if option.kind == "file" and values.get(option.name) is not None:
                limit = self.tutor.limits.max_bank_bytes
                files += await shared_files([values[option.name]], text, limit)
        await self.command(interaction, text, private=command.private, attachments=files)

    async def on_button(self, interaction: discord.Interaction, command: str) -> None:
        """A click on one of the tutor's buttons."""
        if not await self.first_time(interaction.id):
            return
        if command.startswith("/share "):
            await self._share(interaction, command.split()[-1])
            return
        await interaction.response.defer()
        await self._handle_interaction(interaction, command, False)

    async def _share(self, interaction: discord.Interaction, answer_id: str) -> None:
        """Post a private answer to the channel, when the one who clicked was its asker."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        lang = lang_of(interaction.locale)
        own = await self.tutor.own_answer(answer_id, f"discord:{interaction.user.id}")
        channel = interaction.channel
        if own is None or not isinstance(channel, discord.abc.Messageable):
            await interaction.followup.send(messages.say(lang, "share.gone"), ephemeral=True)
            return
        question, answer = own
        text = messages.say(
            lang, "share.post", asker=interaction.user.mention, question=question, answer=answer
        )
        for piece in split(text):
            await channel.send(piece, allowed_mentions=NO_MENTIONS)
        await interaction.followup.send(messages.say(lang, "share.done"), ephemeral=True)

    async def _handle_interaction(
        self,
        interaction: discord.Interaction,
        text: str,
        private: bool,
        attachments: tuple[Attachment, ...] = (),
    ) -> None:
        user = interaction.user
        message = Incoming(
            str(user.id),
            self.place(interaction.channel, interaction.guild_id),
            text,
            name=getattr(user, "display_name", "") or user.name,
            # What Discord resolved for this user in this channel: "Manage Server" is admin.
            admin=bool(interaction.guild_id) and interaction.permissions.manage_guild,
            attachments=attachments,
        )
        await self.tutor.handle(message, InteractionOutbox(interaction, private=private))

    # -- messages ----------------------------------------------------------------------------

    async def addressed(self, message: discord.Message) -> bool:
        """Whether a message is for the tutor: a DM, a mention, a reply to the bot, or a
        message in a watched channel or in one of the tutor's threads."""
        me = self.client.user
        if message.author.bot or me is None:
            return False
        if message.guild is None or any(u.id == me.id for u in message.mentions):
            return True
        if message.content.startswith("!run"):
            return True
        resolved = message.reference.resolved if message.reference else None
        if isinstance(resolved, discord.Message) and resolved.author.id == me.id:
            return True
        place = self.place(message.channel, message.guild.id)
        if place.thread:
            # Not `follows`: the user can write in a thread the tutor just opened before its
            # first post there returns, and only the core knows which posts are in flight. A
            # thread the tutor opened is its own even when a crash kept it from being recorded.
            return await self.tutor.following(place) or self.by_tutor(message.channel)
        return self.tutor.watched(place)

    def by_tutor(self, channel: Any) -> bool:
        """Whether a channel is a thread the tutor opened."""
        me = self.client.user
        return isinstance(channel, discord.Thread) and me is not None and channel.owner_id == me.id

    async def on_message(self, message: discord.Message) -> None:
        if not await self.addressed(message) or not await self.first_time(message.id):
            return
        me = self.client.user
        text = re.sub(rf"<@!?{me.id}>\s*", "", message.content).strip() if me else message.content
        limit = self.tutor.limits.max_bank_bytes
        attachments = await shared_files(message.attachments, text, limit)
        place = self.place(message.channel, message.guild.id if message.guild else None)
        incoming = Incoming(
            str(message.author.id),
            place,
            text,
            name=message.author.display_name,
            attachments=tuple(attachments),
            admin=self.admin(message.author),
            under_tutor=self.by_tutor(message.channel),
        )
        in_server_channel = message.guild is not None and not place.thread
        out = ChannelOutbox(message, open_thread=in_server_channel, thread_name=text[:80])
        await self.tutor.handle(incoming, out)


# -- the study loop: private answer boxes and messages nobody asked for --------------------------


async def shared_files(files: Any, text: str, max_bank_bytes: int) -> tuple[Attachment, ...]:
    """The Discord attachments the core gets: small source files, or with /bank add every file
    by name and the bank documents within the ingest's limit (`max_bank_bytes`)."""
    found = []
    if not is_bank_add(text):
        for attachment in list(files)[:MAX_SOURCE_FILES]:
            if is_source_file(attachment.filename, attachment.size):
                found.append(Attachment(attachment.filename, await attachment.read()))
        return tuple(found)
    for attachment in list(files)[:MAX_BANK_FILES]:
        if is_bank_file(attachment.filename, attachment.size, max_bank_bytes):
            found.append(Attachment(attachment.filename, await attachment.read()))
        else:
            found.append(Attachment(attachment.filename, b"", fetched=False))  # refused by name
    return tuple(found)
