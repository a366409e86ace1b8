"""Grading a free-text answer to a bank entry, Chinese or English: a score of 0-100, the key
points covered and missed.

Offline, each key point is compared with the answer two ways: by meaning (the embedding model,
best-matching sentence of the answer) and by words (IDF-weighted share of the key point's terms
the answer uses, through the glossary in both languages). With a language model, a rubric judge
returns a JSON verdict that is validated; a malformed verdict falls back to the offline grade,
and a valid one is combined with the offline coverage score.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from bot.llm.base import Backend, GenerationError, Message
from bot.texts.prompts import JUDGE_PROMPT
from knowledge.entry import Entry

Mode = Literal["llm", "offline"]
MAX_ANSWER_CHARS = 4000
COVERED = 0.5
_SENTENCE = re.compile(r"(?<=[。！？；!?;])|(?<=[.])\s+|\n+")
_LABEL = re.compile(r"^([^:：]{1,40})[:：]\s*\S")

# Offline weights; docs/grading.md measures them on eval/grading_set.jsonl.
SEMANTIC_FLOOR = 0.25
SEMANTIC_SPAN = 0.45
SEMANTIC_WEIGHT = 0.5
JUDGE_WEIGHT = 0.6


@dataclass(frozen=True)
class Grade:
    """A graded answer, per the `tutor grade` contract."""

    score: int
    covered: tuple[str, ...]
    missed: tuple[str, ...]
    mode: Mode
    feedback: str = ""

    def as_json(self) -> dict[str, object]:
        """The contract's object."""
        return {
            "score": self.score,
            "covered": list(self.covered),
            "missed": list(self.missed),
            "mode": self.mode,
        }


def key_points(entry: Entry) -> list[str]:
    """What a good answer covers: the entry's key points, or its answer's sentences."""
    if entry.key_points:
        return list(entry.key_points)
    sentences = [s.strip() for s in _SENTENCE.split(entry.answer or "") if s and s.strip()]
    return [s for s in sentences if len(s) > 8][:6]


def label(point: str) -> str:
    """A key point's short name: its bold label when it has one, else its start."""
    match = _LABEL.match(point)
    if match:
        return match.group(1).strip()
    return point if len(point) <= 60 else point[:57].rstrip() + "…"


def split_sentences(text: str) -> list[str]:
    """An answer's sentences, and each pair of neighbours (a point often spans two)."""
    parts = [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(parts)]
    return (parts + pairs)[:60] or [text]


class OfflineGrader:
    """Key-point coverage by embeddings plus lexical overlap, through a retriever's model,
    tokenizer, glossary and term weights."""

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever

    def _terms(self, text: str) -> set[str]:
        glossary = self.retriever.glossary
        extra = glossary.to_english(text) + glossary.to_chinese(text)
        return set(self.retriever.tokenizer.tokens(text + " " + " ".join(extra)))

    def _weights(self, tokens: set[str]) -> dict[str, float]:
        lexical = getattr(self.retriever, "lexical", None)
        if lexical is None:
            return dict.fromkeys(tokens, 1.0)
        idf = lexical.idf(sorted(tokens))
        unseen = lexical.unseen_idf()
        # A word no entry uses is as telling as the rarest one; clip so no word dominates.
        return {t: min(idf.get(t) or unseen, unseen) for t in tokens}

    def _vectors(self, texts: list[str]) -> np.ndarray:
        readable = [self.retriever.readable(t)[0] or t for t in texts]
        return self.retriever.embedder.encode(readable)

    def coverage(self, entry: Entry, answer: str) -> list[float]:
        """Per key point, how well the answer covers it (0..1)."""
        points = key_points(entry)
        if not answer.strip() or not points:
            return [0.0] * len(points)
        answer_terms = self._terms(answer)
        # Repeating the question's own words shows nothing: they do not count as coverage.
        given = self._terms(f"{entry.title} {entry.question}")
        sentences = split_sentences(answer)
        vectors = self._vectors([*points, *sentences])
        semantic = (vectors[: len(points)] @ vectors[len(points) :].T).max(axis=1)
        scores = []
        for point, sim in zip(points, semantic, strict=True):
            terms = self._terms(point)
            weights = self._weights(terms - given or terms)
            total = sum(weights.values())
            found = sum(w for t, w in weights.items() if t in answer_terms)
            lexical = found / total if total else 0.0
            scores.append(SEMANTIC_WEIGHT * _stretch(float(sim)) + (1 - SEMANTIC_WEIGHT) * lexical)
        return scores

    def grade(self, entry: Entry, answer: str) -> Grade:
        """The offline grade of an answer."""
        points = key_points(entry)
        if not points:
            return Grade(0, (), (), "offline")
        per_point = self.coverage(entry, answer)
        score = round(100 * _curve(sum(per_point) / len(per_point)))
        covered = tuple(label(p) for p, c in zip(points, per_point, strict=True) if c >= COVERED)
        missed = tuple(label(p) for p, c in zip(points, per_point, strict=True) if c < COVERED)
        return Grade(max(0, min(100, score)), covered, missed, "offline")


def _stretch(cosine: float) -> float:
    """A cosine similarity as 0..1 evidence: unrelated sentences sit near the floor."""
    return min(1.0, max(0.0, (cosine - SEMANTIC_FLOOR) / SEMANTIC_SPAN))


def _curve(coverage: float) -> float:
    """Nobody restates every key point: covering about 80% of them is full marks."""
    return min(1.0, coverage / 0.8)


def rubric_messages(entry: Entry, answer: str) -> list[Message]:
    """The rubric judge's chat."""
    points = "\n".join(f"{n}. {p}" for n, p in enumerate(key_points(entry), start=1))

    def data(text: str, tag: str) -> str:
        return text.replace(f"</{tag}>", f"</ {tag}>")

    user = (
        f"<question>\n{data(entry.question, 'question')}\n</question>\n"
        f"<key_points>\n{data(points, 'key_points')}\n</key_points>\n"
        f"<reference>\n{data(entry.answer, 'reference')}\n</reference>\n"
        f"<answer>\n{data(answer, 'answer')}\n</answer>"
    )
    return [{"role": "system", "content": JUDGE_PROMPT}, {"role": "user", "content": user}]


def parse_verdict(text: str, n_points: int) -> tuple[int, list[int], str] | None:
    """The judge's (score, covered key point numbers, feedback), or None when malformed."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        data = json.loads(text[start : end + 1])
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or "score" not in data or "covered" not in data:
        return None
    score, covered, feedback = data["score"], data["covered"], data.get("feedback", "")
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 100:
        return None
    if not isinstance(covered, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= n_points for n in covered
    ):
        return None
    if not isinstance(feedback, str):
        return None
    return round(score), sorted(set(covered)), " ".join(feedback.split())[:300]


class Grader:
    """Grades answers: the offline grader, plus the rubric judge when a model is loaded."""

    def __init__(
        self, offline: OfflineGrader, backend: Backend | None = None, *, timeout_s: float = 60.0
    ) -> None:
        self.offline = offline
        self.backend = backend
        self.timeout_s = timeout_s

    async def grade(self, entry: Entry, answer: str) -> Grade:
        """Grade one answer (cut to MAX_ANSWER_CHARS)."""
        answer = answer.strip()[:MAX_ANSWER_CHARS]
        offline = await asyncio.to_thread(self.offline.grade, entry, answer)
        if self.backend is None or not answer:
            return offline
        points = key_points(entry)
        verdict = await self._judge(entry, answer, len(points))
        if verdict is None:
            return offline
        score, numbers, feedback = verdict
        covered = tuple(label(points[n - 1]) for n in numbers)
        missed = tuple(label(p) for n, p in enumerate(points, start=1) if n not in numbers)
        combined = round(JUDGE_WEIGHT * score + (1 - JUDGE_WEIGHT) * offline.score)
        return Grade(combined, covered, missed, "llm", feedback)

    async def _judge(self, entry: Entry, answer: str, n_points: int) -> Any:
        assert self.backend is not None
        chunks: list[str] = []
        try:
            async with asyncio.timeout(self.timeout_s):
                async for chunk in self.backend.stream(
                    rubric_messages(entry, answer), max_new_tokens=200
                ):
                    chunks.append(chunk)
        except (GenerationError, TimeoutError):
            return None
        return parse_verdict("".join(chunks), n_points)
