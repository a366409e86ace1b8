"""The terminal chat saves a reply's chart under `<data dir>/files/` and prints its path."""

from __future__ import annotations

import asyncio
import getpass
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.console import chat
from bot.tutoring.charts import PNG_SIGNATURE
from tests.bot.conftest import build


def test_stats_in_the_terminal_writes_the_chart_under_files_and_prints_its_path(
    home, embedder, monkeypatch, capsys
):
    tutor = build(home, embedder)
    try:
        entry = tutor.store.entries()[0]
        user = "console:" + getpass.getuser()
        quiz = tutor.progress.start_quiz(user, "local", "terminal", "chat", entry.id, entry.kind)
        tutor.progress.record_review(
            quiz,
            state="answered",
            score=70,
            rating=3,
            mode="test",
            covered=[],
            missed=[],
            answer="x",
            schedule=lambda card: ("{}", datetime.now(UTC) + timedelta(days=1)),
        )
        monkeypatch.setattr("sys.stdin", io.StringIO("/stats\n"))
        asyncio.run(chat(tutor, folder=home / "files", interactive=False))
    finally:
        tutor.close()
    printed = capsys.readouterr().out
    (line,) = [ln for ln in printed.splitlines() if ln.startswith("file: ")]
    path = Path(line.removeprefix("file: "))
    assert path.parent == home / "files" and path.name.endswith("progress.png")
    assert path.read_bytes().startswith(PNG_SIGNATURE)
