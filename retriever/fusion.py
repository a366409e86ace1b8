"""Fusing the dense and lexical candidates into one ranking (reciprocal-rank, weighted by how
well the embedding model reads the query, or a mix of normalised scores), and the lexical
signals the grounded decision reads: how much of the query the bank knows, how much of it the
best hits cover, and whether an unknown word is a typo of one the bank has."""

from __future__ import annotations

from typing import Literal

from retriever.lexical import LexicalIndex
from retriever.text import CJK, within_edits

RRF_K = 60

Fusion = Literal["rrf", "weighted_rrf", "scores", "dense_only", "lexical_only"]


def known_share(lexical: LexicalIndex, tokens: list[str]) -> float:
    """How much of the query (IDF-weighted) is words some entry uses: off-topic questions
    carry words the bank never uses (sourdough, 健身房)."""
    if not tokens:
        return 0.0
    idf = lexical.idf(tokens)
    unseen = lexical.unseen_idf()
    weights = {t: idf.get(t) or unseen for t in set(tokens)}
    return sum(w for t, w in weights.items() if idf.get(t)) / sum(weights.values())


def coverage(lexical: LexicalIndex, tokens: list[str], hits: list) -> float:
    """How much of the query (IDF-weighted) the best few lexical hits contain."""
    if not tokens or not hits:
        return 0.0
    idf = lexical.idf(tokens)
    # A word no entry has weighs what BM25 would give a word of no document: the most.
    # Off-topic questions are betrayed by such words (puppy, 健身房), not by the common ones.
    unseen = lexical.unseen_idf()
    weights = {t: idf.get(t) or unseen for t in set(tokens)}
    total = sum(weights.values())
    best = 0.0
    for hit in hits[:5]:
        covered = sum(w for t, w in weights.items() if t in hit.tokens)
        best = max(best, covered / total)
    return best


def fuse(
    dense_hits: list[tuple[str, float]],
    lexical_hits: list,
    blindness: float,
    fusion: Fusion,
    dense_share: float,
) -> list[tuple[str, float]]:
    """The candidates of both sides in one ranking, the dense side's say shrinking with how
    little of the query the embedding model reads (`blindness`)."""
    scores: dict[str, float] = {}
    if fusion == "dense_only":
        return sorted(dense_hits, key=lambda kv: (-kv[1], kv[0]))
    if fusion == "lexical_only":
        return [(h.entry_id, h.score) for h in lexical_hits]
    if fusion == "scores":
        # Convex mix of min-max normalised scores, the dense share shrinking with blindness.
        alpha = dense_share * (1.0 - blindness)
        for part, weight in (
            (_normalise(dense_hits), alpha),
            (_normalise([(h.entry_id, h.score) for h in lexical_hits]), 1.0 - alpha),
        ):
            for entry_id, value in part:
                scores[entry_id] = scores.get(entry_id, 0.0) + weight * value
    else:
        dense_weight = 1.0 if fusion == "rrf" else 1.0 - blindness
        for rank, (entry_id, _) in enumerate(dense_hits):
            scores[entry_id] = scores.get(entry_id, 0.0) + dense_weight / (RRF_K + rank + 1)
        for rank, hit in enumerate(lexical_hits):
            scores[hit.entry_id] = scores.get(hit.entry_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def typo(token: str, lexical: LexicalIndex) -> bool:
    """Whether a word no entry uses is one edit (two for long words) from one the bank has, or
    starts with one of the bank's stems but for one edit (quantizaton: quantiz)."""
    if CJK.search(token) or len(token) < 4 or token.isdigit():
        return False
    limit = 1 if len(token) < 7 else 2
    for word in lexical.by_initial().get(token[0], ()):
        if abs(len(word) - len(token)) <= limit and within_edits(token, word, limit):
            return True
        if 5 <= len(word) < len(token) and within_edits(token[: len(word)], word, 1):
            return True
    return False


def _normalise(pairs: list[tuple[str, float]]) -> list[tuple[str, float]]:
    if not pairs:
        return []
    values = [v for _, v in pairs]
    low, high = min(values), max(values)
    span = high - low or 1.0
    return [(eid, (v - low) / span) for eid, v in pairs]
