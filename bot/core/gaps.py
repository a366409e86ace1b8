"""What the bank is missing, for the people who keep it: every question it could not answer is
recorded (`note_answer`, `note_disliked`), grouped by meaning into gaps, listed for admins
(`/gaps`), drafted as a bank entry (`/gaps draft N`) and sent weekly to a channel an admin chose
(`/gaps weekly`). A gap an entry added later covers is filled: it leaves the list, and the next
digest names the entry that closed it. Recorded questions are deleted after `keep_days`.

One object, built with only the parts it uses; the tutor routes /gaps to `command`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.core.commands import Parsed
from bot.core.conversation import Attachment, Incoming, Outbox, Place, Reply
from bot.core.courier import Courier
from bot.core.localtime import owed_weekly, parse_time, parse_zone
from bot.llm.base import Backend, GenerationError
from bot.texts import layouts, messages
from bot.tutoring.answering import Answer, language_of
from bot.tutoring.gaps import (
    MAX_QUESTIONS,
    SAME_GAP,
    Gap,
    closest_of,
    draft_entry,
    draft_messages,
    gaps_of,
    in_field,
    known_terms,
    meant,
    order,
)
from bot.tutoring.ports import EntryStore, Retriever
from knowledge.gaps import Asked, Closest, Digest, GapBook
from retriever.decision import SearchResult

log = logging.getLogger("tutor.gaps")

KEEP_DAYS = 90  # TUTOR_GAPS_DAYS
LIST_DAYS = 30
SHOWN = 10
DRAFT_TOKENS = 700
DRAFT_TIMEOUT_S = 600.0  # a 1.5B model on a CPU takes minutes for a draft
DEFAULT_DAY, DEFAULT_TIME = 0, "09:00"  # Monday
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ZH_DAYS = "一二三四五六日"
WEEKDAYS = {
    **{name: i for i, name in enumerate(_DAYS)},
    **{name[:3]: i for i, name in enumerate(_DAYS)},
    **{f"{prefix}{d}": i for i, d in enumerate(_ZH_DAYS) for prefix in ("周", "星期")},
    **{f"{prefix}天": 6 for prefix in ("周", "星期")},
}


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Filled:
    """Questions an entry added since covers, as one closed gap."""

    label: str
    entry_id: str
    entry_title: str
    askers: int


class Gaps:
    """The bank's gaps: recorded, grouped, listed, drafted and sent weekly."""

    def __init__(
        self,
        book: GapBook,
        retriever: Retriever,
        store: EntryStore,
        backend: Callable[[], Backend | None] = lambda: None,
        *,
        keep_days: int = KEEP_DAYS,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.book = book
        self.retriever = retriever
        self.store = store
        self.backend = backend
        self.keep_days = keep_days
        self.clock = clock
        # Each question's last search: the bank it was searched against, the entry covering it.
        self._searched: dict[int, tuple[str, str]] = {}  # id -> (bank, the entry covering it)
        self._known_terms: tuple[str, frozenset[str], frozenset[str]] | None = None
        self.changed: Callable[[], None] = lambda: None  # the scheduler looks again
        self.threshold = SAME_GAP  # docs/gaps.md
        self.draft_timeout = DRAFT_TIMEOUT_S

    def close(self) -> None:
        self.book.close()

    # -- recording ---------------------------------------------------------------------------

    def note_answer(self, message: Incoming, question: str, answer: Answer) -> bool:
        """Record a question the bank did not cover (related or off-topic); False otherwise."""
        result = answer.found
        if result is None or answer.coverage == "covered" or not question.strip():
            return False
        place = message.place
        return self.book.record(
            platform=place.platform,
            workspace=place.workspace,
            channel=place.channel,
            user=message.user,
            question=question,
            lang=language_of(question),
            decision=answer.coverage,
            in_field=self._in_field(question, result),
            closest=closest_of(result),
            at=self.clock(),
        )

    def _in_field(self, question: str, result: SearchResult) -> bool:
        """Whether an unanswered question is about the bank's field (`rules.in_field`)."""
        named = bool(self.retriever.techniques.find(question))
        bar = self.retriever.field_bar
        margin = float(self.retriever.field([question])[0]) if bar is not None else None
        return in_field(result, margin, bar, technique=named)

    def note_disliked(self, answer_id: int, row: dict) -> bool:
        """Record an answered question marked 👎 (once per answer), with the entries it cited;
        `row` is the answer as `Progress.answer` gives it."""
        platform, _, user = str(row["user"]).partition(":")
        cited = [self.store.entry(i) for i in json.loads(row["citations"] or "[]")]
        return self.book.record(
            platform=platform,
            workspace=str(row["workspace"]),
            channel=str(row["channel"]),
            user=user,
            question=str(row["question"]),
            lang=language_of(str(row["question"])),
            decision="disliked",
            in_field=True,
            closest=[Closest(e.id, e.title, 0.0) for e in cited if e is not None],
            at=self.clock(),
            answer_id=answer_id,
        )

    def sweep(self) -> int:
        """Delete what is older than `keep_days`; how many questions went."""
        gone = self.book.sweep(self.clock() - timedelta(days=self.keep_days))
        if gone:
            log.info("deleted %d recorded questions older than %d days", gone, self.keep_days)
        return gone

    # -- gaps --------------------------------------------------------------------------------

    def gaps(self, workspace: str | None, days: int = LIST_DAYS) -> list[Gap]:
        """The open gaps of a workspace (every workspace's with None) over the last `days`,
        the most askers first. A gap entries added since cover (at least half its questions)
        is marked filled first and left out."""
        since = self.clock() - timedelta(days=days)
        asked = [a for a in self.book.questions(workspace, since) if a.filled_at is None]
        asked = asked[-MAX_QUESTIONS:]  # the most recent: grouping is quadratic
        by_place: dict[str, list[Asked]] = defaultdict(list)
        for a in asked:
            by_place[a.workspace].append(a)
        bank = _bank_key(self.store)
        known, in_bank = self._known(bank)
        techniques = self.retriever.techniques
        out: list[Gap] = []
        for group in by_place.values():  # never a gap across workspaces
            questions = [a.question for a in group]
            vectors = self.retriever.meaning(questions)
            # A question naming no technique: the one its meaning is nearest, if clearly.
            found = techniques.also(meant(questions, self.retriever.described(vectors), techniques))
            for gap in gaps_of(
                group, vectors, self.retriever.glossary, self.threshold, known, found, in_bank
            ):
                if not self._fill(gap, bank):
                    out.append(gap)
        return sorted(out, key=order)

    def _known(self, bank: str) -> tuple[frozenset[str], frozenset[str]]:
        """The words and names the bank's entries use (`rules.known_terms`), and the techniques
        they are about (their titles and questions name), kept per bank."""
        if self._known_terms is None or self._known_terms[0] != bank:
            entries = self.store.entries()
            texts = [
                " ".join((e.title, e.question, e.answer, *e.key_points, e.explanation))
                for e in entries
            ]
            techniques = self.retriever.techniques
            about = frozenset().union(*(techniques.about(e.title, e.question) for e in entries))
            self._known_terms = (bank, known_terms(texts), about)
        return self._known_terms[1], self._known_terms[2]

    def _fill(self, gap: Gap, bank: str) -> bool:
        """Whether entries now cover at least half of a gap's questions (a 👎 one: an entry it
        did not cite), or one entry covers one of them at least and is about the technique the
        gap is about (its title and question name it: the entry an admin wrote for the gap,
        which need not cover the questions asked in the other language or in other words); if
        so, all its questions are marked filled by that entry, or the one covering the most.
        Each question is searched again only when the bank changed since."""
        covering: list[str] = []
        for asked in gap.asked:
            known = self._searched.get(asked.id)
            if known is None or known[0] != bank:
                result = self.retriever.search(asked.question, 3)
                top = result.hits[0].id if result.hits else ""
                cited = {c.id for c in asked.closest}
                new = asked.decision != "disliked" or top not in cited
                known = (bank, top if result.coverage == "covered" and new else "")
                self._searched[asked.id] = known
            if known[1]:
                covering.append(known[1])
        if not covering:
            return False
        if len(covering) * 2 >= len(gap.asked):
            entry_id = max(set(covering), key=covering.count)
        else:
            entry_id = self._about(covering, gap.about)
            if not entry_id:
                return False
        self.book.mark_filled([a.id for a in gap.asked], entry_id, self.clock())
        return True

    def _about(self, covering: list[str], about: tuple[str, ...]) -> str:
        """The first of the covering entries that is about one of `about` (techniques), or ""."""
        techniques = self.retriever.techniques
        for entry_id in dict.fromkeys(covering):
            entry = self.store.entry(entry_id)
            if entry is not None and techniques.about(entry.title, entry.question) & set(about):
                return entry_id
        return ""

    def filled_since(self, workspace: str, since: datetime) -> list[Filled]:
        """The gaps entries closed since `since`: the filled questions by the entry that covers
        them."""
        asked = self.book.questions(workspace, self.clock() - timedelta(days=self.keep_days))
        groups: dict[str, list[Asked]] = defaultdict(list)
        for a in asked:
            if a.filled_at is not None and a.filled_at >= since and a.in_field:
                groups[a.filled_by].append(a)
        out = []
        for entry_id, group in groups.items():
            entry = self.store.entry(entry_id)
            title = entry.title if entry is not None else entry_id
            vectors = self.retriever.meaning([a.question for a in group])
            techniques = self.retriever.techniques
            label = gaps_of(group, vectors, techniques=techniques)[0].label
            out.append(Filled(label, entry_id, title, len({a.asker for a in group})))
        return sorted(out, key=lambda f: -f.askers)

    # -- /gaps -------------------------------------------------------------------------------

    async def command(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        """/gaps, /gaps draft N, /gaps weekly [#channel [day] [HH:MM] | off] (admins only)."""
        if not message.admin:
            await out.send(
                Reply(messages.say(lang, "gaps.admins_only"), kind="error", private=True)
            )
            return
        words = parsed.args.split()
        action = words[0].lower() if words else "list"
        workspace = message.place.workspace
        if action in ("list", "show"):
            gaps = await asyncio.to_thread(self.gaps, workspace)
            await out.send(Reply(layouts.gaps_list(lang, _rows(gaps[:SHOWN])), private=True))
        elif action == "draft":
            number = words[1] if len(words) == 2 else ""
            await self._draft(workspace, number, lang, out)
        elif action == "weekly":
            await self._weekly(message, words[1:], lang, out)
        else:
            await out.send(Reply(messages.say(lang, "gaps.usage"), kind="error", private=True))

    async def _draft(self, workspace: str, number: str, lang: messages.Lang, out: Outbox) -> None:
        gaps = await asyncio.to_thread(self.gaps, workspace)
        shown = gaps[:SHOWN]
        if not number.isdigit() or not 1 <= int(number) <= len(shown):
            text = layouts.gaps_draft_usage(lang, len(shown))
            await out.send(Reply(text, kind="error", private=True))
            return
        gap = shown[int(number) - 1]
        draft_lang = gap.language or lang
        near = [e for e in (self.store.entry(c.id) for c in gap.closest()) if e is not None]
        model_text = await self._model_draft(gap, near, draft_lang)
        today = self.clock().date().isoformat()
        draft = draft_entry(gap, near, draft_lang, model_text, today)
        text = layouts.gaps_draft_ready(lang, gap.label, draft.by_model)
        file = Attachment(draft.file_name, draft.markdown.encode("utf-8"))
        await out.send(Reply(text, files=(file,), private=True))

    async def _model_draft(self, gap: Gap, near: list, lang: str) -> str:
        backend = self.backend()
        if backend is None:
            return ""
        chunks: list[str] = []
        try:
            async with asyncio.timeout(self.draft_timeout):
                async for chunk in backend.stream(
                    draft_messages(gap.label, gap.examples(5), near, lang),
                    max_new_tokens=DRAFT_TOKENS,
                ):
                    chunks.append(chunk)
        except (GenerationError, TimeoutError) as exc:
            log.info("the draft is a skeleton (%s)", exc)
            return ""
        return "".join(chunks)

    async def _weekly(
        self, message: Incoming, words: list[str], lang: messages.Lang, out: Outbox
    ) -> None:
        workspace = message.place.workspace
        if not words:
            digest = await asyncio.to_thread(self.book.digest, workspace)
            await out.send(Reply(layouts.gaps_weekly_status(lang, _shown(digest)), private=True))
            return
        if words[0].lower() == "off":
            await asyncio.to_thread(self.book.stop_digest, workspace)
            self.changed()
            await out.send(Reply(layouts.gaps_weekly_status(lang, None), private=True))
            return
        from bot.core.study import channel_name

        channel = channel_name(words[0])
        rest = [w.lower() for w in words[1:]]
        weekday = WEEKDAYS.get(rest[0]) if rest else None
        if weekday is not None:
            rest = rest[1:]
        at = parse_time(rest[0]) if rest else DEFAULT_TIME
        if not channel or at is None or len(rest) > 1:
            await out.send(Reply(messages.say(lang, "gaps.usage"), kind="error", private=True))
            return
        tz = parse_zone(message.tz or "UTC") or "UTC"
        digest = await asyncio.to_thread(
            self.book.set_digest,
            workspace,
            message.place.platform,
            channel,
            DEFAULT_DAY if weekday is None else weekday,
            at,
            "" if tz == "UTC" else tz,
            lang,
        )
        self.changed()
        await out.send(Reply(layouts.gaps_weekly_status(lang, _shown(digest)), private=True))

    # -- the weekly digest -------------------------------------------------------------------

    def digest_text(self, workspace: str, since: datetime, lang: messages.Lang) -> str:
        """The week's digest: new gaps, gaps that grew, gaps entries closed."""
        gaps = self.gaps(workspace)
        new = [g for g in gaps if g.first_seen >= since]
        grown = []
        for g in gaps:
            if g.first_seen < since:
                added = {a.asker for a in g.asked if a.asked_at >= since}
                earlier = {a.asker for a in g.asked if a.asked_at < since}
                if added - earlier:
                    grown.append((g.label, len(added - earlier), g.askers))
        closed = [
            (f.label, f.entry_title, f.entry_id, f.askers)
            for f in self.filled_since(workspace, since)
        ]
        return layouts.gaps_digest(lang, _rows(new[:SHOWN]), grown[:SHOWN], closed)

    def jobs(self, courier: Courier) -> list:
        """The scheduler's jobs: the weekly digests of `courier`'s platform, the daily sweep."""
        self.sweep()  # at start; then each UTC midnight while the bot runs
        return [DigestJob(self, courier), SweepJob(self, self.clock().astimezone(UTC).date())]


class DigestJob:
    """Each workspace's weekly digest, at most once a week (claimed in SQLite before sending)."""

    name = "gap digests"

    def __init__(self, gaps: Gaps, courier: Courier) -> None:
        self.gaps = gaps
        self.courier = courier

    def next_due(self, now: datetime) -> datetime | None:
        digests = self.gaps.book.digests(self.courier.platform)
        return min(
            (owed_weekly(now, d.weekday, d.at, d.tz, d.last_day)[0] for d in digests),
            default=None,
        )

    async def run_due(self, now: datetime) -> None:
        for digest in await asyncio.to_thread(self.gaps.book.digests, self.courier.platform):
            due, day = owed_weekly(now, digest.weekday, digest.at, digest.tz, digest.last_day)
            if due <= now:
                await self._send(digest, day, now)

    async def _send(self, digest: Digest, day: str, now: datetime) -> None:
        before = await asyncio.to_thread(self.gaps.book.claim_digest, digest.workspace, day, now)
        if before is None:
            return
        since = before.last_sent_at or now - timedelta(days=7)
        lang: messages.Lang = "zh" if digest.lang == "zh" else "en"
        text = await asyncio.to_thread(self.gaps.digest_text, digest.workspace, since, lang)
        place = Place(self.courier.platform, digest.workspace, digest.channel)
        try:
            await self.courier.post(place, Reply(text))
        except Exception:
            log.exception("the gap digest of %s for %s could not be posted", place, day)


class SweepJob:
    """Deletes recorded questions past their keeping each UTC midnight after the day `last`
    (the day of the sweep made at start)."""

    name = "gap sweep"

    def __init__(self, gaps: Gaps, last: date) -> None:
        self.gaps = gaps
        self.last = last

    def next_due(self, now: datetime) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), datetime.min.time(), UTC)

    async def run_due(self, now: datetime) -> None:
        if self.next_due(now) <= now:
            await asyncio.to_thread(self.gaps.sweep)
            self.last = now.astimezone(UTC).date()


def _rows(gaps: list[Gap]) -> list[tuple[str, int, list[str], list[str]]]:
    """What a list shows of each gap: label, askers, example questions, closest titles."""
    return [
        (g.label, g.askers, g.examples(), [f"{c.title} [{c.id}]" for c in g.closest(2)])
        for g in gaps
    ]


def _shown(digest: Digest | None) -> tuple[str, int, str, str] | None:
    if digest is None or not digest.enabled:
        return None
    return (digest.channel, digest.weekday, digest.at, digest.tz or "UTC")


def _bank_key(store: EntryStore) -> str:
    """What the bank holds now, as a key: an added or edited entry changes it."""
    return str(hash(tuple(sorted((e.id, e.question, e.key_points) for e in store.entries()))))
