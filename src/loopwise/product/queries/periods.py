"""Local calendar periods: the range a query covers and the buckets of its interval."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from loopwise.product.contracts import DateRange, Interval
from loopwise.warehouse.dialect import Dialect


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


HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime, exactly."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def bucket_index(
    d: Dialect,
    column: str,
    interval: Interval,
    zone: str,
    slots: list[datetime],
    params: dict[str, Any],
    name: str,
) -> str:
    """SQL for the position in ``slots`` (from ``buckets``) of the bucket that holds
    ``column``, for timestamps from ``slots[0]`` on.

    Integer arithmetic on the epoch instead of per-row time-zone conversion (5 times
    faster on DuckDB): hours count from the first slot in UTC (local hours start on the
    same instants, half-hour zones included); days and weeks count local wall-clock
    time, the zone's offset picked by the DST transitions inside the range; months
    compare with their UTC starts."""
    if interval == "hour":
        params[f"{name}_0"] = micros(slots[0])
        return d.int_div(f"{d.epoch_micros(column)} - {{{name}_0}}", HOUR_US)
    if interval == "month" or not slots:
        params.update({f"{name}_{i}": slot for i, slot in enumerate(slots)})
        cases = " ".join(
            f"WHEN {column} < {{{name}_{i}}} THEN {i - 1}" for i in range(1, len(slots))
        )
        return f"(CASE {cases} ELSE {max(len(slots) - 1, 0)} END)" if cases else "0"
    first = slots[0]
    params[f"{name}_0"] = micros(first) + _offset_us(first, zone)
    local = f"{d.epoch_micros(column)} + {_offset_sql(column, zone, slots, params, name)}"
    width = DAY_US if interval == "day" else 7 * DAY_US
    return d.int_div(f"{local} - {{{name}_0}}", width)


def _offset_us(moment: datetime, zone: str) -> int:
    offset = moment.astimezone(ZoneInfo(zone)).utcoffset()
    return int(offset.total_seconds() * 1_000_000) if offset is not None else 0


def _offset_sql(
    column: str, zone: str, slots: list[datetime], params: dict[str, Any], name: str
) -> str:
    """The zone's UTC offset (µs) at ``column``: a constant, or a CASE over the DST
    transitions between the first slot and a week after the last (found day by day,
    then to the second)."""
    begin, finish = slots[0], slots[-1] + timedelta(days=8)
    changes: list[tuple[datetime, int]] = []
    current, moment = _offset_us(begin, zone), begin
    while moment < finish:
        following = moment + timedelta(days=1)
        after = _offset_us(following, zone)
        if after != current:
            low, high = moment, following  # the change lies in (low, high]
            while (high - low) > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset_us(middle, zone) == current:
                    low = middle
                else:
                    high = middle
            changes.append((high.replace(microsecond=0), after))
            current = after
        moment = following
    params[f"{name}_o0"] = _offset_us(begin, zone)
    if not changes:
        return f"{{{name}_o0}}"
    whens = []
    for number, (instant, offset) in enumerate(changes, start=1):
        params[f"{name}_t{number}"], params[f"{name}_o{number}"] = instant, offset
        whens.append(f"WHEN {column} < {{{name}_t{number}}} THEN {{{name}_o{number - 1}}}")
    return f"(CASE {' '.join(whens)} ELSE {{{name}_o{len(changes)}}} END)"
