"""Fenced code blocks in chat messages (```lang … ```): the one place that reads them, for /run,
for a message that is only code, and for a coding answer."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The info string's first word is the language; anything after it on that line is ignored.
_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Fence:
    """One fenced block: its language (lower case, "" when unnamed), its code, and where it lies."""

    language: str
    code: str
    start: int
    end: int


def fences(text: str) -> list[Fence]:
    """Every fenced block of a message, in order."""
    return [
        Fence(m.group(1).lower(), m.group(2), m.start(), m.end()) for m in _FENCE.finditer(text)
    ]


def only_fence(text: str) -> Fence | None:
    """The message's fenced block when the message is that one block and nothing else."""
    found = fences(text)
    if len(found) != 1:
        return None
    block = found[0]
    return block if not text[: block.start].strip() and not text[block.end :].strip() else None
