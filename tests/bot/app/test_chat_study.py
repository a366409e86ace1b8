"""`tutor chat` piped, as outside checks drive it: /remind on HH:MM and /remind, and a reminder
owed when the chat starts printed before the first reply."""

from __future__ import annotations

import getpass
import sqlite3
from datetime import UTC, datetime, timedelta

from tests.bot.app.test_chat import tutor


def test_remind_on_and_show_through_the_piped_chat(home):
    done = tutor(home, "chat", stdin="/remind on 08:00\n/remind\n/remind at noon\n")
    assert done.returncode == 0, done.stderr
    on, shown, bad = done.stdout.strip().split("\n\n")[:3]
    assert "08:00" in on and "Reminders are on: every day at 08:00" in shown
    assert "Use /remind on [HH:MM]" in bad


def test_a_reminder_owed_at_start_is_printed_first(home):
    user = f"console:{getpass.getuser()}"
    # A reminder set for a few minutes ago (UTC), and two reviews long overdue.
    done = tutor(home, "chat", stdin="/remind tz UTC\n")
    assert done.returncode == 0, done.stderr
    earlier = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%H:%M")
    with sqlite3.connect(home / "tutor.db") as db:
        ids = [r[0] for r in db.execute("SELECT id FROM entries ORDER BY id LIMIT 2")]
        for entry_id in ids:
            db.execute(
                "INSERT INTO cards (user, entry_id, card, due) VALUES (?, ?, '{}', ?)",
                (user, entry_id, "2000-01-01T00:00:00+00:00"),
            )
        db.execute("UPDATE reminders SET enabled = 1, at = ? WHERE user = ?", (earlier, user))
    done = tutor(home, "chat", stdin="/remind\n")
    first = done.stdout.split("\n\n")[0]
    assert "Reviews due today: 2" in first and "[Start review: /quiz]" in first
    again = tutor(home, "chat", stdin="/remind\n")  # once a day, across runs
    assert "Reviews due today" not in again.stdout
