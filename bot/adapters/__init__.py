"""The chat transports over the core: Slack (Bolt), Discord (discord.py) and the terminal chat.
An adapter turns platform events into `bot.core.conversation.Incoming` and renders `Reply`s; it
holds no tutoring logic."""
