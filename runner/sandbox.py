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
into a `RunResult`.
"""

from __future__ import annotations

import atexit
import shutil
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

__all__ = ["DEFAULT_PYTHON", "LANGUAGES", "NOBODY", "Limits", "Sandbox"]


class Sandbox:
    """Runs snippets in bubblewrap; one instance serves many runs, each in a fresh jail.

    `label` names this sandbox's snippet folders (`<label>-snippet-*`) and cgroups
    (`<label>-run-*`), so that several sandboxes on one host can tell theirs apart.
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
        self._pool = WarmPool(lambda: self._start(self.limits), pool_size)
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
        jail = (self._pool.take() if limits == self.limits else None) or self._start(limits)
        try:
            start = time.monotonic()
            jail.send(lang, code)
            output = jail.collect(limits, start)
            duration = (time.monotonic() - start) * 1000
            return decode(output, duration, limits, jail.memory_hit())
        finally:
            # Tearing the jail down (kill, cgroup, folder) happens after the answer is out.
            self._pool.retire(jail)
            self._pool.refill()

    def _start(self, limits: Limits) -> Jail:
        return jails.start(self.bwrap, self.python, limits, self.label)

    def wait_warm(self, timeout: float = 10.0) -> bool:
        """Wait until the warm pool is full (for checks that must take warm jails)."""
        return self._pool.wait_full(timeout)

    def close(self) -> None:
        """End the warm jails and the thread that starts them; the sandbox runs no more."""
        self._pool.close()

    def settle(self) -> None:
        """Wait until every finished run's jail is torn down (for checks of the host)."""
        self._pool.settle()
