"""Fair use of the sandbox: one run at a time per user, a global limit on runs at once, and a
short queue that says "busy" when full instead of letting work pile up."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from runner.errors import RunnerBusy
from runner.protocol import Runner
from runner.result import RunResult

R = TypeVar("R", bound=Runner)


class RunQueue(Generic[R]):
    """Admits runs into a runner (`sandbox`); `run` blocks while the run waits for a slot and
    runs."""

    def __init__(self, sandbox: R, *, max_running: int = 2, max_waiting: int = 8) -> None:
        self.sandbox = sandbox
        self.max_running = max_running
        self.max_waiting = max_waiting
        self._slots = threading.Semaphore(max_running)
        self._lock = threading.Lock()
        self._users: set[str] = set()
        self._admitted = 0

    def run(self, user: str, code: str, lang: str = "python") -> RunResult:
        """Run a user's snippet, or raise RunnerBusy at once if that cannot be fair."""
        self.sandbox.validate(code, lang)  # a bad snippet never takes a slot
        with self._lock:
            if user in self._users:
                raise RunnerBusy("you already have a run going: wait for its result first")
            if self._admitted >= self.max_running + self.max_waiting:
                raise RunnerBusy("the sandbox is busy with other runs: try again in a moment")
            self._users.add(user)
            self._admitted += 1
        try:
            with self._slots:
                return self.sandbox.run(code, lang, user=user)
        finally:
            with self._lock:
                self._users.discard(user)
                self._admitted -= 1

    def close(self) -> None:
        """Close the runner behind the queue."""
        self.sandbox.close()
