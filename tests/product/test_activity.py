"""Stickiness and lifecycle against hand-worked answers, on DuckDB and chDB."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture
from loopwise.product.contracts import (
    LifecyclePersonsQuery,
    LifecycleQuery,
    LifecycleResult,
    StickinessPersonsQuery,
    StickinessQuery,
    StickinessResult,
)
from loopwise.product.facade import persons_in, run_query
from loopwise.warehouse import Warehouse

P = 11
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
RANGE = {"date_from": "2026-03-02", "date_to": "2026-03-05"}
ACTIVE = {
    "amy": [(3, 1), (3, 2), (3, 3), (3, 5)],
    "bill": [(3, 3), (3, 4)],
    "cat": [(2, 20), (3, 4)],
    "dov": [(3, 2)],
}


@pytest.fixture
def stored(warehouse: Warehouse) -> Warehouse:
    events = [
        CaptureEvent(event="use", distinct_id=who, timestamp=datetime(2026, m, d, 15, tzinfo=UTC))
        for who, days in ACTIVE.items()
        for m, d in days
    ]
    capture(warehouse, P, events, received_at=NOW)
    return warehouse


def ask(warehouse: Warehouse, query: Any) -> Any:
    return run_query(warehouse, P, query, "UTC", now=NOW)


def who(warehouse: Warehouse, request: Any) -> set[str]:
    return {p.distinct_id for p in persons_in(warehouse, P, request, "UTC", now=NOW).persons}


def test_stickiness_counts_persons_by_active_days(stored: Warehouse) -> None:
    query = StickinessQuery.model_validate({"date_range": RANGE})
    result = ask(stored, query)
    assert isinstance(result, StickinessResult)
    assert result.intervals == 4
    # amy: 2, 3 and 5 March; bill: 3 and 4; cat and dov: one day each.
    assert result.lines[0].values == [2, 1, 1, 0]
    assert who(stored, StickinessPersonsQuery(query=query, intervals=1)) == {"cat", "dov"}
    assert who(stored, StickinessPersonsQuery(query=query, intervals=3)) == {"amy"}


def test_lifecycle_splits_active_persons_and_counts_the_dormant(stored: Warehouse) -> None:
    query = LifecycleQuery.model_validate({"date_range": RANGE})
    result = ask(stored, query)
    assert isinstance(result, LifecycleResult)
    assert [b.day for b in result.buckets] == [2, 3, 4, 5]
    assert result.new == [1, 1, 0, 0]  # dov on the 2nd, bill on the 3rd
    assert result.returning == [1, 1, 1, 0]  # amy twice (active the day before), bill
    assert result.resurrecting == [0, 0, 1, 1]  # cat (seen in February), amy on the 5th
    assert result.dormant == [0, -1, -1, -2]  # dov, then amy, then bill and cat
    fifth = datetime(2026, 3, 5, tzinfo=UTC)
    dormant = LifecyclePersonsQuery(query=query, bucket=fifth, status="dormant")
    assert who(stored, dormant) == {"bill", "cat"}
    weekly = ask(stored, LifecycleQuery.model_validate({"date_range": RANGE, "interval": "week"}))
    # The week of Monday 2 March: bill and dov new, amy returning (1 March was the week
    # before), cat resurrecting (last seen two weeks before).
    assert (weekly.new, weekly.returning, weekly.resurrecting) == ([2], [1], [1])
