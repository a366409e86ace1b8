"""The parts the tutor core is given, as the core sees them: the bank's store and the retriever,
whose protocols live with tutoring (`bot.tutoring.ports`), which uses them too and may not import
the core. The language model is `bot.llm.base.Backend` and the code runner
`runner.dispatch.RunQueue`."""

from __future__ import annotations

from bot.tutoring.ports import EntryStore, Retriever

__all__ = ["EntryStore", "Retriever"]
