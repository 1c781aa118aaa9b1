"""Trends: per interval, how many events, unique persons, or a sum/average/min/max of a
numeric property, for one or more series, optionally broken down by an event property.

Per series, two queries written once for both engines: values per (bucket, breakdown
value) and the same metric over the whole range (a distinct count over the range is not
the sum of the buckets'). With a breakdown, a first query picks the ``limit`` largest
values of the first series' metric; the rest are grouped as ``$other``. Buckets with no
events read 0 (for averages and extremes: 0 as well, so a line has a point per bucket).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from loopwise.product.contracts import (
    TrendPerson,
    TrendPersons,
    TrendPersonsQuery,
    TrendsLine,
    TrendsQuery,
    TrendsResult,
    TrendsSeries,
)
from loopwise.product.filters import conditions, property_text
from loopwise.product.queries.cohorts import cohort_source, with_person_value
from loopwise.product.queries.periods import bucket_index, buckets, query_window
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import Dialect, has_person_overrides

OTHER = "$other"


def run_trends(
    warehouse: Warehouse,
    project_id: int,
    query: TrendsQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> TrendsResult:
    if query.cohort_breakdown:
        return _by_cohort(warehouse, project_id, query, timezone, now)
    zone, start, end = query_window(query.date_range, timezone, now)
    period = _Period(start, end, buckets(start, end, query.interval, zone), zone)
    context = _Context(
        warehouse, dialect_for(warehouse.dialect), project_id, query,
        has_person_overrides(warehouse, project_id), now,
    )  # fmt: skip
    lines = _lines(context, period, "current")
    if query.compare:  # the same number of local days just before (DST-proof)
        local = ZoneInfo(zone)
        first = start.astimezone(local).date()
        days = (end.astimezone(local).date() - first).days
        before = datetime.combine(first - timedelta(days=days), time(), local).astimezone(UTC)
        previous = _Period(before, start, buckets(before, start, query.interval, zone), zone)
        shown: dict[int, list[str | None]] = defaultdict(list)
        for line in lines:  # the previous period gets the same lines, zero or not
            shown[line.series].append(line.breakdown_value)
        lines += _lines(context, previous, "previous", slots=len(period.slots), shown=shown)
    if query.formula is not None:
        lines += formula_lines(query.formula, lines)
    return TrendsResult(
        timezone=zone,
        interval=query.interval,
        buckets=period.slots,
        lines=lines,
        query=query.model_dump(mode="json"),
    )


def _by_cohort(
    warehouse: Warehouse,
    project_id: int,
    query: TrendsQuery,
    timezone: str,
    now: datetime | None,
) -> TrendsResult:
    """The query once per cohort of ``cohort_breakdown``, its lines labelled by cohort."""
    lines: list[TrendsLine] = []
    result = None
    for cohort in query.cohort_breakdown:
        part = query.model_copy(update={"cohort": cohort, "cohort_breakdown": []})
        result = run_trends(warehouse, project_id, part, timezone, now=now)
        lines += [
            line.model_copy(update={"breakdown_value": cohort.label}) for line in result.lines
        ]
    assert result is not None
    return result.model_copy(update={"lines": lines, "query": query.model_dump(mode="json")})


@dataclass
class _Context:
    warehouse: Warehouse
    d: Dialect
    project_id: int
    query: TrendsQuery
    merged: bool
    now: datetime | None = None
    top: list[str] | None = None  # the breakdown values, chosen on the current period


@dataclass(frozen=True)
class _Period:
    start: datetime
    end: datetime
    slots: list[datetime]
    zone: str


def _lines(
    context: _Context,
    period: _Period,
    label: str,
    *,
    slots: int | None = None,
    shown: dict[int, list[str | None]] | None = None,
) -> list[TrendsLine]:
    """One line per series and breakdown value; ``slots`` aligns a previous period's
    buckets with the current ones, position by position."""
    query, count = context.query, slots if slots is not None else len(period.slots)
    lines: list[TrendsLine] = []
    for number, series in enumerate(query.series):
        scope = _Scope(
            context.d, context.project_id, period.start, period.end, period.zone, query, series,
            context.merged, period.slots, context.now,
        )  # fmt: skip
        per_bucket, rows = scope.rows(context.warehouse, context.top)
        totals = {row["bv"]: _number(row["value"]) for row in rows}
        if query.breakdown is not None and context.top is None:
            context.top = [str(v) for v in totals if v != OTHER]
        values: dict[str | None, list[float]] = defaultdict(lambda: [0.0] * count)
        for row in per_bucket:
            slot = int(row["bucket"])
            if 0 <= slot < count:
                values[row["bv"]][slot] = _number(row["value"])
        name = series.label or series.event or "All events"
        order: list[str | None] = sorted(totals, key=lambda v: (v == OTHER, -totals[v], v or ""))
        if shown is not None:
            order = shown[number]
        for value in order or [None]:
            lines.append(
                TrendsLine(
                    series=number,
                    label=name,
                    breakdown_value=value if query.breakdown else None,
                    values=values[value],
                    total=totals.get(value, 0.0),
                    period=label,
                )
            )
    return lines


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
        slots: list[datetime] | None = None,
        now: datetime | None = None,
    ) -> None:
        self.d, self.series, self.query, self.merged = d, series, query, merged
        self.zone, self.slots, self.now = zone, slots or [], now
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
        self.breakdown = "''"
        if query.breakdown is not None:
            self.breakdown = (
                "person_value"
                if query.breakdown.type == "person"
                else property_text(d, query.breakdown.property, self.params, "bk")
            )

    def source(self) -> str:
        persons = self.series.math in ("unique_persons", *ROLLING)
        cohort, breakdown = self.query.cohort, self.query.breakdown
        by_person = breakdown is not None and breakdown.type == "person"
        merged = self.merged and (persons or cohort is not None or by_person)
        source = cohort_source(
            self.d, self.where, self.params, merged=merged, cohort=cohort, now=self.now,
            filters=[*self.query.filters, *self.series.filters],
        )  # fmt: skip
        if breakdown is not None and by_person:
            return with_person_value(self.d, source, breakdown.property, self.params, now=self.now)
        return source

    def rows(
        self, warehouse: Warehouse, top: list[str] | None
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The metric per (bucket, value) and per value over the whole range, in one
        statement: the events are read once into a compact base (per bucket and value:
        the distinct persons, or partial sums), and both answers come from it. Without
        ``top``, the largest values are chosen inside the statement."""
        base, metric = self._base()
        d, params = self.d, dict(self.params)
        value, extra = "bv", ""
        if self.query.breakdown is not None:
            if top is None:
                params["limit"] = self.query.breakdown.limit
                extra = f""", top AS (
                    SELECT bv FROM base GROUP BY bv ORDER BY {metric} DESC, bv LIMIT {{limit}}
                )"""
                value = f"CASE WHEN bv IN (SELECT bv FROM top) THEN bv ELSE '{OTHER}' END"
            elif top:
                params["top"] = top
                value = f"CASE WHEN {d.in_array('bv', 'top')} THEN bv ELSE '{OTHER}' END"
            else:
                value = f"'{OTHER}'"
        sql = f"""
            WITH base AS {"MATERIALIZED" if warehouse.materialized_ctes else ""} ({base}){extra}
            SELECT 'bucket' AS kind, bucket, {value} AS v, {metric} AS value
            FROM base GROUP BY bucket, v
            UNION ALL
            SELECT 'total' AS kind, NULL AS bucket, {value} AS v, {metric} AS value
            FROM base GROUP BY v
        """
        found: list[dict[str, Any]] = warehouse.query(sql, params).table.to_pylist()
        for row in found:
            row["bv"] = row.pop("v") if self.query.breakdown is not None else None
        return (
            [row for row in found if row["kind"] == "bucket"],
            [row for row in found if row["kind"] == "total"],
        )

    def _base(self) -> tuple[str, str]:
        """The compact base per bucket and value, and the metric that aggregates it."""
        d, math = self.d, self.series.math
        if math in ROLLING:
            return self._rolling(ROLLING[math])
        interval = self.query.interval
        bucket = bucket_index(d, "timestamp", interval, self.zone, self.slots, self.params, "bx")
        keys = f"{bucket} AS bucket, {self.breakdown} AS bv"
        source = f"{self.source()} AS ev"
        if math == "unique_persons":
            return f"SELECT DISTINCT {keys}, person_id FROM {source}", d.count_distinct("person_id")
        if math == "unique_sessions":
            sessions = f"SELECT DISTINCT {keys}, session_id FROM {source} WHERE session_id != ''"
            return sessions, d.count_distinct("session_id")
        if math == "total":
            base = f"SELECT {keys}, {d.count_rows()} AS n FROM {source} GROUP BY bucket, bv"
            return base, "CAST(sum(n) AS DOUBLE)"
        number = d.json_number("properties", "mp")
        if math in PERCENTILES:
            base = f"SELECT {keys}, {number} AS x FROM {source} WHERE {number} IS NOT NULL"
            return base, f"CAST({d.quantile('x', PERCENTILES[math])} AS DOUBLE)"
        base = f"""
            SELECT {keys}, sum({number}) AS s, {d.count_rows(f"{number} IS NOT NULL")} AS c,
                   min({number}) AS lo, max({number}) AS hi
            FROM {source} GROUP BY bucket, bv
        """
        metric = {
            "sum": "sum(s)", "avg": "sum(s) / nullif(sum(c), 0)", "min": "min(lo)",
            "max": "max(hi)",
        }[math]  # fmt: skip
        return base, f"CAST({metric} AS DOUBLE)"

    def _rolling(self, days: int) -> tuple[str, str]:
        """Persons active in the ``days`` days up to each day: every (person, day) of
        activity counts for that day and the ``days - 1`` after it."""
        d = self.d
        earlier = self.slots[0] - timedelta(days=days - 1)
        slots = buckets(earlier, self.slots[-1] + timedelta(days=1), "day", self.zone)
        self.params["start"] = slots[0]
        day = bucket_index(d, "timestamp", "day", self.zone, slots, self.params, "rd")
        shift = len(slots) - len(self.slots)
        active = f"SELECT DISTINCT {day} AS day, person_id FROM {self.source()} AS ev"
        base = f"""
            SELECT a.day + o.n - {shift} AS bucket, '' AS bv, a.person_id AS person_id
            FROM ({active}) AS a CROSS JOIN {d.numbers(days)} AS o
            WHERE a.day + o.n - {shift} >= 0 AND a.day + o.n - {shift} < {len(self.slots)}
        """
        return base, d.count_distinct("person_id")


ROLLING = {"weekly_active": 7, "monthly_active": 30}


def _number(value: Any) -> float:
    """A metric as shown: 0 for none, rounded to 9 decimals so that the engines' float
    arithmetic (summation and interpolation order) gives the same figure."""
    return round(float(value or 0), 9)


PERCENTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}


def formula_lines(formula: str, lines: list[TrendsLine]) -> list[TrendsLine]:
    """The formula over the series' lines, per period and breakdown value (a value
    missing from a series reads 0; a division by zero gives 0)."""
    tree = ast.parse(formula, mode="eval").body
    found: list[TrendsLine] = []
    keys = dict.fromkeys((line.period, line.breakdown_value) for line in lines if not line.formula)
    for period, value in keys:
        mine = {
            chr(ord("A") + line.series): line
            for line in lines
            if line.period == period and line.breakdown_value == value and not line.formula
        }
        width = max(len(line.values) for line in mine.values())
        series = {k: v.values for k, v in mine.items()}
        values = [
            _evaluate(tree, {k: v[i] if i < len(v) else 0.0 for k, v in series.items()})
            for i in range(width)
        ]
        total = _evaluate(tree, {k: v.total for k, v in mine.items()})
        found.append(
            TrendsLine(
                series=-1,
                label=formula,
                breakdown_value=value,
                values=values,
                total=total,
                period=period,
                formula=True,
            )
        )
    return found


def _evaluate(node: ast.expr, names: dict[str, float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return names.get(node.id, 0.0)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _evaluate(node.operand, names)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, names), _evaluate(node.right, names)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            return left / right if right else 0.0
    raise ValueError("the formula is not plain arithmetic")


def trend_persons(
    warehouse: Warehouse,
    project_id: int,
    request: TrendPersonsQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> TrendPersons:
    """The persons counted in one number of a trend, most events first."""
    query = request.query
    if query.cohort_breakdown:  # one cohort's line, or everyone without a value
        chosen = next(
            (c for c in query.cohort_breakdown if c.label == request.breakdown_value), None
        )
        if chosen is None and request.breakdown_value is not None:
            return TrendPersons(persons=[], has_more=False)
        query = query.model_copy(update={"cohort": chosen, "cohort_breakdown": []})
        request = request.model_copy(update={"query": query, "breakdown_value": None})
    zone, start, end = query_window(query.date_range, timezone, now)
    d = dialect_for(warehouse.dialect)
    merged = has_person_overrides(warehouse, project_id)
    series = query.series[request.series]
    scope = _Scope(d, project_id, start, end, zone, query, series, merged, now=now)
    params = dict(scope.params)
    where = ["1 = 1"]
    if request.bucket is not None:
        where.append(f"{d.trunc_time(query.interval, 'timestamp', 'tz')} = {{bucket}}")
        params["bucket"] = request.bucket.astimezone(UTC)
    if request.breakdown_value is not None and query.breakdown is not None:
        if request.breakdown_value == OTHER:
            params["top"] = _top(warehouse, project_id, query, zone, start, end, merged, now) or [
                ""
            ]
            where.append(f"NOT {d.in_array(scope.breakdown, 'top')}")
        else:
            params["bv"] = request.breakdown_value
            where.append(f"{scope.breakdown} = {{bv}}")
    source = cohort_source(
        d, scope.where, params, merged=merged, cohort=query.cohort, now=now,
        filters=[*query.filters, *series.filters],
    )  # fmt: skip
    if query.breakdown is not None and query.breakdown.type == "person":
        source = with_person_value(d, source, query.breakdown.property, params, now=now)
    sql = f"""
        SELECT person_id, argMax(distinct_id, timestamp) AS distinct_id,
               {d.count_rows()} AS events, max(timestamp) AS last_seen
        FROM {source} AS ev
        WHERE {" AND ".join(where)}
        GROUP BY person_id
        ORDER BY events DESC, person_id
        LIMIT {{limit}} OFFSET {{offset}}
    """
    params.update(limit=request.limit + 1, offset=request.offset)
    rows = warehouse.query(sql, params, max_rows=request.limit + 1).table.to_pylist()
    persons = [TrendPerson(**row) for row in rows[: request.limit]]
    return TrendPersons(persons=persons, has_more=len(rows) > request.limit)


def _top(
    warehouse: Warehouse,
    project_id: int,
    query: TrendsQuery,
    zone: str,
    start: datetime,
    end: datetime,
    merged: bool,
    now: datetime | None,
) -> list[str]:
    """The breakdown values the trend shows as lines (chosen on the first series)."""
    slots = buckets(start, end, query.interval, zone)
    d = dialect_for(warehouse.dialect)
    first = _Scope(d, project_id, start, end, zone, query, query.series[0], merged, slots, now)
    _, totals = first.rows(warehouse, None)
    return [str(row["bv"]) for row in totals if row["bv"] != OTHER]
