"""Running code in the sandbox: /run (and a message that is only a code block), and the run
that judges a coding answer (every feature grades a chat answer through `grade_message`)."""

from __future__ import annotations

import asyncio

from bot.core.commands import Parsed
from bot.core.conversation import Attachment, Incoming, Outbox, Reply, attached_code
from bot.core.errors import TutorError
from bot.texts import layouts, messages
from bot.tutoring.assessing import Assessment, NoSandbox, Run, assess
from bot.tutoring.code_tests import extract_code
from bot.tutoring.fences import fences
from bot.tutoring.grading import Grader
from knowledge.entry import Entry
from runner.dispatch import RunQueue
from runner.errors import RunnerBusy
from runner.protocol import Runner
from runner.result import RunResult

INLINE_OUTPUT_CHARS = 1500
SHELL_FENCES = ("sh", "bash", "shell")


class Running:
    """/run, and a message that is only code: built with the sandbox's queue alone."""

    def __init__(self, runs: RunQueue[Runner] | None) -> None:
        self.runs = runs

    async def run(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        code, language = snippet(parsed.args)
        if not code.strip():
            code, language = attached_code(message.attachments)
        if not code.strip():
            await out.send(Reply(messages.say(lang, "need_code_to_run"), kind="error"))
            return
        result = await run_code(self.runs, message.user_key, code, language, lang, out)
        if result is None:
            return
        stdout, stderr = result.stdout, result.stderr
        files = [Attachment(f.path, f.content) for f in result.files]
        if len(stdout) + len(stderr) > INLINE_OUTPUT_CHARS:
            files.append(
                Attachment(
                    "output.txt",
                    (stdout + ("\n--- stderr ---\n" + stderr if stderr else "")).encode(),
                )
            )
            stdout = _head(stdout, INLINE_OUTPUT_CHARS // 2)
            stderr = _head(stderr, INLINE_OUTPUT_CHARS // 2)
        ending = layouts.run_ending(
            lang,
            timed_out=result.timed_out,
            signal=result.signal,
            exit_code=result.exit_code,
            truncated=result.truncated,
            limit=result.limit,
            limit_value=result.limit_value,
        )
        body = layouts.run_reply(
            lang, stdout, stderr, ending, result.duration_ms, [f.name for f in files]
        )
        await out.send(Reply(body, files=tuple(files), kind="run"))


async def run_code(
    runs: RunQueue[Runner] | None,
    user: str,
    code: str,
    language: str,
    lang: messages.Lang,
    out: Outbox,
) -> RunResult | None:
    """Run a user's code off the event loop; None (the user told) when the sandbox is busy."""
    if runs is None:
        raise TutorError("running code is switched off here (no sandbox is configured)")
    try:
        return await asyncio.to_thread(runs.run, user, code, language)
    except RunnerBusy as exc:
        await out.send(Reply(layouts.run_busy(lang, str(exc)), kind="error"))
        return None


def sandbox_run(
    runs: RunQueue[Runner] | None, message: Incoming, lang: messages.Lang, out: Outbox
) -> Run | None:
    """How a message's Python code runs in the sandbox to be graded (None: no sandbox here); a
    busy sandbox tells the user and runs nothing."""
    if runs is None:
        return None

    async def run(code: str) -> RunResult | None:
        return await run_code(runs, message.user_key, code, "python", lang, out)

    return run


async def grade_message(
    grader: Grader,
    runs: RunQueue[Runner] | None,
    entry: Entry,
    message: Incoming,
    text: str,
    lang: messages.Lang,
    out: Outbox,
    *,
    limit: int | None = None,
    private: bool = False,
) -> Assessment | None:
    """A chat answer to `entry` through the one grading path (`assess`): for a coding problem
    its code (fenced blocks, else an attached file), cut to `limit` characters when given; None
    when the user was told why it is not graded now (no code, or the sandbox is busy)."""
    if entry.kind == "coding":
        text = extract_code(text) or attached_code(message.attachments)[0]
        if not text.strip():
            await out.send(Reply(messages.say(lang, "need_code"), kind="error", private=private))
            return None
    if limit is not None:
        text = text[:limit]
    try:
        return await assess(grader, entry, text, sandbox_run(runs, message, lang, out))
    except NoSandbox as exc:
        raise TutorError(str(exc)) from None


def snippet(text: str) -> tuple[str, str]:
    """The code of /run and its language: a fenced block (python, sh) or the text itself."""
    found = fences(text)
    if found:
        block = found[0]
        return block.code, "sh" if block.language in SHELL_FENCES else "python"
    return text.strip().strip("`"), "python"


def _head(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "\n…"
