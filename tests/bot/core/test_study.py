"""The study loop through the core: the scheduler on a fake clock (when it wakes, what it sends,
once a day across restarts and crashes, catching up within the grace window), /remind and
/daily as a learner and an admin type them, and answers to the daily question."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.conversation import Incoming, Place, RecordingOutbox, Reply, Sent
from bot.core.localtime import GRACE, owed, parse_time, parse_zone
from bot.core.scheduler import MAX_NAP, Scheduler
from bot.core.study import Study
from tests.bot.conftest import Chat, build

USER = "test:ada"
DAY = datetime(2025, 3, 10, tzinfo=UTC)
NINE = DAY.replace(hour=9)
ANSWER = (
    "Pre-norm normalises each sublayer's input and leaves the residual stream as an identity "
    "path, so gradients stay well scaled; post-norm normalises after the residual add and needs "
    "warmup. Pre-norm adds a final norm; LLaMA uses pre-norm with RMSNorm."
)


@dataclass
class FakeClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


@dataclass
class RecordingCourier:
    """Keeps what the core sends first; `broken` makes every send raise, as a crash would."""

    platform: str = "test"
    directs: list[tuple[str, Reply]] = field(default_factory=list)
    posts: list[tuple[Place, Reply]] = field(default_factory=list)
    broken: bool = False
    reachable_places: set[str] = field(default_factory=lambda: {"C9"})

    async def direct(self, user_key: str, reply: Reply) -> Sent:
        if self.broken:
            raise ConnectionError("the process died before the message left")
        self.directs.append((user_key, reply))
        return Sent()

    async def post(self, place: Place, reply: Reply) -> Sent:
        if self.broken:
            raise ConnectionError("the process died before the post left")
        self.posts.append((place, reply))
        return Sent()

    async def reachable(self, place: Place) -> bool:
        return place.channel in self.reachable_places


def at(hours: int, minutes: int = 0, day: int = 0) -> datetime:
    return DAY + timedelta(days=day, hours=hours, minutes=minutes)


def say(chat: Chat, text: str, *, admin: bool = False, tz: str = "", user: str = "ada"):
    out = RecordingOutbox()
    message = Incoming(user, Place("test", "team", "general"), text, name=user, admin=admin, tz=tz)
    chat.loop.run_until_complete(chat.tutor.handle(message, out))
    return out


def due_cards(home, user: str = USER, n: int = 2) -> list[str]:
    """Give `user` n reviews that were due long ago."""
    with sqlite3.connect(home / "tutor.db") as db:
        ids = [r[0] for r in db.execute("SELECT id FROM entries ORDER BY id LIMIT ?", (n,))]
        for entry_id in ids:
            db.execute(
                "INSERT INTO cards (user, entry_id, card, due) VALUES (?, ?, '{}', ?)",
                (user, entry_id, "2000-01-01T00:00:00+00:00"),
            )
    return ids


def scheduler(chat: Chat, courier: RecordingCourier, moment: datetime) -> Scheduler:
    tutor: Study = chat.tutor  # type: ignore[assignment]
    return tutor.study_scheduler(courier, FakeClock(moment), random.Random(3))


def run_due(chat: Chat, courier: RecordingCourier, moment: datetime) -> None:
    chat.loop.run_until_complete(scheduler(chat, courier, moment).run_due(moment))


@pytest.fixture
def offline(home, embedder):
    """A chat with an offline tutor, no sandbox (the study loop runs no code)."""
    c = Chat(build(home, embedder))
    yield c
    c.close()


# -- times of day ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("08:00", "08:00"), ("8:05", "08:05"), ("23:59", "23:59"), ("24:00", None), ("8am", None)],
)
def test_a_time_of_day_is_hh_mm_on_the_24_hour_clock(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Asia/Shanghai", "Asia/Shanghai"),
        ("+08:00", "+08:00"),
        ("-5", "-05:00"),
        ("UTC+0530", "+05:30"),
        ("Mars/Olympus", None),
        ("+15:00", None),
        ("../../etc/passwd", None),
    ],
)
def test_a_timezone_is_an_area_city_or_an_offset(text, expected):
    assert parse_zone(text) == expected


def test_owed_is_the_local_time_today_until_the_grace_ends_then_tomorrow():
    # 08:00 in Shanghai is 00:00 UTC.
    assert owed(at(0) - timedelta(minutes=1), "08:00", "Asia/Shanghai", "") == (at(0), "2025-03-10")
    assert owed(at(2), "08:00", "Asia/Shanghai", "")[0] == at(0)  # still owed
    assert owed(at(0) + GRACE + timedelta(seconds=1), "08:00", "Asia/Shanghai", "")[0] == at(
        0, day=1
    )
    assert owed(at(1), "08:00", "Asia/Shanghai", "2025-03-10")[0] == at(0, day=1)  # claimed


# -- reminders on a fake clock --------------------------------------------------------------------


def test_the_scheduler_wakes_for_the_earliest_reminder_in_each_learners_timezone(offline):
    say(offline, "/remind on 08:00", tz="Asia/Shanghai")  # 00:00 UTC
    say(offline, "/remind on 07:00", user="bob")  # UTC
    sched = scheduler(offline, RecordingCourier(), at(0, 30))
    wake = offline.loop.run_until_complete(sched.next_wake(at(0, 30)))
    assert wake == at(0)  # ada's is owed now (within the grace)
    wake = offline.loop.run_until_complete(sched.next_wake(at(0, 30) + GRACE))
    assert wake == at(7)  # bob's, once ada's window has passed


def test_the_task_naps_until_the_next_due_time_instead_of_polling(offline, home):
    due_cards(home)
    say(offline, "/remind on 08:00")
    clock = FakeClock(at(7, 15))
    courier = RecordingCourier()
    naps: list[float] = []

    async def nap(seconds: float, poked: asyncio.Event) -> None:
        naps.append(seconds)
        clock.moment += timedelta(seconds=seconds)
        if len(naps) == 2:
            raise asyncio.CancelledError

    sched = offline.tutor.study_scheduler(courier, clock)
    sched.sleep = nap
    with pytest.raises(asyncio.CancelledError):
        offline.loop.run_until_complete(sched.run())
    assert naps[0] == 45 * 60  # from 07:15 straight to 08:00
    assert len(courier.directs) == 1  # sent on waking at 08:00
    assert naps[1] == MAX_NAP  # tomorrow's is far: woken hourly to notice changes


def test_a_reminder_says_how_many_are_due_the_topics_and_starts_the_review(offline, home):
    due_cards(home, n=2)
    say(offline, "/remind on 08:00")
    courier = RecordingCourier()
    run_due(offline, courier, at(7, 59))
    assert courier.directs == []
    run_due(offline, courier, at(8))
    ((user, reply),) = courier.directs
    assert user == USER
    assert "Reviews due today: 2" in reply.text
    assert [(b.label, b.command) for b in reply.buttons] == [("Start review", "/quiz")]


def test_nothing_is_sent_when_nothing_is_due(offline):
    say(offline, "/remind on 08:00")
    courier = RecordingCourier()
    run_due(offline, courier, at(8))
    assert courier.directs == []


def test_a_reminder_that_is_off_sends_nothing(offline, home):
    due_cards(home)
    say(offline, "/remind on 08:00")
    say(offline, "/remind off")
    courier = RecordingCourier()
    run_due(offline, courier, at(8))
    assert courier.directs == []


def test_a_bot_down_at_the_hour_sends_when_it_starts_within_three_hours(offline, home):
    due_cards(home)
    say(offline, "/remind on 08:00")
    courier = RecordingCourier()
    run_due(offline, courier, at(10, 59))
    assert len(courier.directs) == 1


def test_a_bot_back_more_than_three_hours_late_skips_the_day(offline, home):
    due_cards(home)
    say(offline, "/remind on 08:00")
    courier = RecordingCourier()
    run_due(offline, courier, at(11, 1))
    assert courier.directs == []
    run_due(offline, courier, at(8, day=1))  # the next day's comes as usual
    assert len(courier.directs) == 1


def test_a_restart_never_sends_a_second_reminder_the_same_day(home, embedder):
    first = Chat(build(home, embedder))
    due_cards(home)
    say(first, "/remind on 08:00")
    courier = RecordingCourier()
    run_due(first, courier, at(8))
    run_due(first, courier, at(9))
    first.close()
    # A new process over the same data dir.
    second = Chat(build(home, embedder))
    try:
        run_due(second, courier, at(10))
        assert len(courier.directs) == 1
        run_due(second, courier, at(8, day=1))
        assert len(courier.directs) == 2
    finally:
        second.close()


def test_a_crash_between_recording_and_sending_loses_that_days_reminder_never_doubles(
    home, embedder
):
    """At most once: the day is recorded before the message leaves; a process that dies in
    between (the courier raises) has used up the day."""
    first = Chat(build(home, embedder))
    due_cards(home)
    say(first, "/remind on 08:00")
    run_due(first, RecordingCourier(broken=True), at(8))
    first.close()
    second = Chat(build(home, embedder))
    try:
        courier = RecordingCourier()
        run_due(second, courier, at(8, 30))  # still inside the window, yet already recorded
        assert courier.directs == []
        run_due(second, courier, at(8, day=1))
        assert len(courier.directs) == 1
    finally:
        second.close()


# -- /remind --------------------------------------------------------------------------------------


def test_remind_on_off_and_show(offline):
    on = say(offline, "/remind on 08:00").replies[0]
    assert on.private and "08:00 (UTC)" in on.text and "/remind tz" in on.text
    assert "Reminders are on" in say(offline, "/remind").replies[0].text
    assert "Reminders are off" in say(offline, "/remind off").replies[0].text
    assert "Reminders are off" in say(offline, "/remind").replies[0].text


def test_remind_takes_the_profiles_timezone_unless_one_was_chosen(offline):
    text = say(offline, "/remind on 7:30", tz="America/New_York").replies[0].text
    assert "07:30 (America/New_York)" in text and "UTC" not in text
    assert "+08:00" in say(offline, "/remind tz +08:00").replies[0].text
    assert "(+08:00)" in say(offline, "/remind", tz="America/New_York").replies[0].text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/remind on 25:00", '"25:00" is not a time of day'),
        ("/remind tz Mars/Olympus", '"Mars/Olympus" is not a timezone I know'),
        ("/remind sometimes", "Use /remind on [HH:MM]"),
    ],
)
def test_remind_answers_bad_input_in_one_line(offline, text, expected):
    (reply,) = say(offline, text).replies
    assert reply.kind == "error" and expected in reply.text and "\n" not in reply.text


def test_remind_and_daily_are_in_help(offline):
    text = say(offline, "/help").text
    assert "/remind [on [HH:MM]" in text and "/daily [#channel HH:MM" in text


# -- /daily ---------------------------------------------------------------------------------------


def start_daily(chat: Chat, courier: RecordingCourier, moment: datetime) -> Reply:
    chat.tutor.progress.places.set_place_settings("team", {"topics": ["post-norm"]})
    scheduler(chat, courier, moment)  # this front end's courier answers "can I post there?"
    assert "Done" in say(chat, "/daily #C9 09:00", admin=True).replies[0].text
    run_due(chat, courier, moment)
    return courier.posts[-1][1] if courier.posts else Reply("")


def test_daily_needs_an_admin_to_change_and_shows_to_everyone(offline):
    denied = say(offline, "/daily #C9 09:00").replies[0]
    assert denied.kind == "error" and "Only admins" in denied.text
    assert "no daily question" in say(offline, "/daily").replies[0].text
    say(offline, "/daily <#C9|study> 09:00 Asia/Shanghai", admin=True)
    assert "<#C9> every day at 09:00 (Asia/Shanghai)" in say(offline, "/daily").replies[0].text
    assert "off" in say(offline, "/daily off", admin=True).replies[0].text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/daily #C9 9pm", '"9pm" is not a time of day'),
        ("/daily #C9 09:00 Nowhere/Town", "is not a timezone I know"),
        ("/daily 09:00", "Use /daily #channel HH:MM"),
        ("/daily #C404 09:00", "I cannot post in <#C404>"),
    ],
)
def test_daily_answers_bad_input_in_one_line(offline, text, expected):
    scheduler(offline, RecordingCourier(), at(8))
    (reply,) = say(offline, text, admin=True).replies
    assert reply.kind == "error" and expected in reply.text and "\n" not in reply.text


def test_the_daily_question_is_posted_with_a_private_answer_box(offline):
    courier = RecordingCourier()
    post = start_daily(offline, courier, at(9))
    place, _ = courier.posts[0]
    assert place.channel == "C9" and place.workspace == "team"
    assert "Question of the day" in post.text
    (button,) = post.buttons
    assert button.label == "Answer privately" and button.box == "Your answer"
    assert button.command.startswith("/answer daily ")
    run_due(offline, courier, at(12))  # once a day
    assert len(courier.posts) == 1


def test_answers_are_graded_privately_count_as_reviews_and_are_revealed_next_day(offline):
    courier = RecordingCourier()
    post = start_daily(offline, courier, at(9))
    # Through the button's box (its command then the text) and, in the terminal, plain /answer.
    graded = say(offline, f"{post.buttons[0].command} {ANSWER}").replies[0]
    assert graded.private and graded.kind == "grade" and "Score:" in graded.text
    assert "tomorrow" in graded.text  # the reference is not spoiled
    bob = say(offline, "/answer normalisation happens", user="bob").replies[0]
    assert bob.private and "Score:" in bob.text
    again = say(offline, f"/answer {ANSWER}").replies[0]
    assert "already answered" in again.text
    assert len(offline.tutor.progress.reviews(USER)) == 1  # it counts in the schedule
    assert offline.tutor.progress.next_due_of(USER, offline.tutor.study.book.post(1).entry_id)
    run_due(offline, courier, at(9, day=1))
    revealed = courier.posts[-1][1].text
    assert revealed.index("Yesterday's question") < revealed.index("Question of the day")
    assert "Answered by 2 · average" in revealed
    late = say(offline, f"/answer daily 1 {ANSWER}").replies[0]
    assert "no daily question open" in late.text


def test_answer_goes_to_whichever_was_asked_last_the_quiz_or_the_daily_question(offline):
    courier = RecordingCourier()
    start_daily(offline, courier, at(9))
    say(offline, "/quiz post-norm")  # asked after the daily question: /answer is for it
    quiz_reply = say(offline, f"/answer {ANSWER}").replies[0]
    assert not quiz_reply.private and "Score:" in quiz_reply.text
    assert offline.tutor.study.book.figures(1).answered == 0
    daily = say(offline, f"/answer {ANSWER}").replies[0]  # no quiz open now: the daily one
    assert daily.private and offline.tutor.study.book.figures(1).answered == 1


def test_a_daily_post_that_failed_is_not_posted_twice_the_same_day(offline):
    courier = RecordingCourier(broken=True)
    start_daily(offline, courier, at(9))
    courier.broken = False
    run_due(offline, courier, at(10))
    assert courier.posts == []
    assert "no daily question open" in say(offline, f"/answer daily {ANSWER}").replies[0].text
