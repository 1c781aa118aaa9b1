"""The overview's public surface: ``project_overview`` and the periods it accepts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from loopwise.overview import queries
from loopwise.overview.contracts import DailyPoint, Headline, Overview, Ranked
from loopwise.warehouse import Warehouse
from loopwise.warehouse.dialect import has_person_overrides

PERIODS = (7, 30, 90)
TOP = 8


def period_bounds(days: int, timezone: str, now: datetime) -> tuple[datetime, datetime]:
    """From local midnight ``days - 1`` days ago up to ``now``: today counts as a day."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=zone).astimezone(UTC)
    return start, now


def project_overview(
    warehouse: Warehouse,
    project_id: int,
    *,
    days: int = 30,
    timezone: str = "UTC",
    now: datetime | None = None,
) -> Overview:
    if days not in PERIODS:
        raise ValueError(f"days must be one of {PERIODS}")
    moment = now or datetime.now(UTC)
    start, end = period_bounds(days, timezone, moment)
    previous_start = start - (end - start)
    merged = has_person_overrides(warehouse, project_id)
    scope = queries.Scope(project_id, start, end, timezone, merged)
    counts = queries.totals(warehouse, scope, previous_start)
    new = queries.newcomers(warehouse, scope, previous_start, TOP)
    headlines = (
        Headline("Events", counts["events"], counts["previous_events"]),
        Headline("Active people", counts["persons"], counts["previous_persons"]),
        Headline("New people", new.count, new.previous_count),
        Headline("Pageviews", counts["pageviews"], counts["previous_pageviews"]),
    )
    return Overview(
        days=days,
        timezone=timezone,
        headlines=headlines,
        daily=_fill_days(queries.daily(warehouse, scope), start, end, timezone),
        top_events=tuple(Ranked(*r) for r in queries.top_events(warehouse, scope, TOP)),
        top_pages=tuple(Ranked(*r) for r in queries.top_pages(warehouse, scope, TOP)),
        sources=tuple(Ranked(name, n, n) for name, n in new.sources),
        computed_at=datetime.now(UTC),
    )


def _fill_days(
    rows: dict[date, tuple[int, int]], start: datetime, end: datetime, timezone: str
) -> tuple[DailyPoint, ...]:
    """One point per local day, zero where nothing happened, so charts show gaps honestly."""
    zone = ZoneInfo(timezone)
    day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    points = []
    while day <= last:
        events, persons = rows.get(day, (0, 0))
        points.append(DailyPoint(day, events, persons))
        day += timedelta(days=1)
    return tuple(points)
