"""The lexical side: BM25 over bilingual tokens, in an SQLite FTS5 table of its own
(`<data dir>/index/lexical.db`), so the bank's database is never written by the retriever.

Each entry's body is its tokens plus the glossary's translations of its terms, so an English query
matches a Chinese entry through the shared English words, and the reverse.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from retriever.errors import REBUILD, IndexCorrupt


@dataclass(frozen=True)
class LexicalHit:
    """One BM25 hit: entry id, BM25 score (higher is better) and the body's token set."""

    entry_id: str
    score: float
    tokens: frozenset[str]


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


class LexicalIndex:
    """FTS5 table of entry bodies, kept in step with the bank by content hash."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, check_same_thread=False)
            self.db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS lexical "
                "USING fts5(entry_id UNINDEXED, hash UNINDEXED, body)"
            )
            self.db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS lexical_vocab USING fts5vocab(lexical, 'row')"
            )
            self.db.commit()
            self._count: int | None = None
            self._vocab: frozenset[str] | None = None
            self._initials: dict[str, tuple[str, ...]] | None = None
        except sqlite3.DatabaseError as exc:
            raise IndexCorrupt(
                f"the lexical index {self.path} is damaged ({exc}); {REBUILD}"
            ) from None

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def hashes(self) -> dict[str, str]:
        """Entry id → hash of the body stored for it."""
        try:
            return dict(self.db.execute("SELECT entry_id, hash FROM lexical").fetchall())
        except sqlite3.DatabaseError as exc:
            raise IndexCorrupt(
                f"the lexical index {self.path} is damaged ({exc}); {REBUILD}"
            ) from None

    def update(self, bodies: dict[str, tuple[str, list[str]]], remove: list[str]) -> None:
        """Replace the bodies of some entries (id → (hash, tokens)) and drop others, at once."""
        with self.db:
            for entry_id in [*remove, *bodies]:
                self.db.execute("DELETE FROM lexical WHERE entry_id = ?", (entry_id,))
            self.db.executemany(
                "INSERT INTO lexical (entry_id, hash, body) VALUES (?, ?, ?)",
                [(eid, h, " ".join(tokens)) for eid, (h, tokens) in bodies.items()],
            )
        self._count = None
        self._vocab = None
        self._initials = None

    def count(self) -> int:
        """Rows in the table (counting an FTS5 table scans it, so the answer is kept)."""
        if self._count is None:
            self._count = int(self.db.execute("SELECT count(*) FROM lexical").fetchone()[0])
        return self._count

    def idf(self, tokens: list[str]) -> dict[str, float]:
        """BM25's inverse document frequency of each token (0 for tokens no entry has)."""
        unique = sorted(set(tokens))
        if not unique:
            return {}
        n = max(self.count(), 1)
        marks = ",".join("?" * len(unique))
        df = dict(
            self.db.execute(
                f"SELECT term, doc FROM lexical_vocab WHERE term IN ({marks})", unique
            ).fetchall()
        )
        return {
            t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) if t in df else 0.0 for t in unique
        }

    def vocabulary(self) -> frozenset[str]:
        """Every token some entry's body holds (read once per change of the bank)."""
        if self._vocab is None:
            rows = self.db.execute("SELECT term FROM lexical_vocab").fetchall()
            self._vocab = frozenset(term for (term,) in rows)
        return self._vocab

    def by_initial(self) -> dict[str, tuple[str, ...]]:
        """The vocabulary grouped by first character (for looking up near spellings)."""
        if self._initials is None:
            groups: dict[str, list[str]] = {}
            for term in self.vocabulary():
                groups.setdefault(term[0], []).append(term)
            self._initials = {k: tuple(v) for k, v in groups.items()}
        return self._initials

    def unseen_idf(self) -> float:
        """The inverse document frequency of a token no entry has."""
        n = max(self.count(), 1)
        return math.log(1 + (n + 0.5) / 0.5)

    def search(self, tokens: list[str], k: int) -> list[LexicalHit]:
        """Top k entries by BM25 for a bag of tokens (any token may match)."""
        unique = list(dict.fromkeys(tokens))
        if not unique:
            return []
        query = " OR ".join(_quote(t) for t in unique)
        rows = self.db.execute(
            "SELECT entry_id, -bm25(lexical), body FROM lexical WHERE lexical MATCH ? "
            "ORDER BY rank LIMIT ?",
            (query, k),
        ).fetchall()
        return [LexicalHit(eid, float(score), frozenset(body.split())) for eid, score, body in rows]
