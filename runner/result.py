"""The values a run produces."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunFile:
    """A regular file the snippet left in its working folder."""

    path: str
    content: bytes

    def as_json(self) -> dict[str, object]:
        """The contract's file object."""
        return {
            "path": self.path,
            "size": len(self.content),
            "content_b64": base64.b64encode(self.content).decode("ascii"),
        }


@dataclass(frozen=True)
class RunResult:
    """What a snippet did: its output, how it ended, and the files it made.

    `limit` names the limit that stopped the run — "memory", "time" (wall clock), "cpu" or
    "output" — or is None when the snippet ended by itself; `limit_value` is that limit's
    size, in MiB, seconds, seconds or bytes respectively.
    """

    stdout: str
    stderr: str
    exit_code: int | None
    signal: str | None
    timed_out: bool
    truncated: bool
    duration_ms: float
    files: tuple[RunFile, ...] = field(default_factory=tuple)
    limit: str | None = None
    limit_value: float | None = None

    def as_json(self) -> dict[str, object]:
        """The object of the `tutor run --json` contract."""
        return {
            "stdout": self.stdout,
            "stderr": self.stderr,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "timed_out": self.timed_out,
            "truncated": self.truncated,
            "duration_ms": round(self.duration_ms, 3),
            "files": [f.as_json() for f in self.files],
            "limit": self.limit,
            "limit_value": self.limit_value,
        }
