"""Funnels on random event logs against independent answers.

Ordered funnels must match ClickHouse's own ``windowFunnel(window, 'strict_once')`` (one
event fills at most one step), computed by chDB on the same events. Strict funnels must
match ``windowFunnel(window, 'strict_order')`` over all of each person's events on logs
where each step event happens at most once per person: there the two definitions agree.
With repeats they differ on purpose (ClickHouse stops at the first other event for good
and lets a repeated earlier step pass; PostHog, whose rule Loopwise follows, starts a new
attempt and breaks on a repeat), so general strict logs are checked against a direct
reading of the rule instead (docs/metrics/product.md).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture
from loopwise.product.contracts import FunnelQuery, FunnelResult
from loopwise.product.facade import run_query
from loopwise.warehouse import Warehouse, open_warehouse

NOW = datetime(2026, 5, 1, tzinfo=UTC)
BASE = datetime(2026, 4, 10, tzinfo=UTC)
RANGE = {"date_from": "2026-04-10", "date_to": "2026-04-12"}
NAMES = "ABCD"
Log = dict[str, list[tuple[int, str]]]  # person -> (second, event), time-ordered


def random_log(rng: random.Random, persons: int, *, once: str = "") -> Log:
    """Each person's events at distinct seconds within a day; the events in ``once``
    happen at most once per person."""
    log: Log = {}
    for number in range(persons):
        size = rng.randint(1, 14)
        seconds = sorted(rng.sample(range(0, 86_400, 7), size))
        events = [rng.choice(NAMES + "XY") for _ in seconds]
        for name in once:
            places = [i for i, e in enumerate(events) if e == name]
            for extra in places[1:]:
                events[extra] = "X"
        log[f"p{number}"] = list(zip(seconds, events, strict=True))
    return log


def store(warehouse: Warehouse, project: int, log: Log) -> None:
    rows = [
        CaptureEvent(event=event, distinct_id=person, timestamp=BASE + timedelta(seconds=s))
        for person, events in log.items()
        for s, event in events
    ]
    capture(warehouse, project, rows, received_at=NOW)


def ours(
    warehouse: Warehouse, project: int, steps: list[str], window: int, order: str
) -> list[int]:
    query: dict[str, Any] = {
        "steps": [{"event": s} for s in steps],
        "date_range": RANGE,
        "window": {"value": window, "unit": "second"},
        "order": order,
    }
    result = run_query(warehouse, project, FunnelQuery.model_validate(query), "UTC", now=NOW)
    assert isinstance(result, FunnelResult)
    return [step.count for step in result.total.steps]


@pytest.fixture
def clickhouse(chdb_path: str) -> Iterator[Warehouse]:
    """chDB, to run windowFunnel (one embedded chDB per process: the tests' own path)."""
    engine = open_warehouse(f"chdb://{chdb_path}?database=lw_oracle")
    yield engine
    engine.close()


def window_funnel(
    clickhouse: Warehouse, log: Log, steps: list[str], window: int, mode: str
) -> list[int]:
    """Persons per step by chDB's windowFunnel over every event of each person."""
    rows = ", ".join(
        f"('{person}', {second}, '{event}')"
        for person, events in log.items()
        for second, event in events
    )
    conditions = ", ".join(f"event = '{s}'" for s in steps)
    levels = clickhouse.query(
        f"""
        SELECT toInt64(windowFunnel({window}, '{mode}')(toDateTime(second, 'UTC'), {conditions}))
               AS level
        FROM values('person String, second UInt32, event String', {rows})
        GROUP BY person
        """
    )
    reached = levels.table.column("level").to_pylist()
    return [sum(1 for level in reached if level > step) for step in range(len(steps))]


def strict_by_definition(log: Log, steps: list[str], window: int) -> list[int]:
    """Every first-step event starts an attempt; each next event must be the next step,
    within the window of the attempt's first event; a person counts at their furthest."""
    reached = []
    for events in log.values():
        best = 0
        for start, (began, name) in enumerate(events):
            if name != steps[0]:
                continue
            level = 1
            for second, event in events[start + 1 :]:
                if level == len(steps) or event != steps[level] or second - began > window:
                    break
                level += 1
            best = max(best, level)
        reached.append(best)
    return [sum(1 for level in reached if level > step) for step in range(len(steps))]


def cases(seed: int) -> tuple[random.Random, list[str], int]:
    rng = random.Random(seed)
    steps = [rng.choice(NAMES) for _ in range(rng.randint(2, 4))]
    return rng, steps, rng.choice([1, 60, 600, 3600, 6 * 3600, 86_400])


def test_ordered_funnels_match_clickhouse_window_funnel_strict_once(
    warehouse: Warehouse, clickhouse: Warehouse
) -> None:
    for seed in range(40):
        rng, steps, window = cases(seed)
        log = random_log(rng, persons=40)
        store(warehouse, 1000 + seed, log)
        expected = window_funnel(clickhouse, log, steps, window, "strict_once")
        assert ours(warehouse, 1000 + seed, steps, window, "ordered") == expected, (seed, steps)


def test_strict_funnels_match_clickhouse_strict_order_where_steps_happen_once(
    warehouse: Warehouse, clickhouse: Warehouse
) -> None:
    for seed in range(40):
        rng = random.Random(seed)
        steps = rng.sample(NAMES, rng.randint(2, 4))
        window = rng.choice([60, 600, 3600, 86_400])
        log = random_log(rng, persons=40, once="".join(steps))
        store(warehouse, 2000 + seed, log)
        expected = window_funnel(clickhouse, log, steps, window, "strict_order")
        assert ours(warehouse, 2000 + seed, steps, window, "strict") == expected, (seed, steps)


def test_strict_funnels_follow_their_definition_on_any_log(warehouse: Warehouse) -> None:
    for seed in range(40):
        rng, steps, window = cases(seed)
        log = random_log(rng, persons=40)
        store(warehouse, 3000 + seed, log)
        expected = strict_by_definition(log, steps, window)
        assert ours(warehouse, 3000 + seed, steps, window, "strict") == expected, (seed, steps)
