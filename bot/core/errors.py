"""Errors of the application layer, each carrying a one-line message for people.

    TutorError
    └── ConfigError       a setting, or the config file, is invalid

The bank's own errors (knowledge.errors.BankError and its subclasses) are caught at the same
boundaries: the CLI prints either as `error: …` and exits non-zero.
"""

from __future__ import annotations


class TutorError(Exception):
    """Base of the application's errors; str() is a one-line message for people."""


class ConfigError(TutorError):
    """A setting or the config file is invalid."""
