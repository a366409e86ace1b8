"""The sandbox's promise, one abuse per test (after snekbox's tests/test_nsjail.py).

After every test the host is checked: no process the test's runs started is left, no cgroup or
snippet folder of theirs is left behind, and the next run works. Only what this module's own
sandboxes made is looked at, so other sandboxes on the same host change nothing here.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from runner.errors import SandboxUnavailable, SnippetError
from runner.sandbox import DEFAULT_PYTHON, NOBODY, Limits, Sandbox

PYTHON = os.environ.get("TUTOR_RUNNER_PYTHON", DEFAULT_PYTHON)
LIMITS = Limits.load().with_(wall_seconds=4, cpu_seconds=2, memory_mb=256, output_bytes=20_000)


# This module's own name for its snippet folders and cgroups: other sandboxes on the host (other
# test runs, a bot) have theirs, and the checks below look at this module's alone.
LABEL = f"tutor-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def sandbox():
    # No warm pool here, so that "no process of the sandbox is left" is exact after each test;
    # the pool has tests of its own below.
    box = Sandbox(LIMITS, python=PYTHON, pool_size=0, label=LABEL)
    box.check()  # CI installs the sandbox (make sandbox): a missing one fails, never skips
    yield box
    box.close()


def _our_processes() -> set[int]:
    """The live descendants of this test process: every jail it started and what ran inside.

    Nothing in a jail can leave this tree (the pid namespace dies with its first process), and
    where cgroups are made, a process left in one would also keep its cgroup from being removed,
    which `_leftovers` sees.
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z":  # a zombie runs nothing; its parent reaps it
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _processes_left(before: set[int]) -> set[int]:
    """Processes started since `before` that are still alive, after a moment to die in."""
    # A killed jail's processes take a moment to vanish from /proc after the run returns.
    for _ in range(200):
        if not _our_processes() - before:
            break
        time.sleep(0.01)
    return _our_processes() - before


def _leftovers() -> list[str]:
    left = [str(p) for p in Path(tempfile.gettempdir()).glob(f"{LABEL}-snippet-*")]
    for controller in ("memory", "pids"):
        left += [str(p) for p in Path("/sys/fs/cgroup", controller).glob(f"{LABEL}-run-*")]
    return left


@pytest.fixture(autouse=True)
def host_unchanged(request):
    if "sandbox" not in request.fixturenames:
        yield
        return
    before = _our_processes()
    yield
    box = request.getfixturevalue("sandbox")
    box.settle()
    assert _processes_left(before) == set()
    assert _leftovers() == []
    assert box.run("print(6 * 7)").stdout == "42\n"


def test_plain_output_and_exit_code(sandbox):
    result = sandbox.run("import sys\nprint('hello')\nprint('oops', file=sys.stderr)\nsys.exit(3)")
    assert (result.stdout, result.stderr, result.exit_code, result.signal) == (
        "hello\n",
        "oops\n",
        3,
        None,
    )
    assert not result.timed_out and not result.truncated and result.duration_ms > 0


def test_exception_shows_a_traceback_of_the_snippet_only(sandbox):
    result = sandbox.run("def f():\n    raise ValueError('boom')\nf()")
    assert result.exit_code == 1
    assert 'File "/tmp/main.py", line 3' in result.stderr
    assert "ValueError: boom" in result.stderr
    assert "supervise" not in result.stderr and "runpy" not in result.stderr


def test_busy_loop_is_stopped(sandbox):
    result = sandbox.run("while True:\n    pass")
    assert result.signal in ("SIGXCPU", "SIGKILL")
    assert result.duration_ms < (LIMITS.wall_seconds + 2) * 1000


def test_sleep_hits_the_wall_clock_and_earlier_output_comes_back(sandbox):
    result = sandbox.run("import time\nprint('before', flush=True)\ntime.sleep(60)")
    assert result.timed_out and result.signal == "SIGKILL"
    assert (result.limit, result.limit_value) == ("time", LIMITS.wall_seconds)
    assert result.stdout == "before\n"
    assert "time limit" in result.stderr


def test_memory_bomb_is_killed_and_the_result_says_by_which_limit(sandbox):
    result = sandbox.run("x = []\nwhile True:\n    x.append(bytearray(50 * 2**20))")
    assert result.exit_code != 0
    assert result.signal == "SIGKILL" or "MemoryError" in result.stderr
    assert (result.limit, result.limit_value) == ("memory", LIMITS.memory_mb)
    assert f"[stopped at the {LIMITS.memory_mb} MiB memory limit]" in result.stderr


def test_a_run_that_stays_under_the_limits_names_none(sandbox):
    result = sandbox.run("x = bytearray(20 * 2**20)\nprint(len(x))")
    assert (result.stdout, result.limit, result.limit_value) == ("20971520\n", None, None)


def test_fork_bomb_resource_unavailable(sandbox):
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    result = sandbox.run(code)
    assert result.timed_out or result.signal is not None


def test_many_subprocesses_are_capped(sandbox):
    code = (
        "import subprocess\nprocs = []\n"
        "try:\n    for _ in range(500):\n"
        "        procs.append(subprocess.Popen(['sleep', '30']))\n"
        "except OSError as e:\n    print('capped', len(procs))\n"
    )
    result = sandbox.run(code)
    assert result.stdout.startswith("capped")
    assert int(result.stdout.split()[1]) < LIMITS.processes


def test_thread_bomb_is_capped(sandbox):
    code = (
        "import threading, time\nn = 0\n"
        "try:\n    while True:\n"
        "        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        "        n += 1\n"
        "except RuntimeError:\n    print('capped', n)\n"
    )
    result = sandbox.run(code)
    assert result.stdout.startswith("capped")


@pytest.mark.parametrize(
    "address", [("127.0.0.1", 22), ("10.0.0.1", 80), ("1.1.1.1", 53), ("example.com", 80)]
)
def test_no_network_at_all(sandbox, address):
    code = (
        "import socket\n"
        f"try:\n    socket.create_connection({address!r}, timeout=2)\n    print('connected')\n"
        "except OSError as e:\n    print('blocked', type(e).__name__)\n"
    )
    assert sandbox.run(code).stdout.startswith("blocked")


def test_environment_is_empty_of_the_bots_secrets(sandbox, monkeypatch):
    monkeypatch.setenv("DISCORD_TOKEN", "secret-discord-token")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret")
    code = (
        "import os\nprint(sorted(os.environ.items()))\n"
        "for pid in [p for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    try:\n        print(open(f'/proc/{pid}/environ', 'rb').read())\n"
        "    except OSError:\n        pass\n"
    )
    result = sandbox.run(code)
    assert "secret" not in result.stdout
    assert "TUTOR_" not in result.stdout and "TOKEN" not in result.stdout


def test_host_files_and_the_bots_database_are_invisible(sandbox, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the host's secret")
    database = tmp_path / "tutor.db"
    sqlite3.connect(database).execute("CREATE TABLE t (x)").connection.close()
    code = (
        "import os\n"
        f"for p in [{str(secret)!r}, {str(database)!r}, '/root', '/etc/shadow', '/etc/passwd',"
        " '/home']:\n"
        "    try:\n        open(p, 'rb').read(10)\n        print('READ', p)\n"
        "    except OSError as e:\n        print('no', p)\n"
        "print(sorted(os.listdir('/')))\n"
    )
    result = sandbox.run(code)
    assert "READ" not in result.stdout
    assert "'home'" not in result.stdout and "'root'" not in result.stdout
    assert secret.read_text() == "the host's secret"


def test_read_only_file_system_outside_the_working_folder(sandbox):
    code = (
        "for p in ['/usr/evil', '/evil', '/etc/evil', '/snippet/evil']:\n"
        "    try:\n        open(p, 'w').write('x')\n        print('WROTE', p)\n"
        "    except OSError:\n        print('no', p)\n"
        "open('/work/ok.txt', 'w').write('fine')\nprint('work ok')\n"
    )
    result = sandbox.run(code)
    assert "WROTE" not in result.stdout and "work ok" in result.stdout


def test_filling_the_disk_stops_at_the_folder_cap(sandbox):
    code = (
        "import os\nn = 0\n"
        "try:\n    with open('big', 'wb') as f:\n"
        "        while True:\n            f.write(b'x' * 2**20)\n            n += 1\n"
        "except OSError as e:\n    print('full', n, e.errno)\n"
    )
    result = sandbox.run(code)
    assert result.stdout.startswith("full") or result.signal == "SIGXFSZ"
    assert not result.files  # the huge file is over the returned-file cap


def test_one_huge_line_is_cut(sandbox):
    result = sandbox.run("print('x' * 10_000_000)")
    assert result.truncated and result.limit == "output"
    assert len(result.stdout) <= LIMITS.output_bytes
    assert "output cut" in result.stderr


def test_millions_of_lines_are_cut(sandbox):
    result = sandbox.run("for i in range(10_000_000):\n    print(i)")
    assert result.truncated and result.stdout.startswith("0\n1\n2\n")


def test_killing_the_parent(sandbox):
    result = sandbox.run("import os, signal\nprint('x', flush=True)\nos.kill(os.getppid(), 9)")
    assert result.stdout == "x\n"


def test_kill_minus_one(sandbox):
    result = sandbox.run("import os, signal\nos.kill(-1, signal.SIGKILL)")
    assert result.exit_code is not None or result.signal is not None


def test_segfault_is_reported_by_name(sandbox):
    result = sandbox.run("import ctypes\nctypes.string_at(0)")
    assert result.signal == "SIGSEGV" and result.exit_code is None


def test_null_bytes_and_invalid_utf8_in_output(sandbox):
    result = sandbox.run("import sys\nsys.stdout.buffer.write(b'a\\x00b\\xff\\xfec\\n')")
    assert result.stdout == "a\\0b\ufffd\ufffdc\n"


def test_input_with_no_stdin_gets_eof(sandbox):
    result = sandbox.run("print(input())")
    assert "EOFError" in result.stderr


def test_no_leftovers_between_runs(sandbox):
    first = sandbox.run(
        "import subprocess\nopen('/work/mark', 'w').write('1')\nopen('/tmp/mark', 'w')\n"
        "subprocess.Popen(['sleep', '100'])\nprint('started')"
    )
    assert first.stdout == "started\n"
    second = sandbox.run(
        "import os\nprint(os.path.exists('/work/mark'), os.path.exists('/tmp/mark'))\n"
        "print([p for p in os.listdir('/proc') if p.isdigit()])"
    )
    lines = second.stdout.splitlines()
    assert lines[0] == "False False"
    assert len(eval(lines[1])) <= 3  # the sandbox's init, its supervisor and this snippet


def test_symlinked_and_hard_linked_result_files_are_not_followed(sandbox):
    code = (
        "import os\nos.symlink('/etc/passwd', 'passwd')\nos.symlink('/snippet', 'up')\n"
        "open('real.txt', 'w').write('mine')\nos.link('real.txt', 'hard.txt')\n"
        "open('plot.csv', 'w').write('a,b\\n1,2\\n')\n"
    )
    result = sandbox.run(code)
    assert [f.path for f in result.files] == ["plot.csv"]
    assert result.files[0].content == b"a,b\n1,2\n"


def test_setuid_binaries_grant_nothing(sandbox):
    code = (
        "import os, subprocess\n"
        "status = open('/proc/self/status').read()\n"
        "print([l for l in status.splitlines() if l.startswith(('NoNewPrivs', 'CapEff', 'Uid'))])\n"
        "r = subprocess.run(['su', '-c', 'id'], capture_output=True, text=True, input='')\n"
        "print('su', r.returncode, os.geteuid())\n"
    )
    result = sandbox.run(code)
    assert "'NoNewPrivs:\\t1'" in result.stdout
    assert "'CapEff:\\t0000000000000000'" in result.stdout
    assert "su 0" not in result.stdout and result.stdout.strip().endswith(str(NOBODY))


def test_eight_parallel_runs_are_all_answered_correctly(sandbox):
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda n: sandbox.run(f"print({n} * {n})"), range(8)))
    assert [r.stdout for r in results] == [f"{n * n}\n" for n in range(8)]


def test_a_matplotlib_figure_comes_back_as_png(sandbox):
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()"
    result = sandbox.run(code, limits=LIMITS.with_(wall_seconds=20, cpu_seconds=10))
    assert result.exit_code == 0, result.stderr
    assert [f.path for f in result.files] == ["figure_1.png"]
    assert result.files[0].content.startswith(b"\x89PNG")


def test_numpy_and_torch_import_inside(sandbox):
    code = "import numpy as np, torch\nprint(int(np.arange(4).sum()), float(torch.ones(3).sum()))"
    result = sandbox.run(code, limits=LIMITS.with_(wall_seconds=30, cpu_seconds=20, memory_mb=1024))
    assert result.stdout == "6 3.0\n", result.stderr


def test_shell_snippets_run_too(sandbox):
    result = sandbox.run("echo hi; id -u", lang="sh")
    assert result.stdout == f"hi\n{NOBODY}\n"


@pytest.mark.parametrize(
    ("code", "lang", "message"),
    [
        ("", "python", "empty"),
        ("   \n", "python", "empty"),
        ("print(1)\x00", "python", "null byte"),
        ("x = 1\n" * 200_000, "python", "over the"),
        ("puts 1", "ruby", "unknown language"),
    ],
    ids=["empty", "blank", "null-byte", "one-megabyte", "unknown-language"],
)
def test_bad_snippets_are_refused_before_running(sandbox, code, lang, message):
    with pytest.raises(SnippetError, match=message):
        sandbox.run(code, lang=lang)


def test_missing_sandbox_tool_means_no_run_at_all(tmp_path):
    marker = tmp_path / "ran"
    box = Sandbox(LIMITS, python=PYTHON, bwrap=str(tmp_path / "no-bwrap"))
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        box.run(f"open({str(marker)!r}, 'w')")
    assert not marker.exists()


def test_warm_pool_runs_are_fresh_and_close_leaves_nothing():
    before = _our_processes()
    box = Sandbox(LIMITS, python=PYTHON, pool_size=2, label=LABEL)
    try:
        first = box.run("open('/work/mark', 'w').write('x')\nprint('one')")
        assert box.wait_warm(timeout=30)  # so that the next runs take warm jails
        results = [box.run("import os\nprint(os.path.exists('/work/mark'))") for _ in range(4)]
    finally:
        box.close()
        box.settle()
    assert first.stdout == "one\n"
    assert [r.stdout for r in results] == ["False\n"] * 4
    assert _processes_left(before) == set()
    assert _leftovers() == []
