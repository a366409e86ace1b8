"""Discord's rendering of the core's replies: text split under 2,000 characters with code blocks
closed, persistent buttons (they survive a restart), private answers' share button, the boxes
(modals) a button or /run opens, and the catalogue's language for a client's locale."""

from __future__ import annotations

import dataclasses
import io
import logging
import re
from typing import Any

import discord

from bot.core.conversation import (
    Attachment,
    Button,
    Reply,
    locale_language,
    reply_language,
)
from bot.texts import layouts, messages

log = logging.getLogger("tutor.discord")


LIMIT = 2000
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
    label = messages.say(reply_language(reply.text), "share.button")
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


def lang_of(locale: discord.Locale) -> messages.Lang:
    """The catalogue's language for a Discord client's language setting (the core's rule)."""
    return locale_language(locale.value)


class RunModal(discord.ui.Modal):
    """/run without code: a box for several lines of it."""

    def __init__(self, lang: messages.Lang = "en") -> None:
        title, label = layouts.run_box(lang)
        super().__init__(title=title)
        self.code: discord.ui.TextInput = discord.ui.TextInput(
            label=label, style=discord.TextStyle.paragraph, max_length=4000
        )
        self.add_item(self.code)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        bot = interaction.client.tutor_bot  # type: ignore[attr-defined]
        await bot.command(interaction, f"/run ```python\n{self.code.value}\n```")
