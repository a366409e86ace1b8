"""The small commands: the reply language, help, the workspace's settings (admins), feedback on
an answer, and the reply to a command that does not exist."""

from __future__ import annotations

import asyncio
import logging
import re

from bot.core import commands
from bot.core.commands import COMMANDS, Parsed
from bot.core.conversation import Incoming, Outbox, Reply
from bot.core.gaps import Gaps
from bot.texts import layouts, messages
from bot.tutoring.quiz import QuizMaster
from knowledge.progress import Progress

log = logging.getLogger("tutor.admin")
SETTINGS_ACTIONS = ("watch", "unwatch", "lang", "topics")


class Admin:
    """/lang, /help, /settings, /feedback and unknown commands: built with the progress store,
    the quiz master (the bank's topics for /help) and the gaps (a 👎 notes its question)."""

    def __init__(self, progress: Progress, quizmaster: QuizMaster, gaps: Gaps) -> None:
        self.progress = progress
        self.quizmaster = quizmaster
        self.gaps = gaps

    async def lang(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        choice = parsed.args.strip().lower()
        if choice not in ("zh", "en", "auto"):
            await out.send(Reply(messages.say(lang, "lang.usage"), kind="error"))
            return
        await asyncio.to_thread(
            self.progress.set_language, message.user_key, "" if choice == "auto" else choice
        )
        shown = messages.as_lang(choice, lang)
        await out.send(Reply(layouts.lang_set(shown, choice)))

    async def help(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        rows = [(c.usage, c.zh if lang == "zh" else c.en) for c in COMMANDS]
        topics = [name for name, _ in self.quizmaster.topics()]
        await out.send(Reply(layouts.help_text(lang, rows, topics), kind="help"))

    async def settings(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        workspace = message.place.workspace
        current = self.progress.places.place_settings(workspace)
        words = parsed.args.split(maxsplit=1)
        action = words[0].lower() if words else "show"
        rest = words[1].strip() if len(words) > 1 else ""
        if action == "show":
            await out.send(Reply(layouts.settings_text(lang, current), private=True))
            return
        if action not in SETTINGS_ACTIONS:
            await out.send(Reply(messages.say(lang, "settings.usage"), kind="error", private=True))
            return
        if not message.admin:
            await out.send(
                Reply(messages.say(lang, "settings.admins_only"), kind="error", private=True)
            )
            return
        updated = dict(current)
        if action in ("watch", "unwatch"):
            channel = channel_ref(rest) if rest else message.place.channel
            if not channel:
                await out.send(
                    Reply(messages.say(lang, "settings.usage"), kind="error", private=True)
                )
                return
            watched = [c for c in current.get("watch", []) if c != channel]
            updated["watch"] = [*watched, channel] if action == "watch" else watched
        elif action == "lang":
            if rest not in ("zh", "en", "auto"):
                await out.send(
                    Reply(messages.say(lang, "settings.usage"), kind="error", private=True)
                )
                return
            updated["lang"] = "" if rest == "auto" else rest
        else:
            updated["topics"] = [t.strip() for t in rest.replace("；", ";").split(";") if t.strip()]
        await asyncio.to_thread(self.progress.places.set_place_settings, workspace, updated)
        text = messages.say(lang, "settings.saved") + "\n" + layouts.settings_text(lang, updated)
        await out.send(Reply(text, private=True))

    async def feedback(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        words = parsed.args.split()
        if len(words) != 2 or words[0] not in ("up", "down") or not words[1].isdigit():
            await self.unknown(message, Parsed("?", "", "feedback"), lang, out)
            return
        helpful = words[0] == "up"
        answer_id = int(words[1])
        await asyncio.to_thread(
            self.progress.answers.set_feedback, answer_id, message.user_key, helpful
        )
        if not helpful:
            await asyncio.to_thread(self._note_disliked, answer_id)
        await out.send(Reply(layouts.feedback_thanks(lang, helpful), private=True))

    def _note_disliked(self, answer_id: int) -> None:
        """An answer marked 👎: its question is one the bank did not answer well (/gaps)."""
        row = self.progress.answers.answer(answer_id)
        if row is None:
            return
        try:
            self.gaps.note_disliked(answer_id, row)
        except Exception:
            log.exception("a question marked unhelpful could not be recorded")

    async def unknown(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        suggestion = commands.closest(parsed.raw_name)
        await out.send(
            Reply(layouts.unknown_command(lang, parsed.raw_name, suggestion), kind="error")
        )


def channel_ref(text: str) -> str:
    """A channel named in a message: Slack's <#C123|name>, Discord's <#123>, or a bare id."""
    match = re.match(r"^<#([A-Za-z0-9]+)(?:\|[^>]*)?>$", text.strip())
    if match:
        return match.group(1)
    return text.strip() if re.fullmatch(r"[A-Za-z0-9]+", text.strip()) else ""
