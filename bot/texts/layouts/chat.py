"""Layouts of the chat's everyday replies: answers, quizzes and grades, /run, /stats, /help,
ratings."""

from __future__ import annotations

from bot.texts.markdown import fence
from bot.texts.messages import Lang, say

# -- answering ------------------------------------------------------------------------------------


def not_in_bank(lang: Lang, topics: list[str]) -> str:
    """The reply when the bank does not cover a question."""
    text = say(lang, "not_in_bank")
    if topics:
        text += say(
            lang, "not_in_bank.close", topics=say(lang, "not_in_bank.close_sep").join(topics)
        )
    return text + say(lang, "not_in_bank.tail")


def check_replaced(lang: Lang, reason: str, entry_id: str) -> str:
    """Why a model's answer was replaced by the bank's key points."""
    why = say(lang, f"check.{reason}", id=entry_id)
    return say(lang, "check.replaced", why=why)


def sources_line(lang: Lang, ids: list[str]) -> str:
    """The line naming the entries an answer rests on."""
    return say(lang, "sources", ids=", ".join(f"[{i}]" for i in ids))


# -- the tutor core -------------------------------------------------------------------------------


def help_text(lang: Lang, commands: list[tuple[str, str]], topics: list[str]) -> str:
    """/help: every command with what it does, and the bank's topics."""
    lines = [say(lang, "help.head")]
    lines += [f"`{usage}` {text}" for usage, text in commands]
    if topics:
        lines.append(say(lang, "help.topics", topics="; ".join(topics)))
    return "\n".join(lines)


def unknown_command(lang: Lang, name: str, suggestion: str | None) -> str:
    """The reply to a command that does not exist."""
    hint = say(lang, "unknown_command.hint", suggestion=suggestion) if suggestion else ""
    return say(lang, "unknown_command", name=name, hint=hint)


def topic_unknown(lang: Lang, topic: str, topics: list[str]) -> str:
    """The reply to /quiz on a topic the bank lacks."""
    listing = "\n".join(f"{n}. {t}" for n, t in enumerate(topics, start=1))
    return say(lang, "topic_unknown", topic=topic, listing=listing)


def topic_list(lang: Lang, topics: list[tuple[str, int]]) -> str:
    """/quiz topics."""
    rows = (
        say(lang, "topic_list.row", n=n, topic=t, count=c) for n, (t, c) in enumerate(topics, 1)
    )
    return say(lang, "topic_list.head") + "\n" + "\n".join(rows)


def quiz_question(lang: Lang, entry_title: str, question: str, coding: bool, why: str) -> str:
    """A quiz question and how to answer it."""
    how = say(lang, "quiz_question.how_code" if coding else "quiz_question.how_text")
    return say(lang, "quiz_question", title=entry_title, why=why, question=question, how=how)


def why_asked(lang: Lang, reason: str) -> str:
    """Why this question now: a due review, a new one, or a review ahead of schedule."""
    return say(lang, f"why.{reason}")


def grade_reply(
    lang: Lang,
    score: int,
    covered: list[str],
    missed: list[str],
    feedback: str,
    penalty: int,
    reference: str,
    due_in: str,
) -> str:
    """The grade of a free-text answer, then the reference answer."""
    lines = [say(lang, "grade.score", score=score)]
    if penalty:
        lines[0] += say(lang, "grade.penalty", penalty=penalty)
    if covered:
        lines.append(say(lang, "grade.covered", points="; ".join(covered)))
    if missed:
        lines.append(say(lang, "grade.missed", points="; ".join(missed)))
    if feedback:
        lines.append(feedback)
    lines += ["", say(lang, "grade.reference"), reference]
    lines.append("")
    lines.append(say(lang, "grade.next", due=due_in))
    return "\n".join(lines)


def code_reply(
    lang: Lang,
    passed: int,
    total: int,
    rows: list[tuple[str, bool]],
    first_failure: str,
    error: str,
    penalty: int,
    solution: str,
    due_in: str,
) -> str:
    """The verdict on a coding answer: each test, the first failure's message."""
    if error:
        lines = [say(lang, "code.no_run", error=fence(error))]
    else:
        head = say(lang, "code.passed", passed=passed, total=total)
        if penalty:
            head += say(lang, "grade.penalty", penalty=penalty)
        lines = [head]
        lines += [f"{'✅' if ok else '❌'} `{name}`" for name, ok in rows]
        if first_failure:
            lines += [say(lang, "code.first_failure"), fence(first_failure)]
    if solution and (error or passed < total):
        lines += [say(lang, "code.solution"), fence(solution, "python")]
    lines.append(say(lang, "grade.next", due=due_in))
    return "\n".join(lines)


def due_in(lang: Lang, seconds: float) -> str:
    """A friendly 'in 10 minutes' / '3 天后'."""
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return say(lang, "due.minutes", n=minutes)
    hours = round(minutes / 60)
    if hours < 48:
        return say(lang, "due.hours", n=hours)
    return say(lang, "due.days", n=round(hours / 24))


def stats_text(lang: Lang, data: dict) -> str:
    """/stats."""
    if not data["answered"]:
        return say(lang, "stats.none")
    lines = [
        say(
            lang,
            "stats.head",
            answered=data["answered"],
            accuracy=data["accuracy"],
            streak=data["streak"],
            due=data["due"],
        ),
        say(lang, "stats.mastery"),
    ]
    for topic, mastery, seen, total in data["topics"]:
        bar = "█" * round(mastery / 10) + "░" * (10 - round(mastery / 10))
        lines.append(f"`{bar}` {mastery}% · {topic} ({seen}/{total})")
    return "\n".join(lines)


def leaderboard_text(lang: Lang, rows: list[tuple[str, int, int]]) -> str:
    """/leaderboard: name, points, answered."""
    if not rows:
        return say(lang, "leaderboard.none")
    medals = ["🥇", "🥈", "🥉"]
    lines = [say(lang, "leaderboard.head")]
    for n, (name, points, answered) in enumerate(rows):
        place = medals[n] if n < 3 else f"{n + 1}."
        lines.append(
            say(lang, "leaderboard.row", place=place, name=name, points=points, answered=answered)
        )
    return "\n".join(lines)


def run_reply(
    lang: Lang, stdout: str, stderr: str, ending: str, duration_ms: float, files: list[str]
) -> str:
    """The result of /run."""
    lines = []
    if stdout:
        lines.append(fence(stdout))
    if stderr:
        lines += ["stderr:", fence(stderr)]
    if not stdout and not stderr:
        lines.append(say(lang, "run.no_output"))
    tail = f"{ending} · {duration_ms:.0f} ms"
    if files:
        tail += say(lang, "run.files", files=", ".join(files))
    lines.append(f"_{tail}_")
    return "\n".join(lines)


def run_ending(
    lang: Lang,
    *,
    timed_out: bool,
    signal: str | None,
    exit_code: int | None,
    truncated: bool,
    limit: str | None = None,
    limit_value: float | None = None,
) -> str:
    """How a run ended ('exit 0', 'killed by SIGKILL', '超时', or the limit that stopped it), and
    whether its output was cut."""
    if limit in ("memory", "cpu") and limit_value is not None:
        ending = say(lang, f"run.{limit}", value=limit_value)
    elif timed_out:
        ending = say(lang, "run.timed_out")
    elif signal:
        ending = say(lang, "run.killed", signal=signal)
    else:
        ending = say(lang, "run.exit", code=exit_code)
    if truncated:
        ending += say(lang, "run.cut")
    return ending


def lang_set(lang: Lang, choice: str) -> str:
    """/lang."""
    if choice == "auto":
        return say(lang, "lang.auto")
    # The confirmation is already in the chosen language.
    return say("zh" if choice == "zh" else "en", "lang.fixed")


def feedback_thanks(lang: Lang, helpful: bool) -> str:
    """After a feedback button."""
    return say(lang, "feedback.helpful" if helpful else "feedback.unhelpful")


def feedback_buttons(lang: Lang) -> tuple[str, str]:
    """Labels of the feedback buttons."""
    return say(lang, "button.helpful"), say(lang, "button.unhelpful")


def quiz_buttons(lang: Lang) -> tuple[str, str, str]:
    """Labels of the quiz buttons."""
    return say(lang, "button.hint"), say(lang, "button.skip"), say(lang, "button.reveal")


def run_busy(lang: Lang, reason: str) -> str:
    """The sandbox would not take a run now."""
    return say(lang, "run_busy", reason=reason[:1].upper() + reason[1:])


def slow_down(lang: Lang, seconds: float, limit: int) -> str:
    """A user sent more messages than the rate limit allows."""
    return say(lang, "slow_down", limit=limit, wait=max(1, round(seconds)))


def settings_text(lang: Lang, settings: dict) -> str:
    """/settings show."""
    watch = ", ".join(f"<#{c}>" for c in settings.get("watch", [])) or "—"
    topics = "; ".join(settings.get("topics", [])) or "—"
    default = settings.get("lang") or "auto"
    return say(lang, "settings.show", watch=watch, default=default, topics=topics)


def run_box(lang: Lang) -> tuple[str, str]:
    """The title and the code field's label of the box /run opens without code (Discord)."""
    return say(lang, "run_box.title"), say(lang, "run_box.code")


def slash_description(lang: Lang, name: str) -> str:
    """Discord's description of a slash command ("quiz") or of one of its options ("quiz.topic")."""
    return say(lang, f"slash.{name}")


# -- the learner's rating, untested code, the closest material ----------------------------------


def rating_names(lang: Lang) -> tuple[str, str, str, str]:
    """FSRS's four ratings by name: Again, Hard, Good, Easy."""
    return (
        say(lang, "rating.again"),
        say(lang, "rating.hard"),
        say(lang, "rating.good"),
        say(lang, "rating.easy"),
    )


def rating_buttons(lang: Lang, suggested: int) -> tuple[str, str, str, str]:
    """Labels of the four rating buttons, the suggested one (1-4) marked."""
    a, b, c, d = (
        say(lang, "rating.suggested", name=n) if i == suggested else n
        for i, n in enumerate(rating_names(lang), start=1)
    )
    return a, b, c, d


def rating_offer(lang: Lang, suggested: int) -> str:
    """The line under a grade that offers the ratings, naming the suggested one."""
    return say(lang, "rating.offer", name=rating_names(lang)[suggested - 1])


def rating_saved(lang: Lang, rating: int, suggested: int, due: str) -> str:
    """After /rate: the rating kept, the suggestion it replaced, the next review."""
    names = rating_names(lang)
    return say(
        lang, "rating.saved", name=names[rating - 1], suggested=names[suggested - 1], due=due
    )


def untested_code_note(lang: Lang, ran: bool | None, why: str) -> str:
    """How an untested coding answer was judged, and whether it ran."""
    if ran is None:
        run = say(lang, "code.not_run")
    elif ran:
        run = say(lang, "code.ran")
    else:
        run = say(lang, "code.ran_badly", why=why)
    return say(lang, "code.untested") + "\n" + run
