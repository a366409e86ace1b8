"""The field's techniques by name (retriever/techniques.tsv, written by the project): which
technique a question is about, whichever of its names, variants or languages it uses.

A line of the file is `family<TAB>alias`: the technique as people name it (`RoPE scaling`) and
one way a question may name it (YaRN, NTK-aware, 长度外推). English aliases match as sequences
of word stems (plurals and -ing forms too), Chinese ones as written; an alias that mixes both
("Xavier 初始化") matches with or without the space. A cue (`K-means<TAB>centroid + cluster`)
names a technique by what it does, for a question that describes it without its name: the
family is found when every part occurs anywhere in the text (English parts by stems, Chinese
ones as written), after the families the text names. The coverage decision uses it (a question
is covered only by entries about a technique it names: docs/retrieval.md), and the gaps
(`bot/tutoring/gaps.py`) to keep questions on one technique together, and questions on two
apart, when the embedder cannot tell, and to name them (docs/gaps.md).
"""

from __future__ import annotations

import copy
import functools
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from retriever.glossary import _whole
from retriever.text import CJK_CHAR, everyday_english, stem

TECHNIQUES_FILE = Path(__file__).with_name("techniques.tsv")
# Questions describing a family without naming it (`family<TAB>question`), for the gaps' nearest
# family by meaning (retriever/meaning.py).
DESCRIBED_FILE = Path(__file__).with_name("described.tsv")
_WORD = re.compile(r"[a-z0-9]+")  # as english_words splits a text
CUE = " + "  # between the parts of a cue (`centroid + cluster`; k-means++ is an alias)
# British spellings of the field's words, matched as the American ones the file writes:
# normalisation, optimiser, neighbours, colour, centre, analyse.
_ISE = (
    "normal|optim|regular|token|quant|minim|maxim|initial|general|visual|summar|parallel|"
    "vector|standard|discret|categor|character|penal|random|special|stabil|util|real|recogn|"
    "organ|memor|binar|linear|parameter|serial|synchron|custom|central|local|lemmat|anonym|"
    "sanit|prior|emphas|factor|capital|neutral|digit|mobil|harmon|fertil|polar"
)
_BRITISH = [
    (re.compile(rf"^({_ISE})is(e|es|ed|ing|er|ers|ation|ations|able)$"), r"\1iz\2"),
    (re.compile(r"^(neighb|col|behavi|fav|lab|flav|hon|hum|rum|vap)our"), r"\1or"),
    (re.compile(r"^(cent|met|fib|lit)re(s|d)?$"), r"\1er\2"),
    (re.compile(r"^(analy|paraly|cataly)s(e|es|ed|ing)$"), r"\1z\2"),
]


def american(word: str) -> str:
    """A lower-case English word as American spelling writes it (neighbour → neighbor)."""
    for pattern, replacement in _BRITISH:
        word = pattern.sub(replacement, word)
    return word


def _stem(word: str) -> str:
    """A lower-case English word's stem, British spellings as American ones."""
    return stem(american(word))


def _stems(text: str) -> list[str]:
    """The stems of a text's English words (`_stem`)."""
    return [_stem(w) for w in _WORD.findall(text.lower())]


class Techniques:
    """Technique families and the aliases that name them."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.names: dict[str, str] = {}  # family key -> the family as the file writes it
        self._english: dict[tuple[str, ...], str] = {}  # a phrase alias's stems -> family key
        self._words: dict[str, str] = {}  # a one-word alias (and plurals) -> family key
        self._cased: dict[str, tuple[str, ...]] = {}  # such an alias that is an everyday word
        chinese: dict[str, str] = {}  # a Chinese alias, lower case -> family key
        self._cues: list[tuple[str, tuple[str, ...]]] = []  # family key, its parts' keys
        self._parts: dict[str, str | tuple[str, ...]] = {}  # a part -> its text or its stems
        for family, alias in pairs:
            key = family.lower()
            self.names.setdefault(key, family)
            if CUE in alias:
                once = dict.fromkeys(self._part(p) for p in alias.split(CUE))
                self._cues.append((key, tuple(once)))
            elif CJK_CHAR.search(alias):
                chinese.setdefault(alias.lower(), key)
            else:
                stems = tuple(_stems(alias))
                if len(stems) == 1:  # one word as written, or its plural: a stem is too loose
                    word = alias.lower()  # (standardization and "standard" share one)
                    # An acronym's plural is an s (GATs), never es ("gates" is no GAT).
                    plurals = ("s",) if alias != word else ("s", "es")
                    for form in (word, *(word + p for p in plurals)):
                        self._words.setdefault(form, key)
                    if alias != word and everyday_english(word):
                        # RoPE, YaRN, CLIP, Adam: as written or in capitals, never a rope,
                        # yarn, a clip or adam in lower case.
                        self._cased[word] = (alias, alias.upper())
                elif stems:
                    self._english.setdefault(stems, key)
        self._longest = max((len(s) for s in self._english), default=1)
        self._cues_of: dict[str, list[int]] = {part: [] for part in self._parts}
        for number, (_, cue) in enumerate(self._cues):
            for part in cue:
                self._cues_of[part].append(number)
        phrases = [p for p in self._parts.values() if isinstance(p, tuple)]
        self._part_longest = max((len(p) for p in phrases), default=1)
        self._chinese = chinese
        ordered = sorted(chinese, key=len, reverse=True)
        # A space between a Latin and a Chinese part of an alias is optional in a question.
        patterns = [_whole(alias).replace(r"\ ", r"\s*") for alias in ordered]
        self._zh = re.compile("|".join(patterns)) if patterns else None
        self._spaced = {re.sub(r"\s+", "", a): a for a in ordered}
        self._found = functools.lru_cache(maxsize=4096)(self._scan)
        self._meant: Mapping[str, str] = {}  # a text naming and describing none -> a family

    def also(self, meant: Mapping[str, str]) -> Techniques:
        """These techniques, finding for each text of `meant` that names and describes none the
        family given there (the one its meaning is nearest: `bot/core/gaps.py`); a copy that
        shares the lookups."""
        twin = copy.copy(self)
        twin._meant = meant
        return twin

    def _part(self, part: str) -> str:
        """A cue's part, kept once: Chinese (or mixed) as written without spaces, English as
        its stems (with the other parts beside it, a stem is precise enough: "residuals" of
        trees is the residual errors of trees)."""
        part = part.strip().lower()
        if part not in self._parts:
            chinese = CJK_CHAR.search(part)
            how = re.sub(r"\s+", "", part) if chinese else tuple(_stems(part))
            if not how:
                raise ValueError(f"a cue has an empty part: {part!r}")
            self._parts[part] = how
        return part

    @classmethod
    def load(cls, path: Path = TECHNIQUES_FILE) -> Techniques:
        """Read a `family<TAB>alias` file (no header; `#` starts a comment line)."""
        pairs = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            family, alias = line.split("\t")
            pairs.append((family.strip(), " ".join(alias.split())))
        return cls(pairs)

    def find(self, text: str) -> list[str]:
        """The families a text names (their keys), in order of first mention, then those it
        describes by a cue. A question is looked up by its search, the gap book and each
        listing of the gaps: found once."""
        found = list(self._found(text))
        if not found and text in self._meant:
            found.append(self._meant[text])
        return found

    def _scan(self, text: str) -> tuple[str, ...]:
        found: dict[str, int] = {}
        if self._zh is not None:
            for match in self._zh.finditer(text.lower()):
                alias = self._spaced.get(re.sub(r"\s+", "", match.group()), match.group())
                found.setdefault(self._chinese[alias], match.start())
        lowered = text.lower()
        words = [(m.start(), m.group()) for m in _WORD.finditer(lowered)]
        stems = [_stem(w) for _, w in words]
        i = 0
        while i < len(words):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                phrase = tuple(stems[i : i + n])
                key = self._english.get(phrase) if n > 1 else self._one_word(text, *words[i])
                if key is not None:
                    found.setdefault(key, words[i][0])
                    i += n
                    break
            else:
                i += 1
        named = sorted(found, key=lambda k: found[k])
        return (*named, *self._described(lowered, stems, set(named)))

    def _described(self, lowered: str, stems: list[str], named: set[str]) -> list[str]:
        """The families whose every cue part the text holds, and it does not name: each part
        looked up once, then the cues all of whose parts were found."""
        plain = re.sub(r"\s+", "", lowered)
        n = range(1, self._part_longest + 1)
        grams = {tuple(stems[i : i + k]) for k in n for i in range(len(stems))}
        held: Counter[int] = Counter()
        for part, how in self._parts.items():
            if how in plain if isinstance(how, str) else how in grams:
                held.update(self._cues_of[part])
        out: list[str] = []
        for cue in sorted(c for c, count in held.items() if count == len(self._cues[c][1])):
            key = self._cues[cue][0]
            if key not in named and key not in out:
                out.append(key)
        return out

    def _one_word(self, text: str, start: int, word: str) -> str | None:
        """The family a one-word alias names, as the text writes it at `start`."""
        key = self._words.get(word)
        cased = self._cased.get(word.removesuffix("s"), ()) or self._cased.get(word, ())
        if key is not None and cased:
            written = text[start : start + len(word)]
            if not any(written.startswith(form) for form in cased):
                return None
        return key

    def about(self, title: str, question: str) -> frozenset[str]:
        """The families an entry is about: those its title and question name or describe (its
        answer and key points mention too much in passing; docs/retrieval.md)."""
        return frozenset(self.find(f"{title} {question}"))

    def name(self, key: str) -> str:
        """A family as the file writes it."""
        return self.names.get(key, key)


def described_questions(path: Path = DESCRIBED_FILE) -> list[tuple[str, str]]:
    """(family key, question) for each question of the file describing a family without its
    name; a line naming a family `techniques.tsv` does not have is refused."""
    known = techniques().names
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        family, _, question = line.partition("\t")
        key = family.strip().lower()
        if key not in known or not question.strip():
            raise ValueError(f"{path.name} line {number}: no family {family!r} or no question")
        rows.append((key, question.strip()))
    return rows


@functools.cache
def techniques() -> Techniques:
    """The project's techniques file, read once."""
    return Techniques.load()
