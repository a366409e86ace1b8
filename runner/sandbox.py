"""Running a stranger's snippet: bubblewrap namespaces, an unprivileged uid, limits, and a result.

The jail (`runner/bwrap.py` builds it):
- new user, pid, network, mount, ipc, uts and cgroup namespaces (`--unshare-all`): no network at
  all, not even the host's loopback, and no view of the host's processes;
- uid/gid 65534 (nobody) on the host, `no_new_privs`, no capabilities, so setuid binaries are inert;
- a read-only view of the interpreter alone (/usr, and the Python install and its packages), a
  fresh size-capped tmpfs as the working folder and /tmp, and an empty environment apart from
  what the interpreter needs: none of the bot's settings, tokens, database or files are visible;
- limits (`runner/limits.toml`): wall clock (the host kills the sandbox), CPU time, file size and
  open files (rlimits), memory and process count (cgroup v1 when the host can make one,
  `runner/cgroup.py`; rlimits otherwise), output (read by the host and cut);
- everything the snippet starts dies with the run (pid namespace, `--die-with-parent`, and a
  final kill of the sandbox's processes).

If bubblewrap is missing or cannot start, nothing runs: `SandboxUnavailable`, never a fallback.
The other rooms: `runner/pool.py` keeps jails warm, `runner/decode.py` turns what a jail wrote
into a `RunResult`, `runner/sweep.py` removes what a killed process of the same label left.
"""

from __future__ import annotations

import atexit
import shutil
import threading
import time
from pathlib import Path

from runner import bwrap as jails
from runner.bwrap import DEFAULT_PYTHON, NOBODY, Jail
from runner.decode import decode
from runner.errors import SandboxUnavailable
from runner.limits import LANGUAGES, Limits, check_snippet
from runner.pool import WarmPool
from runner.protocol import ANONYMOUS
from runner.result import RunResult
from runner.sweep import sweep

__all__ = ["DEFAULT_PYTHON", "LANGUAGES", "NOBODY", "Limits", "Sandbox"]


class Sandbox:
    """Runs snippets in bubblewrap; one instance serves many runs, each in a fresh jail.

    `label` names this sandbox's snippet folders (`<label>-snippet-<pid>-*`) and cgroups
    (`<label>-run-<pid>-*`), so that several sandboxes on one host can tell theirs apart; a new
    sandbox sweeps those of its label whose process is dead (killed before it could clean up).
    """

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        python: str = DEFAULT_PYTHON,
        bwrap: str | None = None,
        pool_size: int = 2,
        label: str = "tutor",
    ) -> None:
        self.limits = limits or Limits.load()
        self.pool_size = pool_size
        self.bwrap = bwrap if bwrap is not None else (shutil.which("bwrap") or "")
        # The snippet's interpreter: a virtual environment of its own in a world-readable place,
        # since the jail runs as nobody (`make sandbox` builds it).
        self.python = python
        self.prefix = str(Path(python).parent.parent)
        self.label = label
        sweep(label)
        self._pool = WarmPool(lambda: self._start(self.limits), pool_size)
        # Re-entrant, so that a close reached again on the same thread (a signal handler
        # running while close is under way) returns instead of waiting on itself.
        self._idle = threading.Condition(threading.RLock())
        self._running: set[Jail] = set()  # the jails of runs in flight
        self._active = 0  # runs in flight, counted from before their jail is started
        self._closed = False
        atexit.register(self.close)  # warm jails never outlive the process that started them

    def check(self) -> None:
        """Raise SandboxUnavailable unless a jail can be started here."""
        if not self.bwrap or not Path(self.bwrap).exists():
            raise SandboxUnavailable(
                "running code is off: the sandbox tool bubblewrap is not installed "
                "(apt-get install bubblewrap); snippets are never run without it"
            )
        if not Path(self.python).exists():
            raise SandboxUnavailable(
                f"running code is off: the sandbox's Python {self.python} is missing "
                "(run `make sandbox`, or set TUTOR_RUNNER_PYTHON)"
            )

    def validate(self, code: str, lang: str, limits: Limits | None = None) -> None:
        """Raise SnippetError for a snippet that cannot be run as given."""
        check_snippet(code, lang, (limits or self.limits).snippet_bytes)

    def run(
        self,
        code: str,
        lang: str = "python",
        limits: Limits | None = None,
        *,
        user: str = ANONYMOUS,
    ) -> RunResult:
        """Run one snippet in a fresh jail (a warm one when ready) and report what it did."""
        # `user` is not used here: each run has a jail of its own, and fairness between
        # users is the RunQueue's.
        limits = limits or self.limits
        self.validate(code, lang, limits)
        self.check()
        with self._idle:
            if self._closed:
                raise self._closed_error()
            self._active += 1
        jail: Jail | None = None
        try:
            jail = (self._pool.take() if limits == self.limits else None) or self._start(limits)
            with self._idle:
                self._running.add(jail)
                if self._closed:  # closed while the jail started: close() did not see it
                    jail.stop()
            start = time.monotonic()
            jail.send(lang, code)
            output = jail.collect(limits, start)
            duration = (time.monotonic() - start) * 1000
            if self._closed:  # a run ended by close() has no result worth reporting
                raise self._closed_error()
            return decode(output, duration, limits, jail.memory_hit())
        finally:
            if jail is not None:
                # Tearing the jail down (kill, cgroup, folder) happens after the answer is out.
                self._pool.retire(jail)
                if not self._closed:
                    self._pool.refill()
            with self._idle:
                if jail is not None:
                    self._running.discard(jail)
                self._active -= 1
                self._idle.notify_all()

    @staticmethod
    def _closed_error() -> SandboxUnavailable:
        return SandboxUnavailable("the sandbox is shutting down: try the run again in a moment")

    def _start(self, limits: Limits) -> Jail:
        return jails.start(self.bwrap, self.python, limits, self.label)

    def wait_warm(self, timeout: float = 10.0) -> bool:
        """Wait until the warm pool is full (for checks that must take warm jails)."""
        return self._pool.wait_full(timeout)

    def close(self) -> None:
        """End the runs in flight, the warm jails and the thread that starts them, and remove
        their folders and cgroups; the sandbox runs no more. Idempotent and thread-safe."""
        with self._idle:
            if self._closed:
                return
            self._closed = True
            running = list(self._running)
        for jail in running:
            # Killed here, torn down by the run's own thread (its `finally` retires the jail).
            jail.stop()
        with self._idle:
            # Every run retires its jail before it stops counting, so once none counts, the
            # pool's close below waits for every teardown.
            self._idle.wait_for(lambda: self._active == 0, timeout=15)
        self._pool.close()

    def settle(self) -> None:
        """Wait until every finished run's jail is torn down (for checks of the host)."""
        self._pool.settle()
