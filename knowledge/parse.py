"""Markdown bank documents into entries.

The document is parsed by markdown-it-py into blocks (headings, paragraphs, lists, code fences),
so a `#` line inside a fence is code and never a heading. The blocks are then read in order by a
small state machine: a question label (or a heading that is itself a question) opens an entry,
answer/explanation/example/tests labels switch the part being filled, and a heading, a rule or
closing chatter ends it. The formats it reads are described in docs/bank-format.md.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from knowledge.blocks import Block, Code, Heading, ListBlock, Paragraph, blocks
from knowledge.cjk import CJK_CHAR
from knowledge.entry import CodeBlock, Entry, Kind, Language, ParsedDocument, Part

# Bump when parsing changes, so that unchanged files are parsed again on the next ingest.
PARSER_VERSION = 1

_QUESTION_LABELS: dict[str, Kind] = {
    "面试题": "concept",
    "题目": "concept",
    "问题": "concept",
    "question": "concept",
    "q": "concept",
    "interview question": "concept",
    "编程题": "coding",
    "算法编程题": "coding",
    "算法题": "coding",
    "problem": "coding",
    "coding problem": "coding",
    "programming problem": "coding",
}
_PART_LABELS: dict[str, Part] = {
    "答案": "answer",
    "参考答案": "answer",
    "回答": "answer",
    "answer": "answer",
    "reference answer": "answer",
    "solution": "answer",
    "解析": "explanation",
    "解释": "explanation",
    "说明": "explanation",
    "explanation": "explanation",
    "why": "explanation",
    "实例": "example",
    "示例": "example",
    "例子": "example",
    "example": "example",
    "测试": "tests",
    "测试用例": "tests",
    "tests": "tests",
    "test": "tests",
}
_LABEL_WORDS = sorted([*_QUESTION_LABELS, *_PART_LABELS], key=len, reverse=True)
_LABEL = re.compile(
    r"^\s*(?P<label>" + "|".join(re.escape(w) for w in _LABEL_WORDS) + r")"
    r"\s*(?P<num>\d+)?\s*[：:]\s*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_NUMBERED = re.compile(r"^\s*(?:\d+|[一二三四五六七八九十]+)\s*[.、．)）]\s*(?P<text>.+)$")
_CODING_SECTION = re.compile(r"编程|算法题|coding|programming|algorithm", re.IGNORECASE)
_GENERIC_SECTION = re.compile(
    r"题库|^\s*(?:\S{1,3}[.、．]\s*)?(?:面试题|编程题|算法编程题|典型问题)\s*$"
    r"|interview questions|coding problems|programming problems",
    re.IGNORECASE,
)
_TITLE_PREFIX = re.compile(r"^\s*(?:标题|title)\s*[：:]\s*", re.IGNORECASE)
_ARTIFACT = re.compile(r"<\|[^|>]{1,40}\|>")
_CHATTER = re.compile(
    r"希望.{0,30}(?:帮助|启发)|通过以上.{0,12}题|以上就是|欢迎.{0,10}(?:留言|交流)"
    r"|\bI(?:'ll| will) (?:continue|add)|\bhope (?:this|it|that) helps"
    r"|\bhappy (?:learning|coding)\b|\bfeel free to (?:ask|reach|leave)",
    re.IGNORECASE,
)
_FULLWIDTH_COLON_SPACE = re.compile(r"：\s+")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])\s*|(?<=[.])\s+")
_QUESTION_END = re.compile(r"[?？]\s*$")


@dataclass
class _Draft:
    question: str
    kind: Kind
    section: str
    title: str
    part: Part = "question"
    texts: dict[str, list[str]] = field(default_factory=dict)
    key_points: list[str] = field(default_factory=list)
    code: list[CodeBlock] = field(default_factory=list)

    def add_text(self, text: str) -> None:
        if text:
            self.texts.setdefault(self.part, []).append(text)

    def text(self, part: str) -> str:
        return "\n\n".join(self.texts.get(part, [])).strip()


def _strip_number(heading: str) -> str:
    match = _NUMBERED.match(heading)
    return match.group("text").strip() if match else heading.strip()


def _label(text: str) -> tuple[str, str] | None:
    match = _LABEL.match(text)
    if not match:
        return None
    return match.group("label").lower(), match.group("rest").strip()


def _language(text: str) -> Language:
    cjk = len(CJK_CHAR.findall(text))
    words = len(_LATIN_WORD.findall(text))
    return "zh" if cjk >= max(4, words) else "en"


def _sentences(text: str) -> list[str]:
    flat = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return [s.strip() for s in _SENTENCE_END.split(flat) if len(s.strip()) > 1]


def _tidy(point: str) -> str:
    return _FULLWIDTH_COLON_SPACE.sub("：", " ".join(point.split()))


def _short(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


class _Reader:
    """Walks the blocks once, opening and closing entry drafts."""

    def __init__(self) -> None:
        self.headings: list[Heading] = []
        self.drafts: list[_Draft] = []
        self.current: _Draft | None = None
        self.pending: Heading | None = None  # a heading that may turn out to be the question
        self.heading_claimed = False  # the current numbered heading already titled an entry
        self.closed = False  # closing chatter seen: ignore until the next heading

    @property
    def section(self) -> str:
        return _strip_number(self.headings[-1].text) if self.headings else ""

    def _in_coding_section(self) -> bool:
        return any(_CODING_SECTION.search(h.text) for h in self.headings)

    def finish(self) -> None:
        if self.current is not None:
            self.drafts.append(self.current)
        self.current = None

    def heading(self, block: Heading) -> None:
        self.finish()
        while self.headings and self.headings[-1].level >= block.level:
            self.headings.pop()
        self.headings.append(block)
        self.pending = block
        self.heading_claimed = False
        self.closed = False

    def rule(self) -> None:
        self.finish()
        self.pending = None
        self.closed = True

    def _open(self, question: str, kind: Kind) -> _Draft:
        self.finish()
        title = ""
        pending = self.pending
        if not self.heading_claimed and pending and not _GENERIC_SECTION.search(pending.text):
            title = self.section
        self.heading_claimed = True
        self.pending = None
        self.closed = False
        self.current = _Draft(
            question=question,
            kind=kind,
            section=self.section,
            title=title or _short(question),
        )
        return self.current

    def _pending_is_question(self) -> bool:
        """A numbered heading ending in a question mark, answered by unlabelled text."""
        heading = self.pending
        return (
            heading is not None
            and _NUMBERED.match(heading.text) is not None
            and _QUESTION_END.search(heading.text) is not None
        )

    def _open_from_pending_heading(self) -> _Draft | None:
        """A heading followed by an answer (not by a question label) is itself the question."""
        if self.pending is None:
            return None
        question = _strip_number(self.pending.text)
        kind: Kind = "coding" if self._in_coding_section() else "concept"
        return self._open(question, kind)

    def paragraph(self, block: Paragraph) -> None:
        label = _label(block.text)
        if label is not None:
            word, rest = label
            if word in _QUESTION_LABELS:
                opened = self._open(rest, _QUESTION_LABELS[word])
                if rest:
                    opened.part = "question"
                return
            draft = self.current
            if draft is None and _PART_LABELS[word] in ("answer", "tests"):
                draft = self._open_from_pending_heading()
            if draft is None:
                return
            draft.part = _PART_LABELS[word]
            draft.add_text(rest)
            return
        if self.closed:
            return
        if _CHATTER.search(block.text):
            self.finish()
            self.pending = None
            self.closed = True
            return
        if self.current is None:
            if self._pending_is_question():
                pending = self._open_from_pending_heading()
                if pending is not None:
                    pending.part = "answer"
                    pending.add_text(block.text)
            return
        if self.current.part == "question" and not self.current.question:
            self.current.question = block.text
            self.current.title = self.current.title or _short(block.text)
            return
        if self.current.part == "question" and self.current.code:
            # Prose after a coding question's code (with no label) is the answer's commentary.
            self.current.part = "answer"
        self.current.add_text(block.text)

    def list_(self, block: ListBlock) -> None:
        if self.closed:
            return
        draft = self.current
        if draft is None:
            if not self._pending_is_question():
                return
            draft = self._open_from_pending_heading()
            if draft is None:
                return
            draft.part = "answer"
        if draft.part == "answer":
            draft.key_points.extend(block.items)
        draft.add_text(block.markdown)

    def code(self, block: Code) -> None:
        if self.closed:
            return
        draft = self.current
        if draft is None:
            return
        part = draft.part
        if part == "question" and draft.kind == "coding":
            # Code right after a coding problem with no answer label is its reference solution.
            part = "answer"
        draft.code.append(CodeBlock(lang=block.lang, code=block.code, part=part))


def _entry_id(source: str, question: str, seen: dict[str, int]) -> str:
    key = " ".join(question.split()).lower()
    seen[key] = seen.get(key, 0) + 1
    digest = hashlib.sha1(f"{source}\n{key}\n{seen[key]}".encode()).hexdigest()
    return digest[:12]


def _document_title(blocks: list[Block], fallback: str) -> str:
    headings = [b for b in blocks if isinstance(b, Heading)]
    if not headings:
        return fallback
    top = min(h.level for h in headings)
    first = next(h for h in headings if h.level == top)
    if headings[0].level > top:
        first = headings[0]
    return _TITLE_PREFIX.sub("", first.text).strip() or fallback


def clean(text: str) -> str:
    """Remove chat-model artifacts and normalise line ends; leading blank padding goes too."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    text = _ARTIFACT.sub("", text)
    return text.strip("\n \t\u3000") + "\n"


def parse(text: str, source: str) -> ParsedDocument:
    """Parse one document's text into its entries; `source` is the file name they come from."""
    flat = blocks(clean(text))
    reader = _Reader()
    for block in flat:
        if isinstance(block, Heading):
            reader.heading(block)
        elif isinstance(block, Paragraph):
            reader.paragraph(block)
        elif isinstance(block, ListBlock):
            reader.list_(block)
        elif isinstance(block, Code):
            reader.code(block)
        else:
            reader.rule()
    reader.finish()

    doc_title = _document_title(flat, source)
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for draft in reader.drafts:
        question = draft.question.strip()
        if not question:
            continue
        answer = draft.text("answer")
        has_body = answer or draft.code or draft.text("explanation") or draft.text("example")
        if not has_body:
            continue
        tests = "\n\n".join(b.code for b in draft.code if b.part == "tests")
        kind: Kind = "coding" if tests else draft.kind
        key_points = tuple(_tidy(p) for p in draft.key_points or _sentences(answer))
        body = " ".join([question, answer, *key_points])
        entries.append(
            Entry(
                id=_entry_id(source, question, seen),
                source=source,
                question=question,
                kind=kind,
                language=_language(body),
                title=draft.title,
                answer=answer,
                key_points=key_points,
                code=tuple(draft.code),
                explanation=draft.text("explanation"),
                example=draft.text("example"),
                tests=tests,
                doc_title=doc_title,
                section=draft.section,
                position=len(entries),
            )
        )
    return ParsedDocument(source=source, title=doc_title, entries=tuple(entries))
