"""Questions by meaning across languages, and how far inside the bank's field a question is.

Both serve the gaps (`bot/core/gaps.py`): which unanswered questions say something about the
bank, and which of them ask about one thing. docs/gaps.md has the measurements.

- **By meaning.** The embedder's vectors carry the language as well as the meaning (two English
  questions on different techniques sit closer than one technique asked in English and in
  Chinese), so each language's mean over the bank's own questions is taken away first.
- **In the field.** How much closer a question is to the bank's own questions than to a fixed
  set of everyday ones (`everyday.txt`: cooking, travel, money, the weather, hobbies, small
  talk, office, phone and web chores): the nearest bank question's cosine minus the nearest
  everyday question's. A field word used in its everyday sense ("what temperature for
  cookies", "an index scan in PostgreSQL") does not make a question the field's; a technique
  the bank has never heard of ("the reparameterization trick of a VAE") is still nearer the
  bank than the kitchen.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np

from knowledge.store import Store
from retriever.embed import Embedder
from retriever.techniques import described_questions
from retriever.text import cjk_ratio

EVERYDAY_FILE = Path(__file__).with_name("everyday.txt")


def everyday_questions(path: Path = EVERYDAY_FILE) -> list[str]:
    """The everyday questions a question's field is measured against."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


def _language(text: str) -> str:
    return "zh" if cjk_ratio(text) >= 0.3 else "en"


class Meaning:
    """The bank's questions as the embedder sees them (kept until the bank changes), and what a
    question is measured against."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self._lock = threading.Lock()
        # (the bank's key, its questions' unit vectors, each language's mean vector)
        self._bank: tuple[str, np.ndarray, dict[str, np.ndarray]] | None = None
        self._everyday: np.ndarray | None = None
        # The questions describing techniques without their names, by family: the families,
        # where each one's questions start, their raw vectors and languages.
        self._described: tuple[list[str], np.ndarray, np.ndarray, list[str]] | None = None

    def _bank_vectors(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        entries = self.store.entries()
        questions = [e.question for e in entries]
        key = hashlib.sha1("\x1f".join(sorted(f"{e.id}\x1e{e.question}" for e in entries)).encode())
        digest = key.hexdigest()
        with self._lock:
            if self._bank is not None and self._bank[0] == digest:
                return self._bank[1], self._bank[2]
        dim = self.embedder.dim
        zero = np.zeros(dim, dtype=np.float32)
        means = {"en": zero, "zh": zero}
        vectors = np.zeros((0, dim), dtype=np.float32)
        if entries:
            raw = np.asarray(self.embedder.encode_queries(questions), dtype=np.float32)
            for lang in means:
                rows = [i for i, e in enumerate(entries) if (e.language == "zh") == (lang == "zh")]
                if rows:
                    means[lang] = raw[rows].mean(axis=0).astype(np.float32)
            vectors = _unit(raw)
        with self._lock:
            self._bank = (digest, vectors, means)
        return vectors, means

    def vectors(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of questions by meaning across languages: a question in Chinese and one
        in English about the same thing land close."""
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        _, means = self._bank_vectors()
        vectors = np.asarray(self.embedder.encode_queries(list(texts)), dtype=np.float32)
        for row, text in enumerate(texts):
            vectors[row] -= means[_language(text)]
        return _unit(vectors)

    def field(self, texts: list[str]) -> np.ndarray:
        """For each question, how much closer it is to the bank's nearest question than to the
        nearest everyday one (cosines; above 0 is nearer the bank). An empty bank gives -1."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        bank, _ = self._bank_vectors()
        if not len(bank):
            return np.full(len(texts), -1.0, dtype=np.float32)
        if self._everyday is None:
            self._everyday = _unit(self.embedder.encode_queries(everyday_questions()))
        asked = _unit(self.embedder.encode_queries(list(texts)))
        nearest_bank = (asked @ bank.T).max(axis=1)
        nearest_everyday = (asked @ self._everyday.T).max(axis=1)
        return (nearest_bank - nearest_everyday).astype(np.float32)

    def described_scores(self, vectors: np.ndarray) -> tuple[list[str], np.ndarray]:
        """The families of `described.tsv`, and for each question (a row of `vectors`, as
        `vectors()` gives them) its cosine to the nearest question of each family (one column a
        family); those questions describe a technique without naming it."""
        names, starts, raw, langs = self._described_raw()
        if not len(vectors):
            return names, np.zeros((0, len(names)), dtype=np.float32)
        _, means = self._bank_vectors()
        described = _unit(raw - np.stack([means[lang] for lang in langs]))
        sims = np.asarray(vectors, dtype=np.float32) @ described.T
        return names, np.maximum.reduceat(sims, starts, axis=1)

    def _described_raw(self) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
        """The described questions' families (sorted), where each family's run of questions
        starts, and their vectors and languages in that order, embedded once (the bundled
        model's vectors of them ship with the package: retriever/shipped.py)."""
        with self._lock:
            if self._described is not None:
                return self._described
        rows = sorted(described_questions(), key=lambda row: row[0])  # stable: file order kept
        raw = np.asarray(self.embedder.encode_queries([q for _, q in rows]), dtype=np.float32)
        names, starts = np.unique([family for family, _ in rows], return_index=True)
        langs = [_language(q) for _, q in rows]
        with self._lock:
            self._described = ([str(n) for n in names], starts, raw, langs)
        return self._described
