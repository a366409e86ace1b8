"""The Discord adapter (discord.py): slash commands, mentions, replies to the bot and messages in
watched channels and the tutor's threads in; the tutor core's replies out as messages with
persistent buttons, streamed by editing at most about once a second and split past Discord's
2,000 characters. It holds no tutoring logic.

Nothing the bot echoes can ping anyone: every message goes out with mentions off.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import io
import logging
import re
import sys
import uuid
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.core.commands import SLASH, Command, Option
from bot.core.conversation import (
    MAX_BANK_FILES,
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

log = logging.getLogger("tutor.discord")
LIMIT = 2000
EDIT_INTERVAL = 1.0
PRIVATE_SECONDS = 30.0
NO_MENTIONS = discord.AllowedMentions.none()
_STYLES = {"primary": discord.ButtonStyle.primary, "danger": discord.ButtonStyle.danger}


def split(text: str, limit: int = LIMIT) -> list[str]:
    """Text in pieces Discord accepts, cut at line ends where possible, fences kept balanced."""
    pieces: list[str] = []
    rest = text or "…"
    while rest:
        if len(rest) <= limit:
            pieces.append(rest)
            break
        cut = rest.rfind("\n", 0, limit - 8)
        cut = cut if cut > limit // 2 else limit - 8
        piece, rest = rest[:cut], rest[cut:].lstrip("\n")
        if piece.count("```") % 2 == 1:
            # Close the open code block here and open it again in the next piece.
            piece += "\n```"
            rest = "```\n" + rest
        pieces.append(piece)
    return pieces


def _label(item: discord.ui.Item[Any]) -> str:
    """The label of the button a persistent item was rebuilt from."""
    return (item.label or "") if isinstance(item, discord.ui.Button) else ""


class CommandButton(discord.ui.DynamicItem[discord.ui.Button], template=r"tutor:(?P<command>.+)"):
    """A button that sends a tutor command; it keeps working after a restart (persistent)."""

    def __init__(self, label: str, command: str, style: str = "default") -> None:
        super().__init__(
            discord.ui.Button(
                label=label[:80],
                custom_id=f"tutor:{command}"[:100],
                style=_STYLES.get(style, discord.ButtonStyle.secondary),
            )
        )
        self.command = command

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> CommandButton:
        return cls(_label(item), match["command"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = getattr(interaction.client, "tutor_bot", None)
        if bot is not None:
            await bot.on_button(interaction, self.command)


def shareable(reply: Reply) -> Reply:
    """A private answer with a button that posts it to the channel (as on Slack)."""
    if reply.kind != "answer" or not reply.buttons:
        return reply
    if any(b.command.startswith("/share ") for b in reply.buttons):
        return reply
    answer_id = reply.buttons[0].command.split()[-1]
    label = messages.share_button(reply_language(reply.text))
    share = Button(label, f"/share {answer_id}", "primary")
    return dataclasses.replace(reply, buttons=(*reply.buttons, share))


def view_of(buttons: tuple[Button, ...]) -> discord.ui.View | None:
    """The buttons of a reply as a persistent view."""
    if not buttons:
        return None
    view = discord.ui.View(timeout=None)
    for button in buttons[:25]:
        if button.box:
            view.add_item(BoxButton(button.label, button.command, button.box, button.style))
        else:
            view.add_item(CommandButton(button.label, button.command, button.style))
    return view


def files_of(attachments: tuple[Attachment, ...]) -> list[discord.File]:
    """A reply's files as Discord attachments."""
    return [discord.File(io.BytesIO(a.content), filename=a.name) for a in attachments]


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
        note = messages.interview_thread(lang_of(self.interaction.locale), thread.mention)
        await self.interaction.followup.send(note, ephemeral=True, allowed_mentions=NO_MENTIONS)
        return True

    def stream(self, on_posted: OnPosted | None = None) -> EditingStream:
        return EditingStream(self, on_posted)

    async def first(self, text: str) -> Any:
        return await self.interaction.followup.send(
            text[:LIMIT], wait=True, allowed_mentions=NO_MENTIONS, ephemeral=self.private
        )


class EditingStream:
    """An answer shown as it is written: one message, edited at most every EDIT_INTERVAL."""

    def __init__(
        self,
        box: ChannelOutbox | InteractionOutbox,
        on_posted: OnPosted | None = None,
        interval: float = EDIT_INTERVAL,
    ) -> None:
        self.box = box
        self.on_posted = on_posted
        self.interval = interval
        self.text = ""
        self.shown = ""
        self.message: Any = None
        self.task: asyncio.Task | None = None
        # The post or edit on its way: the first one opens the thread and makes the message.
        self.step: asyncio.Task | None = None

    def write(self, text: str) -> None:
        self.text += text
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.text != self.shown:
                text = self.text
                self.step = asyncio.get_running_loop().create_task(self._show(text))
                # Shielded: close() stops the pacing but lets a post on its way land.
                await asyncio.shield(self.step)
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
        if self.task is not None:
            self.task.cancel()
            # The pump fails only when its step does: that failure is reported below.
            await asyncio.gather(self.task, return_exceptions=True)
        if self.step is not None:
            try:
                await self.step
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
            await interaction.followup.send(messages.share_gone(lang), ephemeral=True)
            return
        question, answer = own
        text = messages.shared_answer(lang, interaction.user.mention, question, answer)
        for piece in split(text):
            await channel.send(piece, allowed_mentions=NO_MENTIONS)
        await interaction.followup.send(messages.shared(lang), ephemeral=True)

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


class BoxButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"tutorbox:(?P<box>[^|]*)\|(?P<command>.+)"
):
    """A button that opens a private answer box (a modal) whose text follows its command; it
    keeps working after a restart (persistent)."""

    def __init__(self, label: str, command: str, box: str, style: str = "default") -> None:
        super().__init__(
            discord.ui.Button(
                label=label[:80],
                custom_id=f"tutorbox:{box.replace('|', ' ')[:40]}|{command}"[:100],
                style=_STYLES.get(style, discord.ButtonStyle.secondary),
            )
        )
        self.command = command
        self.box = box

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> BoxButton:
        return cls(_label(item), match["command"], match["box"])

    async def callback(self, interaction: discord.Interaction) -> None:
        label = self.item.label or self.box
        await interaction.response.send_modal(AnswerModal(label, self.box, self.command))


class AnswerModal(discord.ui.Modal):
    """A private answer box: its text is sent as `command TEXT`, the reply is private."""

    def __init__(self, title: str, label: str, command: str) -> None:
        super().__init__(title=title[:45] or "tutor")
        self.command = command
        self.text: discord.ui.TextInput = discord.ui.TextInput(
            label=label[:45] or "…", style=discord.TextStyle.paragraph, max_length=3000
        )
        self.add_item(self.text)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        bot = interaction.client.tutor_bot  # type: ignore[attr-defined]
        await bot.command(interaction, f"{self.command} {self.text.value}", private=True)


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


class DiscordCourier:
    """Reminders by DM (`user.create_dm()`) and daily questions in channels."""

    platform = "discord"

    def __init__(self, client: Any) -> None:
        self.client = client

    async def direct(self, user_key: str, reply: Reply) -> Sent:
        user = await self.client.fetch_user(int(user_key.split(":", 1)[-1]))
        await send_to(await user.create_dm(), reply)
        return Sent()

    async def post(self, place: Place, reply: Reply) -> Sent:
        await send_to(await self._channel(place), reply)
        return Sent()

    async def _channel(self, place: Place) -> Any:
        channel_id = int(place.channel)
        return self.client.get_channel(channel_id) or await self.client.fetch_channel(channel_id)

    async def reachable(self, place: Place) -> bool:
        """Whether the channel exists, is in the server, and lets the bot send messages."""
        if not place.channel.isdigit():
            return False
        try:
            channel = await self._channel(place)
        except (discord.HTTPException, discord.InvalidData) as exc:
            log.info("cannot see channel %s (%s)", place.channel, exc)
            return False
        guild = getattr(channel, "guild", None)
        if guild is None or str(guild.id) != place.workspace or guild.me is None:
            return False
        return bool(channel.permissions_for(guild.me).send_messages)


# -- files shared with a message: source code to run, or bank documents for /bank add ----------


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


def lang_of(locale: discord.Locale) -> messages.Lang:
    """The catalogue's language for a Discord client's language setting."""
    return "zh" if locale is discord.Locale.chinese else "en"


class RunModal(discord.ui.Modal):
    """/run without code: a box for several lines of it."""

    def __init__(self, lang: messages.Lang = "en") -> None:
        title, label = messages.run_box(lang)
        super().__init__(title=title)
        self.code: discord.ui.TextInput = discord.ui.TextInput(
            label=label, style=discord.TextStyle.paragraph, max_length=4000
        )
        self.add_item(self.code)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        bot = interaction.client.tutor_bot  # type: ignore[attr-defined]
        await bot.command(interaction, f"/run ```python\n{self.code.value}\n```")


class Descriptions(app_commands.Translator):
    """The slash commands' descriptions for Discord clients set to Chinese (zh-CN), from the
    catalogue; Discord shows the English ones to everyone else."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContext,
    ) -> str | None:
        key = string.extras.get("key")
        if key is None or lang_of(locale) == "en":
            return None
        return messages.slash_description(lang_of(locale), key)


def described(key: str) -> app_commands.locale_str:
    """A command's or option's description: English, translated by `Descriptions` on sync."""
    return app_commands.locale_str(messages.slash_description("en", key), key=key)


def _annotation(option: Option) -> Any:
    """An option's type as discord.py reads it from a callback's signature."""
    base: Any = {"text": str, "int": int, "bool": bool, "file": discord.Attachment}[option.kind]
    if option.high and option.kind in ("text", "int"):
        base = app_commands.Range[base, option.low, option.high]
    return base if option.required or option.kind == "bool" else base | None


def _default(option: Option) -> Any:
    """An option's default in the callback's signature: none when it is required."""
    if option.required:
        return inspect.Parameter.empty
    return False if option.kind == "bool" else None


def _slash_command(bot_ref: Any, command: Command, limited: Any) -> app_commands.Command:
    """One slash command, its options and descriptions (English; zh-CN by `Descriptions`) from
    the core's registry."""

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await bot_ref().slash(interaction, command, values)

    interaction = inspect.Parameter(
        "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
    )
    options = [
        inspect.Parameter(
            o.name,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=_annotation(o),
            default=_default(o),
        )
        for o in command.options
    ]
    callback.__signature__ = inspect.Signature([interaction, *options])  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = f"slash_{command.name}"
    described_options = {o.name: described(f"{command.name}.{o.name}") for o in command.options}
    callback.__discord_app_commands_param_description__ = described_options  # type: ignore[attr-defined]
    return app_commands.Command(
        name=command.name,
        description=described(command.name),
        callback=limited(callback),
        extras={"private": command.private},
    )


def build_tree(bot_ref: Any, tree: app_commands.CommandTree, cooldown: tuple[int, float]) -> None:
    """The slash commands of the core's registry, each with a per-user cooldown."""
    rate, per = cooldown

    def limited(func: Any) -> Any:
        return app_commands.checks.cooldown(rate, per, key=lambda i: i.user.id)(func)

    for command in SLASH:
        tree.add_command(_slash_command(bot_ref, command, limited))

    @tree.error
    async def on_error(interaction: discord.Interaction, error: Exception) -> None:
        if isinstance(error, app_commands.CommandOnCooldown):
            text = messages.slow_down("en", error.retry_after, rate)
        else:
            incident = uuid.uuid4().hex[:8]
            log.error("incident %s in a Discord command", incident, exc_info=error)
            text = messages.failure("en", incident)
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )


def rejected(event: str, exc: BaseException | None) -> str:
    """Log a Discord event discord.py could not handle in one line, with an incident id."""
    incident = uuid.uuid4().hex[:8]
    what = f"{type(exc).__name__}: {str(exc)[:200]}" if exc is not None else "unknown error"
    log.warning("incident %s: Discord event %s could not be handled (%s)", incident, event, what)
    return incident


def _guarded(event: str, parse: Any) -> Any:
    """A gateway parser that logs a payload it rejects instead of raising into the gateway."""

    def parse_or_log(data: Any) -> None:
        try:
            parse(data)
        except Exception as exc:
            rejected(event, exc)

    return parse_or_log


def make_client(tutor: Tutor, *, shards: str = "", cooldown: tuple[int, float] = (5, 30.0)) -> Any:
    """The Discord client: sharded (AutoShardedClient) when `shards` is "auto" or a number."""
    base: type = discord.AutoShardedClient if shards else discord.Client
    intents = discord.Intents.default()
    intents.message_content = True  # privileged: enable it in the developer portal

    class TutorClient(base):
        def __init__(self) -> None:
            options: dict[str, Any] = {"intents": intents, "allowed_mentions": NO_MENTIONS}
            if shards and shards != "auto":
                options["shard_count"] = int(shards)
            super().__init__(**options)
            # A payload a parser cannot read would end the gateway connection: logged instead.
            parsers = self._connection.parsers
            for event, parse in list(parsers.items()):
                if event != "READY":  # without READY the client is not usable: let it fail
                    parsers[event] = _guarded(event, parse)
            self.tree = app_commands.CommandTree(self)
            self.tutor_bot = DiscordBot(tutor, self)
            build_tree(lambda: self.tutor_bot, self.tree, cooldown)

        async def setup_hook(self) -> None:
            self.add_dynamic_items(CommandButton, BoxButton)
            await self.tree.set_translator(Descriptions())
            await self.tree.sync()

        async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
            # discord.py's default logs a traceback for every event it could not handle.
            rejected(event_method, sys.exc_info()[1])

        async def on_message(self, message: discord.Message) -> None:
            try:
                await self.tutor_bot.on_message(message)
            except Exception:
                incident = uuid.uuid4().hex[:8]
                log.exception("incident %s handling a Discord message", incident)
                await message.channel.send(
                    messages.failure("en", incident), allowed_mentions=NO_MENTIONS
                )

    return TutorClient()
