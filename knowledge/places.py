"""Where the tutor works, in `tutor.db`: the threads it takes part in (a follow-up there needs no
mention) and each workspace's or server's settings (watched channels, language, quiz topics)."""

from __future__ import annotations

import json
from typing import Any

from knowledge.book import Book
from knowledge.records import iso, now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS threads (
    workspace TEXT NOT NULL,
    channel TEXT NOT NULL,
    thread TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace, channel, thread)
);
CREATE TABLE IF NOT EXISTS places (
    workspace TEXT PRIMARY KEY,
    settings TEXT NOT NULL DEFAULT '{}',
    updated_at TEXT NOT NULL
);
"""


class PlaceBook(Book):
    """Threads the tutor knows and per-workspace settings."""

    what = "places"
    schema = _SCHEMA

    # -- threads the tutor takes part in ----------------------------------------------------

    def remember_thread(self, workspace: str, channel: str, thread: str) -> None:
        """Note a thread the tutor replied in: later messages there are for it."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO threads (workspace, channel, thread, created_at) "
                "VALUES (?, ?, ?, ?)",
                (workspace, channel, thread, iso(now())),
            )

    def knows_thread(self, workspace: str, channel: str, thread: str) -> bool:
        """Whether the tutor replied in this thread."""
        rows = self._read(
            "SELECT 1 FROM threads WHERE workspace = ? AND channel = ? AND thread = ?",
            (workspace, channel, thread),
        )
        return bool(rows)

    # -- per-workspace settings --------------------------------------------------------------

    def place_settings(self, workspace: str) -> dict[str, Any]:
        """A workspace's settings (watched channels, default language, quiz topics)."""
        rows = self._read("SELECT settings FROM places WHERE workspace = ?", (workspace,))
        return json.loads(rows[0]["settings"]) if rows else {}

    def set_place_settings(self, workspace: str, settings: dict[str, Any]) -> None:
        """Replace a workspace's settings."""
        with self._write() as db:
            db.execute(
                "INSERT INTO places (workspace, settings, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(workspace) DO UPDATE SET settings = excluded.settings, "
                "updated_at = excluded.updated_at",
                (workspace, json.dumps(settings, ensure_ascii=False), iso(now())),
            )
