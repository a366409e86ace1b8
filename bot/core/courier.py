"""How the core speaks first, without a message to answer: a direct message to a learner (a
reminder) or a post in a channel (the daily question). Each adapter implements `Courier`."""

from __future__ import annotations

from typing import Protocol

from bot.core.conversation import Place, Reply, Sent
from bot.core.errors import TutorError


class CannotPost(TutorError):
    """The bot cannot write there (not a member, no permission, no such channel or user)."""


class Courier(Protocol):
    """Sends messages nobody asked for, on one platform."""

    platform: str

    async def direct(self, user_key: str, reply: Reply) -> Sent:
        """A direct message to a user ("platform:id")."""

    async def post(self, place: Place, reply: Reply) -> Sent:
        """A post in a channel."""

    async def reachable(self, place: Place) -> bool:
        """Whether the bot can post in a channel."""
