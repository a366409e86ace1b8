"""Judging a coding answer: the user's code and the problem's tests run together in the sandbox,
and each test passes or fails with its message.

The harness runs exactly the problem's tests (their names come from the bank, not from what the
user's code defines), keeps what it reports with inside a function, and ends the process right
after writing its verdict; the host accepts a verdict only under a marker made for this run and
naming exactly those tests. The user's code still runs in the same process, so someone set on
forging a pass with introspection could; what is at stake is their own quiz score. It is the
sandbox, not this, that keeps a hostile snippet away from the host.
"""

from __future__ import annotations

import ast
import json
import re
import secrets
from dataclasses import dataclass

from bot.tutoring.code_rubric import FAILED_RUN_CAP
from bot.tutoring.fences import fences
from runner.result import RunResult

_CODE_HINT = re.compile(
    r"^\s*(def |class |import |from \S+ import |return\b|for |while |if )", re.M
)

HARNESS = """\
def _judge():
    import json, os, sys, traceback
    write, dumps, leave, flush = os.write, json.dumps, os._exit, sys.stdout.flush
    marker, names = {marker!r}, {names!r}

    def emit(verdict):
        try:
            flush()
        except Exception:
            pass
        write(1, ("\\n" + marker + dumps(verdict) + "\\n").encode())
        leave(0)

    def why(exc):
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return text[:400] or type(exc).__name__

    space = {{"__name__": "answer"}}
    try:
        exec(compile({user!r}, "answer.py", "exec"), space)
    except BaseException as exc:
        emit({{"error": why(exc)}})
    exec(compile({tests!r}, "tests.py", "exec"), space)
    results = []
    for name in names:
        try:
            space[name]()
            results.append([name, True, ""])
        except BaseException as exc:
            results.append([name, False, why(exc)])
    emit({{"results": results}})


_judge()
"""


def expected_tests(tests: str) -> list[str]:
    """The test functions a problem's tests define, in order."""
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return []
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]


@dataclass(frozen=True)
class TestOutcome:
    """One test of a coding problem."""

    name: str
    passed: bool
    message: str = ""


@dataclass(frozen=True)
class Verdict:
    """How a coding answer did: each test, or why none could run."""

    outcomes: tuple[TestOutcome, ...]
    error: str = ""
    duration_ms: float = 0.0

    @property
    def passed(self) -> int:
        """How many tests passed."""
        return sum(1 for o in self.outcomes if o.passed)

    @property
    def score(self) -> int:
        """Share of tests passed, 0-100; code that fails a test is capped below Good, as code
        that does not run is (FAILED_RUN_CAP): two tests of three is not yet a solution to
        leave for days."""
        if not self.outcomes:
            return 0
        share = round(100 * self.passed / len(self.outcomes))
        return share if self.passed == len(self.outcomes) else min(share, FAILED_RUN_CAP)


def extract_code(text: str) -> str:
    """The code in a message: its fenced blocks, or the whole message when it reads as code."""
    blocks = [f.code for f in fences(text) if f.language in ("", "python", "py")]
    if blocks:
        return "\n\n".join(b.strip("\n") for b in blocks)
    if _CODE_HINT.search(text):
        return text.strip("\n")
    return ""


def program(user_code: str, tests: str, marker: str) -> str:
    """The Python program that runs the user's code, then each of the problem's tests."""
    return HARNESS.format(marker=marker, user=user_code, tests=tests, names=expected_tests(tests))


def new_marker() -> str:
    """A line prefix the user's code cannot guess."""
    return f"@@verdict-{secrets.token_hex(8)}@@"


def read_verdict(result: RunResult, marker: str, expected: list[str] | None = None) -> Verdict:
    """The verdict the harness wrote, or why there is none; a verdict that does not name
    exactly the `expected` tests is not the harness's."""
    line = next((ln for ln in reversed(result.stdout.splitlines()) if ln.startswith(marker)), None)
    if line is None:
        if result.timed_out:
            why = "timed out"
        elif result.truncated:
            why = "printed too much"
        elif result.signal:
            why = f"was killed by {result.signal}"
        else:
            tail = result.stderr.strip().splitlines()
            why = f"exited with {result.exit_code}" + (f": {tail[-1][:300]}" if tail else "")
        return Verdict((), f"your code {why}", result.duration_ms)
    try:
        data = json.loads(line[len(marker) :])
        if "error" in data:
            return Verdict((), str(data["error"]), result.duration_ms)
        outcomes = tuple(TestOutcome(str(n), bool(ok), str(m)) for n, ok, m in data["results"])
    except (ValueError, TypeError, KeyError):
        return Verdict((), "the tests' report was garbled", result.duration_ms)
    if expected is not None and [o.name for o in outcomes] != expected:
        return Verdict((), "the tests' report does not match the tests", result.duration_ms)
    return Verdict(outcomes, "", result.duration_ms)
