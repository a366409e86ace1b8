"""The Discord adapter (discord.py): slash commands, mentions, replies to the bot and messages in
watched channels and the tutor's threads in; the tutor core's replies out as messages with
persistent buttons, streamed by editing at most about once a second and split past Discord's
2,000 characters. It holds no tutoring logic.

Nothing the bot echoes can ping anyone: every message goes out with mentions off.

By job: `render` (splitting, buttons, boxes), `outbox` (replies and the stream), `listeners`
(interactions and messages to the core), `courier` (speaking first), `tree` (slash commands from
the core's registry), `client` (the discord.py client).
"""

from bot.adapters.discord.client import make_client
from bot.adapters.discord.courier import DiscordCourier
from bot.adapters.discord.listeners import DiscordBot
from bot.adapters.discord.render import NO_MENTIONS, BoxButton, CommandButton, split

__all__ = [
    "NO_MENTIONS",
    "BoxButton",
    "CommandButton",
    "DiscordBot",
    "DiscordCourier",
    "make_client",
    "split",
]
