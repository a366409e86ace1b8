"""Progress to look at: the chart /stats sends with its text, and /class, the overview of a server
or workspace for its admins. Charts are drawn in a worker thread, never on the event loop."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from bot.core.commands import Parsed
from bot.core.conversation import Attachment, Incoming, Outbox, Reply
from bot.texts import layouts, messages
from bot.tutoring.charts import draw
from bot.tutoring.classroom import class_report, learner_chart
from bot.tutoring.quiz import QuizMaster

log = logging.getLogger("tutor.core.reports")
STATS_CHART = "progress.png"
CLASS_CHART = "class-progress.png"


async def progress_chart(
    qm: QuizMaster, user: str, lang: messages.Lang, stats: dict
) -> tuple[Attachment, ...]:
    """/stats' chart of a learner's progress as a PNG file; none before a first answer, or when
    drawing fails (the text says it all, the chart is an extra)."""
    if not stats.get("answered"):
        return ()
    topics = [(name, mastery) for name, mastery, _, _ in stats.get("topics", [])]

    def render() -> bytes:
        now = datetime.now(UTC)
        return draw(learner_chart(qm, user, topics, layouts.chart_title(lang, False), now), lang)

    try:
        return (Attachment(STATS_CHART, await asyncio.to_thread(render)),)
    except Exception:
        log.exception("could not draw the progress chart of %s", user)
        return ()


class Reports:
    """/class, the overview of a server or workspace for its admins: built with the quiz
    master (the bank's topics and the progress it reads)."""

    def __init__(self, quizmaster: QuizMaster) -> None:
        self.quizmaster = quizmaster

    async def class_overview(
        self, message: Incoming, parsed: Parsed, lang: messages.Lang, out: Outbox
    ) -> None:
        if not message.admin:
            await out.send(
                Reply(messages.say(lang, "class.admins_only"), kind="error", private=True)
            )
            return
        title = layouts.chart_title(lang, True)
        workspace = message.place.workspace
        report = await asyncio.to_thread(
            class_report, self.quizmaster, workspace, title, datetime.now(UTC)
        )
        files: tuple[Attachment, ...] = ()
        if report.reviews:
            try:
                files = (
                    Attachment(CLASS_CHART, await asyncio.to_thread(draw, report.chart, lang)),
                )
            except Exception:
                log.exception("could not draw the class chart of %s", workspace)
        text = layouts.class_text(lang, report.as_dict())
        await out.send(Reply(text, files=files, private=True))
