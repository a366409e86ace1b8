"""Layouts of mock interviews, progress charts and /class, /bank, the study loop and /gaps."""

from __future__ import annotations

from bot.texts.messages import Lang, say

# -- mock interviews (/interview) ---------------------------------------------------------------


def interview_intro(lang: Lang, count: int, topic: str, first: str) -> str:
    """An interview's opening: how many questions on what, how to answer, then the first one;
    `topic` "" is the learner's weakest topics, "*" a spread for a new learner."""
    if topic == "":
        topic = say(lang, "interview.weakest")
    elif topic == "*":
        topic = say(lang, "interview.spread")
    return say(lang, "interview.intro", count=count, topic=topic) + "\n\n" + first


def interview_question(
    lang: Lang, number: int, count: int, topic: str, question: str, coding: bool
) -> str:
    """One interview question, numbered."""
    text = say(
        lang, "interview.question", number=number, count=count, topic=topic, question=question
    )
    return text + ("\n" + say(lang, "interview.coding") if coding else "")


def interview_follow_up_text(lang: Lang, point: str, test: bool) -> str:
    """A follow-up phrased from the missed key point itself (no model, or the model failed);
    `test`: the point is a failing test of a programming problem."""
    if test:
        return say(lang, "interview.follow_up.test", test=point)
    return say(lang, "interview.follow_up.point", point=point)


def interview_scorecard(
    lang: Lang,
    rows: list[tuple[int, str, str, bool]],
    strongest: tuple[str, str] | None,
    weakest: tuple[str, str] | None,
    missed: list[str],
    average: str,
    answered: int,
    count: int,
) -> str:
    """The scorecard: each question (number, title, score as `NN/100`, followed up?), the
    overall score, the strongest and weakest topics, and the missed questions."""
    lines = [say(lang, "interview.scorecard")]
    if answered < count:
        lines.append(say(lang, "interview.scorecard.early", answered=answered, count=count))
    for number, title, score, followed in rows:
        extra = say(lang, "interview.scorecard.follow_up") if followed else ""
        lines.append(f"{number}. `{score}` {title}{extra}")
    lines.append(say(lang, "interview.scorecard.average", score=average))
    if strongest is not None:
        lines.append(
            say(lang, "interview.scorecard.strongest", topic=strongest[0], score=strongest[1])
        )
    if weakest is not None:
        lines.append(say(lang, "interview.scorecard.weakest", topic=weakest[0], score=weakest[1]))
    if missed:
        lines.append(say(lang, "interview.scorecard.missed", titles="; ".join(missed)))
    else:
        lines.append(say(lang, "interview.scorecard.none_missed"))
    return "\n".join(lines)


def interview_topic_unknown(lang: Lang, topic: str, topics: list[str]) -> str:
    """/interview on a topic the bank lacks."""
    listing = "\n".join(f"{n}. {t}" for n, t in enumerate(topics, start=1))
    return say(lang, "interview.topic_unknown", topic=topic, listing=listing)


# -- progress charts, the class overview, the bank from the chat --------------------------------


def chart_labels(lang: Lang) -> tuple[str, str, str]:
    """The titles of a progress chart's three panels: per day, per week, per topic."""
    return say(lang, "chart.per_day"), say(lang, "chart.per_week"), say(lang, "chart.mastery")


def chart_title(lang: Lang, group: bool) -> str:
    """The heading of a progress chart: a learner's own (/stats) or a group's (/class)."""
    return say(lang, "chart.title.class" if group else "chart.title.you")


def class_text(lang: Lang, data: dict) -> str:
    """/class: learners this week, mastery by topic, the most missed questions."""
    if not data["reviews"]:
        return say(lang, "class.none")
    lines = [
        say(lang, "class.head", learners=data["learners"], reviews=data["reviews"]),
        say(lang, "class.mastery"),
    ]
    for topic, mastery, learners in data["topics"]:
        bar = "█" * round(mastery / 10) + "░" * (10 - round(mastery / 10))
        lines.append(
            say(lang, "class.topic_row", bar=bar, mastery=mastery, topic=topic, learners=learners)
        )
    lines.append(say(lang, "class.missed"))
    for n, (title, average, answers) in enumerate(data["missed"], 1):
        lines.append(
            say(lang, "class.missed_row", n=n, title=title, average=average, answers=answers)
        )
    if not data["missed"]:
        lines.append(say(lang, "class.missed_none"))
    return "\n".join(lines)


def bank_no_files(lang: Lang, mb: float) -> str:
    """/bank add without a Markdown file attached."""
    return say(lang, "bank.no_files", mb=f"{mb:g}")


def bank_list(lang: Lang, rows: list[tuple[str, str, int]]) -> str:
    """/bank: each document's file name, title and number of entries."""
    if not rows:
        return say(lang, "bank.list_empty")
    total = sum(entries for _, _, entries in rows)
    lines = [say(lang, "bank.list_head", documents=len(rows), entries=total)]
    lines += [
        say(lang, "bank.list_row", name=name, title=title or "—", entries=entries)
        for name, title, entries in rows
    ]
    return "\n".join(lines)


def bank_too_big(lang: Lang, mb: float) -> str:
    """Why a file over the ingest's size limit is refused by /bank add."""
    return say(lang, "bank.too_big", mb=f"{mb:g}")


def bank_report(lang: Lang, lines: list[str]) -> str:
    """/bank add's reply: a heading, then one line per file."""
    return "\n".join([say(lang, "bank.report_head"), *lines])


# -- the study loop: reminders and the daily question ---------------------------------------------


def reminder(lang: Lang, count: int, topics: list[str]) -> str:
    """The direct message of a reminder: how many reviews are due, on which topics."""
    return say(lang, "reminder", count=count, topics="; ".join(topics) or "—")


def daily_figures(lang: Lang, answered: int, average: int, most_missed: str) -> str:
    """How the group did: answers, average score, the key point missed most."""
    if not answered:
        return say(lang, "daily.nobody")
    text = say(lang, "daily.figures", answered=answered, average=average)
    if most_missed:
        text += say(lang, "daily.most_missed", point=most_missed)
    return text


# -- what the bank is missing (/gaps) -------------------------------------------------------------

_DAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
}
GapRow = tuple[str, int, list[str], list[str]]  # label, askers, example questions, closest


def _gap_rows(lang: Lang, rows: list[GapRow]) -> list[str]:
    sep = "；" if lang == "zh" else "; "
    lines = []
    for n, (label, askers, examples, near) in enumerate(rows, 1):
        quoted = sep.join(f"“{q[:120]}”" for q in examples)
        lines.append(say(lang, "gaps.row", n=n, label=label, askers=askers, examples=quoted))
        if near:
            lines.append(say(lang, "gaps.near", entries=sep.join(near)))
    return lines


def gaps_list(lang: Lang, rows: list[GapRow]) -> str:
    """/gaps: the top gaps, each with its askers, a few questions and the closest entries."""
    if not rows:
        return say(lang, "gaps.none")
    return "\n".join([say(lang, "gaps.head"), *_gap_rows(lang, rows), say(lang, "gaps.tail")])


def gaps_draft_usage(lang: Lang, count: int) -> str:
    """/gaps draft without a gap number that /gaps shows."""
    if not count:
        return say(lang, "gaps.none")
    return say(lang, "gaps.draft_usage", count=count)


def gaps_draft_ready(lang: Lang, label: str, by_model: bool) -> str:
    """/gaps draft N: the note that goes with the drafted file."""
    return say(lang, "gaps.draft_model" if by_model else "gaps.draft_skeleton", label=label)


def gaps_weekly_status(lang: Lang, digest: tuple[str, int, str, str] | None) -> str:
    """/gaps weekly: where and when the digest goes (channel, weekday, time, timezone)."""
    if digest is None:
        return say(lang, "gaps.weekly_off")
    channel, weekday, at, tz = digest
    day = _DAY_NAMES["zh" if lang == "zh" else "en"][weekday]
    return say(lang, "gaps.weekly_on", channel=channel, day=day, at=at, tz=tz)


def gaps_digest(
    lang: Lang,
    new: list[GapRow],
    grown: list[tuple[str, int, int]],
    closed: list[tuple[str, str, str, int]],
) -> str:
    """The weekly digest: new gaps, gaps that grew (label, new askers, all askers) and gaps
    closed by new entries (label, entry title, entry id, askers)."""
    lines = [say(lang, "gaps.digest_head")]
    if new:
        lines += [say(lang, "gaps.digest_new"), *_gap_rows(lang, new)]
    if grown:
        lines.append(say(lang, "gaps.digest_grown"))
        lines += [
            say(lang, "gaps.digest_grown_row", label=label, added=added, askers=askers)
            for label, added, askers in grown
        ]
    if closed:
        lines.append(say(lang, "gaps.digest_closed"))
        lines += [
            say(lang, "gaps.digest_closed_row", label=label, title=title, id=entry, askers=askers)
            for label, title, entry, askers in closed
        ]
    if not (new or grown or closed):
        lines.append(say(lang, "gaps.digest_quiet"))
    return "\n".join(lines)
