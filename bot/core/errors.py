"""The errors the tutor turns into one line for people, and the one name its boundaries catch.

Every family below carries, in str(), a one-line message a person can act on. The lower packages
(`knowledge`, `retriever`, `runner`) keep their own roots because they may not import `bot`;
`PEOPLE_ERRORS` joins the four roots into the one tree the core (a friendly reply) and the CLI
(`error: …`, exit 1) catch::

    PEOPLE_ERRORS
    ├── TutorError                the application
    │   └── ConfigError           a setting, or the config file, is invalid
    ├── knowledge.errors.BankError
    │   ├── InputError            a file given to ingest cannot be read as a bank document
    │   └── StoreError            the database cannot be opened or written
    ├── retriever.errors.RetrieverError
    │   ├── IndexMissing          the search index has not been built, or its files are gone
    │   ├── IndexCorrupt          the index files cannot be read
    │   ├── IndexMismatch         the index was built with another embedding model
    │   ├── ModelError            the embedding model cannot be loaded
    │   └── QueryError            the query cannot be searched (empty)
    └── runner.errors.RunnerError
        ├── SandboxUnavailable    the sandbox cannot start: code is not run at all
        ├── SnippetError          the snippet is empty, too large, binary, or of no known language
        └── RunnerBusy            too many runs at once, or this user already has one running

In a chat, `StoreError` is the exception: its message names server paths, so the core logs it
with an incident id instead of showing it (`for_people` returns None for it).
"""

from __future__ import annotations

from knowledge.errors import BankError, StoreError
from retriever.errors import RetrieverError
from runner.errors import RunnerError


class TutorError(Exception):
    """Base of the application's errors; str() is a one-line message for people."""


class ConfigError(TutorError):
    """A setting or the config file is invalid."""


PEOPLE_ERRORS: tuple[type[Exception], ...] = (TutorError, BankError, RetrieverError, RunnerError)


def for_people(exc: BaseException) -> str | None:
    """The one line a chat shows for `exc`, or None when it is for the logs (an incident)."""
    if isinstance(exc, StoreError) or not isinstance(exc, PEOPLE_ERRORS):
        return None
    return str(exc)
