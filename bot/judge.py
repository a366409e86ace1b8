"""Judging a coding answer: the user's code and the problem's tests run together in the sandbox,
and each test passes or fails with its message.

The harness keeps its own references to what it reports with before the user's code runs, and
ends the process right after writing its verdict, so the user's code cannot print a fake one
after it. It is the sandbox, not this, that keeps a hostile snippet away from the host.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass

from runner.result import RunResult

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)```", re.DOTALL)
_CODE_HINT = re.compile(
    r"^\s*(def |class |import |from \S+ import |return\b|for |while |if )", re.M
)

HARNESS = """\
import json as _json, os as _os, sys as _sys, traceback as _tb
_write, _dumps, _exit, _flush = _os.write, _json.dumps, _os._exit, _sys.stdout.flush
def _emit(verdict):
    try:
        _flush()
    except Exception:
        pass
    _write(1, ("\\n" + {marker!r} + _dumps(verdict) + "\\n").encode())
    _exit(0)
def _why(exc):
    text = "".join(_tb.format_exception_only(type(exc), exc)).strip()
    return text[:400] or type(exc).__name__
_ns = {{"__name__": "answer"}}
try:
    exec(compile({user!r}, "answer.py", "exec"), _ns)
except BaseException as exc:
    _emit({{"error": _why(exc)}})
_before = set(_ns)
exec(compile({tests!r}, "tests.py", "exec"), _ns)
_names = [n for n in _ns if n.startswith("test_") and callable(_ns[n])]
_results = []
for _name in _names:
    try:
        _ns[_name]()
        _results.append([_name, True, ""])
    except BaseException as exc:
        _results.append([_name, False, _why(exc)])
_emit({{"results": _results}})
"""


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
        """Share of tests passed, 0-100."""
        return round(100 * self.passed / len(self.outcomes)) if self.outcomes else 0


def extract_code(text: str) -> str:
    """The code in a message: its fenced blocks, or the whole message when it reads as code."""
    blocks = [code for lang, code in _FENCE.findall(text) if lang.lower() in ("", "python", "py")]
    if blocks:
        return "\n\n".join(b.strip("\n") for b in blocks)
    if _CODE_HINT.search(text):
        return text.strip("\n")
    return ""


def program(user_code: str, tests: str, marker: str) -> str:
    """The Python program that runs the user's code, then each test."""
    return HARNESS.format(marker=marker, user=user_code, tests=tests)


def new_marker() -> str:
    """A line prefix the user's code cannot guess."""
    return f"@@verdict-{secrets.token_hex(8)}@@"


def read_verdict(result: RunResult, marker: str) -> Verdict:
    """The verdict the harness wrote, or why there is none."""
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
    data = json.loads(line[len(marker) :])
    if "error" in data:
        return Verdict((), str(data["error"]), result.duration_ms)
    outcomes = tuple(TestOutcome(str(n), bool(ok), str(msg)) for n, ok, msg in data["results"])
    return Verdict(outcomes, "", result.duration_ms)
