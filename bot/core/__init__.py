"""The tutor core: one message in, replies out, knowing nothing of Slack, Discord or the terminal.

Rooms: `conversation` (what passes between the core and an adapter), `commands` (parsing chat
commands), `ratelimit`, `errors` (the one error tree), `tutor` (dispatch), its handlers by
feature (`asking`, `quizzes`, `running`, `admin`, sharing `parts`), `threads` (the threads the
tutor posts in, known as soon as a post returns), `ports` (the store and retriever as the core
sees them). The study loop: `scheduler` (one clock for jobs owed at times), `courier` (how
the core speaks first), `localtime`, `study` (/remind, /daily) and `studyjobs` (reminders, daily
questions). Its words are in `bot.texts`.
"""
