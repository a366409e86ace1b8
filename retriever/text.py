"""Tokens that work for Chinese and English alike: jieba words (search mode, so 知识蒸馏 also
yields 知识 and 蒸馏) for Chinese runs, lower-cased and lightly stemmed words for the rest, with
stop words of both languages removed."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[a-z0-9]+")
_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")
CJK = _CJK_CHAR

STOP_EN = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "else",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "lets",
        "like",
        "me",
        "might",
        "more",
        "most",
        "much",
        "must",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "one",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "please",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "us",
        "use",
        "used",
        "uses",
        "using",
        "very",
        "via",
        "was",
        "way",
        "ways",
        "we",
        "were",
        "what",
        "whats",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "explain",
        "describe",
        "tell",
        "know",
        "mean",
        "means",
        "meant",
        "give",
        "example",
        "examples",
        "difference",
        "different",
        "between",
        "versus",
        "vs",
        "question",
        "questions",
        "answer",
        "thing",
        "things",
        "make",
        "makes",
        "doing",
        "good",
        "best",
        "better",
        "common",
        "typical",
        "usually",
        "often",
        "really",
        "kind",
        "kinds",
        "type",
        "types",
        "wrt",
        "e",
        "g",
        "ie",
        "etc",
        "s",
        "t",
        "ll",
        "ve",
        "re",
        "m",
        "don",
        "doesn",
        "isn",
        "aren",
        "won",
        "didn",
    ]
)
STOP_ZH = frozenset(
    [
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "及",
        "或",
        "也",
        "都",
        "而",
        "就",
        "还",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "么",
        "嘛",
        "哪",
        "那",
        "这",
        "其",
        "之",
        "以",
        "把",
        "被",
        "让",
        "给",
        "对",
        "从",
        "向",
        "为",
        "为了",
        "因为",
        "所以",
        "如果",
        "但是",
        "然后",
        "以及",
        "还有",
        "并且",
        "而且",
        "或者",
        "什么",
        "怎么",
        "怎样",
        "怎么样",
        "如何",
        "为什么",
        "为何",
        "哪些",
        "哪个",
        "哪里",
        "多少",
        "几个",
        "一下",
        "一些",
        "一个",
        "一种",
        "有",
        "有没有",
        "没有",
        "能",
        "能否",
        "可以",
        "可能",
        "应该",
        "需要",
        "要",
        "会",
        "该",
        "请",
        "请问",
        "问",
        "问题",
        "说",
        "说说",
        "讲",
        "讲讲",
        "解释",
        "介绍",
        "简述",
        "简单",
        "谈谈",
        "聊聊",
        "比较",
        "区别",
        "不同",
        "相同",
        "时候",
        "时",
        "中",
        "里",
        "上",
        "下",
        "等",
        "等等",
        "我",
        "我们",
        "你",
        "你们",
        "他",
        "它",
        "他们",
        "自己",
        "进行",
        "通过",
        "使用",
        "用",
        "做",
        "来",
        "去",
        "到",
        "个",
        "些",
        "种",
        "及其",
        "其中",
        "方面",
        "方法",
        "怎么办",
        "一般",
        "通常",
        "主要",
        "常见",
        "常用",
        "具体",
        "哪儿",
        "呢",
        "么",
    ]
)


_local = threading.local()


def stem(word: str) -> str:
    """Snowball (Porter 2) stem of a lower-case English word: monitoring → monitor, and a few
    misspellings land on the same stem (distilation → distil)."""
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
        self._extra = [w for w in extra_words if _CJK_CHAR.search(w)]
        self._ready = False

    def _ensure(self) -> None:
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
        for run in _CJK_RUN.finditer(text):
            out.extend(self._latin(text[pos : run.start()], keep_stop))
            out.extend(self._chinese(run.group(), keep_stop))
            pos = run.end()
        out.extend(self._latin(text[pos:], keep_stop))
        return out

    def _latin(self, text: str, keep_stop: bool) -> list[str]:
        words = _WORD.findall(text)
        return [stem(w) for w in words if keep_stop or w not in STOP_EN]

    def _chinese(self, run: str, keep_stop: bool) -> list[str]:
        self._ensure()
        words = self._jieba.lcut_for_search(run)
        return [w for w in words if w.strip() and (keep_stop or w not in STOP_ZH)]


def cjk_ratio(text: str) -> float:
    """Share of CJK characters among a text's letters and CJK characters."""
    cjk = len(_CJK_CHAR.findall(text))
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    return cjk / (cjk + latin) if cjk + latin else 0.0
