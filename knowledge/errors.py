"""Errors of the bank, each carrying a one-line message a person can act on.

BankError
├── InputError        a file or path given to ingest cannot be read as a bank document
└── StoreError        the database cannot be opened or written
"""

from __future__ import annotations


class BankError(Exception):
    """Base of the bank's errors; str() is a one-line message for people."""


class InputError(BankError):
    """A path given to ingest is missing, too large, empty, binary or undecodable."""


class StoreError(BankError):
    """The data dir or its database cannot be opened or written."""
