"""Errors of the runner, each carrying a one-line message a person can act on.

RunnerError
├── SandboxUnavailable   the sandbox tool is missing or cannot start: code is not run at all
│   └── ServiceUnreachable   a runner service does not take connections (down, or no route)
├── SnippetError         the snippet is empty, too large, binary, or in an unknown language
└── RunnerBusy           too many runs at once, or this user already has one running
"""

from __future__ import annotations


class RunnerError(Exception):
    """Base of the runner's errors; str() is a one-line message for people."""


class SandboxUnavailable(RunnerError):
    """Code cannot be run safely here, so it is not run."""


class ServiceUnreachable(SandboxUnavailable):
    """A runner service could not be connected to; the snippet never reached it."""


class SnippetError(RunnerError):
    """The snippet cannot be run as given."""


class RunnerBusy(RunnerError):
    """No slot for the run right now."""
