"""What a search returns and how the "is this grounded?" decision is made: the hits, the
signals the decision looks at, the result with its coverage (covered, related, off-topic), and
the thresholds measured per embedding model (retriever/calibration.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")

Coverage = Literal["covered", "related", "off-topic"]


@dataclass(frozen=True)
class SearchHit:
    """One entry found for a query, with its fused score."""

    id: str
    source: str
    title: str
    question: str
    kind: str
    language: str
    score: float

    def as_json(self) -> dict[str, object]:
        """The result object of the search contract."""
        return {
            "id": self.id,
            "source": self.source,
            "title": self.title,
            "question": self.question,
            "kind": self.kind,
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class Signals:
    """What the grounded decision looks at."""

    dense_top: float = 0.0
    blindness: float = 1.0
    coverage: float = 0.0
    content_tokens: int = 0
    domain_terms: int = 0
    known: float = 0.0  # IDF-weighted share of the query's words that some entry uses
    # IDF-weighted share of the query's defining terms (the names, field terms and words no
    # entry uses that it asks about) that none of the closest entries holds: the entries are
    # near the question but not about what it names (LoRA, 门控网络).
    unanchored: float = 0.0
    # The share of the techniques the query names (retriever/techniques.tsv) that none of the
    # closest entries is about, by their titles and questions.
    unnamed: float = 0.0


@dataclass(frozen=True)
class SearchResult:
    """The answer to one query: whether the bank covers it, and the closest entries."""

    query: str
    grounded: bool
    hits: tuple[SearchHit, ...]
    signals: Signals = field(default_factory=Signals)
    related: bool = False  # not covered, but in the field with a close entry

    @property
    def coverage(self) -> Coverage:
        """Covered (answer), related (answer from the closest entries, saying so) or off-topic."""
        if self.grounded:
            return "covered"
        return "related" if self.related and self.hits else "off-topic"

    def as_json(self) -> dict[str, object]:
        """The object of the search contract."""
        return {
            "query": self.query,
            "grounded": self.grounded,
            "results": [h.as_json() for h in self.hits],
        }


@dataclass(frozen=True)
class Thresholds:
    """When a query counts as covered by the bank (grounded).

    Grounded when the best cosine reaches `dense` (or `dense_blind` when the model reads too
    little of the query, past `max_blindness`: then its vector is built from the glossary's terms
    alone and scores run higher), or when the query names a term of the field (the glossary) and
    the best lexical hits cover at least `coverage` of its IDF-weighted tokens."""

    dense: float
    dense_blind: float
    coverage: float
    max_blindness: float = 0.5
    # Related (not covered): the query names `related_terms` of the field's terms, the bank
    # knows `related_known` of its words, and it is within `related_margin` of covered.
    # Tuned on eval/coverage_dev.jsonl (eval/coverage.py); docs/retrieval.md has the figures.
    related_terms: int = 2
    related_known: float = 0.45
    related_margin: float = -0.2
    # Covered needs the closest entries to hold the query's defining terms: from this share of
    # them missing, a question the thresholds call grounded is only related.
    max_unanchored: float = 1.01
    # Covered needs the closest entries to be about the techniques the query names: from this
    # share of them unnamed (1.0: none of them), only related.
    max_unnamed: float = 1.01

    @classmethod
    def calibrated(cls, model: str) -> Thresholds:
        """The thresholds measured for a model (eval/retrieval.py --calibrate), or defaults."""
        values = calibration(model)
        own = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in own})

    def margin(self, s: Signals) -> float:
        """How far past the nearest threshold the query is: >= 0 means grounded."""
        if s.content_tokens == 0:
            return -1.0
        bar = self.dense if s.blindness <= self.max_blindness else self.dense_blind
        dense = s.dense_top - bar if s.dense_top > 0 else -1.0
        lexical = s.coverage - self.coverage if s.domain_terms else -1.0
        return max(dense, lexical)

    def near(self, s: Signals) -> bool:
        """Whether the query is as close to an entry as covered questions are."""
        return self.margin(s) >= 0

    def grounded(self, s: Signals) -> bool:
        """The decision: close to an entry, and that entry is about what the query names."""
        return self.near(s) and s.unanchored < self.max_unanchored and s.unnamed < self.max_unnamed

    def related(self, s: Signals) -> bool:
        """Whether a query the bank does not cover is still of its field, near an entry: close
        but about something the entries only border on, or naming the field's terms."""
        if self.near(s):
            return True
        return (
            s.domain_terms >= self.related_terms
            and s.known >= self.related_known
            and self.margin(s) >= self.related_margin
        )


def calibration(model: str) -> dict:
    """What was measured for a model in retriever/calibration.json (thresholds, and for some
    models the embedded text and the dense share), or the defaults."""
    table = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    return dict(table.get(model, table["default"]))
