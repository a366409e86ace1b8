"""Runs inside the sandbox (never on the host): waits for the snippet (read from the descriptor
named by its last argument), forks it, waits for it, ends whatever it left running, and reports
how it ended and the files it wrote, as JSON on the descriptor named by its second argument.

Forking this already-started interpreter saves a second Python start-up per run. Everything this
file reports is treated by the host as untrusted: the snippet runs as the same user and could
forge it.
"""

import contextlib
import json
import os
import signal
import stat
import sys
import time
import traceback

WORK = "/work"


def run_python(path):
    sys.argv = [path]
    sys.path[0] = WORK
    code = 0
    try:
        import runpy

        runpy.run_path(path, run_name="__main__")
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException as exc:  # the snippet's own error, shown as Python would show it
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != path:
            tb = tb.tb_next
        traceback.print_exception(type(exc), exc, tb)
        code = 1
    try:
        import atexit

        atexit._run_exitfuncs()  # the snippet's own, and the figure saver's
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code & 0xFF)


def collect(limits):
    files: list[list[str]] = []
    deadline = time.monotonic() + 2.0
    for root, dirs, names in os.walk(WORK, followlinks=False):
        depth = root[len(WORK) :].count("/")
        dirs[:] = (
            [] if depth >= limits["max_depth"] else sorted(d for d in dirs if not d.startswith("."))
        )
        for name in sorted(n for n in names if not n.startswith(".")):
            if len(files) >= limits["max_files"] or time.monotonic() > deadline:
                return files
            full = os.path.join(root, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            # Regular files only, never a link of either kind out of the folder.
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
                continue
            if info.st_size > limits["max_file_bytes"]:
                continue
            try:
                fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW)
                with os.fdopen(fd, "rb") as f:
                    data = f.read(limits["max_file_bytes"] + 1)
            except OSError:
                continue
            if len(data) <= limits["max_file_bytes"]:
                files.append([os.path.relpath(full, WORK), data.hex()])
    return files


def receive(fd):
    """Wait (warm) for the host to send the run: a JSON header line, then the code."""
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    header, _, code = b"".join(chunks).partition(b"\n")
    return json.loads(header)["lang"], code


def main():
    limits = json.loads(sys.argv[1])
    report = os.fdopen(int(sys.argv[2]), "w")
    lang, code = receive(int(sys.argv[3]))
    path = "/tmp/main.py" if lang == "python" else "/tmp/main.sh"
    with open(path, "wb") as f:
        f.write(code)
    os.chdir(WORK)
    pid = os.fork()
    if pid == 0:
        report.close()
        if lang == "python":
            run_python(path)
        os.execv("/bin/sh", ["sh", path])
    _, status = os.waitpid(pid, 0)
    # Whatever the snippet started in the background ends with it.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.kill(-1, signal.SIGKILL)
    result = {"files": collect(limits)}
    if os.WIFSIGNALED(status):
        result["signal"] = os.WTERMSIG(status)
    else:
        result["exit_code"] = os.WEXITSTATUS(status)
    json.dump(result, report)
    report.close()


main()
