"""One jail: the bubblewrap command line, the child's setup before bubblewrap starts (rlimits,
cgroups, the unprivileged uid, no_new_privs), and the started jail's input, output and
teardown. What the jail promises is summed up in `runner/sandbox.py`."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runner.cgroup import Cgroup
from runner.decode import JailOutput
from runner.errors import SandboxUnavailable
from runner.limits import Limits

JAIL_DIR = Path(__file__).with_name("jail")
DEFAULT_PYTHON = "/opt/tutor-sandbox/bin/python"
NOBODY = 65534
_PR_SET_NO_NEW_PRIVS = 38

# Looked up once here, not in each forked child before it starts bubblewrap.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def read_only_paths(prefix: str) -> list[str]:
    """The host folders the jail sees, read-only: the system's and the interpreter's alone."""
    paths = {"/usr", prefix}
    for p in ("/lib", "/lib64", "/bin", "/sbin", "/etc/alternatives", "/etc/fonts"):
        if Path(p).exists() and not Path(p).is_symlink():
            paths.add(p)
    return sorted(paths)


def command(
    bwrap: str, python: str, snippet_dir: Path, limits: Limits, report_fd: int, code_fd: int
) -> list[str]:
    """The bubblewrap command line that starts the supervisor in a fresh jail."""
    size = str(limits.workdir_mb * 2**20)
    cmd = [
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--uid",
        str(NOBODY),
        "--gid",
        str(NOBODY),
        "--hostname",
        "sandbox",
        "--clearenv",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--size",
        size,
        "--tmpfs",
        "/tmp",
        "--perms",
        "0755",
        "--size",
        size,
        "--tmpfs",
        "/work",
        "--chmod",
        "0777",
        "/work",
    ]
    for p in ("/lib", "/lib64", "/bin", "/sbin"):
        if Path(p).is_symlink():
            cmd += ["--symlink", os.readlink(p), p]
    for p in read_only_paths(str(Path(python).parent.parent)):
        cmd += ["--ro-bind", p, p]
    cmd += ["--ro-bind", str(snippet_dir), "/snippet", "--remount-ro", "/"]
    env = {
        "PATH": f"{Path(python).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/work",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": "/snippet/jail",
        "MPLBACKEND": "module://tutor_show",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "XDG_CACHE_HOME": "/tmp/cache",
        "OMP_NUM_THREADS": "2",
        "OPENBLAS_NUM_THREADS": "2",
    }
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    collect = {
        "max_files": limits.max_files,
        "max_file_bytes": limits.max_file_bytes,
        "max_depth": limits.max_depth,
    }
    supervisor = "/snippet/jail/supervise.py"
    cmd += [python, "-u", supervisor, json.dumps(collect), str(report_fd), str(code_fd)]
    return cmd


def preexec(limits: Limits, cgroup_procs: list[str]) -> Callable[[], None]:
    """What the forked child does before it becomes bubblewrap: join the cgroups, set the
    rlimits, drop to nobody (when started as root) and forbid new privileges."""
    as_root = os.geteuid() == 0
    use_rlimit_memory = not cgroup_procs

    def setup() -> None:
        pid = str(os.getpid()).encode()
        for path in cgroup_procs:
            fd = os.open(path, os.O_WRONLY)
            os.write(fd, pid)
            os.close(fd)
        mb = 2**20
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        size = limits.file_size_mb * mb
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if use_rlimit_memory:
            # Address space, not resident memory: generous, since torch maps far more than it
            # touches. Only used where cgroups are out of reach.
            space = max(limits.memory_mb * 4, 4096) * mb
            resource.setrlimit(resource.RLIMIT_AS, (space, space))
        if as_root:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
        if use_rlimit_memory:
            n = limits.processes
            resource.setrlimit(resource.RLIMIT_NPROC, (n, n))
        if _prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            os._exit(125)

    return setup


def kill(proc: subprocess.Popen) -> None:
    """Kill bubblewrap and its process group."""
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        proc.kill()


@dataclass(eq=False)  # compared by identity: a sandbox keeps its running jails in a set
class Jail:
    """A started jail, its supervisor waiting for the snippet on `code_fd`."""

    proc: subprocess.Popen
    report_fd: int
    code_fd: int
    cgroup: Cgroup | None
    folder: tempfile.TemporaryDirectory
    stopped: bool = False  # set by `stop`: `collect` gives up waiting for the output

    def alive(self) -> bool:
        """Whether the jail is still waiting (a warm one may have died meanwhile)."""
        return self.proc.poll() is None

    def send(self, lang: str, code: str) -> None:
        """Hand the snippet to the supervisor; the end of input starts it."""
        payload = json.dumps({"lang": lang}).encode() + b"\n" + code.encode("utf-8")
        with contextlib.suppress(OSError):  # a jail that failed to start says why on stderr
            view = memoryview(payload)
            while view:
                view = view[os.write(self.code_fd, view) :]
        self.close_code()

    def close_code(self) -> None:
        """Close the code pipe (the snippet's end of input), once."""
        if self.code_fd >= 0:
            os.close(self.code_fd)
            self.code_fd = -1

    def collect(self, limits: Limits, start: float) -> JailOutput:
        """Read the jail's output and report until it ends, the wall clock runs out (counted
        from `start`), or the output is over its budget; the last two kill it."""
        proc = self.proc
        assert proc.stdout is not None and proc.stderr is not None
        buffers = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
        report = bytearray()
        report_cap = 4 * (limits.max_files * limits.max_file_bytes + 65536)
        selector = selectors.DefaultSelector()
        for fd in buffers:
            selector.register(fd, selectors.EVENT_READ)
        selector.register(self.report_fd, selectors.EVENT_READ)
        open_fds = set(buffers) | {self.report_fd}
        timed_out = cut = False
        deadline = start + limits.wall_seconds
        while open_fds and not self.stopped:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in selector.select(timeout=min(remaining, 0.5)):
                fd = key.fd
                chunk = os.read(fd, 65536)
                if not chunk:
                    selector.unregister(fd)
                    open_fds.discard(fd)
                    continue
                if fd == self.report_fd:
                    if len(report) < report_cap:
                        report += chunk
                    continue
                buffers[fd] += chunk
                if sum(len(b) for b in buffers.values()) > limits.output_bytes:
                    cut = True
            if cut:
                break
        if timed_out or cut or self.stopped:
            kill(proc)
        selector.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            kill(proc)
            proc.wait()
        out, err = buffers.values()
        return JailOutput(bytes(out), bytes(err), bytes(report), timed_out, cut, proc.returncode)

    def memory_hit(self) -> bool | None:
        """Whether the memory limit killed a process of the run; None without cgroups."""
        if self.cgroup is None or not self.cgroup.active:
            return None
        return self.cgroup.memory_hit()

    def stop(self) -> None:
        """Kill the jail now, so that a `collect` in progress returns; `end` still tears down."""
        self.stopped = True
        kill(self.proc)
        if self.cgroup is not None:
            # A jail killed while bubblewrap is still setting up can leave a process outside
            # the parent's reach; it is in the cgroup all the same.
            self.cgroup.kill_all()

    def end(self) -> None:
        """End the jail and everything in it, and remove its cgroup and folder."""
        kill(self.proc)
        self.close_code()
        if self.report_fd >= 0:
            # Closed once and only once: a second close could hit a number reused by another run.
            os.close(self.report_fd)
            self.report_fd = -1
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        if self.cgroup is not None:
            self.cgroup.kill_all()
            self.cgroup.remove()
        self.folder.cleanup()


def start(bwrap: str, python: str, limits: Limits, label: str = "tutor") -> Jail:
    """Start a jail in a fresh folder `<label>-snippet-<pid>-*` (and cgroups
    `<label>-run-<pid>-*`, as root), `<pid>` being this process's, so that a later start can
    sweep what a killed one left (`runner/sweep.py`); raise SandboxUnavailable when bubblewrap
    cannot be started."""
    folder = tempfile.TemporaryDirectory(prefix=f"{label}-snippet-{os.getpid()}-")
    root = Path(folder.name)
    shutil.copytree(JAIL_DIR, root / "jail", ignore=shutil.ignore_patterns("__py*"))
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    cgroup = Cgroup(limits, label) if os.geteuid() == 0 else None
    report_r, report_w = os.pipe()
    code_r, code_w = os.pipe()
    procs = cgroup.join_paths() if cgroup is not None and cgroup.active else []
    try:
        proc = subprocess.Popen(
            command(bwrap, python, root, limits, report_w, code_r),
            # bwrap's own environment would show in the sandbox as /proc/1/environ: the
            # bot's tokens must never reach it, so bwrap starts with none at all.
            env={},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(report_w, code_r),
            preexec_fn=preexec(limits, procs),
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        for fd in (report_r, report_w, code_r, code_w):
            os.close(fd)
        if cgroup is not None:
            cgroup.remove()
        folder.cleanup()
        raise SandboxUnavailable(
            f"running code is off: the sandbox could not start ({exc.strerror or exc})"
        ) from None
    os.close(report_w)
    os.close(code_r)
    return Jail(proc, report_r, code_w, cgroup, folder)
