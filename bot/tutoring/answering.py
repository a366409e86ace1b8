"""The answer engine: retrieve, and either say honestly that the bank has nothing, or have the
language model answer from the retrieved entries (or, without a model, quote their key points),
with citations checked against what was retrieved."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bot.llm.base import GREEDY, Backend, GenerationError, Message, Sampling
from bot.texts import layouts, messages
from bot.texts.prompts import ANSWER_REMINDER, SYSTEM_PROMPT
from bot.tutoring.fences import fences
from bot.tutoring.ports import Retriever
from knowledge.entry import Entry
from retriever.text import cjk_ratio

if TYPE_CHECKING:
    from bot.tutoring.answer_check import AnswerCheck, Checked
    from retriever.decision import Coverage, SearchResult

Mode = Literal["llm", "extractive"]
_CITATION = re.compile(r"\[([0-9a-f]{6,16}|\d{1,2})\]")
MAX_QUESTION_CHARS = 2000
RELATED_SOURCES = 2  # a related answer rests on this many of the closest entries


@dataclass(frozen=True)
class Answer:
    """A reply to a question, per the `tutor ask` contract."""

    answer: str
    citations: tuple[str, ...]
    grounded: bool
    mode: Mode
    notice: str = ""
    coverage: Coverage = "covered"
    checked: str = ""  # the self-check's verdict on a model answer: kept, added or replaced
    # The search it came from (the closest entries, their scores and the coverage signals),
    # for whoever records what the bank does not cover; None when no search was made.
    found: SearchResult | None = dataclasses.field(default=None, compare=False, repr=False)

    def as_json(self) -> dict[str, object]:
        """The contract's object."""
        return {
            "answer": self.answer,
            "citations": list(self.citations),
            "grounded": self.grounded,
            "mode": self.mode,
            "coverage": self.coverage,
        }


_FOLLOW_UP = re.compile(
    r"\b(it|its|that|this|those|these|them|the (first|second|third|last|other) one|more|"
    r"example|why not|what about|and)\b|"
    r"它|这个|那个|这些|那些|第[一二三四五]个|举个例子|例子|具体|详细|展开|为什么呢|呢[？?]?$",
    re.IGNORECASE,
)
HISTORY_TURNS = 3


@dataclass(frozen=True)
class Turn:
    """One earlier question and answer of the same thread."""

    question: str
    answer: str


def standalone_query(question: str, history: list[Turn]) -> str:
    """A follow-up ("what about the second one?", "举个例子") rewritten into a query that can be
    searched alone: the thread's last question is put in front of it."""
    if not history:
        return question
    chinese = cjk_ratio(question) >= 0.3
    short = len(question) <= 12 if chinese else len(question.split()) <= 6
    if short or _FOLLOW_UP.search(question):
        return f"{history[-1].question} {question}"
    return question


def language_of(text: str) -> messages.Lang:
    """zh when the text is mostly Chinese."""
    return "zh" if cjk_ratio(text) >= 0.3 else "en"


def build_messages(
    question: str, sources: list[Entry], history: list[Turn] | None = None
) -> list[Message]:
    """The chat for the model: rules, the thread's last turns, then the sources and the
    question as marked data."""
    example = sources[0].id if sources else "1a2b3c4d5e6f"
    blocks = []
    for n, entry in enumerate(sources, start=1):
        parts = [f"Question: {entry.question}"]
        if entry.key_points:
            parts.append("Key points:\n" + "\n".join(f"- {p}" for p in entry.key_points))
        elif entry.answer:
            parts.append(f"Answer: {entry.answer}")
        code = entry.solution or next((b.code for b in entry.code), "")
        if code:
            parts.append(f"Code:\n```python\n{code}\n```")
        body = "\n".join(parts).replace("</source>", "</ source>")
        blocks.append(f'<source n="{n}" id="{entry.id}">\n{body}\n</source>')
    user = (
        "\n\n".join(blocks)
        + "\n\n<question>\n"
        + question.replace("</question>", "</ question>")
        + "\n</question>\n\n"
        + ANSWER_REMINDER[language_of(question)]
    )
    chat: list[Message] = [{"role": "system", "content": SYSTEM_PROMPT.format(example=example)}]
    for turn in (history or [])[-HISTORY_TURNS:]:
        chat.append({"role": "user", "content": turn.question})
        chat.append({"role": "assistant", "content": turn.answer})
    chat.append({"role": "user", "content": user})
    return chat


def check_citations(text: str, sources: list[Entry]) -> tuple[str, list[str]]:
    """Keep citations of retrieved entries (by id or by number), drop invented ones."""
    ids = [e.id for e in sources]
    cited: list[str] = []

    def replace(match: re.Match) -> str:
        token = match.group(1)
        entry_id = None
        if token.isdigit() and 1 <= int(token) <= len(ids):
            entry_id = ids[int(token) - 1]
        elif token in ids:
            entry_id = token
        if entry_id is None:
            return ""
        if entry_id not in cited:
            cited.append(entry_id)
        return f"[{entry_id}]"

    cleaned = re.sub(r"[ \t]{2,}", " ", _CITATION.sub(replace, text))
    return re.sub(r"[ \t]+([.,;:!?。，；：！？])", r"\1", cleaned).strip(), cited


def without_prompt(text: str) -> str:
    """The answer without any line of the tutor's own instructions: a model talked into
    reciting its system prompt does not get to show it."""
    rules = [
        " ".join(line.split()).lower()
        for line in SYSTEM_PROMPT.splitlines()
        if len(line.strip()) >= 30
    ]
    kept = [
        line
        for line in text.split("\n")
        if not any(rule[:60] in " ".join(line.split()).lower() for rule in rules)
    ]
    return without_markup("\n".join(kept))


# The tags build_messages wraps the sources and the question in, as a model may copy them.
_OPENING_SOURCE = re.compile(r'<source n="(\d+)"[^>\n]*>')
_MARKUP_LINE = re.compile(r"[ \t]*</?\s*(?:source|question)\b[^>\n]*>[ \t]*")


def without_markup(text: str) -> str:
    """The answer without the prompt's own tags, which a small model sometimes copies when it
    recites a source: a line that is only such a tag goes, an opening source tag within a line
    becomes that source's citation mark. Code blocks are left as written (HTML has a <source>
    element of its own)."""
    pieces, at = [], 0
    for block in fences(text):
        pieces += [_unmarked(text[at : block.start]), text[block.start : block.end]]
        at = block.end
    pieces.append(_unmarked(text[at:]))
    return "".join(pieces)


def _unmarked(prose: str) -> str:
    lines = [line for line in prose.split("\n") if not _MARKUP_LINE.fullmatch(line)]
    return _OPENING_SOURCE.sub(r"[\1]", "\n".join(lines))


def extractive(question: str, sources: list[Entry], *, model_loaded: bool = False) -> str:
    """An answer from the best entries' key points and code, cited, without a model's words."""
    lang = language_of(question)
    intro = (
        messages.say(lang, "bank_points_intro")
        if model_loaded
        else messages.say(lang, "extractive_intro")
    )
    lines = [intro, ""]
    # A second entry in the other language only when the first is not in the asker's either:
    # the answer should read in one language where the bank allows it.
    second = [e for e in sources[1:2] if e.language == lang or sources[0].language != lang]
    for entry in sources[:1] + second:
        lines.append(f"**{entry.title}** [{entry.id}]")
        points = entry.key_points or (entry.answer,)
        lines += [f"- {p}" for p in points[:6] if p]
        if entry.kind == "coding" and entry.solution:
            lines += ["```python", entry.solution, "```"]
        lines.append("")
    return "\n".join(lines).strip()


class AnswerEngine:
    """Answers questions from a retriever's entries with a backend (or extractively)."""

    def __init__(
        self,
        retriever: Retriever,
        backend: Backend | None,
        *,
        k: int = 4,
        max_generating: int = 4,
        max_waiting: int = 16,
        timeout_s: float = 120.0,
        sampling: Sampling = GREEDY,
        check: AnswerCheck | None = None,
    ) -> None:
        self.retriever = retriever
        self.backend = backend
        self.sampling = sampling
        self.check = check
        self.checked: dict[str, int] = {"kept": 0, "added": 0, "replaced": 0}
        self.k = k
        self.timeout_s = timeout_s
        self.max_waiting = max_waiting
        self.max_generating = max_generating
        self.rejected = 0  # answers sent to the bank's key points by backpressure
        self._slots = asyncio.Semaphore(max_generating)
        self._admitted = 0
        self._max_admitted = max_generating + max_waiting

    async def answer(
        self,
        question: str,
        *,
        on_text: Callable[[str], None] | None = None,
        cancel: asyncio.Event | None = None,
        max_new_tokens: int = 512,
        history: list[Turn] | None = None,
    ) -> Answer:
        """Answer one question (of a thread with `history`); `on_text` receives the answer as
        it streams."""
        question = " ".join(question.split())[:MAX_QUESTION_CHARS]
        history = history or []
        lang = language_of(question)
        query = standalone_query(question, history)[:MAX_QUESTION_CHARS]
        result = await asyncio.to_thread(self.retriever.search, query, self.k)
        fallback: Coverage = "covered" if result.grounded else "off-topic"
        coverage: Coverage = getattr(result, "coverage", fallback)
        if coverage not in ("covered", "related"):
            topics = [h.title for h in result.hits[:3]]
            text = layouts.not_in_bank(lang, topics)
            if on_text:
                on_text(text)
            return Answer(text, (), False, "extractive", coverage="off-topic", found=result)
        # Related: no entry covers the question, so only the closest few are offered, as such.
        hits = result.hits if coverage == "covered" else result.hits[:RELATED_SOURCES]
        entries = self.retriever.store
        found = [e for e in (entries.entry(h.id) for h in hits) if e is not None]
        # Same-language entries first (stable): the answer should read in the asker's language.
        sources = sorted(found, key=lambda e: e.language != lang)
        answer = await self._answer(
            question, sources, on_text, cancel, max_new_tokens, history, coverage
        )
        return dataclasses.replace(answer, coverage=coverage, found=result)

    async def _answer(
        self,
        question: str,
        sources: list[Entry],
        on_text: Callable[[str], None] | None,
        cancel: asyncio.Event | None,
        max_new_tokens: int,
        history: list[Turn],
        coverage: Coverage,
    ) -> Answer:
        lang = language_of(question)
        if coverage == "related":
            intro = messages.say(lang, "closest_intro") + "\n\n"
            if on_text:
                on_text(intro)
            inner = on_text
            answer = await self._answer(
                question, sources, inner, cancel, max_new_tokens, history, "covered"
            )
            return dataclasses.replace(answer, answer=intro + answer.answer)
        if self.backend is None:
            return self._extractive(question, sources, on_text, "")
        if self._admitted >= self._max_admitted:
            # Backpressure: a full queue answers from the bank at once instead of piling up.
            self.rejected += 1
            return self._extractive(question, sources, on_text, messages.say(lang, "model_busy"))
        chunks: list[str] = []
        self._admitted += 1
        try:
            async with self._slots, asyncio.timeout(self.timeout_s):
                # Sampling options only when set: a greedy answer asks the backend as before.
                options = {"sampling": self.sampling} if self.sampling != GREEDY else {}
                async for chunk in self.backend.stream(
                    build_messages(question, sources, history),
                    max_new_tokens=max_new_tokens,
                    cancel=cancel,
                    **options,
                ):
                    chunks.append(chunk)
                    if on_text:
                        on_text(chunk)
        except GenerationError as exc:
            return self._extractive(question, sources, on_text, str(exc))
        except TimeoutError:
            if not chunks:
                return self._extractive(
                    question, sources, on_text, messages.say(lang, "model_slow")
                )
            chunks.append(" …")
        finally:
            self._admitted -= 1
        text, cited = check_citations(without_prompt("".join(chunks)), sources)
        checked = None
        if self.check is not None and sources:
            if on_text:
                on_text("\n\n" + messages.say(lang, "checking_answer"))
            checked = await asyncio.to_thread(self.check.check, question, text, sources)
        return self.settle(question, text, cited, sources, checked, on_text)

    def settle(
        self,
        question: str,
        text: str,
        cited: list[str],
        sources: list[Entry],
        checked: Checked | None,
        on_text: Callable[[str], None] | None = None,
    ) -> Answer:
        """The model's answer (its citations checked) as the learner gets it, after the check's
        verdict: kept, the missed key points added under it, or the bank's key points instead.
        A stream that cannot be replaced (a terminal) is sent what follows as well."""
        lang = language_of(question)
        cited = list(cited)
        if checked is not None:
            self.checked[checked.verdict] += 1
            if checked.verdict == "replaced":
                why = layouts.check_replaced(lang, checked.reason, checked.entry.id)
                if on_text:
                    on_text("\n\n")
                answer = self._extractive(question, sources, on_text, why)
                return dataclasses.replace(answer, checked="replaced")
            if checked.verdict == "added":
                points = "\n".join(f"- {p}" for p in checked.missed)
                added = f"{messages.say(lang, 'check.added', id=checked.entry.id)}\n{points}"
                if on_text:
                    on_text("\n\n" + added)
                text = f"{text}\n\n{added}"
                if checked.entry.id not in cited:
                    cited.append(checked.entry.id)
        if not cited:
            text = f"{text}\n\n{layouts.sources_line(lang, [e.id for e in sources])}"
        verdict = checked.verdict if checked is not None else ""
        return Answer(text, tuple(cited or [e.id for e in sources]), True, "llm", checked=verdict)

    @property
    def admitted(self) -> int:
        """Answers generating or waiting for a generation slot now."""
        return self._admitted

    def _extractive(
        self,
        question: str,
        sources: list[Entry],
        on_text: Callable[[str], None] | None,
        notice: str,
    ) -> Answer:
        text = extractive(question, sources, model_loaded=self.backend is not None)
        if on_text:
            on_text(text)
        cited = [e.id for e in sources[:2] if f"[{e.id}]" in text]
        return Answer(text, tuple(cited), True, "extractive", notice)
