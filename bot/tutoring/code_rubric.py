"""Grading a coding answer when the bank has no tests for its problem: the rubric (the entry's
key points, its explanation and the reference solution) judges the substance, and a run in the
sandbox shows whether the code runs at all (no exception, ends in time). docs/grading.md gives
the weights."""

from __future__ import annotations

import dataclasses
import re

from knowledge.entry import Entry
from runner.result import RunResult

# A clean run is worth this share of the score; the rubric's similarity to the reference the rest.
RUN_WEIGHT = 40
# Code that does not run is not remembered well enough for Good, however close it reads.
FAILED_RUN_CAP = 59
_SENTENCE = re.compile(r"(?<=[。！？；!?;])|(?<=[.])\s+|\n+")


def rubric_entry(entry: Entry) -> Entry:
    """The entry as the rubric grader should see a coding problem: its key points, else its
    explanation's sentences, plus the reference solution as one more point."""
    points = list(entry.key_points)
    if not points and entry.explanation:
        sentences = [s.strip() for s in _SENTENCE.split(entry.explanation) if s and s.strip()]
        points = [s for s in sentences if len(s) > 8][:5]
    if entry.solution.strip():
        points.append(entry.solution.strip())
    answer = "\n".join(filter(None, [entry.answer, entry.explanation, entry.solution]))
    return dataclasses.replace(entry, key_points=tuple(points), answer=answer)


def runs_cleanly(result: RunResult) -> bool:
    """Whether the code ended by itself without an exception."""
    return (
        result.exit_code == 0
        and not result.timed_out
        and result.signal is None
        and result.limit is None
    )


def run_problem(result: RunResult) -> str:
    """Why a run was not clean, in one line (the exception's last line, or the limit)."""
    if result.timed_out or result.limit == "time":
        return "timed out"
    if result.limit:
        return f"stopped by the {result.limit} limit"
    if result.signal:
        return f"killed by {result.signal}"
    tail = result.stderr.strip().splitlines()
    return tail[-1][:200] if tail else f"exit {result.exit_code}"


def untested_score(rubric: int, ran: bool | None) -> int:
    """The score of an untested coding answer: a clean run earns RUN_WEIGHT points and the rubric
    the rest; a failed run earns none and is capped below Good; `ran` None (no sandbox here)
    leaves the rubric alone."""
    if ran is None:
        return rubric
    share = round(rubric * (100 - RUN_WEIGHT) / 100)
    return share + RUN_WEIGHT if ran else min(share, FAILED_RUN_CAP)
