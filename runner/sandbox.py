"""Running a stranger's snippet: bubblewrap namespaces, an unprivileged uid, limits, and a result.

The jail, built by `Sandbox._command`:
- new user, pid, network, mount, ipc, uts and cgroup namespaces (`--unshare-all`): no network at
  all, not even the host's loopback, and no view of the host's processes;
- uid/gid 65534 (nobody) on the host, `no_new_privs`, no capabilities, so setuid binaries are inert;
- a read-only view of the interpreter alone (/usr, and the Python install and its packages), a
  fresh size-capped tmpfs as the working folder and /tmp, and an empty environment apart from
  what the interpreter needs: none of the bot's settings, tokens, database or files are visible;
- limits: wall clock (the host kills the sandbox), CPU time, file size and open files (rlimits),
  memory and process count (cgroup v1 when the host can make one, rlimits otherwise), output
  (read by the host and cut);
- everything the snippet starts dies with the run (pid namespace, `--die-with-parent`, and a
  final kill of the sandbox's processes).

If bubblewrap is missing or cannot start, nothing runs: `SandboxUnavailable`, never a fallback.
"""

from __future__ import annotations

import atexit
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
import threading
import time
import tomllib
import uuid
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from runner.errors import SandboxUnavailable, SnippetError
from runner.result import RunFile, RunResult

LIMITS_FILE = Path(__file__).with_name("limits.toml")
JAIL_DIR = Path(__file__).with_name("jail")
LANGUAGES = ("python", "sh")
DEFAULT_PYTHON = "/opt/tutor-sandbox/bin/python"
NOBODY = 65534
_PR_SET_NO_NEW_PRIVS = 38
_CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Limits:
    """The limits of one run (defaults in runner/limits.toml)."""

    wall_seconds: float
    cpu_seconds: int
    memory_mb: int
    processes: int
    file_size_mb: int
    open_files: int
    workdir_mb: int
    output_bytes: int
    max_files: int
    max_file_bytes: int
    max_depth: int
    snippet_bytes: int

    @classmethod
    def load(cls, path: Path = LIMITS_FILE, **overrides: Any) -> Limits:
        """The limits file, with some values replaced."""
        values = tomllib.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known}, **overrides)

    def with_(self, **changes: Any) -> Limits:
        """A copy with some values changed."""
        return replace(self, **changes)


# Looked up once here, not in each forked child before it starts bubblewrap.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


class _Cgroup:
    """Memory and pids cgroups (v1) for one run, when the host lets us make them."""

    def __init__(self, limits: Limits) -> None:
        self.dirs: list[Path] = []
        name = f"tutor-run-{uuid.uuid4().hex[:12]}"
        try:
            memory = _CGROUP_ROOT / "memory" / name
            memory.mkdir()
            self.dirs.append(memory)
            (memory / "memory.limit_in_bytes").write_text(str(limits.memory_mb * 2**20))
            swap = memory / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(limits.memory_mb * 2**20))
            pids = _CGROUP_ROOT / "pids" / name
            pids.mkdir()
            self.dirs.append(pids)
            (pids / "pids.max").write_text(str(limits.processes))
        except OSError:
            self.remove()
            self.dirs = []

    @property
    def active(self) -> bool:
        return len(self.dirs) == 2

    def join_paths(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def memory_hit(self) -> bool:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.dirs[0] / "memory.failcnt").read_text()) > 0
        return False

    def kill_all(self) -> None:
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
        for d in self.dirs:
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


@dataclass
class _Jail:
    """A started sandbox, waiting for its snippet on `code_fd`."""

    proc: subprocess.Popen
    report_fd: int
    code_fd: int
    cgroup: _Cgroup | None
    folder: tempfile.TemporaryDirectory

    def close_code(self) -> None:
        """Close the code pipe (the snippet's end of input), once."""
        if self.code_fd >= 0:
            os.close(self.code_fd)
            self.code_fd = -1


class Sandbox:
    """Runs snippets in bubblewrap; one instance serves many runs, each in a fresh jail."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        python: str = DEFAULT_PYTHON,
        bwrap: str | None = None,
        pool_size: int = 2,
    ) -> None:
        self.limits = limits or Limits.load()
        self.pool_size = pool_size
        self._warm: list[_Jail] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._filler: threading.Thread | None = None
        self._closed = False
        self._retiring: set[threading.Thread] = set()
        atexit.register(self.close)  # warm jails never outlive the process that started them
        self.bwrap = bwrap if bwrap is not None else (shutil.which("bwrap") or "")
        # The snippet's interpreter: a virtual environment of its own in a world-readable place,
        # since the jail runs as nobody (`make sandbox` builds it).
        self.python = python
        self.prefix = str(Path(python).parent.parent)

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

    # -- the jail ----------------------------------------------------------------------------

    def _read_only_paths(self) -> list[str]:
        paths = {"/usr", self.prefix}
        for p in ("/lib", "/lib64", "/bin", "/sbin", "/etc/alternatives", "/etc/fonts"):
            if Path(p).exists() and not Path(p).is_symlink():
                paths.add(p)
        return sorted(paths)

    def _command(
        self, snippet_dir: Path, limits: Limits, report_fd: int, code_fd: int
    ) -> list[str]:
        size = str(limits.workdir_mb * 2**20)
        cmd = [
            self.bwrap,
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
        for p in self._read_only_paths():
            cmd += ["--ro-bind", p, p]
        cmd += ["--ro-bind", str(snippet_dir), "/snippet", "--remount-ro", "/"]
        env = {
            "PATH": f"{Path(self.python).parent}:/usr/local/bin:/usr/bin:/bin",
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
        cmd += [self.python, "-u", supervisor, json.dumps(collect), str(report_fd), str(code_fd)]
        return cmd

    def _preexec(self, limits: Limits, cgroup_procs: list[str]) -> Any:
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

    # -- running -----------------------------------------------------------------------------

    def validate(self, code: str, lang: str, limits: Limits | None = None) -> None:
        """Raise SnippetError for a snippet that cannot be run as given."""
        limits = limits or self.limits
        if lang not in LANGUAGES:
            raise SnippetError(
                f"unknown language {lang!r}: the sandbox runs {', '.join(sorted(LANGUAGES))}"
            )
        if not code.strip():
            raise SnippetError("the snippet is empty: paste some code to run")
        size = len(code.encode("utf-8", "surrogatepass"))
        if size > limits.snippet_bytes:
            raise SnippetError(
                f"the snippet is {size:,} bytes, over the {limits.snippet_bytes:,}-byte limit"
            )
        if "\x00" in code:
            raise SnippetError("the snippet contains a null byte: paste it as plain text")

    def run(self, code: str, lang: str = "python", limits: Limits | None = None) -> RunResult:
        """Run one snippet in a fresh jail (a warm one when ready) and report what it did."""
        limits = limits or self.limits
        self.validate(code, lang, limits)
        self.check()
        jail = self._take(limits)
        try:
            start = time.monotonic()
            payload = json.dumps({"lang": lang}).encode() + b"\n" + code.encode("utf-8")
            with contextlib.suppress(OSError):  # a jail that failed to start says why on stderr
                view = memoryview(payload)
                while view:
                    view = view[os.write(jail.code_fd, view) :]
            jail.close_code()
            out, err, report, timed_out, cut = self._collect(
                jail.proc, jail.report_fd, limits, start
            )
            duration = (time.monotonic() - start) * 1000
            return self._result(
                jail.proc, out, err, report, timed_out, cut, duration, limits, jail.cgroup
            )
        finally:
            # Tearing the jail down (kill, cgroup, folder) happens after the answer is out.
            retiring = threading.Thread(target=self._retire, args=(jail,), daemon=True)
            with self._lock:
                self._retiring.add(retiring)
            retiring.start()
            self._refill()

    # -- the warm pool -----------------------------------------------------------------------

    def _spawn(self, limits: Limits) -> _Jail:
        folder = tempfile.TemporaryDirectory(prefix="tutor-snippet-")
        root = Path(folder.name)
        shutil.copytree(JAIL_DIR, root / "jail", ignore=shutil.ignore_patterns("__py*"))
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        cgroup = _Cgroup(limits) if os.geteuid() == 0 else None
        report_r, report_w = os.pipe()
        code_r, code_w = os.pipe()
        procs = cgroup.join_paths() if cgroup is not None and cgroup.active else []
        try:
            proc = subprocess.Popen(
                self._command(root, limits, report_w, code_r),
                # bwrap's own environment would show in the sandbox as /proc/1/environ: the
                # bot's tokens must never reach it, so bwrap starts with none at all.
                env={},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(report_w, code_r),
                preexec_fn=self._preexec(limits, procs),
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
        return _Jail(proc, report_r, code_w, cgroup, folder)

    def _take(self, limits: Limits) -> _Jail:
        if limits == self.limits:
            with self._lock:
                while self._warm:
                    jail = self._warm.pop()
                    if jail.proc.poll() is None:
                        return jail
                    self._retire(jail)
        return self._spawn(limits)

    def _refill(self) -> None:
        with self._wake:
            if self._closed or self.pool_size <= 0:
                return
            if self._filler is None:
                # One long-lived thread starts every warm jail: bwrap's --die-with-parent follows
                # the thread that started it, so a short-lived thread would take its jails along.
                self._filler = threading.Thread(target=self._fill, daemon=True)
                self._filler.start()
            self._wake.notify()

    def _fill(self) -> None:
        while True:
            with self._wake:
                while not self._closed and len(self._warm) >= self.pool_size:
                    self._wake.wait()
                if self._closed:
                    return
            try:
                jail = self._spawn(self.limits)
            except SandboxUnavailable:
                with self._wake:
                    self._wake.wait(timeout=5)
                continue
            with self._wake:
                self._warm.append(jail)

    def _retire(self, jail: _Jail) -> None:
        """End a jail and everything in it, and remove its cgroup and folder."""
        try:
            self._end(jail)
        finally:
            with self._lock:
                self._retiring.discard(threading.current_thread())

    def _end(self, jail: _Jail) -> None:
        self._kill(jail.proc)
        jail.close_code()
        if jail.report_fd >= 0:
            # Closed once and only once: a second close could hit a number reused by another run.
            os.close(jail.report_fd)
            jail.report_fd = -1
        with contextlib.suppress(subprocess.TimeoutExpired):
            jail.proc.wait(timeout=5)
        for stream in (jail.proc.stdout, jail.proc.stderr):
            if stream is not None:
                stream.close()
        if jail.cgroup is not None:
            jail.cgroup.kill_all()
            jail.cgroup.remove()
        jail.folder.cleanup()

    def close(self) -> None:
        """End the warm jails and the thread that starts them; the sandbox runs no more."""
        with self._wake:
            self._closed = True
            warm, self._warm = self._warm, []
            filler, self._filler = self._filler, None
            self._wake.notify_all()
        if filler is not None:
            filler.join(timeout=10)
        with self._wake:
            warm += self._warm
            self._warm = []
            retiring = list(self._retiring)
        for jail in warm:
            self._end(jail)
        for thread in retiring:
            thread.join(timeout=10)

    def settle(self) -> None:
        """Wait until every finished run's jail is torn down (for checks of the host)."""
        with self._lock:
            retiring = list(self._retiring)
        for thread in retiring:
            thread.join(timeout=10)

    def _collect(
        self, proc: subprocess.Popen, report_fd: int, limits: Limits, start: float
    ) -> tuple[bytearray, bytearray, bytearray, bool, bool]:
        assert proc.stdout is not None and proc.stderr is not None
        buffers = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
        report = bytearray()
        selector = selectors.DefaultSelector()
        for fd in buffers:
            selector.register(fd, selectors.EVENT_READ)
        selector.register(report_fd, selectors.EVENT_READ)
        open_fds = set(buffers) | {report_fd}
        timed_out = cut = False
        deadline = start + limits.wall_seconds
        while open_fds:
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
                if fd == report_fd:
                    if len(report) < 4 * (limits.max_files * limits.max_file_bytes + 65536):
                        report += chunk
                    continue
                buffers[fd] += chunk
                if sum(len(b) for b in buffers.values()) > limits.output_bytes:
                    cut = True
            if cut:
                break
        if timed_out or cut:
            self._kill(proc)
        selector.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._kill(proc)
            proc.wait()
        out, err = buffers.values()
        return out, err, report, timed_out, cut

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            proc.kill()

    def _result(
        self,
        proc: subprocess.Popen,
        out: bytearray,
        err: bytearray,
        report_raw: bytearray,
        timed_out: bool,
        cut: bool,
        duration: float,
        limits: Limits,
        cgroup: _Cgroup | None,
    ) -> RunResult:
        report: dict[str, Any] = {}
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            parsed = json.loads(report_raw.decode("utf-8"))
            if isinstance(parsed, dict):
                report = parsed
        exit_code: int | None = None
        sig: str | None = None
        if timed_out or cut:
            sig = "SIGKILL"
        elif isinstance(report.get("exit_code"), int):
            exit_code = report["exit_code"]
        elif isinstance(report.get("signal"), int):
            sig = _signal_name(report["signal"])
        elif proc.returncode is not None and proc.returncode >= 0:
            code = proc.returncode
            if code > 128:
                sig = _signal_name(code - 128)
            else:
                exit_code = code
        elif proc.returncode is not None:
            sig = _signal_name(-proc.returncode)

        budget = limits.output_bytes
        stdout = _text(bytes(out[:budget]))
        stderr = _text(bytes(err[: max(0, budget - len(out))]))
        notes = []
        if cut:
            notes.append(f"[output cut at {budget:,} bytes; the run was stopped]")
        if timed_out:
            notes.append(f"[stopped after the {limits.wall_seconds:g}-second time limit]")
        if sig == "SIGXCPU" or (sig == "SIGKILL" and duration / 1000 > limits.cpu_seconds):
            notes.append(f"[stopped at the {limits.cpu_seconds}-second CPU limit]")
        if cgroup is not None and cgroup.active and cgroup.memory_hit():
            notes.append(f"[the {limits.memory_mb} MB memory limit was reached]")
        if notes:
            stderr = (stderr + ("\n" if stderr and not stderr.endswith("\n") else "")) + "\n".join(
                notes
            )
        files = tuple(_files(report.get("files"), limits))
        return RunResult(
            stdout=stdout,
            stderr=stderr,
            exit_code=exit_code,
            signal=sig,
            timed_out=timed_out,
            truncated=cut,
            duration_ms=duration,
            files=files,
        )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"SIG{number}"


def _text(data: bytes) -> str:
    """Output as text a chat can show: invalid UTF-8 replaced, null bytes made visible."""
    return data.decode("utf-8", errors="replace").replace("\x00", "\\0")


def _safe_name(path: str) -> str | None:
    parts = [p for p in path.split("/") if p not in ("", ".", "..")]
    clean = "/".join(
        "".join(ch if ch.isprintable() and ch not in '\\:*?"<>|' else "_" for ch in part)[:100]
        for part in parts
    )
    return clean or None


def _files(raw: Any, limits: Limits) -> list[RunFile]:
    files: list[RunFile] = []
    if not isinstance(raw, list):
        return files
    for item in raw[: limits.max_files]:
        if not (isinstance(item, list) and len(item) == 2):
            continue
        name, hexdata = item
        if not isinstance(name, str) or not isinstance(hexdata, str):
            continue
        safe = _safe_name(name)
        if safe is None:
            continue
        try:
            content = bytes.fromhex(hexdata)
        except ValueError:
            continue
        if len(content) <= limits.max_file_bytes:
            files.append(RunFile(path=safe, content=content))
    return files
