"""Retention against hand-worked matrices and a direct computation on random logs, on
DuckDB and chDB."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture
from loopwise.product.contracts import RetentionPersonsQuery, RetentionQuery, RetentionResult
from loopwise.product.facade import persons_in, run_query
from loopwise.warehouse import Warehouse

P = 9
NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
FOUR_DAYS = {"period": "day", "periods": 4, "date_to": "2026-03-04"}
START, BACK = {"event": "signup"}, {"event": "use"}


def on(day: int, month: int = 3, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def stored(warehouse: Warehouse) -> Warehouse:
    rows = [
        ("ann", "signup", on(1), "pro"), ("ann", "use", on(2), ""), ("ann", "use", on(4), ""),
        ("bo", "signup", on(1), "free"), ("bo", "use", on(3), ""),
        ("cy", "signup", on(2), "pro"), ("cy", "use", on(3), ""), ("cy", "signup", on(3), "pro"),
        ("old", "signup", on(20, 2), "free"), ("old", "signup", on(2), "free"),
        ("old", "use", on(3), ""),
    ]  # fmt: skip
    events = [
        CaptureEvent(event=name, distinct_id=who, timestamp=when, properties={"plan": plan})
        for who, name, when, plan in rows
    ]
    capture(warehouse, P, events, received_at=NOW)
    return warehouse


def retention(warehouse: Warehouse, project: int = P, **query: Any) -> RetentionResult:
    query = {"start": START, "returning": BACK, **FOUR_DAYS, **query}
    result = run_query(warehouse, project, RetentionQuery.model_validate(query), "UTC", now=NOW)
    assert isinstance(result, RetentionResult)
    return result


def matrix(result: RetentionResult) -> list[list[int | None]]:
    return [cohort.values for cohort in result.cohorts]


def test_first_time_cohorts_returning_on_each_day(stored: Warehouse) -> None:
    result = retention(stored)
    assert [c.start.day for c in result.cohorts] == [1, 2, 3, 4]
    # old signed up before the range first: in no first-time cohort.
    assert matrix(result) == [
        [2, 1, 1, 1],
        [1, 1, 0, None],
        [0, 0, None, None],
        [0, None, None, None],
    ]
    assert [round(m, 4) if m is not None else None for m in result.mean] == [1, 0.6667, 0.3333, 0.5]


def test_returning_on_or_after_counts_later_returns(stored: Warehouse) -> None:
    assert matrix(retention(stored, criterion="on_or_after"))[:2] == [
        [2, 2, 2, 1],
        [1, 1, 0, None],
    ]


def test_recurring_cohorts_count_every_period_with_a_start_event(stored: Warehouse) -> None:
    assert matrix(retention(stored, cohorting="recurring"))[:3] == [
        [2, 1, 1, 1],
        [2, 2, 0, None],
        [1, 0, None, None],
    ]


def test_breakdown_by_the_start_events_property(stored: Warehouse) -> None:
    result = retention(stored, breakdown={"property": "plan"})
    rows = {(c.start.day, c.breakdown_value): c.values for c in result.cohorts}
    assert rows == {
        (1, "free"): [1, 0, 1, 0],
        (1, "pro"): [1, 1, 0, 1],
        (2, "pro"): [1, 1, 0, None],
    }


def test_a_cell_drills_into_its_persons(stored: Warehouse) -> None:
    query = RetentionQuery.model_validate({"start": START, "returning": BACK, **FOUR_DAYS})

    def cell(day: int, offset: int) -> set[str]:
        request = RetentionPersonsQuery(query=query, cohort=on(day, hour=0), period_offset=offset)
        found = persons_in(stored, P, request, "UTC", now=NOW)
        return {p.distinct_id for p in found.persons}

    assert cell(1, 0) == {"ann", "bo"}
    assert cell(1, 2) == {"bo"}
    assert cell(1, 3) == {"ann"}
    assert cell(2, 2) == set()


# The reference: periods are local calendar days or ISO weeks, computed with zoneinfo.
def reference(
    log: list[tuple[str, str, datetime]], zone: str, period: str, first: date, count: int,
    cohorting: str, criterion: str,
) -> list[list[int | None]]:  # fmt: skip
    tz = ZoneInfo(zone)

    def slot(moment: datetime) -> int:
        day = moment.astimezone(tz).date()
        if period == "week":
            return (day - first).days // 7
        return (day - first).days

    starts: dict[str, set[int]] = {}
    returns: dict[str, set[int]] = {}
    for who, name, when in log:
        if name == "signup":
            starts.setdefault(who, set()).add(slot(when))
        if name == "use":
            returns.setdefault(who, set()).add(slot(when))
    members: dict[int, set[str]] = {i: set() for i in range(count)}
    for who, slots in starts.items():
        chosen = {min(slots)} if cohorting == "first_time" else slots
        for i in chosen:
            if 0 <= i < count:
                members[i].add(who)
    rows = []
    for i in range(count):
        row: list[int | None] = [len(members[i])]
        for n in range(1, count):
            if i + n >= count:
                row.append(None)
                continue
            came = 0
            for who in members[i]:
                back = {r for r in returns.get(who, set()) if r < count}
                hit = i + n in back if criterion == "on" else any(r >= i + n for r in back)
                came += hit
            row.append(came)
        rows.append(row)
    return rows


@pytest.mark.parametrize(("period", "zone"), [("day", "Europe/Paris"), ("week", "UTC")])
def test_retention_matches_a_direct_computation_on_random_logs(
    warehouse: Warehouse, period: str, zone: str
) -> None:
    for seed in range(6):
        rng = random.Random(seed)
        project = 500 + seed
        begin = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
        log = []
        for person in range(60):
            for _ in range(rng.randint(1, 12)):
                offset = timedelta(minutes=rng.randrange(0, 60 * 24 * 70))
                log.append(
                    (f"u{person}", rng.choice(["signup", "use", "use", "other"]), begin + offset)
                )
        capture(
            warehouse,
            project,
            [CaptureEvent(event=n, distinct_id=w, timestamp=t) for w, n, t in log],
            received_at=NOW,
        )
        count = 9 if period == "week" else 12
        last = date(2026, 3, 1) if period == "week" else date(2026, 2, 20)
        first = (
            last - timedelta(days=last.weekday()) - timedelta(weeks=count - 1)
            if period == "week"
            else last - timedelta(days=count - 1)
        )
        for cohorting in ("first_time", "recurring"):
            for criterion in ("on", "on_or_after"):
                result = retention(
                    warehouse, project, period=period, periods=count, date_to=str(last),
                    timezone=zone, cohorting=cohorting, criterion=criterion,
                )  # fmt: skip
                expected = reference(log, zone, period, first, count, cohorting, criterion)
                assert matrix(result) == expected, (seed, cohorting, criterion)


def test_the_other_group_of_a_breakdown_drills_into_its_persons(stored: Warehouse) -> None:
    query = RetentionQuery.model_validate(
        {
            "start": START,
            "returning": BACK,
            **FOUR_DAYS,
            "breakdown": {"property": "plan", "limit": 1},
        }
    )
    result = retention(stored, breakdown={"property": "plan", "limit": 1})
    assert {(c.start.day, c.breakdown_value) for c in result.cohorts} == {
        (1, "pro"), (1, "$other"), (2, "pro"),
    }  # fmt: skip
    request = RetentionPersonsQuery(query=query, cohort=on(1, hour=0), breakdown_value="$other")
    assert {p.distinct_id for p in persons_in(stored, P, request, "UTC", now=NOW).persons} == {"bo"}
