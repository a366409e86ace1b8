"""Hybrid search over the bank: dense (FAISS) and lexical (FTS5 BM25) candidates, fused, and the
"is this grounded?" decision (its types and thresholds in `retriever/decision.py`).

Fusion is reciprocal-rank fusion weighted by how well the embedding model sees the query: a model
that knows no Chinese turns a Chinese query into [UNK]s, so its ranking gets little say there and
the lexical side carries the query. docs/retrieval.md has the measurements behind each choice.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from knowledge.entry import Entry
from knowledge.store import Store
from retriever.decision import (
    SearchHit,
    SearchResult,
    Signals,
    Thresholds,
    calibration,
)
from retriever.dense import DenseIndex, read_meta
from retriever.embed import Embedder
from retriever.errors import QueryError
from retriever.fusion import Fusion, coverage, fuse, known_share, typo
from retriever.glossary import Glossary
from retriever.lexical import LexicalIndex
from retriever.meaning import Meaning
from retriever.techniques import Techniques, techniques
from retriever.text import (
    CJK,
    Tokenizer,
    everyday_english,
    latin_words,
    names,
    stem,
    stop_words,
)

# Bump when the text given to either index changes, so every entry is indexed again.
TEXT_VERSION = 2  # 2: a Latin glossary term is found only as a whole word
log = logging.getLogger("tutor.retriever")
CANDIDATES = 50
# The closest entries whose words may anchor a query's defining terms.
ANCHOR_HITS = 3

DenseText = Literal["question", "title_question", "full"]


@dataclass(frozen=True)
class SyncReport:
    """What bringing the indexes in step with the bank did."""

    entries: int
    embedded: int
    removed: int
    lexical_updated: int


class Retriever:
    """Search over one data dir's bank; open() brings the indexes in step with the bank first.

    Searches may run from many threads at once: the embedder guards its model, FAISS searches a
    built index concurrently, the lexical side's SQLite connection is serialized by SQLite, and
    sync() publishes new indexes only once they are complete."""

    def __init__(
        self,
        store: Store,
        index_dir: Path,
        embedder: Embedder,
        *,
        glossary: Glossary | None = None,
        ann_threshold: int = 20_000,
        thresholds: Thresholds | None = None,
        fusion: Fusion = "scores",
        dense_text: DenseText | None = None,
        expand_query: bool = True,
        dense_share: float | None = None,
    ) -> None:
        self.store = store
        self.index_dir = Path(index_dir)
        self.embedder = embedder
        self.glossary = glossary or Glossary.load()
        self.tokenizer = Tokenizer(self.glossary.chinese_terms)
        self.ann_threshold = ann_threshold
        self.thresholds = thresholds or Thresholds.calibrated(embedder.name)
        self.fusion = fusion
        # What each entry is embedded from and the dense side's share of the fused score were
        # chosen per model on the dev data (docs/retrieval.md); a caller may try others.
        design = calibration(embedder.name)
        self.dense_text: DenseText = dense_text or design.get("dense_text", "question")
        self.expand_query = expand_query
        self.dense_share = design.get("dense_share", 0.5) if dense_share is None else dense_share
        # An entry is a question: e5 matches a question to a question best as a symmetric
        # task (both sides with the query prefix), a model's calibration says so.
        self.entries_as_queries = bool(design.get("entries_as_queries", False))
        side = "q" if self.entries_as_queries else "p"
        self._salt = f"{TEXT_VERSION}:{self.glossary.digest}:{self.dense_text}:{side}"
        self.dense: DenseIndex | None = None
        self.lexical: LexicalIndex | None = None
        self._entries: dict[str, Entry] = {}
        self._anchors: dict[str, frozenset[str]] = {}
        self._families: dict[str, frozenset[str]] = {}
        self._syncing = threading.Lock()
        self.meanings = Meaning(store, embedder)
        bar = design.get("field_margin")
        self.field_bar: float | None = None if bar is None else float(bar)

    # -- what goes into the indexes ----------------------------------------------------------

    def text_for_dense(self, entry: Entry) -> str:
        """The text embedded for an entry, as the model can read it."""
        if self.dense_text == "question":
            text = entry.question
        elif self.dense_text == "title_question":
            text = f"{entry.title}. {entry.question}"
        else:
            text = " ".join([entry.title + ".", entry.question, *entry.key_points[:6]])
        return self.readable(text)[0]

    def readable(
        self,
        text: str,
        *,
        tokens: list[str] | None = None,
        english: list[str] | None = None,
        matches: list[str] | None = None,
    ) -> tuple[str, float]:
        """The text as the embedding model can read it, and how much of it is lost (0..1).

        A model without Chinese gets the text's non-Chinese words plus the glossary's English for
        its Chinese terms; the Chinese words the glossary does not know are what is lost. A caller
        that already has the text's tokens or glossary terms passes them in."""
        if english is None:
            english = self.glossary.to_english(text)
        if not CJK.search(text) or self.embedder.chinese_reach() >= 0.5:
            readable = f"{text} ({', '.join(english)})" if english else text
            return readable, self.embedder.blindness(readable)
        latin = " ".join(CJK.sub(" ", text).split())
        readable = " ".join(filter(None, [latin, ", ".join(english)]))
        if tokens is None:
            tokens = self.tokenizer.tokens(text)
        if matches is None:
            matches = self.glossary.chinese_matches(text)
        chinese = [t for t in tokens if CJK.search(t)]
        known = " ".join(matches)
        lost = sum(1 for t in chinese if t not in known) / len(tokens) if tokens else 1.0
        if not readable.strip():
            return "", 1.0
        return readable, max(lost, self.embedder.blindness(readable))

    def bilingual_tokens(self, text: str) -> list[str]:
        """A text's tokens and those of its terms in the other language."""
        extra = self.glossary.to_english(text) + self.glossary.to_chinese(text)
        return self.tokenizer.tokens(text + " " + " ".join(extra))

    def tokens_for_lexical(self, entry: Entry) -> list[str]:
        """The tokens indexed for an entry: its words and its terms in the other language."""
        return self.bilingual_tokens(
            " ".join([entry.title, entry.question, entry.section, *entry.key_points])
        )

    def _text_hash(self, text: str) -> str:
        return hashlib.sha1(f"{self._salt}\n{text}".encode()).hexdigest()[:16]

    def _body_hash(self, entry: Entry) -> str:
        return hashlib.sha1(f"{self._salt}\n{hash_entry(entry)}".encode()).hexdigest()[:16]

    # -- keeping in step ---------------------------------------------------------------------

    def fingerprint(self, entries: list[Entry]) -> str:
        """A hash of the bank as this retriever indexes it."""
        digest = hashlib.sha1(f"{self._salt}|{self.embedder.name}".encode())
        for entry in sorted(entries, key=lambda e: e.id):
            digest.update(f"{entry.id}:{hash_entry(entry)}\n".encode())
        return digest.hexdigest()

    def open(self) -> SyncReport:
        """Load the indexes and bring them in step with the bank (re-embedding only changes);
        a bank with entries but no index is an error that names `tutor index rebuild`."""
        return self.sync(create=False)

    def sync(
        self,
        *,
        create: bool = True,
        load_existing: bool = True,
        vectors: dict[str, np.ndarray] | None = None,
    ) -> SyncReport:
        """Bring both indexes in step with the bank, creating them if `create`; `vectors`
        supplies precomputed vectors by entry id."""
        with self._syncing:
            return self._sync(create, load_existing, vectors)

    def _sync(
        self, create: bool, load_existing: bool, vectors: dict[str, np.ndarray] | None
    ) -> SyncReport:
        entries = self.store.entries()
        by_id = {e.id: e for e in entries}
        dense = DenseIndex(
            self.index_dir, self.embedder.name, self.embedder.dim, self.ann_threshold
        )
        if load_existing and (dense.exists() or (entries and not create)):
            built_by = read_meta(self.index_dir) if dense.exists() else None
            if built_by is not None and (built_by.model, built_by.dim) != (dense.model, dense.dim):
                # The old vectors cannot be compared with new queries: start again, all rows
                # embedded by this model, and say so once (never search mismatched vectors).
                log.warning(
                    "the search index was built with the embedding model %r; rebuilding it "
                    "with %r for %d entries",
                    built_by.model,
                    self.embedder.name,
                    len(entries),
                )
            else:
                dense.load()
        lexical = LexicalIndex(self.index_dir / "lexical.db")
        try:
            report = self._catch_up(entries, dense, lexical, vectors)
        except BaseException:
            lexical.close()
            raise
        # Searches running meanwhile keep the indexes they hold; later ones see only new ones.
        self._entries, self.dense, self.lexical = by_id, dense, lexical
        self._anchors = {}
        self._families = {}
        return report

    def _catch_up(
        self,
        entries: list[Entry],
        dense: DenseIndex,
        lexical: LexicalIndex,
        vectors: dict[str, np.ndarray] | None,
    ) -> SyncReport:
        fingerprint = self.fingerprint(entries)
        if dense.exists() and dense.fingerprint == fingerprint:
            return SyncReport(len(entries), 0, 0, 0)

        texts = {e.id: self.text_for_dense(e) for e in entries}
        wanted = {eid: self._text_hash(t) for eid, t in texts.items()}
        stale = dense.stale(wanted)
        fresh: dict[str, np.ndarray] = dict(vectors or {})
        todo = [eid for eid in stale if eid not in fresh]
        if todo:
            encode = (
                self.embedder.encode_queries if self.entries_as_queries else self.embedder.encode
            )
            encoded = encode([texts[eid] for eid in todo])
            fresh.update(zip(todo, encoded, strict=True))
        embedded, removed = dense.update(wanted, fresh)

        lexical_hashes = lexical.hashes()
        bodies: dict[str, tuple[str, list[str]]] = {}
        for entry in entries:
            h = self._body_hash(entry)
            if lexical_hashes.get(entry.id) != h:
                bodies[entry.id] = (h, self.tokens_for_lexical(entry))
        known = {e.id for e in entries}
        gone = [eid for eid in lexical_hashes if eid not in known]
        if bodies or gone:
            lexical.update(bodies, gone)

        dense.fingerprint = fingerprint
        dense.save()
        return SyncReport(len(entries), embedded, removed, len(bodies) + len(gone))

    def close(self) -> None:
        """Close the lexical index's connection."""
        if self.lexical is not None:
            self.lexical.close()

    # -- searching ---------------------------------------------------------------------------

    def meaning(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of questions by meaning across languages (`retriever/meaning.py`)."""
        return self.meanings.vectors(texts)

    def described(self, vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
        """For questions by meaning (`meaning`'s vectors), the technique families and each
        question's cosine to the nearest question describing each (`Meaning.described_scores`)."""
        return self.meanings.described_scores(vectors)

    def field(self, texts: list[str]) -> np.ndarray:
        """How far inside the bank's field each question is (`Meaning.field`); the bar a
        question must clear is `field_bar`, measured per model (None: not measured)."""
        return self.meanings.field(texts)

    def search(self, query: str, k: int = 5) -> SearchResult:
        """The k closest entries to a query, and whether the bank covers it."""
        if self.dense is None or self.lexical is None:
            with self._syncing:
                if self.dense is None or self.lexical is None:
                    self._sync(False, True, None)
        dense, lexical, entries = self.dense, self.lexical, self._entries
        assert dense is not None and lexical is not None
        text = " ".join(query.split())
        if not text:
            raise QueryError("the query is empty: ask a question, or give some keywords")

        tokens = self.tokenizer.tokens(text)
        if not tokens:
            # Only stop words, emoji or punctuation: nothing to look for, and nothing is close.
            return SearchResult(text, False, ())
        # The glossary is scanned once per query; expansion, readability and the field-term
        # signal all use these.
        english = self.glossary.to_english(text)
        chinese = self.glossary.to_chinese(text)
        matches = self.glossary.chinese_matches(text)
        lexical_tokens = list(tokens)
        if self.expand_query:
            lexical_tokens += self.tokenizer.tokens(" ".join(english + chinese))
            dense_text, blindness = self.readable(
                text, tokens=tokens, english=english, matches=matches
            )
        else:
            dense_text, blindness = text, self.embedder.blindness(text)
        dense_hits = []
        if dense_text:
            dense_hits = dense.search(self.embedder.encode_queries([dense_text])[0], CANDIDATES)
        lexical_hits = lexical.search(lexical_tokens, CANDIDATES)
        fused = fuse(dense_hits, lexical_hits, blindness, self.fusion, self.dense_share)
        hits = []
        for entry_id, score in fused[:k]:
            entry = entries.get(entry_id)
            if entry is not None:
                hits.append(
                    SearchHit(
                        id=entry.id,
                        source=entry.source,
                        title=entry.title,
                        question=entry.question,
                        kind=entry.kind,
                        language=entry.language,
                        score=score,
                    )
                )
        signals = Signals(
            dense_top=dense_hits[0][1] if dense_hits else 0.0,
            blindness=blindness,
            coverage=coverage(lexical, tokens, lexical_hits),
            content_tokens=len(set(tokens)),
            domain_terms=len(chinese) + len(matches),
            known=known_share(lexical, tokens),
            unanchored=self._unanchored(text, tokens, lexical, fused[:ANCHOR_HITS]),
            unnamed=self._unnamed(text, fused[:ANCHOR_HITS]),
        )
        grounded = self.thresholds.grounded(signals)
        related = not grounded and self.thresholds.related(signals)
        return SearchResult(text, grounded, tuple(hits), signals, related)

    def _defining(
        self, text: str, lexical: LexicalIndex, tokens: list[str] | None = None
    ) -> dict[str, list[frozenset[str]]]:
        """What a query is about, each with the token sets that would show an entry holds it:
        the names it writes in Latin letters, the field's terms (the glossary's, in either
        language, found in either), and the words no entry uses that are terms of art (subword,
        门控) rather than everyday words (huge, 到底) or typos of the bank's words (quantizaton)."""
        glossary, tokenize = self.glossary, self.tokenizer.tokens
        defining: dict[str, list[frozenset[str]]] = {}

        def add(label: str, *forms: str) -> None:
            sets = [frozenset(tokenize(f)) for f in forms]
            if sets and sets[0]:
                defining.setdefault(label, [s for s in sets if s])

        for name in names(text):
            add(name.lower(), name, *glossary.to_chinese(name))
        for english in glossary.english_matches(text):
            add(english, english, *glossary.to_zh[english])
        for chinese in glossary.chinese_matches(text):
            add(chinese, chinese, *glossary.to_en[chinese])
        vocabulary = lexical.vocabulary()
        for word in latin_words(text):
            token = stem(word)
            if token in vocabulary or word in stop_words("en") or token in stop_words("en"):
                continue
            if not everyday_english(word) and not typo(token, lexical):
                add(token, word)
        for token in set(tokenize(text) if tokens is None else tokens) - vocabulary:
            if CJK.search(token) and len(token) > 1 and not self.tokenizer.everyday_chinese(token):
                add(token, token)
        return defining

    def _anchor(self, entry_id: str) -> frozenset[str]:
        """The words that say what an entry is about: its title and question, with their
        terms in the other language (key points name too much in passing: docs/retrieval.md)."""
        body = self._anchors.get(entry_id)
        if body is None:
            entry = self._entries.get(entry_id)
            if entry is None:
                return frozenset()
            body = frozenset(self.bilingual_tokens(f"{entry.title} {entry.question}"))
            self._anchors[entry_id] = body
        return body

    @property
    def techniques(self) -> Techniques:
        """The field's techniques by name (`retriever/techniques.py`), read on first use."""
        return techniques()

    def _named(self, entry_id: str) -> frozenset[str]:
        """The techniques an entry is about (`retriever/techniques.py`): those its title and
        question name."""
        named = self._families.get(entry_id)
        if named is None:
            entry = self._entries.get(entry_id)
            if entry is None:
                return frozenset()
            named = self.techniques.about(entry.title, entry.question)
            self._families[entry_id] = named
        return named

    def _unnamed(self, text: str, closest_ids: list) -> float:
        """The share of the techniques a query names (GNN, scaling laws, k-fold) that none of
        the closest entries is about: near in words, but an entry on something else."""
        asked = set(self.techniques.find(text))
        if not asked or not closest_ids:
            return 0.0
        held = set().union(*(self._named(entry_id) for entry_id, _ in closest_ids))
        return len(asked - held) / len(asked)

    def _unanchored(
        self, text: str, tokens: list[str], lexical: LexicalIndex, closest_ids: list
    ) -> float:
        """How much (IDF-weighted) of what the query names none of the closest entries is
        about: a term counts as held in the share of its words the best of them holds
        ("gradient checkpointing" is half held by an entry on activation checkpointing)."""
        defining = self._defining(text, lexical, tokens)
        if not defining or not closest_ids:
            return 0.0
        closest = [self._anchor(entry_id) for entry_id, _ in closest_ids]
        idf = lexical.idf(sorted({t for forms in defining.values() for t in forms[0]}))
        unseen = lexical.unseen_idf()
        weights = {
            label: max(idf.get(t) or unseen for t in forms[0]) for label, forms in defining.items()
        }
        missing = sum(
            weights[label]
            * (1 - max(len(form & body) / len(form) for form in forms for body in closest))
            for label, forms in defining.items()
        )
        return missing / sum(weights.values())


def hash_entry(entry: Entry) -> str:
    """A short hash of an entry's searchable content."""
    payload = "\x1f".join(
        [entry.title, entry.question, entry.section, *entry.key_points, entry.source, entry.kind]
    )
    return hashlib.sha1(payload.encode()).hexdigest()[:16]
