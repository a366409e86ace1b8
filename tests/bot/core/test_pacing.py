"""The one pacing rule both bots stream by (bot/core/pacing.py), on a fake clock: the first
piece at once, then at most one edit an interval, longer after "slow down", and an edit in
flight finishes before the stream closes."""

from __future__ import annotations

import asyncio

from bot.core.pacing import SLOWED, Pacer, pump


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_first_edit_goes_at_once_then_one_an_interval():
    clock = Clock()
    pacer = Pacer(1.0, clock)
    assert pacer.wait() == 0.0
    pacer.edited()
    assert pacer.wait() == 1.0
    clock.now += 0.4
    assert abs(pacer.wait() - 0.6) < 1e-9
    clock.now += 0.6
    assert pacer.wait() == 0.0


def test_after_slow_down_the_next_edit_waits_longer():
    clock = Clock()
    pacer = Pacer(1.0, clock)
    pacer.slowed()
    assert pacer.wait() == SLOWED * 1.0
    pacer.edited()  # the pump's own tick never shortens the wait
    assert pacer.wait() == SLOWED * 1.0


def test_the_pump_shows_the_latest_text_and_closing_waits_for_the_edit_in_flight():
    shown: list[str] = []
    text = {"now": ""}

    async def scenario() -> None:
        closing = asyncio.Event()
        in_flight, release = asyncio.Event(), asyncio.Event()

        async def push() -> None:
            latest = text["now"]
            in_flight.set()
            await release.wait()  # the platform takes its time
            shown.append(latest)

        text["now"] = "one two"
        task = asyncio.create_task(
            pump(Pacer(0.0), closing, lambda: (shown[-1] if shown else "") != text["now"], push)
        )
        await in_flight.wait()  # the first edit went at once
        text["now"] = "one two three"
        closing.set()  # the answer ended while its edit was on its way
        release.set()
        await task
        assert shown == ["one two"]  # landed, and nothing after closing

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_a_failing_edit_ends_the_pump_with_its_error():
    async def scenario() -> None:
        async def push() -> None:
            raise RuntimeError("refused")

        task = asyncio.create_task(pump(Pacer(0.0), asyncio.Event(), lambda: True, push))
        try:
            await task
        except RuntimeError as exc:
            return str(exc)
        return ""

    assert asyncio.run(asyncio.wait_for(scenario(), 10)) == "refused"
