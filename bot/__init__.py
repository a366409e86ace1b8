"""The application: the tutor core and the layers around it. The path of a module names its layer:

- `bot.core`      message in, replies out: dispatch, commands, the error tree
- `bot.texts`     every word it says: the catalogue in both languages, the prompts
- `bot.tutoring`  the rules: answering from the bank, grading, code tests, quizzes, spacing
- `bot.llm`       language-model backends and the batching decode loop
- `bot.adapters`  Slack, Discord and the terminal chat over the core
- `bot.app`       settings, wiring and the `tutor` command

docs/architecture.md draws what may import what.
"""
