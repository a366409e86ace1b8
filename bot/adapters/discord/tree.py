"""Discord's slash commands, generated from the core's registry: options typed, described in
English and (for Chinese clients) in Chinese, each with a per-user cooldown."""

from __future__ import annotations

import inspect
import logging
import uuid
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.render import NO_MENTIONS
from bot.core.commands import SLASH, Command, Option
from bot.texts import layouts, messages

log = logging.getLogger("tutor.discord")


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
        # The catalogue's Chinese is simplified: offered as zh-CN, the locale Discord names so.
        if key is None or locale is not discord.Locale.chinese:
            return None
        return layouts.slash_description("zh", key)


def described(key: str) -> app_commands.locale_str:
    """A command's or option's description: English, translated by `Descriptions` on sync."""
    return app_commands.locale_str(layouts.slash_description("en", key), key=key)


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
            text = layouts.slow_down("en", error.retry_after, rate)
        else:
            incident = uuid.uuid4().hex[:8]
            log.error("incident %s in a Discord command", incident, exc_info=error)
            text = messages.say("en", "failure", incident=incident)
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
