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
    """A memory and a pids cgroup (v1) for one run, named `<label>-run-<pid>-<random>`, `<pid>`
    being the owning process's (so that `runner/sweep.py` can tell a dead owner's)."""

    def __init__(self, limits: Limits, label: str = "tutor", root: Path = CGROUP_ROOT) -> None:
        self.dirs: list[Path] = []
        name = f"{label}-run-{os.getpid()}-{uuid.uuid4().hex[:12]}"
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
        """Whether the memory limit killed a process of the run (the kernel's OOM count;
        the failure count where the kernel keeps none)."""
        memory = self.dirs[0] if self.dirs else None
        if memory is None:
            return False
        with contextlib.suppress(OSError, ValueError):
            for line in (memory / "memory.oom_control").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value) > 0
        with contextlib.suppress(OSError, ValueError):
            return int((memory / "memory.failcnt").read_text()) > 0
        return False

    def kill_all(self) -> None:
        """Kill every process left in the cgroups, until none is left (or it gives up)."""
        kill_members(self.dirs)

    def remove(self) -> None:
        """Remove the cgroups; the kernel refuses while a process is still in one, so retry."""
        remove_dirs(self.dirs)


def kill_members(dirs: list[Path]) -> None:
    """Kill every process in the cgroup folders `dirs`, until none is left (or give up)."""
    for _ in range(50):
        pids: set[int] = set()
        for d in dirs:
            with contextlib.suppress(OSError, ValueError):
                pids |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def remove_dirs(dirs: list[Path]) -> None:
    """Remove cgroup folders; the kernel refuses while a process is still in one, so retry."""
    for d in dirs:
        for _ in range(100):
            try:
                d.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.01)
