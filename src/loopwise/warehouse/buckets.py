"""Time buckets as integers: a timestamp's position among a list of period starts,
computed with epoch arithmetic so that no row needs a time-zone conversion.

Shared by every area's bucketed queries (product analytics, the overview).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from loopwise.warehouse.dialect import Dialect

Interval = Literal["hour", "day", "week", "month"]


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
