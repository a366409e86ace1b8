"""Choosing quiz questions and reading progress: topics of the bank, due reviews first and then
new questions, filtered by topic, language and kind; statistics and mastery per topic."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bot.tutoring.ports import EntryStore, Retriever
from bot.tutoring.spacing import PASS
from knowledge.entry import Entry
from knowledge.progress import Progress

Reason = Literal["due", "new", "ahead"]


@dataclass(frozen=True)
class QuizRequest:
    """What /quiz asked for: `/quiz [topic] [zh|en] [code]`."""

    topic: str = ""
    language: str | None = None
    kind: str | None = None
    list_topics: bool = False


def parse_request(args: str) -> QuizRequest:
    """Read /quiz's arguments; the words that are not flags form the topic."""
    words, language, kind = [], None, None
    for word in args.split():
        low = word.lower()
        if low in ("zh", "cn", "中文"):
            language = "zh"
        elif low in ("en", "english", "英文"):
            language = "en"
        elif low in ("code", "coding", "编程"):
            kind = "coding"
        elif low in ("concept", "概念"):
            kind = "concept"
        else:
            words.append(word)
    topic = " ".join(words)
    if topic.lower() in ("topics", "主题", "list", "?"):
        return QuizRequest(list_topics=True)
    return QuizRequest(topic, language, kind)


@dataclass(frozen=True)
class Pick:
    """The chosen question and why it was chosen."""

    entry: Entry
    reason: Reason


class QuizMaster:
    """Picks questions from the bank for a user, and summarises the user's progress."""

    def __init__(
        self,
        store: EntryStore,
        retriever: Retriever,
        progress: Progress,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.retriever = retriever
        self.progress = progress
        self.rng = rng or random.Random()
        self._key: tuple | None = None
        self._entries: list[Entry] = []

    def entries(self) -> list[Entry]:
        """Every entry of the bank, reloaded when an ingest changed it."""
        key = tuple(
            self.store.db.execute(
                "SELECT count(*), max(ingested_at), sum(entries) FROM documents"
            ).fetchone()
        )
        if key != self._key:
            self._entries = self.store.entries()
            self._key = key
        return self._entries

    def topics(self) -> list[tuple[str, int]]:
        """The bank's topics (document titles) and how many questions each has."""
        counts: dict[str, int] = {}
        for entry in self.entries():
            name = entry.doc_title or entry.source
            counts[name] = counts.get(name, 0) + 1
        return list(counts.items())

    def matching(self, topic: str) -> list[Entry] | None:
        """Entries on a topic: by number in the topic list, by name (either language, through
        the glossary), or by search; None when the bank has nothing on it."""
        entries = self.entries()
        if not topic:
            return entries
        topics = self.topics()
        if topic.isdigit() and 1 <= int(topic) <= len(topics):
            name = topics[int(topic) - 1][0]
            return [e for e in entries if (e.doc_title or e.source) == name]
        patterns = [_pattern(t) for t in self._terms(topic)]
        found = [
            e
            for e in entries
            if any(
                p.search(f"{e.doc_title}\n{e.section}\n{e.title}\n{e.question}") for p in patterns
            )
        ]
        if found:
            return found
        result = self.retriever.search(topic, 10)
        if not result.grounded:
            return None
        ids = {h.id for h in result.hits}
        return [e for e in entries if e.id in ids]

    def _terms(self, topic: str) -> list[str]:
        glossary = self.retriever.glossary
        return [topic, *glossary.to_english(topic), *glossary.to_chinese(topic)]

    def pick(
        self, user: str, pool: list[Entry], *, language: str | None, kind: str | None
    ) -> Pick | None:
        """Due reviews first (most overdue), then a new question, then the next review ahead
        of its time; None when the filters leave nothing."""
        pool = [
            e
            for e in pool
            if (language is None or e.language == language) and (kind is None or e.kind == kind)
        ]
        if not pool:
            return None
        by_id = {e.id: e for e in pool}
        for entry_id in self.progress.due(user):
            if entry_id in by_id:
                return Pick(by_id[entry_id], "due")
        seen = self.progress.seen(user)
        fresh = [e for e in pool if e.id not in seen]
        if fresh:
            return Pick(self.rng.choice(fresh), "new")
        upcoming = self.progress.due(user, datetime.now(UTC) + timedelta(days=36500))
        for entry_id in upcoming:
            if entry_id in by_id:
                return Pick(by_id[entry_id], "ahead")
        return Pick(self.rng.choice(pool), "ahead")

    def stats(self, user: str, today: datetime | None = None) -> dict[str, Any]:
        """answered, accuracy, streak (days in a row with an answer), due now, mastery by topic
        (the mean of the latest score on each of the topic's questions, unanswered ones as 0)."""
        reviews = self.progress.reviews(user)
        answered = len(reviews)
        accuracy = round(100 * sum(r.score >= PASS for r in reviews) / answered) if answered else 0
        days = {datetime.fromisoformat(r.reviewed_at).date() for r in reviews}
        day = (today or datetime.now(UTC)).date()
        if day not in days:
            day -= timedelta(days=1)
        streak = 0
        while day in days:
            streak += 1
            day -= timedelta(days=1)
        latest = self.progress.last_scores(user)
        rows = []
        for name, total in self.topics():
            ids = [e.id for e in self.entries() if (e.doc_title or e.source) == name]
            seen = [i for i in ids if i in latest]
            if seen:
                mastery = round(sum(latest[i] for i in seen) / total)
                rows.append((name, mastery, len(seen), total))
        rows.sort(key=lambda r: -r[1])
        return {
            "answered": answered,
            "accuracy": accuracy,
            "streak": streak,
            "due": len(self.progress.due(user)),
            "topics": rows,
        }


def _pattern(term: str) -> re.Pattern[str]:
    escaped = re.escape(term.strip())
    if re.fullmatch(r"[\w\s.+-]+", term) and term.isascii():
        # A Latin term matches whole words only ("rag" is not in "storage").
        return re.compile(rf"(?<![a-z0-9]){escaped}(?![a-z0-9])", re.IGNORECASE)
    return re.compile(escaped, re.IGNORECASE)
