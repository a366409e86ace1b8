"""The seam between the tutor and whatever runs its snippets: the in-process `Sandbox` or a
`RemoteRunner` calling a runner service on another host."""

from __future__ import annotations

from typing import Protocol

from runner.result import RunResult

ANONYMOUS = "anonymous"


class Runner(Protocol):
    """Runs snippets for users; raises the runner's errors (`runner.errors`)."""

    def validate(self, code: str, lang: str) -> None:
        """Raise SnippetError for a snippet that cannot be run, before it takes a slot."""
        ...

    def run(self, code: str, lang: str = "python", *, user: str = ANONYMOUS) -> RunResult:
        """Run one snippet for `user` and report what it did."""
        ...

    def close(self) -> None:
        """Release what the runner holds (warm jails); it runs no more."""
        ...
