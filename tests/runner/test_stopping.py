"""Stopping and sweeping: `Sandbox.close()` ends runs in flight and leaves nothing behind, a new
sandbox sweeps what a killed process of its label left (and nothing of a live one), and
`tutor serve runner` stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runner.errors import SandboxUnavailable
from runner.sandbox import DEFAULT_PYTHON, Limits, Sandbox
from runner.service import RemoteRunner

PYTHON = os.environ.get("TUTOR_RUNNER_PYTHON", DEFAULT_PYTHON)
TUTOR = str(Path(sys.executable).with_name("tutor"))
CGROUPS = Path("/sys/fs/cgroup")
SECRET = "a-shared-secret-for-tests"


def leftovers(label: str, pid: int | str = "*") -> list[Path]:
    """The snippet folders and cgroups of `label` (of process `pid`, or of any)."""
    found = list(Path(tempfile.gettempdir()).glob(f"{label}-snippet-{pid}-*"))
    for controller in ("memory", "pids"):
        found += list((CGROUPS / controller).glob(f"{label}-run-{pid}-*"))
    return found


class StartWatchingSandbox(Sandbox):
    """The real sandbox, telling the test when a run's jail has started."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.started = threading.Event()

    def _start(self, limits):
        jail = super()._start(limits)
        self.started.set()
        return jail


def test_close_ends_a_run_in_flight_and_leaves_nothing():
    label = f"tutor-test-{uuid.uuid4().hex[:8]}"
    box = StartWatchingSandbox(
        Limits.load().with_(wall_seconds=60), python=PYTHON, pool_size=0, label=label
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        run = pool.submit(box.run, "import time\nprint('up', flush=True)\ntime.sleep(60)")
        assert box.started.wait(timeout=30)
        assert leftovers(label)  # the run's folder (and cgroups, as root) exist now
        box.close()
        with pytest.raises(SandboxUnavailable, match="shutting down"):
            run.result(timeout=20)  # well before the snippet's 60 seconds
    assert leftovers(label) == []


def test_close_is_idempotent_from_several_threads():
    box = Sandbox(python=PYTHON, pool_size=1, label=f"tutor-test-{uuid.uuid4().hex[:8]}")
    box.wait_warm(timeout=30)
    threads = [threading.Thread(target=box.close) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    box.close()
    assert leftovers(box.label) == []
    with pytest.raises(SandboxUnavailable, match="shutting down"):
        box.run("print(1)")


def _plant(label: str, pid: int) -> list[Path]:
    """What a process `pid` of `label` would leave after kill -9: a folder and two cgroups."""
    folder = Path(tempfile.gettempdir()) / f"{label}-snippet-{pid}-ab12cd_9"
    (folder / "jail").mkdir(parents=True)
    (folder / "jail" / "supervise.py").write_text("pass\n")
    planted = [folder]
    for controller in ("memory", "pids"):
        group = CGROUPS / controller / f"{label}-run-{pid}-0123456789ab"
        group.mkdir()
        planted.append(group)
    return planted


def test_a_new_sandbox_sweeps_a_dead_processs_leftovers_and_keeps_a_live_ones():
    label = f"tutor-test-{uuid.uuid4().hex[:8]}"
    finished = subprocess.Popen(["true"])
    finished.wait()  # reaped: its pid names no process now
    alive = subprocess.Popen(["sleep", "600"])
    dead_ones = _plant(label, finished.pid)
    live_ones = _plant(label, alive.pid)
    try:
        Sandbox(python=PYTHON, pool_size=0, label=label).close()
        assert [p for p in dead_ones if p.exists()] == []
        assert [p for p in live_ones if p.exists()] == live_ones
    finally:
        alive.kill()
        alive.wait()
        shutil.rmtree(live_ones[0], ignore_errors=True)
        for group in [*live_ones[1:], *dead_ones[1:]]:
            if group.exists():
                group.rmdir()


def test_serve_runner_stops_on_sigterm_exits_0_and_leaves_nothing(tmp_path):
    env = {
        **os.environ,
        "TUTOR_RUNNER_PYTHON": PYTHON,
        "TUTOR_RUNNER_SECRET": SECRET,
        "TUTOR_RUNNER_URL": "",
    }
    proc = subprocess.Popen(
        [TUTOR, "--data-dir", str(tmp_path), "serve", "runner", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("runner service on http://127.0.0.1:"), line
        url = line.split()[-1].removesuffix("/run")
        # A run, which also sets the warm pool filling: jails with folders of this process.
        assert RemoteRunner(url, SECRET).run("print(6 * 7)").stdout == "42\n"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert leftovers("tutor", proc.pid) == []
