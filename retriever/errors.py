"""Errors of the retriever, each carrying a one-line message a person can act on.

RetrieverError
├── IndexMissing      the search index has not been built, or its files are gone
├── IndexCorrupt      the index files cannot be read
├── IndexMismatch     the index was built with another embedding model
├── ModelError        the embedding model cannot be loaded
└── QueryError        the query cannot be searched (empty)
"""

from __future__ import annotations

REBUILD = "run `tutor index rebuild` (the bank itself is untouched)"


class RetrieverError(Exception):
    """Base of the retriever's errors; str() is a one-line message for people."""


class IndexMissing(RetrieverError):
    """The index files are missing."""


class IndexCorrupt(RetrieverError):
    """The index files are damaged."""


class IndexMismatch(RetrieverError):
    """The index holds vectors of another model than the one configured."""


class ModelError(RetrieverError):
    """The embedding model cannot be loaded."""


class QueryError(RetrieverError):
    """The query cannot be searched."""
