"""Times of day in a learner's or a workspace's timezone: reading `HH:MM` and a timezone
(`Area/City` or a UTC offset such as `+08:00`), and the moment a daily job is owed.

A daily job is owed at its local time on each local day, and stays owed for `GRACE` after it:
a bot that was down at the hour sends when it starts within that window, and later skips the day
(a reminder at 08:00 that arrives after 11:00 is worse than none).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

GRACE = timedelta(hours=3)

_HHMM = re.compile(r"^([01]?\d|2[0-3])[:：]([0-5]\d)$")
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def parse_time(text: str) -> str | None:
    """`HH:MM` (24-hour) normalised to two digits each, or None when it is no time of day."""
    match = _HHMM.match(text.strip())
    return f"{int(match.group(1)):02d}:{match.group(2)}" if match else None


def parse_zone(text: str) -> str | None:
    """A timezone as stored: an IANA name (`Asia/Shanghai`) or `+HH:MM`; None when unknown."""
    text = text.strip()
    if text.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    match = _OFFSET.match(text)
    if match:
        hours, minutes = int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes > 59:
            return None
        return f"{match.group(1)}{hours:02d}:{minutes:02d}"
    if "/" not in text or ".." in text:
        return None
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return text


def zone(name: str) -> tzinfo:
    """The tzinfo of a stored timezone ('' and unknown names read as UTC)."""
    if not name or name == "UTC":
        return UTC
    match = _OFFSET.match(name)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        delta = timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0))
        return timezone(sign * delta)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def moment(day: date, at: str, tz: str) -> datetime:
    """The UTC moment of local time `at` on local `day`."""
    hours, minutes = (int(part) for part in at.split(":"))
    local = datetime.combine(day, time(hours, minutes), tzinfo=zone(tz))
    return local.astimezone(UTC)


def owed(now: datetime, at: str, tz: str, last_day: str) -> tuple[datetime, str]:
    """The next moment a daily job at local `at` is owed, with its local day: a past one still
    within GRACE and not yet claimed (`last_day`), else the next one to come."""
    today = now.astimezone(zone(tz)).date()
    for offset in (-1, 0, 1, 2):
        day = today + timedelta(days=offset)
        due = moment(day, at, tz)
        if day.isoformat() <= last_day or now > due + GRACE:
            continue
        return due, day.isoformat()
    raise AssertionError("a day ahead is always owed")


def owed_weekly(
    now: datetime, weekday: int, at: str, tz: str, last_day: str
) -> tuple[datetime, str]:
    """The next moment a weekly job (local `weekday` at `at`) is owed, with its local day: a
    past one still within GRACE, else the next to come; never within a week of `last_day`."""
    today = now.astimezone(zone(tz)).date()
    not_before = date.fromisoformat(last_day) + timedelta(days=7) if last_day else date.min
    for offset in range(-1, 16):
        day = today + timedelta(days=offset)
        if day.weekday() != weekday or day < not_before:
            continue
        due = moment(day, at, tz)
        if now > due + GRACE:
            continue
        return due, day.isoformat()
    raise AssertionError("a week ahead is always owed")
