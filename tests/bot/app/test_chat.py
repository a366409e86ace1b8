"""`tutor chat` driven through stdin of its own process, `tutor grade` per the contract, and what
survives a SIGKILL in the middle of many answers."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app.cli import cli
from knowledge.progress import Progress
from tests.bot.conftest import PYTHON

ANSWER = (
    "Pre-norm normalises each sublayer's input and leaves the residual stream as an identity "
    "path, so gradients stay well scaled; post-norm normalises after the residual add and needs "
    "warmup. Pre-norm adds a final norm; LLaMA uses pre-norm with RMSNorm."
)


def tutor(
    home: Path, *args: str, stdin: str = "", timeout: float = 300
) -> subprocess.CompletedProcess:
    env = {**os.environ, "TUTOR_LLM_MODEL": "none", "TUTOR_RUNNER_PYTHON": PYTHON}
    env.pop("TUTOR_LLM_URL", None)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from bot.app.cli import main; main()",
            "--data-dir",
            str(home),
            *args,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def in_process(home: Path, *args: str, stdin: str | None = None):
    """One command in this process (the model already imported): for commands that, unlike
    `chat`, set nothing up beyond their own call."""
    env = {"TUTOR_LLM_MODEL": "none", "TUTOR_RUNNER_PYTHON": PYTHON, "TUTOR_LLM_URL": None}
    return CliRunner().invoke(cli, ["--data-dir", str(home), *args], input=stdin, env=env)


def entry_id(home: Path, title: str) -> str:
    with sqlite3.connect(home / "tutor.db") as db:
        return db.execute("SELECT id FROM entries WHERE title = ?", (title,)).fetchone()[0]


def test_chat_reads_one_message_per_line_and_prints_the_replies(home):
    script = "\n".join(
        [
            "/quiz post-norm",
            ANSWER,
            "/stats",
            "/quiz reciprocal rank fusion",
            "```python",
            "def reciprocal_rank_fusion(rankings, k=60):",
            "    return []",
            "```",
            "/quizz",
            "",
            "what is a KV cache?",
        ]
    )
    result = tutor(home, "chat", stdin=script + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "**Quiz · Pre-norm versus post-norm** (new)" in out
    assert re.search(r"\*\*Score: \d+/100\*\*", out)
    assert "1 answered" in out
    # The fenced block spanning lines was one message: the code was judged.
    assert re.search(r"\*\*0/3 tests passed\*\*", out)
    assert "Did you mean /quiz?" in out
    assert "That message is empty" in out
    assert "[👍 Helpful: /feedback up" in out
    assert "Traceback" not in out + result.stderr


def test_chat_ends_at_end_of_input_and_on_quit(home):
    result = tutor(home, "chat", stdin="/help\n/quit\n/stats\n")
    assert result.returncode == 0
    assert "Commands" in result.stdout and "haven't answered" not in result.stdout


def test_grade_json_follows_the_contract(home):
    good = in_process(
        home, "grade", "--json", "--entry", entry_id(home, "Pre-norm versus post-norm"), ANSWER
    )
    assert good.exit_code == 0, good.output
    body = json.loads(good.stdout)
    assert set(body) == {"score", "covered", "missed", "mode", "contradicted", "by", "ran"}
    assert body["mode"] == "offline" and 0 <= body["score"] <= 100
    assert (body["by"], body["ran"]) == ("rubric", None)
    assert body["covered"] and all(isinstance(p, str) for p in body["covered"])
    wrong = in_process(
        home,
        "grade",
        "--json",
        "--entry",
        entry_id(home, "Pre-norm versus post-norm"),
        "-",
        stdin="It is about the order of GPUs in the rack.",
    )
    assert json.loads(wrong.stdout)["score"] < body["score"]


def test_grade_runs_a_coding_answer_against_the_problems_tests_as_quiz_does(home):
    entry = entry_id(home, "Reciprocal rank fusion")
    solution = (
        "def reciprocal_rank_fusion(rankings, k=60):\n"
        "    scores = {}\n"
        "    for ranking in rankings:\n"
        "        for rank, doc in enumerate(ranking, start=1):\n"
        "            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)\n"
        "    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))\n"
    )
    passed = json.loads(
        in_process(home, "grade", "--json", "--entry", entry, "-", stdin=solution).stdout
    )
    assert (passed["by"], passed["score"], passed["missed"]) == ("tests", 100, [])
    assert passed["covered"]  # the tests it passed, by name
    broken = solution.replace("-kv[1], kv[0]", "kv[1], kv[0]")
    failed = json.loads(
        in_process(home, "grade", "--json", "--entry", entry, "-", stdin=broken).stdout
    )
    assert failed["by"] == "tests" and failed["score"] < 60 and failed["missed"]
    prose = in_process(home, "grade", "--entry", entry, "it fuses rankings")
    assert prose.exit_code == 2 and "is a coding problem: give the code" in prose.stderr


def test_grade_unknown_entry_is_one_line(home):
    result = in_process(home, "grade", "--entry", "ffffffffffff", "some answer")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: no entry 'ffffffffffff'; `tutor bank list` shows the ids"
    ]


# The same path killed later: run once by CI after `make test`.
@pytest.mark.parametrize("kill_after", [3, pytest.param(7, marks=pytest.mark.slow)])
def test_sigkill_in_the_middle_of_answers_keeps_every_acknowledged_review(home, kill_after):
    env = {**os.environ, "TUTOR_LLM_MODEL": "none", "TUTOR_RUNNER_PYTHON": PYTHON}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from bot.app.cli import main; main()",
            "--data-dir",
            str(home),
            "chat",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdin and process.stdout
    # Many quizzes and answers queued at once: the chat works through them as fast as it can.
    process.stdin.write(f"/quiz post-norm\n{ANSWER}\n" * 40)
    process.stdin.flush()
    acknowledged = 0
    for line in process.stdout:
        if re.match(r"\*\*Score: \d+/100\*\*", line):
            acknowledged += 1
            if acknowledged == kill_after:
                process.send_signal(signal.SIGKILL)
                break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    progress = Progress(home)
    try:
        assert progress.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        reviews = progress.reviews(f"console:{_user()}")
        assert len(reviews) >= kill_after
        # Nothing half-written: every answered quiz has its review and its card, and no more.
        answered = progress.db.execute(
            "SELECT count(*) FROM quizzes WHERE state = 'answered'"
        ).fetchone()[0]
        assert answered == progress.review_count() == len(reviews)
        cards = progress.db.execute("SELECT count(*) FROM cards").fetchone()[0]
        assert cards == 1
    finally:
        progress.close()


def _user() -> str:
    import getpass

    return getpass.getuser()


def test_a_script_of_many_lines_gets_every_reply(home):
    result = tutor(home, "chat", stdin="/help\n" * 30)
    assert result.returncode == 0
    assert result.stdout.count("**Interview tutor**") == 30
