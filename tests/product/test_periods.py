"""Bucket positions computed in SQL with epoch arithmetic match the calendar, across DST
changes and half-hour zones, on DuckDB and chDB."""

from __future__ import annotations

import bisect
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture
from loopwise.product.contracts import DateRange
from loopwise.product.queries.periods import bucket_index, buckets, local_range
from loopwise.warehouse import Warehouse, dialect_for

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
RANGES = {  # each spans a DST change somewhere among the zones
    "hour": ("2026-03-27", "2026-04-09"),
    "day": ("2026-03-01", "2026-04-30"),
    "week": ("2026-09-20", "2026-11-20"),
    "month": ("2026-01-15", "2026-12-31"),
}


@pytest.mark.parametrize("interval", list(RANGES))
def test_bucket_positions_match_the_calendar(warehouse: Warehouse, interval: str) -> None:
    d = dialect_for(warehouse.dialect)
    first, last = RANGES[interval]
    rng = random.Random(interval)
    for number, zone in enumerate(ZONES):
        project = 40 + number
        date_range = DateRange.model_validate({"date_from": first, "date_to": last})
        start, end = local_range(date_range, zone, datetime.now(UTC).date())
        slots = buckets(start, end, interval, zone)  # type: ignore[arg-type]
        span = (end - slots[0]).total_seconds()
        moments = [slots[0] + timedelta(seconds=rng.uniform(0, span)) for _ in range(300)]
        moments += list(slots) + [s - timedelta(microseconds=1) for s in slots[1:]]
        events = [CaptureEvent(event="e", distinct_id="x", timestamp=m) for m in moments]
        capture(warehouse, project, events)
        params: dict[str, Any] = {"p": project}
        expr = bucket_index(d, "timestamp", interval, zone, slots, params, "b")  # type: ignore[arg-type]
        rows = warehouse.query(
            f"SELECT timestamp, {expr} AS b FROM events WHERE project_id = {{p}}", params
        ).table.to_pylist()
        assert len(rows) == len(moments)
        for row in rows:
            expected = bisect.bisect_right(slots, row["timestamp"]) - 1
            assert row["b"] == expected, (zone, row["timestamp"])
