"""The dashboard numbers against a hand-computed fixture, on DuckDB and on chDB.

The project's time zone is New York and the period spans the March 2024 DST change, so an
event at 03:30 UTC on 11 March belongs to the local day 10 March.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from loopwise.overview.facade import period_bounds, project_overview
from loopwise.warehouse import Warehouse
from tests.factories import build_events

TZ = "America/New_York"
NOW = datetime(2024, 3, 12, 15, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


ROWS: list[dict[str, Any]] = [
    {"person_id": "p1", "event": "$pageview", "timestamp": at(11, 3, 30), "pathname": "/"},
    {"person_id": "p1", "event": "signed_up", "timestamp": at(11, 14)},
    {"person_id": "p2", "event": "$pageview", "timestamp": at(12, 12), "pathname": "/pricing",
     "utm_source": "google"},
    {"person_id": "p2", "event": "$pageview", "timestamp": at(12, 12, 5),
     "referrer": "https://news.example.com/"},
    {"person_id": "p3", "event": "recipe_saved", "timestamp": at(1, 9)},
    {"person_id": "p3", "event": "recipe_saved", "timestamp": at(7, 10)},
    {"person_id": "p4", "event": "recipe_saved", "timestamp": at(1, 9, month=2)},
    {"person_id": "p4", "event": "recipe_saved", "timestamp": at(8, 10)},
    {"person_id": "x9", "event": "$pageview", "timestamp": at(12, 10), "project_id": 2},
]  # fmt: skip


def load(warehouse: Warehouse) -> None:
    warehouse.append("events", build_events(ROWS))


def test_period_starts_at_local_midnight() -> None:
    start, end = period_bounds(7, TZ, NOW)
    assert start == datetime(2024, 3, 6, 5, 0, tzinfo=UTC)  # midnight EST
    assert end == NOW


def test_headlines_compare_with_the_previous_period(warehouse: Warehouse) -> None:
    load(warehouse)
    overview = project_overview(warehouse, 1, days=7, timezone=TZ, now=NOW)
    values = {h.label: (h.value, h.previous) for h in overview.headlines}
    assert values == {
        "Events": (6, 1),
        "Active people": (4, 1),
        "New people": (2, 1),
        "Pageviews": (3, 0),
    }
    assert overview.headlines[0].change == 5.0
    assert overview.headlines[3].change is None


def test_daily_series_uses_local_days_and_fills_gaps(warehouse: Warehouse) -> None:
    load(warehouse)
    daily = project_overview(warehouse, 1, days=7, timezone=TZ, now=NOW).daily
    assert [(p.day, p.events, p.persons) for p in daily] == [
        (date(2024, 3, 6), 0, 0),
        (date(2024, 3, 7), 1, 1),
        (date(2024, 3, 8), 1, 1),
        (date(2024, 3, 9), 0, 0),
        (date(2024, 3, 10), 1, 1),
        (date(2024, 3, 11), 1, 1),
        (date(2024, 3, 12), 2, 1),
    ]


def test_top_lists_rank_by_count_then_name(warehouse: Warehouse) -> None:
    load(warehouse)
    overview = project_overview(warehouse, 1, days=7, timezone=TZ, now=NOW)
    assert [(r.name, r.count, r.persons) for r in overview.top_events] == [
        ("$pageview", 3, 2),
        ("recipe_saved", 2, 2),
        ("signed_up", 1, 1),
    ]
    assert [(r.name, r.count) for r in overview.top_pages] == [("/", 1), ("/pricing", 1)]
    # New people (first seen in the period) by the source of their first event: p1 came
    # direct, p2's first event carried utm_source=google; p3 and p4 are not new.
    assert [(r.name, r.persons) for r in overview.sources] == [("(direct)", 1), ("google", 1)]


def test_an_empty_project_says_so(warehouse: Warehouse) -> None:
    overview = project_overview(warehouse, 1, days=30, timezone="UTC", now=NOW)
    assert overview.is_empty
    assert len(overview.daily) == 30
