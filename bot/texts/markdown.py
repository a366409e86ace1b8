"""Markdown helpers the replies share."""

from __future__ import annotations


def fence(code: str, lang: str = "") -> str:
    """A fenced code block that the code inside cannot close early."""
    safe = code.replace("```", "`\u200b``")
    return f"```{lang}\n{safe.rstrip()}\n```"
