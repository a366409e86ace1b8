"""Memory and process-count limits of one run through cgroups v1, when the host lets us make
them; where it does not, the jail falls back on rlimits (see `runner.bwrap.preexec`)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

from runner.limits import Limits

CGROUP_ROOT = Path("/sys/fs/cgroup")


class Cgroup:
    """A memory and a pids cgroup (v1) for one run, named `<label>-run-<random>`."""

    def __init__(self, limits: Limits, label: str = "tutor", root: Path = CGROUP_ROOT) -> None:
        self.dirs: list[Path] = []
        name = f"{label}-run-{uuid.uuid4().hex[:12]}"
        try:
            memory = root / "memory" / name
            memory.mkdir()
            self.dirs.append(memory)
            (memory / "memory.limit_in_bytes").write_text(str(limits.memory_mb * 2**20))
            swap = memory / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(limits.memory_mb * 2**20))
            pids = root / "pids" / name
            pids.mkdir()
            self.dirs.append(pids)
            (pids / "pids.max").write_text(str(limits.processes))
        except OSError:
            self.remove()
            self.dirs = []

    @property
    def active(self) -> bool:
        """Whether both cgroups exist, so the jail can rely on them instead of rlimits."""
        return len(self.dirs) == 2

    def join_paths(self) -> list[str]:
        """The files a process writes its pid to, to join the cgroups."""
        return [str(d / "cgroup.procs") for d in self.dirs]

    def memory_hit(self) -> bool:
        """Whether the run reached its memory limit."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.dirs[0] / "memory.failcnt").read_text()) > 0
        return False

    def kill_all(self) -> None:
        """Kill every process left in the cgroups, until none is left (or it gives up)."""
        for _ in range(50):
            pids: set[int] = set()
            for d in self.dirs:
                with contextlib.suppress(OSError):
                    pids |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self) -> None:
        """Remove the cgroups; the kernel refuses while a process is still in one, so retry."""
        for d in self.dirs:
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
