"""The discord.py client: the tree synced at login, persistent buttons registered, and every
gateway payload a parser rejects logged in one line instead of ending the connection."""

from __future__ import annotations

import logging
import sys
import uuid
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.texts import messages

if TYPE_CHECKING:
    from bot.core.tutor import Tutor

from bot.adapters.discord.listeners import DiscordBot
from bot.adapters.discord.render import NO_MENTIONS, BoxButton, CommandButton
from bot.adapters.discord.tree import (
    Descriptions,
    build_tree,
)

log = logging.getLogger("tutor.discord")


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
                    messages.say("en", "failure", incident=incident), allowed_mentions=NO_MENTIONS
                )

    return TutorClient()
