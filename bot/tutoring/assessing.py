"""One way to grade an answer to an entry, whatever asked for it (`/quiz`, `/daily`, `/interview`,
`tutor grade`): a coding problem with tests runs them with the answer's code; one without tests
is graded by its rubric (key points, explanation and reference solution) plus a run that shows
whether the code runs at all; any other entry by the rubric grader. The same entry and answer get
the same score and the same covered and missed lists on every path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.tutoring.code_rubric import rubric_entry, run_problem, runs_cleanly, untested_score
from bot.tutoring.code_tests import Verdict, expected_tests, new_marker, program, read_verdict
from bot.tutoring.grading import Grade, Grader
from knowledge.entry import Entry
from runner.result import RunResult

# Runs a Python program in the sandbox; None when it could not be run now (the caller has told
# the user, who can try again).
Run = Callable[[str], Awaitable[RunResult | None]]


class NoCode(ValueError):
    """A coding answer with no code in it."""


class NoSandbox(RuntimeError):
    """A problem with tests, and no sandbox here to run them."""


@dataclass(frozen=True)
class Assessment:
    """A graded answer: its score and what it covered and missed, and what judged it (`by`: the
    problem's tests or the rubric), with the parts the reply shows."""

    score: int
    covered: tuple[str, ...]
    missed: tuple[str, ...]
    by: str  # "tests" or "rubric"
    answer: str  # what was graded: the code, for a coding problem
    grade: Grade | None = None  # the rubric's grade, when the rubric judged
    verdict: Verdict | None = None  # the tests' verdict, when tests judged
    ran: bool | None = None  # untested code: whether it ran cleanly; None: not run
    why: str = ""  # why it did not run cleanly

    @property
    def mode(self) -> str:
        """Who judged: "tests", or the rubric grade's mode ("offline" / "llm")."""
        return self.grade.mode if self.grade is not None else "tests"

    @property
    def feedback(self) -> str:
        """The rubric judge's feedback, if any."""
        return self.grade.feedback if self.grade is not None else ""

    def as_json(self) -> dict[str, object]:
        """The `tutor grade` contract's object, plus what judged it."""
        return {
            "score": self.score,
            "covered": list(self.covered),
            "missed": list(self.missed),
            "mode": self.grade.mode if self.grade is not None else "offline",
            "contradicted": list(self.grade.contradicted) if self.grade is not None else [],
            "by": self.by,
            "ran": self.ran,
        }


async def assess(grader: Grader, entry: Entry, answer: str, run: Run | None) -> Assessment | None:
    """Grade `answer` (for a coding problem, its code) to `entry`; `run` None means no sandbox
    here: a problem with tests cannot be judged (NoSandbox), one without is graded by its
    rubric alone. None when `run` could not run the code now."""
    if entry.kind != "coding":
        grade = await grader.grade(entry, answer)
        return Assessment(grade.score, grade.covered, grade.missed, "rubric", answer, grade)
    if not answer.strip():
        raise NoCode("no code in the answer")
    if entry.tests.strip():
        if run is None:
            raise NoSandbox("running code is switched off here (no sandbox is configured)")
        marker = new_marker()
        result = await run(program(answer, entry.tests, marker))
        if result is None:
            return None
        verdict = read_verdict(result, marker, expected_tests(entry.tests))
        failed = tuple(o.name for o in verdict.outcomes if not o.passed)
        passed = tuple(o.name for o in verdict.outcomes if o.passed)
        missed = failed or ((verdict.error[:200],) if verdict.error else ())
        return Assessment(verdict.score, passed, missed, "tests", answer, verdict=verdict)
    ran: bool | None = None
    why = ""
    if run is not None:
        result = await run(answer)
        if result is None:
            return None
        ran = runs_cleanly(result)
        why = "" if ran else run_problem(result)
    grade = await grader.grade(rubric_entry(entry), answer)
    score = untested_score(grade.score, ran)
    return Assessment(score, grade.covered, grade.missed, "rubric", answer, grade, None, ran, why)
