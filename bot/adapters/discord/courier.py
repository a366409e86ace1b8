"""How the tutor speaks first on Discord: reminders by direct message, daily questions in a
channel."""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot.adapters.discord.outbox import send_to
from bot.core.conversation import (
    Place,
    Reply,
    Sent,
)

log = logging.getLogger("tutor.discord")


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
