"""The tutor core: one message in, replies out, knowing nothing of Slack, Discord or the terminal.

Rooms: `conversation` (what passes between the core and an adapter), `commands` (parsing chat
commands), `ratelimit`, `errors` (the one error tree), `messages` (every user-facing text, both
languages), `tutor` (dispatch and the handlers).
"""
