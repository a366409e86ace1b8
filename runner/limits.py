"""The limits of one run, read from the declarative `runner/limits.toml`, and the checks a
snippet passes before any jail is started for it."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from runner.errors import SnippetError

LIMITS_FILE = Path(__file__).with_name("limits.toml")
LANGUAGES = ("python", "sh")


@dataclass(frozen=True)
class Limits:
    """The limits of one run (defaults in runner/limits.toml)."""

    wall_seconds: float
    cpu_seconds: int
    memory_mb: int
    processes: int
    file_size_mb: int
    open_files: int
    workdir_mb: int
    output_bytes: int
    max_files: int
    max_file_bytes: int
    max_depth: int
    snippet_bytes: int

    @classmethod
    def load(cls, path: Path = LIMITS_FILE, **overrides: Any) -> Limits:
        """The limits file, with some values replaced."""
        values = tomllib.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known}, **overrides)

    def with_(self, **changes: Any) -> Limits:
        """A copy with some values changed."""
        return replace(self, **changes)


def check_snippet(code: str, lang: str, snippet_bytes: int | None = None) -> None:
    """Raise SnippetError for a snippet that cannot be run as given (its size only when a
    limit is given)."""
    if lang not in LANGUAGES:
        raise SnippetError(
            f"unknown language {lang!r}: the sandbox runs {', '.join(sorted(LANGUAGES))}"
        )
    if not code.strip():
        raise SnippetError("the snippet is empty: paste some code to run")
    size = len(code.encode("utf-8", "surrogatepass"))
    if snippet_bytes is not None and size > snippet_bytes:
        raise SnippetError(f"the snippet is {size:,} bytes, over the {snippet_bytes:,}-byte limit")
    if "\x00" in code:
        raise SnippetError("the snippet contains a null byte: paste it as plain text")
    try:
        code.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, e.g. "\ud800" from a JSON request
        message = "the snippet is not valid Unicode text: paste it as plain text"
        raise SnippetError(message) from None
