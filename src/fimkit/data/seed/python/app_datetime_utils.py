"""Date/time helpers for a scheduling feature: parsing, time zones, business days."""
from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

WEEKEND = {5, 6}  # Monday is 0, so Saturday=5 and Sunday=6


def parse_timestamp(text: str, default_tz: str = "UTC") -> datetime:
    """Parse ISO-8601 text into an aware UTC datetime.

    Naive input is interpreted in ``default_tz``; mixing naive and aware
    datetimes is a classic source of off-by-hours bugs, so we never return naive.
    """
    # Python < 3.11 fromisoformat rejects a trailing "Z".
    dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(default_tz))
    return dt.astimezone(timezone.utc)


def to_local(moment: datetime, tz_name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("refusing to convert a naive datetime")
    return moment.astimezone(ZoneInfo(tz_name))


def add_business_days(start: date, days: int, holidays: Collection[date] = frozenset()) -> date:
    """Move ``days`` working days forward (or backward when negative)."""
    step = 1 if days >= 0 else -1
    remaining = abs(days)
    current = start
    while remaining:
        current += timedelta(days=step)
        if current.weekday() not in WEEKEND and current not in holidays:
            remaining -= 1
    return current


def start_of_local_day(moment: datetime, tz_name: str) -> datetime:
    """Midnight of ``moment``'s calendar day in ``tz_name``, returned in UTC.

    Going through the local date (rather than subtracting hours) keeps the
    result right on days when a DST change makes the day 23 or 25 hours long.
    """
    tz = ZoneInfo(tz_name)
    local_date = moment.astimezone(tz).date()
    return datetime.combine(local_date, datetime.min.time(), tzinfo=tz).astimezone(timezone.utc)


def humanize_delta(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            text = f"{n} {unit}{'s' if n != 1 else ''}"
            break
    else:
        text = "just now" if seconds < 5 else f"{seconds} seconds"
    if text == "just now":
        return text
    return f"in {text}" if delta.total_seconds() > 0 else f"{text} ago"


if __name__ == "__main__":
    due = parse_timestamp("2024-03-29T17:30:00Z")
    print(to_local(due, "Europe/Berlin").isoformat())
    print(add_business_days(due.date(), 3, holidays={date(2024, 4, 1)}))
    print(start_of_local_day(due, "America/New_York"))
    print(humanize_delta(timedelta(hours=-26)))
