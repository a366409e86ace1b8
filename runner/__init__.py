"""Running strangers' snippets safely, for the tutor and on runner hosts of their own.

What it offers:
- `Sandbox`: runs a snippet in a fresh bubblewrap jail under `Limits` (`runner/limits.toml`)
  and answers a `RunResult` (with its `RunFile`s);
- `RemoteRunner` and `make_server`: the same over HTTP, so a runner host can be apart from the bot;
  `RemoteRunners`: several such hosts as one, runs spread and hosts that are down skipped;
- `Runner`: the protocol both satisfy, and `RunQueue`, which admits runs into one fairly
  (one per user, a global limit, "busy" instead of a pile-up);
- the errors, rooted at `RunnerError` (`runner/errors.py` draws the tree).

The rooms behind them: `limits.py`, `cgroup.py`, `bwrap.py` (one jail), `pool.py` (warm jails),
`decode.py` (a jail's output into a result), `sweep.py` (what a killed process left),
`sandbox.py` (the class that ties them together), `balance.py` (several runner hosts).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from runner.errors import (
    RunnerBusy,
    RunnerError,
    SandboxUnavailable,
    ServiceUnreachable,
    SnippetError,
)
from runner.protocol import Runner
from runner.result import RunFile, RunResult

if TYPE_CHECKING:
    from runner.balance import RemoteRunners
    from runner.dispatch import RunQueue
    from runner.limits import Limits
    from runner.sandbox import Sandbox
    from runner.service import RemoteRunner, make_server

# Imported on first use: the CLI imports the errors at start-up, and `tutor --help` should not
# pay for the jail's and the HTTP service's modules.
_LAZY = {
    "Limits": "runner.limits",
    "RemoteRunner": "runner.service",
    "RemoteRunners": "runner.balance",
    "RunQueue": "runner.dispatch",
    "Sandbox": "runner.sandbox",
    "make_server": "runner.service",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'runner' has no attribute {name!r}")


__all__ = [
    "Limits",
    "RemoteRunner",
    "RemoteRunners",
    "RunFile",
    "RunQueue",
    "RunResult",
    "Runner",
    "RunnerBusy",
    "RunnerError",
    "Sandbox",
    "SandboxUnavailable",
    "ServiceUnreachable",
    "SnippetError",
    "make_server",
]
