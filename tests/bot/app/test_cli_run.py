"""`tutor run`: the contract's JSON, stdin and files, and one-line errors."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.sandbox import DEFAULT_PYTHON

PYTHON = os.environ.get("TUTOR_RUNNER_PYTHON", DEFAULT_PYTHON)
TUTOR = str(Path(sys.executable).with_name("tutor"))


def tutor(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "TUTOR_RUNNER_PYTHON": PYTHON, **env}
    return subprocess.run(
        [TUTOR, *args], input=stdin, capture_output=True, text=True, env=environment, timeout=120
    )


def test_run_json_follows_the_contract(tmp_path):
    snippet = tmp_path / "plot.py"
    snippet.write_text("open('table.csv', 'w').write('a,b\\n')\nprint('hi')\n")
    done = tutor("run", "--json", str(snippet))
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert set(body) == {
        "stdout",
        "stderr",
        "exit_code",
        "signal",
        "timed_out",
        "truncated",
        "duration_ms",
        "files",
        "limit",
        "limit_value",
    }
    assert (body["stdout"], body["exit_code"], body["signal"]) == ("hi\n", 0, None)
    assert (body["limit"], body["limit_value"]) == (None, None)
    assert body["files"] == [
        {"path": "table.csv", "size": 4, "content_b64": base64.b64encode(b"a,b\n").decode()}
    ]


def test_run_reads_stdin_and_shell(tmp_path):
    done = tutor("run", "--lang", "sh", "-", stdin="echo from-sh")
    assert done.stdout == "from-sh\n" and "[exit 0 in" in done.stderr


def test_a_memory_limit_kill_says_so(tmp_path):
    limits = tmp_path / "limits.toml"
    default = (Path(__file__).parents[3] / "runner" / "limits.toml").read_text()
    assert "memory_mb = 1024" in default
    limits.write_text(default.replace("memory_mb = 1024", "memory_mb = 128"))
    bomb = "x = []\nwhile True:\n    x.append(bytearray(32 * 2**20))\n"
    env = {"TUTOR_RUNNER_LIMITS": str(limits)}
    done = tutor("run", "-", stdin=bomb, **env)
    assert "[killed: memory limit (128 MiB) in " in done.stderr, done.stderr
    body = json.loads(tutor("run", "--json", "-", stdin=bomb, **env).stdout)
    assert (body["limit"], body["limit_value"]) == ("memory", 128)


@pytest.mark.parametrize(
    ("args", "stdin", "env", "message"),
    [
        (["run", "-"], "", {}, "error: the snippet is empty"),
        (["run", "--lang", "ruby", "-"], "puts 1", {}, "error: unknown language 'ruby'"),
        (["run", "-"], "print(1)", {"TUTOR_RUNNER_PYTHON": "/nope/python"}, "running code is off"),
        (["run", "/no/such/file.py"], "", {}, "error:"),
    ],
    ids=["empty", "unknown-language", "no-sandbox-python", "missing-file"],
)
def test_bad_input_is_one_line(args, stdin, env, message):
    done = tutor(*args, stdin=stdin, **env)
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr
