"""Stickiness: of the persons active in the range, how many were active in exactly 1, 2,
… of its intervals (definitions in docs/metrics/product.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loopwise.product.contracts import (
    ActivityEvent,
    PersonList,
    StickinessLine,
    StickinessPersonsQuery,
    StickinessQuery,
    StickinessResult,
)
from loopwise.product.filters import conditions
from loopwise.product.queries.cohorts import cohort_source
from loopwise.product.queries.periods import bucket_index, buckets, query_window
from loopwise.product.queries.persons import persons_page
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import has_person_overrides


def run_stickiness(
    warehouse: Warehouse,
    project_id: int,
    query: StickinessQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> StickinessResult:
    zone, start, end = query_window(query.date_range, timezone, now)
    slots = buckets(start, end, query.interval, zone)
    lines = []
    for number, series in enumerate(query.series):
        per_person, params = _per_person(
            warehouse, project_id, query, series, zone, slots, start, end, now
        )
        count = dialect_for(warehouse.dialect).count_rows()
        sql = f"SELECT active, {count} AS n FROM ({per_person}) AS p GROUP BY active"
        values = [0] * len(slots)
        for row in warehouse.query(sql, params).table.to_pylist():
            if 1 <= row["active"] <= len(slots):
                values[row["active"] - 1] = int(row["n"])
        label = series.label or series.event or "Any event"
        lines.append(StickinessLine(series=number, label=label, values=values))
    return StickinessResult(
        timezone=zone,
        interval=query.interval,
        intervals=len(slots),
        lines=lines,
        query=query.model_dump(mode="json"),
    )


def stickiness_persons(
    warehouse: Warehouse,
    project_id: int,
    request: StickinessPersonsQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> PersonList:
    query = request.query
    zone, start, end = query_window(query.date_range, timezone, now)
    slots = buckets(start, end, query.interval, zone)
    series = query.series[request.series]
    per_person, params = _per_person(
        warehouse, project_id, query, series, zone, slots, start, end, now
    )
    sql = f"SELECT person_id FROM ({per_person}) AS p WHERE active = {{intervals}}"
    params["intervals"] = request.intervals
    return persons_page(
        warehouse, project_id, sql, params, request.limit, request.offset, (start, end)
    )


def _per_person(
    warehouse: Warehouse,
    project_id: int,
    query: StickinessQuery,
    series: ActivityEvent,
    zone: str,
    slots: list[datetime],
    start: datetime,
    end: datetime,
    now: datetime | None,
) -> tuple[str, dict[str, Any]]:
    """SQL: each active person and in how many intervals they were active."""
    d = dialect_for(warehouse.dialect)
    params: dict[str, Any] = {"p": project_id, "start": start, "end": end}
    where = ["project_id = {p}", "timestamp >= {start}", "timestamp < {end}"]
    if series.event is not None:
        params["event"] = series.event
        where.append("event = {event}")
    where += conditions(d, series.filters, params, "sf")
    where += conditions(d, query.filters, params, "qf")
    merged = has_person_overrides(warehouse, project_id)
    source = cohort_source(
        d,
        " AND ".join(where),
        params,
        merged=merged,
        cohort=query.cohort,
        now=now,
        filters=query.filters,
    )
    bucket = bucket_index(d, "timestamp", query.interval, zone, slots, params, "sb")
    sql = f"""
        SELECT person_id, {d.count_distinct("bucket")} AS active FROM (
            SELECT DISTINCT person_id, {bucket} AS bucket FROM {source} AS ev
        ) AS active_buckets GROUP BY person_id
    """
    return sql, params
