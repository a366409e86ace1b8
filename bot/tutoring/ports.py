"""The parts tutoring is given, as it sees them: what the quizmaster, the answer engine and the
core above them call on the bank's store and on the retriever. `knowledge.store.Store` and
`retriever.search.Retriever` are the real ones; tests may pass anything with these methods."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlite_utils import Database

    from knowledge.entry import Entry
    from retriever.decision import SearchResult
    from retriever.glossary import Glossary
    from retriever.techniques import Techniques


class EntryStore(Protocol):
    """The bank's entries."""

    # The quizmaster asks the database whether an ingest changed the bank since it last looked.
    db: Database

    def entry(self, entry_id: str) -> Entry | None:
        """One entry by id, or None when the bank no longer has it."""
        ...

    def entries(self) -> list[Entry]:
        """Every entry, in document order."""
        ...

    def close(self) -> None:
        """Release the database connection."""
        ...


class Retriever(Protocol):
    """Search over the bank."""

    @property
    def store(self) -> EntryStore:
        """The bank it searches: the answer engine reads the entries of its hits there."""
        ...

    @property
    def glossary(self) -> Glossary:
        """The field's terms in both languages: the quizmaster matches topics with it."""
        ...

    @property
    def techniques(self) -> Techniques:
        """The field's techniques by their names in both languages: the gaps group and label
        questions with it."""
        ...

    def search(self, query: str, k: int = 5) -> SearchResult:
        """The entries closest to a query, and whether the bank covers it."""
        ...

    def meaning(self, texts: list[str]) -> Any:
        """Unit vectors (an array, one row a text) of questions by meaning, across languages."""
        ...

    def described(self, vectors: Any) -> tuple[list[str], Any]:
        """For questions by meaning (`meaning`'s rows), the technique families, and each
        question's cosine to the nearest question describing each family without its name
        (an array, one row a question, one column a family)."""
        ...

    def field(self, texts: list[str]) -> Any:
        """How far inside the bank's field each question is (an array, one value a text)."""
        ...

    @property
    def field_bar(self) -> float | None:
        """The value of `field` a question must reach to be the field's (None: not measured
        for this embedder)."""
        ...

    def sync(self) -> object:
        """Bring the index in step with the bank (after /bank add changed it)."""
        ...

    def close(self) -> None:
        """Release the index."""
        ...
