"""`tutor chat`: the terminal adapter over the tutor core.

At a terminal it renders Markdown and code with rich and streams answers as they are written.
With stdin not a terminal it reads one message per line (a line opening a ``` fence continues
to its closing fence, so code can be sent) and prints each reply's plain text: it can be scripted.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from bot.core.conversation import Incoming, OnPosted, Place, Reply, Sent
from bot.core.courier import CannotPost
from bot.texts import messages

if TYPE_CHECKING:
    from bot.core.tutor import Tutor

# The terminal is one long conversation: one thread.
PLACE = Place("console", "local", "terminal", "chat")
QUIT = ("/quit", "/exit", ":q")


def _files(reply: Reply, folder: Path) -> list[str]:
    """Save a reply's files where the user can open them; their paths."""
    saved = []
    if reply.files:
        folder.mkdir(parents=True, exist_ok=True)
    for attachment in reply.files:
        name = Path(attachment.name).name or "file"
        path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
        path.write_bytes(attachment.content)
        saved.append(str(path))
    return saved


def hard_breaks(text: str) -> str:
    """Chat text keeps its line breaks (as in Slack and Discord); Markdown would join them."""
    lines, fenced = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.strip() and not line.lstrip().startswith(("- ", "* ", "|")):
            line += "  "
        lines.append(line)
    return "\n".join(lines)


def _buttons(reply: Reply) -> str:
    return "  ".join(f"[{b.label}: {b.command}]" for b in reply.buttons)


class PlainOutbox:
    """Replies as plain text lines, for scripts (stdin not a terminal)."""

    def __init__(self, stream: IO[str], folder: Path) -> None:
        self.out = stream
        self.folder = folder

    async def send(self, reply: Reply) -> Sent:
        lines = [reply.text]
        if reply.buttons:
            lines.append(_buttons(reply))
        lines += [f"file: {p}" for p in _files(reply, self.folder)]
        self.out.write("\n".join(lines) + "\n\n")
        self.out.flush()
        return Sent()

    def stream(self, on_posted: OnPosted | None = None) -> _PlainStream:
        """A streamed reply; a terminal has no threads to report to `on_posted`."""
        return _PlainStream(self)


class _PlainStream:
    def __init__(self, box: PlainOutbox) -> None:
        self.box = box

    def write(self, text: str) -> None:
        """A script gets the final reply only."""

    async def close(self, reply: Reply) -> Sent:
        return await self.box.send(reply)


class RichOutbox:
    """Replies rendered as Markdown with highlighted code; answers stream live."""

    def __init__(self, console: Any, folder: Path) -> None:
        self.console = console
        self.folder = folder

    def render(self, reply: Reply) -> None:
        from rich.markdown import Markdown
        from rich.padding import Padding

        style = "red" if reply.kind == "error" else ""
        markdown = Markdown(hard_breaks(reply.text), style=style)
        self.console.print(Padding(markdown, (0, 0, 0, 2)))
        if reply.buttons:
            self.console.print("  " + _buttons(reply), style="dim", markup=False)
        for path in _files(reply, self.folder):
            self.console.print(f"  file: {path}", style="cyan", markup=False)
        self.console.print()

    async def send(self, reply: Reply) -> Sent:
        self.render(reply)
        return Sent()

    def stream(self, on_posted: OnPosted | None = None) -> _RichStream:
        """A streamed reply; a terminal has no threads to report to `on_posted`."""
        return _RichStream(self)


class _RichStream:
    def __init__(self, box: RichOutbox) -> None:
        from rich.live import Live

        self.box = box
        self.text = ""
        self.live: Any = Live(console=box.console, refresh_per_second=8, transient=True)
        self.started = False

    def write(self, text: str) -> None:
        from rich.markdown import Markdown

        if not self.started:
            self.live.start()
            self.started = True
        self.text += text
        self.live.update(Markdown(self.text))

    async def close(self, reply: Reply) -> Sent:
        if self.started:
            self.live.stop()
        return await self.box.send(reply)


def read_message(readline: Any) -> str | None:
    """One message: a line, or from a line opening a ``` fence to the line closing it."""
    line = readline()
    if not line:
        return None
    text = line.rstrip("\n")
    if text.lstrip().startswith("```") and text.count("```") == 1:
        while True:
            more = readline()
            if not more:
                break
            text += "\n" + more.rstrip("\n")
            if more.strip().startswith("```"):
                break
    return text


async def chat(tutor: Tutor, *, folder: Path, interactive: bool | None = None) -> None:
    """Run the local chat until end of input or /quit."""
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    user = getpass.getuser()
    if interactive:
        from rich.console import Console
        from rich.markup import escape

        console = Console()
        box: Any = RichOutbox(console, folder)
        console.print(f"[bold]tutor[/] · {escape(messages.say('en', 'console.banner'))}")

        def readline() -> str:
            try:
                return console.input("[bold green]you›[/] ") + "\n"
            except EOFError:
                return ""

    else:
        box = PlainOutbox(sys.stdout, folder)
        readline = sys.stdin.readline
    scheduler = tutor.study_scheduler(ConsoleCourier(box))
    if interactive:
        scheduler.start()
    else:
        # A script sees what is owed when it starts (a reminder, a daily question), first.
        await scheduler.run_due()
    try:
        await _converse(tutor, box, readline, user, interactive)
    finally:
        await scheduler.stop()


async def _converse(tutor: Tutor, box: Any, readline: Any, user: str, interactive: bool) -> None:
    # The terminal's user runs the tutor over their own data dir: they are its admin, and the
    # machine's timezone is theirs.
    tz = local_zone()
    while True:
        try:
            text = await asyncio.to_thread(read_message, readline)
        except KeyboardInterrupt:
            break
        if text is None or text.strip().lower() in QUIT:
            break
        if not text.strip() and interactive:
            continue
        await tutor.handle(Incoming(user, PLACE, text, name=user, admin=True, tz=tz), box)


# -- the study loop: the terminal as the courier of reminders and daily questions ----------------


def local_zone() -> str:
    """The machine's UTC offset as `+HH:MM` ("UTC" when none)."""
    from datetime import datetime

    offset = datetime.now().astimezone().strftime("%z")
    return "UTC" if offset in ("+0000", "-0000", "") else f"{offset[:3]}:{offset[3:]}"


class ConsoleCourier:
    """Reminders and daily questions printed in the chat: the terminal is the only user's
    direct messages and the only channel (`#terminal`)."""

    platform = PLACE.platform

    def __init__(self, box: PlainOutbox | RichOutbox) -> None:
        self.box = box

    async def direct(self, user_key: str, reply: Reply) -> Sent:
        return await self.box.send(reply)

    async def post(self, place: Place, reply: Reply) -> Sent:
        if not await self.reachable(place):
            raise CannotPost(f"the terminal chat has no channel {place.channel}")
        return await self.box.send(reply)

    async def reachable(self, place: Place) -> bool:
        return place.channel == PLACE.channel
