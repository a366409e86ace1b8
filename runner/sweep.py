"""Sweeping what a killed process left: after `kill -9` no teardown ran, so its snippet folders
(`<label>-snippet-<pid>-*`) and cgroups (`<label>-run-<pid>-*`) stay behind. A new sandbox of
the same label removes those whose `<pid>` is no longer alive, and never a live process's."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from runner.cgroup import CGROUP_ROOT, kill_members, remove_dirs

CONTROLLERS = ("memory", "pids")


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_owner(name: str, pattern: re.Pattern[str]) -> bool:
    match = pattern.fullmatch(name)
    # A name without a pid (or with ours) is never swept: its owner cannot be told dead.
    if match is None:
        return False
    pid = int(match.group(1))
    return pid != os.getpid() and pid > 0 and not pid_alive(pid)


def sweep(label: str, *, tmp: Path | None = None, cgroup_root: Path = CGROUP_ROOT) -> list[Path]:
    """Remove the folders and cgroups of `label` whose owning process is dead; the removed."""
    removed: list[Path] = []
    folder = re.compile(re.escape(f"{label}-snippet-") + r"(\d+)-[a-z0-9_]+")
    base = tmp if tmp is not None else Path(tempfile.gettempdir())
    for path in base.glob(f"{label}-snippet-*"):
        if _dead_owner(path.name, folder) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    group = re.compile(re.escape(f"{label}-run-") + r"(\d+)-[0-9a-f]+")
    for controller in CONTROLLERS:
        for path in (cgroup_root / controller).glob(f"{label}-run-*"):
            if _dead_owner(path.name, group) and path.is_dir():
                # A jail may outlive its owner for a moment; the cgroup goes once it is empty.
                kill_members([path])
                remove_dirs([path])
                if not path.exists():
                    removed.append(path)
    return removed
