"""The values the bank is made of: an entry, its code blocks, and one document's parse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["concept", "coding"]
Language = Literal["zh", "en"]
Part = Literal["question", "answer", "example", "explanation", "tests"]


@dataclass(frozen=True)
class CodeBlock:
    """A fenced code block of an entry, with the part of the entry it sits in."""

    lang: str
    code: str
    part: Part = "answer"


@dataclass(frozen=True)
class Entry:
    """One interview question or programming problem of the bank."""

    id: str
    source: str
    question: str
    kind: Kind
    language: Language
    title: str = ""
    answer: str = ""
    key_points: tuple[str, ...] = ()
    code: tuple[CodeBlock, ...] = ()
    explanation: str = ""
    example: str = ""
    tests: str = ""
    doc_title: str = ""
    section: str = ""
    position: int = 0

    @property
    def solution(self) -> str:
        """The reference solution of a coding problem: the code of its answer."""
        blocks = [b.code for b in self.code if b.part == "answer"]
        return "\n\n".join(blocks)


@dataclass(frozen=True)
class ParsedDocument:
    """What the parser found in one file."""

    source: str
    title: str
    entries: tuple[Entry, ...] = field(default_factory=tuple)
