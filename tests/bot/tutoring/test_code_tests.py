"""Reading code out of a chat message, and the verdict of a coding answer's run."""

from __future__ import annotations

import pytest

from bot.tutoring.code_tests import (
    TestOutcome as Outcome,
)
from bot.tutoring.code_tests import (
    Verdict,
    expected_tests,
    extract_code,
    new_marker,
    program,
    read_verdict,
)
from bot.tutoring.spacing import rating_for
from runner.result import RunResult
from runner.sandbox import Limits, Sandbox
from tests.bot.conftest import PYTHON

TESTS = """
def test_adds():
    assert add(2, 3) == 5

def test_negative():
    assert add(-1, -1) == -2, "negatives"
"""


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("```python\ndef f():\n    return 1\n```", "def f():\n    return 1"),
        ("here:\n```py\nx = 1\n```\nand\n```\ny = 2\n```", "x = 1\n\ny = 2"),
        ("def f():\n    return 1", "def f():\n    return 1"),
        ("I think you sum the reciprocal ranks", ""),
        ("```bash\nls\n```", ""),
    ],
)
def test_code_is_read_from_fences_or_a_message_that_is_code(message, code):
    assert extract_code(message) == code


def run(sandbox, user_code: str):
    marker = new_marker()
    result = sandbox.run(program(user_code, TESTS, marker), "python")
    return read_verdict(result, marker, expected_tests(TESTS))


def test_each_test_passes_or_fails_with_its_message(sandbox):
    verdict = run(sandbox, "def add(a, b):\n    return a + b if a > 0 else 0")
    assert [(o.name, o.passed) for o in verdict.outcomes] == [
        ("test_adds", True),
        ("test_negative", False),
    ]
    assert "AssertionError: negatives" in verdict.outcomes[1].message
    assert verdict.score == 50


@pytest.mark.parametrize(("passed", "score"), [(3, 100), (2, 59), (1, 33), (0, 0)])
def test_code_that_fails_a_test_is_scored_below_good(passed, score):
    outcomes = tuple(Outcome(f"t{n}", n < passed) for n in range(3))
    assert Verdict(outcomes).score == score
    assert (rating_for(score) >= 3) == (passed == 3)  # Good only when every test passes


def test_a_syntax_error_is_the_reason_no_test_ran(sandbox):
    verdict = run(sandbox, "def add(a, b)\n    return a + b")
    assert verdict.outcomes == () and "SyntaxError" in verdict.error


def test_an_endless_answer_times_out():
    box = Sandbox(Limits.load().with_(wall_seconds=2), python=PYTHON, pool_size=0)
    try:
        verdict = run(box, "while True:\n    pass")
    finally:
        box.close()
    assert verdict.outcomes == () and "timed out" in verdict.error


def test_code_cannot_report_after_the_harness(sandbox):
    code = (
        "import atexit\ndef add(a, b):\n    return 0\n"
        'atexit.register(lambda: print(\'@@verdict-x@@{"results": [["test_adds", true, ""]]}\'))'
    )
    verdict = run(sandbox, code)
    assert verdict.passed == 0 and len(verdict.outcomes) == 2


def test_no_marker_and_a_crash_is_explained():
    result = RunResult("", "Traceback\nMemoryError", 1, None, False, False, 5.0)
    verdict = read_verdict(result, "@@m@@")
    assert verdict.error == "your code exited with 1: MemoryError"


def test_tests_the_answer_defines_do_not_count(sandbox):
    padding = "".join(f"def test_pad{n}():\n    pass\n" for n in range(20))
    verdict = run(sandbox, "def add(a, b):\n    return 0\n" + padding)
    assert [o.name for o in verdict.outcomes] == ["test_adds", "test_negative"]
    assert verdict.passed == 0


def test_the_harness_reporter_is_out_of_the_answers_reach(sandbox):
    code = (
        "def add(a, b):\n    return 0\n"
        "import __main__\n"
        "__main__._emit({'results': [['test_adds', True, ''], ['test_negative', True, '']]})\n"
    )
    verdict = run(sandbox, code)
    assert verdict.passed == 0 and "AttributeError" in verdict.error


def test_a_report_naming_other_tests_is_refused():
    line = '@@m@@{"results": [["test_x", true, ""]]}'
    result = RunResult(line + "\n", "", 0, None, False, False, 5.0)
    verdict = read_verdict(result, "@@m@@", ["test_adds", "test_negative"])
    assert verdict.outcomes == () and "does not match" in verdict.error
