"""Seeing, without a model, that an answer denies or reverses a key point: negation cues near the
key point's terms, and antonym swaps against the reference, in English and Chinese.

The cue lists are data (`cues/en.txt`, `cues/zh.txt`). A cue's scope is its clause: "not" in
"this is not hard, the cache keeps K and V" says nothing about the cache.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from knowledge.cjk import CJK_CHAR

CUES_DIR = Path(__file__).with_name("cues")
_CJK = CJK_CHAR
# Clause borders: punctuation, and the conjunctions that start a new claim.
_CLAUSE = re.compile(
    r"[,;:，；：。！？!?、()（）\n]|(?<=[.])\s+"
    r"|\b(?:but|while|whereas|so|because|since|which|and so|although)\b"
    r"|但是|但|因为|所以|因此|而且|并且|从而"
)


@dataclass(frozen=True)
class Cues:
    """Negation cues, phrases that look like one but are not, and pairs of opposites."""

    negations: tuple[str, ...]
    exceptions: tuple[str, ...]
    antonyms: tuple[tuple[str, str], ...]


def read_cues(paths: list[Path]) -> Cues:
    """The cues of some cue files (sections `[negation]`, `[exception]`, `[antonym]`)."""
    sections: dict[str, list[str]] = {"negation": [], "exception": [], "antonym": []}
    for path in paths:
        section = "negation"
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip()
                continue
            sections[section].append(line.lower())
    pairs = []
    for line in sections["antonym"]:
        a, _, b = line.partition("|")
        if a.strip() and b.strip():
            pairs.append((a.strip(), b.strip()))
    # Longest first, so that "isn't needed" is found before "isn't".
    by_length = sorted(set(sections["negation"]), key=len, reverse=True)
    return Cues(tuple(by_length), tuple(sections["exception"]), tuple(pairs))


@cache
def default_cues() -> Cues:
    """The cues shipped with the package, both languages."""
    return read_cues(sorted(CUES_DIR.glob("*.txt")))


def clauses(text: str) -> list[str]:
    """A text's clauses: a negation's scope."""
    return [c.strip() for c in _CLAUSE.split(text) if c and c.strip()]


def _has(text: str, phrase: str) -> bool:
    """Whether a lower-cased text holds a phrase: whole words for Latin, a substring for Chinese."""
    if _CJK.search(phrase):
        return phrase in text
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text) is not None


def _masked(text: str, cues: Cues) -> str:
    text = text.lower().replace("’", "'")
    for phrase in cues.exceptions:
        text = text.replace(phrase, " ")
    return text


def negated(clause: str, cues: Cues | None = None) -> bool:
    """Whether a clause holds a negation cue."""
    cues = cues or default_cues()
    text = _masked(clause, cues)
    return any(_has(text, cue) for cue in cues.negations)


def _plain(text: str) -> str:
    return text.lower().replace("-", " ")


def reversed_terms(
    reference: str, clause: str, cues: Cues | None = None, *, whole: str = ""
) -> list[str]:
    """The words of a clause that are the opposite of the reference's: one side of a pair used
    by the reference, the other by the clause, and the clause's side nowhere in the reference
    (nor in `whole`, the rest of it)."""
    cues = cues or default_cues()
    ref, said = _plain(f"{reference}\n{whole}"), _plain(clause)
    found = []
    for a, b in cues.antonyms:
        for mine, theirs in ((a, b), (b, a)):
            if (
                _has(said, mine)
                and _has(_plain(reference), theirs)
                and not _has(said, theirs)
                and not _has(ref, mine)
            ):
                found.append(mine)
    return found
