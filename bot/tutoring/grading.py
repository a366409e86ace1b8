"""Grading a free-text answer to a bank entry, Chinese or English: a score of 0-100, the key
points covered and missed.

Offline, each key point is compared with the answer two ways: by meaning (the embedding model,
best-matching sentence of the answer) and by words (IDF-weighted share of the key point's terms
the answer uses, through the glossary in both languages). With a language model, the rubric
judge (`bot.tutoring.rubric`) classifies each key point and quotes contradictions; a malformed
verdict falls back to the offline grade, and a valid one is blended with the offline score by the
judge's measured reliability.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from bot.llm.base import Backend, GenerationError, Message
from bot.tutoring.code_similarity import code_similarity, looks_like_code
from bot.tutoring.code_tests import extract_code
from bot.tutoring.contradiction import clauses, negated, reversed_terms
from bot.tutoring.rubric import (
    LABELS,
    MAX_VERDICT_TOKENS,
    Reliability,
    Route,
    Verdict,
    blend,
    judge_messages,
    label_messages,
    label_questions,
    parse_verdict,
    reliability_for,
    verdict_from_labels,
    verdict_score,
)
from knowledge.entry import Entry

Mode = Literal["llm", "offline"]
MAX_ANSWER_CHARS = 4000
COVERED = 0.5
_SENTENCE = re.compile(r"(?<=[。！？；!?;])|(?<=[.])\s+|\n+")
_FENCED = re.compile(r"```.*?(?:```|$)", re.S)
_LABEL = re.compile(r"^([^:：]{1,40})[:：]\s*\S")
# A top-level definition in a piece of code: its kind, name and (for a function) parameters.
_DEFINES = re.compile(r"^(?:async\s+)?(def|class)\s+([A-Za-z_]\w*)\s*(\([^)]*\))?")

# Offline weights; docs/grading.md measures them. A model's cosines have their own range (e5's
# unrelated sentences sit near 0.8, MiniLM's near 0.25), so where meaning starts counting (the
# floor), where it is full (floor + span) and how much meaning weighs against words are the
# embedding model's, chosen on eval/grading_dev.jsonl; a model not listed gets MiniLM's.
SEMANTIC_FLOOR = 0.25
SEMANTIC_SPAN = 0.45
SEMANTIC_WEIGHT = 0.5
SEMANTIC = {"multilingual-e5-small": (0.78, 0.10, 0.3)}
# Contradictions (docs/grading.md measures them on eval/grading_dev.jsonl): an answer clause is
# about a key point when this share of the smaller side's weighted terms is shared ...
CLAIM_OVERLAP = 0.4
# ... and one contradicted key point keeps the whole answer below Hard (FSRS "Again").
CONTRADICTION_CAP = 35


@dataclass(frozen=True)
class Grade:
    """A graded answer, per the `tutor grade` contract."""

    score: int
    covered: tuple[str, ...]
    missed: tuple[str, ...]
    mode: Mode
    feedback: str = ""
    contradicted: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        """The contract's object."""
        return {
            "score": self.score,
            "covered": list(self.covered),
            "missed": list(self.missed),
            "mode": self.mode,
            "contradicted": list(self.contradicted),
        }


def key_points(entry: Entry) -> list[str]:
    """What a good answer covers: the entry's key points, or its answer's sentences."""
    if entry.key_points:
        return list(entry.key_points)
    sentences = [s.strip() for s in _SENTENCE.split(entry.answer or "") if s and s.strip()]
    return [s for s in sentences if len(s) > 8][:6]


def label(point: str) -> str:
    """A key point's short name: its bold label when it has one, a piece of code by what it
    defines (or the intent its first line states), else its start."""
    if looks_like_code(point):
        return code_label(point)
    match = _LABEL.match(point)
    if match:
        return match.group(1).strip()
    return point if len(point) <= 60 else point[:57].rstrip() + "…"


def code_label(code: str) -> str:
    """A reference solution named as a learner reads it in a list of missed points: the first
    thing it defines (`class LearningRateScheduler`, `def top_k(logits, k)`), else the comment
    or the line that opens it, never a cut run of code."""
    lines = [line.rstrip() for line in code.strip().strip("`").splitlines() if line.strip()]
    defines = [m for m in (_DEFINES.match(line) for line in lines) if m]
    if defines:
        first = defines[0]
        head = f"{first.group(1)} {first.group(2)}{first.group(3) or ''}"
        head = head if len(head) <= 60 else f"{first.group(1)} {first.group(2)}(…)"
        more = " …" if len(defines) > 1 else ""
        return f"`{head}`{more}"
    comment = next((ln.strip() for ln in lines if ln.strip().startswith("#")), "")
    if comment.lstrip("# ").strip():
        return comment.lstrip("# ").strip()[:60]
    first_line = next(
        (ln.strip() for ln in lines if not ln.strip().startswith(("import ", "from "))),
        lines[0].strip() if lines else "",
    )
    return f"`{first_line[:57]}…`" if len(first_line) > 60 else f"`{first_line}`"


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
        name = getattr(getattr(retriever, "embedder", None), "name", "")
        default = (SEMANTIC_FLOOR, SEMANTIC_SPAN, SEMANTIC_WEIGHT)
        self.floor, self.span, self.weight = SEMANTIC.get(name, default)

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
        return self.retriever.embedder.encode_queries(readable)

    def coverage(self, entry: Entry, answer: str) -> list[float]:
        """Per key point, how well the answer covers it (0..1); a contradicted one, 0."""
        return [c for c, _ in self.assess(entry, answer)]

    def assess(self, entry: Entry, answer: str) -> list[tuple[float, bool]]:
        """Per key point, its coverage (0..1) and whether the answer contradicts it."""
        points = key_points(entry)
        if not answer.strip() or not points:
            return [(0.0, False)] * len(points)
        code = extract_code(answer) or answer
        prose = [p for p in points if not looks_like_code(p)]
        answer_terms = self._terms(answer)
        # Repeating the question's own words shows nothing: they do not count as coverage.
        given = self._terms(f"{entry.title} {entry.question}")
        sentences = split_sentences(answer)
        vectors = self._vectors([*prose, *sentences])
        best = (vectors[: len(prose)] @ vectors[len(prose) :].T).max(axis=1) if prose else []
        semantic = dict(zip(prose, best, strict=True))
        weighed = {}
        for point in prose:
            terms = self._terms(point)
            weights = self._weights(terms - given or terms)
            weighed[point] = (weights, sum(weights.values()))
        contradicted = self._contradicted(prose, weighed, clauses(_prose_of(answer)))
        results = []
        for point in points:
            if point not in semantic:
                results.append((code_similarity(point, code), False))
                continue
            if point in contradicted:
                results.append((0.0, True))
                continue
            weights, total = weighed[point]
            found = sum(w for t, w in weights.items() if t in answer_terms)
            lexical = found / total if total else 0.0
            sim = _stretch(float(semantic[point]), self.floor, self.span)
            results.append((self.weight * sim + (1 - self.weight) * lexical, False))
        return results

    def _contradicted(
        self,
        points: list[str],
        weighed: dict[str, tuple[dict[str, float], float]],
        claims: list[str],
    ) -> set[str]:
        """The key points that a clause of the answer speaking about them denies (a negation
        no key point on the same terms has) or reverses (an antonym of the point's word)."""
        denying = {p for p in points if any(negated(c) for c in clauses(p))}
        whole = "\n".join(points)
        found: set[str] = set()
        for claim in claims:
            terms = self._terms(claim)
            # A short clause is about a long point when most of its words are the point's.
            claim_total = sum(self._weights(terms).values())
            shares = {}
            for point in points:
                weights, total = weighed[point]
                shared = sum(w for t, w in weights.items() if t in terms)
                share = shared / min(total, claim_total) if total and claim_total else 0.0
                if share >= CLAIM_OVERLAP:
                    shares[point] = share
            about = sorted(shares, key=shares.__getitem__, reverse=True)
            # A denial the reference makes too, in the point closest to it, is agreement.
            if about and negated(claim) and about[0] not in denying:
                found.update(about)
            found.update(p for p in about if reversed_terms(p, claim, whole=whole))
        return found

    def grade(self, entry: Entry, answer: str) -> Grade:
        """The offline grade of an answer."""
        points = key_points(entry)
        if not points:
            return Grade(0, (), (), "offline")
        assessed = self.assess(entry, answer)
        per_point = [c for c, _ in assessed]
        score = round(100 * _curve(sum(per_point) / len(per_point)))
        contradicted = tuple(label(p) for p, (_, bad) in zip(points, assessed, strict=True) if bad)
        if contradicted:
            score = min(score, CONTRADICTION_CAP)
        covered = tuple(label(p) for p, c in zip(points, per_point, strict=True) if c >= COVERED)
        missed = tuple(label(p) for p, c in zip(points, per_point, strict=True) if c < COVERED)
        return Grade(max(0, min(100, score)), covered, missed, "offline", "", contradicted)


def _prose_of(answer: str) -> str:
    """An answer's words outside its code: `if x is not None` is no claim about the topic."""
    text = _FENCED.sub("\n", answer)
    return "" if extract_code(text) else text


def _stretch(cosine: float, floor: float = SEMANTIC_FLOOR, span: float = SEMANTIC_SPAN) -> float:
    """A cosine similarity as 0..1 evidence: unrelated sentences sit near the floor."""
    return min(1.0, max(0.0, (cosine - floor) / span))


def _curve(coverage: float) -> float:
    """Nobody restates every key point: covering about 80% of them is full marks."""
    return min(1.0, coverage / 0.8)


def rubric_messages(entry: Entry, answer: str) -> list[Message]:
    """The rubric judge's chat for an answer to the entry."""
    return judge_messages(entry, answer, key_points(entry))


class Grader:
    """Grades answers: the offline grader, plus the rubric judge when a model is loaded, trusted
    as far as its calibration (by model name) says."""

    def __init__(
        self,
        offline: OfflineGrader,
        backend: Backend | None = None,
        *,
        route: Route = "json",
        timeout_s: float = 60.0,
        reliability: Reliability | None = None,
    ) -> None:
        self.offline = offline
        self.backend = backend
        self.timeout_s = timeout_s
        # Labels read off the logits need a model in this process; any model writes a verdict.
        labels = route == "labels" and callable(getattr(backend, "classify", None))
        self.route: Route = "labels" if labels else "json"
        if reliability is None and backend is not None:
            reliability = reliability_for(getattr(backend, "name", ""), route=self.route)
        self.reliability = reliability or Reliability()
        # Offline grading is CPU work that holds the GIL for much of its time: more grades at
        # once than cores only slow each other and starve the event loop (acknowledgements).
        self._slots = asyncio.Semaphore(max(1, min(4, os.cpu_count() or 1)))

    async def grade(self, entry: Entry, answer: str) -> Grade:
        """Grade one answer (cut to MAX_ANSWER_CHARS)."""
        answer = answer.strip()[:MAX_ANSWER_CHARS]
        async with self._slots:
            offline = await asyncio.to_thread(self.offline.grade, entry, answer)
        if self.backend is None or not answer:
            return offline
        points = key_points(entry)
        verdict = await self._judge(entry, answer, points)
        if verdict is None:
            return offline
        judged = verdict_score(verdict)
        score = blend(judged, offline.score, verdict.contradicts, self.reliability)
        right = set(verdict.covered())
        covered = tuple(label(p) for n, p in enumerate(points) if n in right)
        missed = tuple(label(p) for n, p in enumerate(points) if n not in right)
        return Grade(score, covered, missed, "llm", verdict.feedback)

    async def _judge(self, entry: Entry, answer: str, points: list[str]) -> Verdict | None:
        assert self.backend is not None
        if self.route == "labels":
            try:
                async with asyncio.timeout(self.timeout_s):
                    found = await self.backend.classify(  # type: ignore[attr-defined]
                        label_messages(entry, answer), label_questions(points), LABELS
                    )
            except (GenerationError, TimeoutError):
                return None
            return verdict_from_labels(found)
        chunks: list[str] = []
        try:
            async with asyncio.timeout(self.timeout_s):
                async for chunk in self.backend.stream(
                    judge_messages(entry, answer, points), max_new_tokens=MAX_VERDICT_TOKENS
                ):
                    chunks.append(chunk)
        except (GenerationError, TimeoutError):
            return None
        return parse_verdict("".join(chunks), points, answer)
