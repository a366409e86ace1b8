"""Fair use of the sandbox: one run at a time per user, a global limit on runs at once, and a
short queue that says "busy" when full instead of letting work pile up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from runner.errors import RunnerBusy
from runner.protocol import Runner
from runner.result import RunResult

R = TypeVar("R", bound=Runner)

Observer = Callable[[str, float], None]
"""Told of every admitted or refused run: its outcome (see `outcome`) and its wall seconds."""


def outcome(result: RunResult) -> str:
    """How a run ended, in one word: ok, error (a non-zero exit or a signal), timeout or memory."""
    if result.timed_out or result.limit in ("time", "cpu"):
        return "timeout"
    if result.limit == "memory":
        return "memory"
    return "ok" if result.exit_code == 0 and result.signal is None else "error"


class RunQueue(Generic[R]):
    """Admits runs into a runner (`sandbox`); `run` blocks while the run waits for a slot and
    runs."""

    def __init__(
        self,
        sandbox: R,
        *,
        max_running: int = 2,
        max_waiting: int = 8,
        observer: Observer | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.max_running = max_running
        self.max_waiting = max_waiting
        self.observer = observer
        self._slots = threading.Semaphore(max_running)
        self._lock = threading.Lock()
        self._users: set[str] = set()
        self._admitted = 0

    def run(self, user: str, code: str, lang: str = "python") -> RunResult:
        """Run a user's snippet, or raise RunnerBusy at once if that cannot be fair."""
        self.sandbox.validate(code, lang)  # a bad snippet never takes a slot
        with self._lock:
            refused = self._refusal(user)
            if not refused:
                self._users.add(user)
                self._admitted += 1
        if refused:
            self._observe("busy", 0.0)
            raise RunnerBusy(refused)
        started = time.monotonic()
        ended = "failed"  # the runner raised: the sandbox is gone, or a remote one is down
        try:
            with self._slots:
                result = self.sandbox.run(code, lang, user=user)
            ended = outcome(result)
            return result
        except RunnerBusy:
            ended = "busy"  # a runner service further on was full
            raise
        finally:
            with self._lock:
                self._users.discard(user)
                self._admitted -= 1
            self._observe(ended, time.monotonic() - started)

    def _refusal(self, user: str) -> str:
        if user in self._users:
            return "you already have a run going: wait for its result first"
        if self._admitted >= self.max_running + self.max_waiting:
            return "the sandbox is busy with other runs: try again in a moment"
        return ""

    @property
    def admitted(self) -> int:
        """Runs running or waiting for a slot now."""
        return self._admitted

    def _observe(self, ended: str, seconds: float) -> None:
        if self.observer is not None:
            self.observer(ended, seconds)

    def close(self) -> None:
        """Close the runner behind the queue."""
        self.sandbox.close()
