"""Slack's rendering of the core's replies: Markdown as mrkdwn (nothing pings by accident), a
user's text back to plain text, and a reply as Block Kit sections and buttons."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from bot.core.conversation import (
    Button,
    Reply,
)

log = logging.getLogger("tutor.slack")
SECTION_CHARS = 2900  # a section block holds at most 3000 characters


def mrkdwn(text: str) -> str:
    """The core's Markdown as Slack mrkdwn, with &, < and > escaped (no accidental mentions)."""
    parts = re.split(r"(```.*?```|`[^`\n]*`)", text, flags=re.DOTALL)
    out = []
    for n, part in enumerate(parts):
        part = part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if n % 2 == 0:
            part = re.sub(r"\*\*(.+?)\*\*", r"*\1*", part)
            part = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"<\2|\1>", part)
            # Channel references the core writes (settings) stay links.
            part = re.sub(r"&lt;#([A-Z0-9]+)&gt;", r"<#\1>", part)
        out.append(part)
    return "".join(out)


def plain(text: str) -> str:
    """Slack's message text as the user typed it: links and channel names back to plain text,
    &, < and > unescaped (user mentions stay as Slack writes them)."""
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2", text)
    text = re.sub(r"<(https?://[^>]+)>", r"\1", text)
    text = re.sub(r"<(mailto:[^|>]+)\|([^>]+)>", r"\2", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks(reply: Reply, extra: tuple[Button, ...] = ()) -> list[dict[str, Any]]:
    """Block Kit for a reply: its text in sections, its buttons in an actions block."""
    text = mrkdwn(reply.text) or " "
    sections: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[i : i + SECTION_CHARS]}}
        for i in range(0, len(text), SECTION_CHARS)
    ][:45]
    buttons = [*reply.buttons, *extra]
    if buttons:
        elements = []
        for n, button in enumerate(buttons):
            element: dict[str, Any] = {
                "type": "button",
                "text": {"type": "plain_text", "text": button.label[:75]},
                "action_id": f"tutor_{n}",
                "value": button.command[:2000],
            }
            if button.box:  # opens a private box first (a modal): see SlackBot.on_box_button
                element["action_id"] = f"tutor_box_{n}"
                element["value"] = json.dumps({"command": button.command, "box": button.box})
            if button.style in ("primary", "danger"):
                element["style"] = button.style
            elements.append(element)
        sections.append({"type": "actions", "elements": elements[:25]})
    return sections
