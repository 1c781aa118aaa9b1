"""Local calendar periods: the range a query covers and the buckets of its interval."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from loopwise.product.contracts import DateRange, Interval
from loopwise.warehouse.buckets import bucket_index, micros

__all__ = ["bucket_index", "buckets", "local_range", "micros", "query_window"]


def local_range(date_range: DateRange, timezone: str, today: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC: local midnight of the first day to local midnight after the last."""
    zone = ZoneInfo(timezone)
    first = date_range.date_from or today - timedelta(days=date_range.last_days - 1)
    last = date_range.date_to or today
    start = datetime.combine(first, datetime.min.time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    return start, end


def buckets(start: datetime, end: datetime, interval: Interval, timezone: str) -> list[datetime]:
    """The UTC starts of the local periods that overlap [start, end)."""
    zone = ZoneInfo(timezone)
    if interval == "hour":
        found, moment = [], start
        while moment < end:
            found.append(moment)
            moment += timedelta(hours=1)
        return found
    local = start.astimezone(zone).date()
    if interval == "week":
        local -= timedelta(days=local.weekday())
    elif interval == "month":
        local = local.replace(day=1)
    found = []
    while True:
        moment = datetime.combine(local, datetime.min.time(), zone).astimezone(UTC)
        if moment >= end:
            return found
        found.append(moment)
        if interval == "day":
            local += timedelta(days=1)
        elif interval == "week":
            local += timedelta(days=7)
        else:
            local = (local.replace(day=28) + timedelta(days=4)).replace(day=1)


def query_window(
    date_range: DateRange, project_timezone: str, now: datetime | None
) -> tuple[str, datetime, datetime]:
    """The time zone a query is cut in (its own, else the project's) and its [start, end)."""
    zone = date_range.timezone or project_timezone
    moment = (now or datetime.now(UTC)).astimezone(ZoneInfo(zone))
    start, end = local_range(date_range, zone, moment.date())
    return zone, start, end
