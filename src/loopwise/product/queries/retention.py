"""Retention: persons grouped into cohorts by the period they did the start event, and
how many of each cohort did the return event 1, 2, … periods later (definitions in
docs/metrics/product.md).

Three queries, written once for both engines, over two sets: the cohort memberships
(person, cohort period, breakdown value) and the periods each person returned in. The
engine counts; the matrix is laid out here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from loopwise.product.contracts import (
    PersonList,
    RetentionCohort,
    RetentionPersonsQuery,
    RetentionQuery,
    RetentionResult,
)
from loopwise.product.filters import conditions, property_text
from loopwise.product.queries.cohorts import cohort_source, with_person_value
from loopwise.product.queries.periods import bucket_index, buckets
from loopwise.product.queries.persons import persons_page
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import Dialect, has_person_overrides

OTHER = "$other"


@dataclass(frozen=True)
class _Plan:
    """The SQL of one retention query and the periods it covers."""

    zone: str
    slots: list[datetime]
    cohorts: str  # person_id, cohort, bv
    returns: str  # person_id, period
    params: dict[str, Any]


def run_retention(
    warehouse: Warehouse,
    project_id: int,
    query: RetentionQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> RetentionResult:
    plan = _plan(warehouse, project_id, query, timezone, now)
    sizes: dict[tuple[int, str], int] = defaultdict(int)
    if query.breakdown is None:  # a row for every period, empty or not
        sizes.update({(number, ""): 0 for number in range(len(plan.slots))})
    sql = f"SELECT cohort, bv, count(*) AS n FROM ({plan.cohorts}) AS s GROUP BY cohort, bv"
    for row in warehouse.query(sql, plan.params).table.to_pylist():
        sizes[(int(row["cohort"]), row["bv"])] += int(row["n"])
    # counts[(cohort, bv)][period]: returned in that period ("on") or last returned then.
    counts: dict[tuple[int, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for row in warehouse.query(_returned_sql(plan, query), plan.params).table.to_pylist():
        counts[(int(row["cohort"]), row["bv"])][int(row["period"])] += int(row["n"])
    sizes, counts = _top_values(query, sizes, counts)
    width = len(plan.slots)
    cohorts = []
    for (number, value), size in sorted(sizes.items(), key=lambda item: (item[0][0], item[0][1])):
        if query.breakdown is not None and not size:
            continue
        cells: list[int | None] = []
        for offset in range(width):
            if number + offset >= width:
                cells.append(None)
            elif offset == 0:
                cells.append(size)
            elif query.criterion == "on":
                cells.append(counts[(number, value)].get(number + offset, 0))
            else:
                found = counts[(number, value)]
                cells.append(sum(n for last, n in found.items() if last >= number + offset))
        cohorts.append(
            RetentionCohort(
                start=plan.slots[number],
                breakdown_value=value if query.breakdown is not None else None,
                size=size,
                values=cells,
            )
        )
    return RetentionResult(
        timezone=plan.zone,
        period=query.period,
        cohorts=cohorts,
        mean=_mean(cohorts, width),
        query=query.model_dump(mode="json"),
    )


def retention_persons(
    warehouse: Warehouse,
    project_id: int,
    request: RetentionPersonsQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> PersonList:
    """The persons of one cell: a cohort, and those of it counted ``offset`` periods on."""
    query = request.query
    plan = _plan(warehouse, project_id, query, timezone, now)
    moment = request.cohort.astimezone(UTC)
    if moment not in plan.slots:
        return PersonList(persons=[], has_more=False)
    slot = plan.slots.index(moment)
    params: dict[str, Any] = {**plan.params, "cohort": slot}
    where = ["s.cohort = {cohort}"]
    if request.breakdown_value == OTHER and query.breakdown is not None:
        sizes = f"SELECT bv, count(*) AS n FROM ({plan.cohorts}) AS s GROUP BY bv"
        rows = warehouse.query(sizes, plan.params).table.to_pylist()
        ranked = sorted(rows, key=lambda r: (-int(r["n"]), str(r["bv"])))
        params["kept"] = [str(r["bv"]) for r in ranked[: query.breakdown.limit]] or [""]
        where.append(f"NOT {dialect_for(warehouse.dialect).in_array('s.bv', 'kept')}")
    elif request.breakdown_value is not None:
        params["bv"] = request.breakdown_value
        where.append("s.bv = {bv}")
    if request.period_offset == 0:
        sql = f"SELECT DISTINCT s.person_id FROM ({plan.cohorts}) AS s WHERE {' AND '.join(where)}"
    else:
        if slot + request.period_offset >= len(plan.slots):
            return PersonList(persons=[], has_more=False)
        params["period"] = slot + request.period_offset
        compare = "=" if query.criterion == "on" else ">="
        sql = f"""
            SELECT DISTINCT s.person_id FROM ({plan.cohorts}) AS s
            JOIN ({plan.returns}) AS r ON r.person_id = s.person_id
            WHERE {" AND ".join(where)} AND r.period {compare} {{period}}
        """
    return persons_page(
        warehouse, project_id, sql, params, request.limit, request.offset,
        (plan.params["start"], plan.params["end"]),
    )  # fmt: skip


def _plan(
    warehouse: Warehouse,
    project_id: int,
    query: RetentionQuery,
    timezone: str,
    now: datetime | None,
) -> _Plan:
    zone = query.timezone or timezone
    start, end = _window(query, zone, now or datetime.now(UTC))
    slots = buckets(start, end, query.period, zone)
    d = dialect_for(warehouse.dialect)
    params: dict[str, Any] = {"p": project_id, "start": start, "end": end, "tz": zone}
    merged = has_person_overrides(warehouse, project_id)
    cohort = query.cohort
    trunc = bucket_index(d, "timestamp", query.period, zone, slots, params, "bt")
    value = "''"
    by_person = query.breakdown is not None and query.breakdown.type == "person"
    if query.breakdown is not None:
        value = (
            "person_value"
            if by_person
            else property_text(d, query.breakdown.property, params, "bk")
        )

    def valued(source: str) -> str:
        if query.breakdown is None or not by_person:
            return source
        return with_person_value(d, source, query.breakdown.property, params, now=now)

    began = _where(d, query, query.start, params, "st")
    if query.cohorting == "recurring":
        source = cohort_source(
            d,
            f"{began} AND timestamp >= {{start}}",
            params,
            merged=merged,
            cohort=cohort,
            now=now,
            filters=query.filters,
        )
        cohorts = f"""
            SELECT person_id, {trunc} AS cohort, argMin({value}, timestamp) AS bv
            FROM {valued(source)} AS ev GROUP BY person_id, cohort
        """
    else:  # the first start event ever decides the cohort
        source = cohort_source(
            d,
            began,
            params,
            merged=merged,
            cohort=cohort,
            now=now,
            filters=query.filters,
        )
        first = bucket_index(d, "first_seen", query.period, zone, slots, params, "bf")
        cohorts = f"""
            SELECT person_id, {first} AS cohort, bv FROM (
                SELECT person_id, min(timestamp) AS first_seen,
                       argMin({value}, timestamp) AS bv
                FROM {valued(source)} AS ev GROUP BY person_id
            ) AS firsts WHERE first_seen >= {{start}}
        """
    came_back = _where(d, query, query.returning, params, "rt")
    source = cohort_source(
        d,
        f"{came_back} AND timestamp >= {{start}}",
        params,
        merged=merged,
        cohort=cohort,
        now=now,
        filters=query.filters,
    )
    returns = f"SELECT DISTINCT person_id, {trunc} AS period FROM {source} AS ev"
    return _Plan(zone, slots, cohorts, returns, params)


def _where(
    d: Dialect,
    query: RetentionQuery,
    chosen: Any,
    params: dict[str, Any],
    name: str,
) -> str:
    where = ["project_id = {p}", "timestamp < {end}"]
    if chosen.event is not None:
        params[name] = chosen.event
        where.append(f"event = {{{name}}}")
    where += conditions(d, chosen.filters, params, f"{name}f")
    where += conditions(d, query.filters, params, f"{name}q")
    return " AND ".join(where)


def _returned_sql(plan: _Plan, query: RetentionQuery) -> str:
    joined = f"""
        FROM ({plan.cohorts}) AS s JOIN ({plan.returns}) AS r ON r.person_id = s.person_id
        WHERE r.period > s.cohort
    """
    if query.criterion == "on":
        return f"""
            SELECT s.cohort AS cohort, s.bv AS bv, r.period AS period, count(*) AS n
            {joined}
            GROUP BY s.cohort, s.bv, r.period
        """
    return f"""
        SELECT cohort, bv, period, count(*) AS n FROM (
            SELECT s.person_id AS person_id, s.cohort AS cohort, s.bv AS bv,
                   max(r.period) AS period
            {joined}
            GROUP BY s.person_id, s.cohort, s.bv
        ) AS last_returns GROUP BY cohort, bv, period
    """


def _window(query: RetentionQuery, zone: str, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) in UTC: ``periods`` whole local periods, the last holding ``date_to``."""
    tz = ZoneInfo(zone)
    if query.period == "hour":
        if query.date_to is None:
            local = now.astimezone(tz)
            end = (
                local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            ).astimezone(UTC)
        else:
            end = _midnight(query.date_to + timedelta(days=1), tz)
        return end - timedelta(hours=query.periods), end
    last = query.date_to or now.astimezone(tz).date()
    if query.period == "day":
        return _midnight(last - timedelta(days=query.periods - 1), tz), _midnight(
            last + timedelta(days=1), tz
        )
    if query.period == "week":
        monday = last - timedelta(days=last.weekday())
        return (
            _midnight(monday - timedelta(weeks=query.periods - 1), tz),
            _midnight(monday + timedelta(weeks=1), tz),
        )
    first = last.replace(day=1)
    months = first.year * 12 + first.month - 1 - (query.periods - 1)
    after = first.year * 12 + first.month
    return (
        _midnight(date(months // 12, months % 12 + 1, 1), tz),
        _midnight(date(after // 12, after % 12 + 1, 1), tz),
    )


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, datetime.min.time(), tz).astimezone(UTC)


def _top_values(
    query: RetentionQuery,
    sizes: dict[tuple[int, str], int],
    counts: dict[tuple[int, str], dict[int, int]],
) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], dict[int, int]]]:
    """Keep the ``limit`` values with the largest cohorts; add the rest up as ``$other``."""
    if query.breakdown is None:
        return sizes, counts
    totals: dict[str, int] = defaultdict(int)
    for (_, value), size in sizes.items():
        totals[value] += size
    kept = set(sorted(totals, key=lambda v: (-totals[v], v))[: query.breakdown.limit])
    merged_sizes: dict[tuple[int, str], int] = defaultdict(int)
    merged_counts: dict[tuple[int, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for (number, value), size in sizes.items():
        merged_sizes[(number, value if value in kept else OTHER)] += size
    for (number, value), found in counts.items():
        target = merged_counts[(number, value if value in kept else OTHER)]
        for period, n in found.items():
            target[period] += n
    return merged_sizes, merged_counts


def _mean(cohorts: list[RetentionCohort], width: int) -> list[float | None]:
    found: list[float | None] = []
    for offset in range(width):
        counted = [c for c in cohorts if c.size and c.values[offset] is not None]
        persons = sum(c.size for c in counted)
        found.append(sum(c.values[offset] or 0 for c in counted) / persons if persons else None)
    return found
