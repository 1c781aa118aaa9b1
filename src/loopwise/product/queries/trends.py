"""Trends: per interval, how many events, unique persons, or a sum/average/min/max of a
numeric property, for one or more series, optionally broken down by an event property.

Per series, two queries written once for both engines: values per (bucket, breakdown
value) and the same metric over the whole range (a distinct count over the range is not
the sum of the buckets'). With a breakdown, a first query picks the ``limit`` largest
values of the first series' metric; the rest are grouped as ``$other``. Buckets with no
events read 0 (for averages and extremes: 0 as well, so a line has a point per bucket).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from loopwise.product.contracts import TrendsLine, TrendsQuery, TrendsResult, TrendsSeries
from loopwise.product.filters import conditions, property_text
from loopwise.product.queries.periods import buckets, local_range
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import Dialect, has_person_overrides

OTHER = "$other"
_AGGREGATES = {"sum": "sum", "avg": "avg", "min": "min", "max": "max"}


def run_trends(
    warehouse: Warehouse,
    project_id: int,
    query: TrendsQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> TrendsResult:
    zone = query.date_range.timezone or timezone
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    start, end = local_range(query.date_range, zone, moment.astimezone(ZoneInfo(zone)).date())
    slots = buckets(start, end, query.interval, zone)
    index = {slot: i for i, slot in enumerate(slots)}
    merged = has_person_overrides(warehouse, project_id)
    d = dialect_for(warehouse.dialect)
    top: list[str] | None = None
    lines: list[TrendsLine] = []
    for number, series in enumerate(query.series):
        scope = _Scope(d, project_id, start, end, zone, query, series, merged)
        if query.breakdown is not None and top is None:
            top = scope.top_values(warehouse, query.breakdown.limit)
        per_bucket = scope.run(warehouse, with_bucket=True, top=top)
        totals = {row["bv"]: float(row["value"] or 0) for row in scope.run(warehouse, False, top)}
        values: dict[str | None, list[float]] = defaultdict(lambda: [0.0] * len(slots))
        for row in per_bucket:
            slot = index.get(row["bucket"].astimezone(UTC))
            if slot is not None:
                values[row["bv"]][slot] = float(row["value"] or 0)
        label = series.label or series.event or "All events"
        order = sorted(totals, key=lambda v: (v == OTHER, -totals[v], v or ""))
        for value in order or [None]:
            lines.append(
                TrendsLine(
                    series=number,
                    label=label,
                    breakdown_value=value if query.breakdown else None,
                    values=values[value],
                    total=totals.get(value, 0.0),
                )
            )
    return TrendsResult(
        timezone=zone,
        interval=query.interval,
        buckets=slots,
        lines=lines,
        query=query.model_dump(mode="json"),
    )


class _Scope:
    """The SQL pieces of one series."""

    def __init__(
        self,
        d: Dialect,
        project_id: int,
        start: datetime,
        end: datetime,
        zone: str,
        query: TrendsQuery,
        series: TrendsSeries,
        merged: bool,
    ) -> None:
        self.d, self.series, self.query, self.merged = d, series, query, merged
        self.params: dict[str, Any] = {"p": project_id, "start": start, "end": end, "tz": zone}
        where = ["project_id = {p}", "timestamp >= {start}", "timestamp < {end}"]
        if series.event is not None:
            where.append("event = {event}")
            self.params["event"] = series.event
        where += conditions(d, query.filters, self.params, "qf")
        where += conditions(d, series.filters, self.params, "sf")
        self.where = " AND ".join(where)
        if series.math_property is not None:
            self.params["mp"] = series.math_property
        self.breakdown = (
            property_text(d, query.breakdown.property, self.params, "bk")
            if query.breakdown
            else "''"
        )

    def metric(self) -> str:
        series = self.series
        if series.math == "total":
            return self.d.count_rows()
        if series.math == "unique_persons":
            return self.d.count_distinct("person_id")
        number = self.d.json_number("properties", "mp")
        return f"CAST({_AGGREGATES[series.math]}({number}) AS DOUBLE)"

    def source(self) -> str:
        persons = self.series.math == "unique_persons"
        return self.d.events_with_persons(self.where, merged=self.merged and persons)

    def top_values(self, warehouse: Warehouse, limit: int) -> list[str]:
        sql = f"""
            SELECT {self.breakdown} AS bv, {self.metric()} AS value
            FROM {self.source()} AS ev
            GROUP BY bv
            ORDER BY value DESC, bv
            LIMIT {{limit}}
        """
        rows = warehouse.query(sql, {**self.params, "limit": limit}).table.to_pylist()
        return [str(row["bv"]) for row in rows]

    def run(
        self, warehouse: Warehouse, with_bucket: bool, top: list[str] | None
    ) -> list[dict[str, Any]]:
        value = self.breakdown
        params = dict(self.params)
        if top is not None and self.query.breakdown is not None:
            if top:
                params["top"] = top
                kept = self.d.in_array(self.breakdown, "top")
                value = f"CASE WHEN {kept} THEN {self.breakdown} ELSE '{OTHER}' END"
            else:
                value = f"'{OTHER}'"
        bucket = self.d.trunc_time(self.query.interval, "timestamp", "tz")
        group = "bucket, bv" if with_bucket else "bv"
        select_bucket = f"{bucket} AS bucket, " if with_bucket else ""
        sql = f"""
            SELECT {select_bucket}{value} AS bv, {self.metric()} AS value
            FROM {self.source()} AS ev
            GROUP BY {group}
        """
        rows: list[dict[str, Any]] = warehouse.query(sql, params).table.to_pylist()
        if self.query.breakdown is None:
            for row in rows:
                row["bv"] = None
        return rows
