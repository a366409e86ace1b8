"""The rules of a mock interview: which questions to ask, which missed key point a follow-up is
about and how the model is asked to phrase it, how a follow-up's score joins the first answer's,
and what the scorecard adds up to. The core (`bot.core.interviews`) runs the conversation."""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.llm.base import Backend, GenerationError, Message
from bot.texts import layouts
from bot.texts.messages import Lang
from bot.texts.prompts import FOLLOW_UP_PROMPT
from bot.tutoring.grading import Grade, key_points, label
from knowledge.entry import Entry
from knowledge.interviews import InterviewItem

DEFAULT_QUESTIONS = 5
MAX_QUESTIONS = 10
# A perfect follow-up earns back this share of the points the first answer missed.
FOLLOW_UP_SHARE = 0.5
# Below this a question counts as missed (the same line as a quiz's "correct").
MISSED_BELOW = 60
# How many of a learner's weakest topics a default interview draws from.
WEAKEST_TOPICS = 3
MAX_FOLLOW_UP_CHARS = 300
_COUNT = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class InterviewRequest:
    """What /interview asked for: `stop`, or a topic ("" for the default) and a count."""

    topic: str = ""
    count: int = DEFAULT_QUESTIONS
    stop: bool = False
    bad_count: bool = False


def parse_request(args: str) -> InterviewRequest:
    """Read `/interview [topic] [n]` and `/interview stop`; a trailing number is the count."""
    words = args.split()
    if [w.lower() for w in words] in (["stop"], ["end"], ["停止"], ["结束"]):
        return InterviewRequest(stop=True)
    count = DEFAULT_QUESTIONS
    if words and _COUNT.match(words[-1]):
        count = int(words.pop())
        if not 1 <= count <= MAX_QUESTIONS:
            return InterviewRequest(bad_count=True)
    return InterviewRequest(" ".join(words), count)


def topic_of(entry: Entry) -> str:
    """The topic an entry counts for: its document's title (as /quiz topics lists them)."""
    return entry.doc_title or entry.source


def plan(
    pool: Sequence[Entry],
    count: int,
    rng: random.Random,
    latest: dict[str, int],
    lang: str,
    *,
    weakest_only: bool,
) -> list[Entry]:
    """The questions of an interview: the user's language first, questions not yet mastered
    first, drawn in turn from each topic (only the weakest few when `weakest_only`), about a
    third of them programming problems; concepts are asked first, then code."""
    same = [e for e in pool if e.language == lang]
    entries = same if len(same) >= count else list(pool)
    groups: dict[str, list[Entry]] = {}
    shuffled = list(entries)
    rng.shuffle(shuffled)
    shuffled.sort(key=lambda e: (e.language != lang, latest.get(e.id, 0)))
    for entry in shuffled:
        groups.setdefault(topic_of(entry), []).append(entry)
    order = list(groups)
    rng.shuffle(order)
    # Mastery of a topic: the mean latest score over its questions, unanswered ones as 0.
    order.sort(key=lambda t: sum(latest.get(e.id, 0) for e in groups[t]) / len(groups[t]))
    if weakest_only:
        order = order[: max(WEAKEST_TOPICS, math.ceil(count / 3))]
    turns: list[Entry] = []
    queues = [list(groups[t]) for t in order]
    while any(queues):
        for queue in queues:
            if queue:
                turns.append(queue.pop(0))
    concepts = [e for e in turns if e.kind != "coding"]
    coding = [e for e in turns if e.kind == "coding"]
    want_code = 0 if count < 2 or not coding else min(len(coding), max(1, count // 3))
    chosen = concepts[: count - want_code]
    chosen += coding[: count - len(chosen)]
    ids = {e.id for e in chosen}
    asked = [e for e in turns if e.id in ids]
    return [e for e in asked if e.kind != "coding"] + [e for e in asked if e.kind == "coding"]


def missed_point(entry: Entry, grade: Grade) -> str:
    """The most important key point an answer missed: the first of the entry's (the bank lists
    them in order of weight), as written there; "" when none was missed."""
    missed = set(grade.missed)
    return next((p for p in key_points(entry) if label(p) in missed), "")


def combine(first: int, follow_up: int | None) -> int:
    """A question's score: the first answer's, plus a share of what it missed, earned back by
    the follow-up."""
    if follow_up is None:
        return first
    return min(100, first + round((100 - first) * FOLLOW_UP_SHARE * follow_up / 100))


def follow_up_messages(entry: Entry, answer: str, point: str, lang: str) -> list[Message]:
    """The chat asking the model to phrase a follow-up on the key point the answer missed."""

    def data(text: str, tag: str) -> str:
        return text.replace(f"</{tag}>", f"</ {tag}>")

    language = "Chinese" if lang == "zh" else "English"
    user = (
        f"<question>\n{data(entry.question, 'question')}\n</question>\n"
        f"<answer>\n{data(answer[:2000], 'answer')}\n</answer>\n"
        f"<missed_point>\n{data(point, 'missed_point')}\n</missed_point>\n"
        f"Write the follow-up question in {language}."
    )
    return [{"role": "system", "content": FOLLOW_UP_PROMPT}, {"role": "user", "content": user}]


def clean_follow_up(text: str) -> str:
    """The model's follow-up as one short line ("" when it wrote nothing usable)."""
    line = " ".join(text.split()).strip().strip('"“”')
    return line[:MAX_FOLLOW_UP_CHARS]


def point_entry(entry: Entry, point: str, follow_up: str) -> Entry:
    """An entry whose only key point is the one a follow-up asks about: its answer is graded
    against that point alone, as prose (a follow-up on a coding problem asks about an idea)."""
    return replace(
        entry,
        question=follow_up or entry.question,
        key_points=(point,),
        answer=point,
        kind="concept",
    )


@dataclass(frozen=True)
class Scorecard:
    """An interview's result: per question (number, title, topic, score), the strongest and
    weakest topics (by mean score), and the missed questions' titles."""

    rows: tuple[tuple[int, str, str, int], ...]
    strongest: tuple[str, int] | None
    weakest: tuple[str, int] | None
    missed: tuple[str, ...]
    average: int


def scorecard(rows: Sequence[tuple[int, str, str, int]]) -> Scorecard:
    """Add up scored questions (number, title, topic, score)."""
    by_topic: dict[str, list[int]] = {}
    for _, _, topic, score in rows:
        by_topic.setdefault(topic, []).append(score)
    means = sorted(
        ((t, round(sum(s) / len(s))) for t, s in by_topic.items()), key=lambda p: (-p[1], p[0])
    )
    missed = tuple(title for _, title, _, score in rows if score < MISSED_BELOW)
    average = round(sum(r[3] for r in rows) / len(rows)) if rows else 0
    return Scorecard(
        tuple(rows),
        means[0] if means else None,
        means[-1] if means else None,
        missed,
        average,
    )


def score_text(score: int) -> str:
    """A score as the scorecard shows it: two digits at least, out of 100 (`07/100`)."""
    return f"{score:02d}/100"


FOLLOW_UP_TOKENS = 80
FOLLOW_UP_TIMEOUT_S = 30.0
log = logging.getLogger("tutor.interviews")


async def phrase_follow_up(
    backend: Backend | None, entry: Entry, answer: str, point: str, lang: str
) -> str:
    """The model's follow-up question on the missed point; "" without a model, or when it fails
    or is too slow (the caller then asks from the key point itself)."""
    if backend is None:
        return ""
    chunks: list[str] = []
    try:
        async with asyncio.timeout(FOLLOW_UP_TIMEOUT_S):
            async for chunk in backend.stream(
                follow_up_messages(entry, answer, point, lang), max_new_tokens=FOLLOW_UP_TOKENS
            ):
                chunks.append(chunk)
    except (GenerationError, TimeoutError) as exc:
        log.info("the follow-up is phrased from the key point (%s)", exc)
        return ""
    return clean_follow_up("".join(chunks))


def scorecard_text(items: Sequence[InterviewItem], titles: dict[str, str], lang: Lang) -> str:
    """The scorecard that ends an interview: each scored question (its title by entry id in
    `titles`), the strongest and weakest topics, the key points missed, the average."""
    done = [i for i in items if i.state == "done" and i.score is not None]
    rows = [
        (i.position + 1, titles.get(i.entry_id, i.entry_id), i.topic, int(i.score or 0))
        for i in done
    ]
    card = scorecard(rows)
    followed = {i.position + 1 for i in done if i.follow_up}
    return layouts.interview_scorecard(
        lang,
        [(n, title, score_text(s), n in followed) for n, title, _, s in card.rows],
        _pair(card.strongest),
        _pair(card.weakest),
        list(card.missed),
        score_text(card.average),
        len(done),
        len(items),
    )


def _pair(found: tuple[str, int] | None) -> tuple[str, str] | None:
    return None if found is None else (found[0], score_text(found[1]))
