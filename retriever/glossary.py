"""The bilingual glossary of the field's terms (retriever/glossary.tsv, written by the project),
used to carry a text's terms into the other language: an English question then finds a Chinese
entry, and the reverse, without a multilingual model or a network."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from retriever.text import english_words

GLOSSARY_FILE = Path(__file__).with_name("glossary.tsv")


class Glossary:
    """English ↔ Chinese term pairs, and lookup of the pairs a text mentions."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.digest = hashlib.sha1(repr(sorted(pairs)).encode()).hexdigest()[:12]
        self.to_zh: dict[str, list[str]] = {}
        self.to_en: dict[str, list[str]] = {}
        for en, zh in pairs:
            self.to_zh.setdefault(en, []).append(zh)
            self.to_en.setdefault(zh, []).append(en)
        # English terms are matched as sequences of stems, so plurals and -ing forms match too.
        self._phrases: dict[tuple[str, ...], str] = {}
        for en in self.to_zh:
            self._phrases.setdefault(tuple(english_words(en)), en)
        self._longest = max((len(p) for p in self._phrases), default=1)
        chinese = sorted(self.to_en, key=len, reverse=True)
        self._zh = re.compile("|".join(_whole(t) for t in chinese))

    @classmethod
    def load(cls, path: Path = GLOSSARY_FILE) -> Glossary:
        """Read a glossary TSV with an `en<TAB>zh` header."""
        pairs = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if n == 0 or not line.strip():
                continue
            en, zh = line.split("\t")
            pairs.append((" ".join(en.lower().split()), zh.strip().lower()))
        return cls(pairs)

    @property
    def chinese_terms(self) -> list[str]:
        """Every Chinese term, for the tokenizer to keep whole."""
        return list(self.to_en)

    def to_english(self, text: str) -> list[str]:
        """English translations of the Chinese terms in a text, in order of appearance."""
        out: list[str] = []
        for match in self._zh.finditer(text.lower()):
            for term in self.to_en[match.group()]:
                if term not in out:
                    out.append(term)
        return out

    def chinese_matches(self, text: str) -> list[str]:
        """The glossary's Chinese terms found in a text."""
        return [m.group() for m in self._zh.finditer(text.lower())]

    def english_matches(self, text: str) -> list[str]:
        """The glossary's English terms found in a text (longest first at each word)."""
        found: list[str] = []
        words = english_words(text)
        i = 0
        while i < len(words):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                english = self._phrases.get(tuple(words[i : i + n]))
                if english is not None:
                    found.append(english)
                    i += n
                    break
            else:
                i += 1
        return found

    def to_chinese(self, text: str) -> list[str]:
        """Chinese translations of the English terms in a text, in order of appearance."""
        out: list[str] = []
        for english in self.english_matches(text):
            out.extend(t for t in self.to_zh[english] if t not in out)
        return out


def _whole(term: str) -> str:
    """A pattern for a Chinese-side term; a Latin edge ("LoRA", "KV 缓存") only at a word's edge,
    so "rag" is not found in "average" nor "tpu" in "output"."""
    pattern = re.escape(term)
    if term[:1].isascii() and term[:1].isalnum():
        pattern = r"(?<![a-z0-9])" + pattern
    if term[-1:].isascii() and term[-1:].isalnum():
        pattern += r"(?![a-z0-9])"
    return pattern
