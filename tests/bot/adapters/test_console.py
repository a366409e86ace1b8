"""The terminal adapter: Markdown rendering that keeps chat line breaks, streaming, files, and
reading messages (fenced code spans lines)."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console

from bot.adapters.console import PlainOutbox, RichOutbox, hard_breaks, read_message
from bot.core.conversation import Attachment, Button, Incoming, Place, Reply


def lines_of(*lines: str):
    feed = iter([line + "\n" for line in lines])
    return lambda: next(feed, "")


def test_a_fence_continues_to_its_closing_line():
    readline = lines_of("```python", "x = 1", "```", "/stats")
    assert read_message(readline) == "```python\nx = 1\n```"
    assert read_message(readline) == "/stats"
    assert read_message(readline) is None


def test_line_breaks_are_kept_outside_code_only():
    text = hard_breaks("a\nb\n```\nc\n```\n- d")
    assert text.split("\n") == ["a  ", "b  ", "```", "c", "```", "- d"]


def test_rich_outbox_renders_lines_buttons_streams_and_files(tmp_path):
    buffer = io.StringIO()
    box = RichOutbox(Console(file=buffer, width=80, force_terminal=False), tmp_path)
    reply = Reply(
        "**Score: 80/100**\n✅ Covered: a",
        buttons=(Button("Hint", "/hint"),),
        files=(Attachment("plot.png", b"\x89PNG"),),
    )
    asyncio.run(box.send(reply))
    stream = box.stream()
    stream.write("partial ")
    asyncio.run(stream.close(Reply("the final answer")))
    shown = [line.strip() for line in buffer.getvalue().splitlines() if line.strip()]
    assert shown[:2] == ["Score: 80/100", "✅ Covered: a"]
    assert "[Hint: /hint]" in shown
    assert "the final answer" in shown
    (saved,) = tmp_path.glob("*-plot.png")
    assert saved.read_bytes() == b"\x89PNG"


def test_plain_outbox_prints_text_buttons_and_file_paths(tmp_path):
    buffer = io.StringIO()
    box = PlainOutbox(buffer, tmp_path)
    asyncio.run(box.send(Reply("hi", buttons=(Button("Skip", "/skip"),))))
    asyncio.run(box.send(Reply("out", files=(Attachment("../../evil.txt", b"x"),))))
    text = buffer.getvalue()
    assert text.startswith("hi\n[Skip: /skip]\n\n")
    # A file name from outside cannot climb out of the files folder.
    (saved,) = tmp_path.glob("*")
    assert saved.name.endswith("-evil.txt") and f"file: {saved}" in text


def test_attached_file_is_run(chat):
    message = Incoming(
        "ada",
        Place("test", "team", "general"),
        "/run",
        attachments=(Attachment("snippet.py", b"print(40 + 2)"),),
    )
    from bot.core.conversation import RecordingOutbox

    out = RecordingOutbox()
    chat.loop.run_until_complete(chat.tutor.handle(message, out))
    assert "42" in out.text
