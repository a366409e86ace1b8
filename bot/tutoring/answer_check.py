"""Every model answer checked against the entries it was given, before the learner keeps it: is it
in the asker's language, does it contradict the bank, does it cover the key points of the entry
that answers the question. A small model paraphrases loosely and sometimes answers from the wrong
source; the bank's own key points are never worse than that. docs/answers.md measures the rule
(dev part) and reports the frozen test part."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.tutoring.grading import OfflineGrader, key_points, label
from knowledge.entry import Entry
from retriever.text import cjk_ratio

Verdict = Literal["kept", "added", "replaced"]
Reason = Literal["", "language", "contradicts", "thin", "misses"]

# Offline score (0-100) of the answer against the entry that answers the question: below THIN
# the answer is replaced by the entry's key points; below KEEP the points it missed are added
# under it. Chosen on the dev part of eval/answers.py (docs/answers.md).
THIN = 30
KEEP = 80
_CITATION = re.compile(r"\[[0-9a-f]{6,16}\]|\[\d{1,2}\]")
_FENCED = re.compile(r"```.*?(?:```|$)", re.S)


@dataclass(frozen=True)
class Checked:
    """What the check found: the verdict, why, the entry checked against, the offline score,
    and the entry's key points the answer missed (their full text, for the learner)."""

    verdict: Verdict
    reason: Reason
    entry: Entry
    score: int
    missed: tuple[str, ...] = ()


def prose(answer: str) -> str:
    """An answer's own words: without code blocks and citation marks."""
    return _CITATION.sub("", _FENCED.sub("", answer)).strip()


class AnswerCheck:
    """Checks a model's answer with the offline grader (no model: it must not share the model's
    blind spots, and it is fast)."""

    def __init__(self, grader: OfflineGrader, *, thin: int = THIN, keep: int = KEEP) -> None:
        self.grader = grader
        self.thin = thin
        self.keep = keep

    def check(self, question: str, answer: str, sources: list[Entry]) -> Checked:
        """The verdict on `answer` to `question`, given `sources` (the best first)."""
        entry = sources[0]
        words = prose(answer)
        asked_zh = cjk_ratio(question) >= 0.3
        if words and (cjk_ratio(words) >= 0.3) != asked_zh:
            return Checked("replaced", "language", entry, 0)
        grade = self.grader.grade(entry, answer)
        if grade.contradicted:
            return Checked("replaced", "contradicts", entry, grade.score)
        if grade.score < self.thin:
            return Checked("replaced", "thin", entry, grade.score)
        if grade.score < self.keep and grade.missed:
            missed = set(grade.missed)
            full = tuple(p for p in key_points(entry) if label(p) in missed)
            if full:
                return Checked("added", "misses", entry, grade.score, full)
        return Checked("kept", "", entry, grade.score)
