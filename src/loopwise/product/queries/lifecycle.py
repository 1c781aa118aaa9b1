"""Lifecycle: per interval, who was active and why (new, returning, resurrecting), and who
stopped (dormant); definitions in docs/metrics/product.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from loopwise.product.contracts import (
    LifecyclePersonsQuery,
    LifecycleQuery,
    LifecycleResult,
    PersonList,
)
from loopwise.product.filters import conditions
from loopwise.product.queries.cohorts import cohort_source
from loopwise.product.queries.periods import bucket_index, buckets, query_window
from loopwise.product.queries.persons import persons_page
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import has_person_overrides

STATUSES = ("new", "returning", "resurrecting", "dormant")


@dataclass(frozen=True)
class _Plan:
    zone: str
    slots: list[datetime]  # the interval before the range, then the range's intervals
    statuses: str  # SQL: person_id, bucket, status
    params: dict[str, Any]
    start: datetime
    end: datetime


def run_lifecycle(
    warehouse: Warehouse,
    project_id: int,
    query: LifecycleQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> LifecycleResult:
    plan = _plan(warehouse, project_id, query, timezone, now)
    shown = len(plan.slots) - 1
    counts = {status: [0] * shown for status in STATUSES}
    sql = f"""
        SELECT bucket, status, {dialect_for(warehouse.dialect).count_rows()} AS n
        FROM ({plan.statuses}) AS s GROUP BY bucket, status
    """
    for row in warehouse.query(sql, plan.params).table.to_pylist():
        slot = int(row["bucket"]) - 1
        if 0 <= slot < shown:
            counts[row["status"]][slot] = int(row["n"])
    return LifecycleResult(
        timezone=plan.zone,
        interval=query.interval,
        buckets=plan.slots[1:],
        new=counts["new"],
        returning=counts["returning"],
        resurrecting=counts["resurrecting"],
        dormant=[-n for n in counts["dormant"]],
        query=query.model_dump(mode="json"),
    )


def lifecycle_persons(
    warehouse: Warehouse,
    project_id: int,
    request: LifecyclePersonsQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> PersonList:
    plan = _plan(warehouse, project_id, request.query, timezone, now)
    moment = request.bucket.astimezone(UTC)
    if moment not in plan.slots[1:]:
        return PersonList(persons=[], has_more=False)
    params = {**plan.params, "bucket": plan.slots.index(moment), "status": request.status}
    chosen = "bucket = {bucket} AND status = {status}"
    sql = f"SELECT person_id FROM ({plan.statuses}) AS s WHERE {chosen}"
    return persons_page(
        warehouse, project_id, sql, params, request.limit, request.offset, (plan.start, plan.end)
    )


def _plan(
    warehouse: Warehouse,
    project_id: int,
    query: LifecycleQuery,
    timezone: str,
    now: datetime | None,
) -> _Plan:
    zone, start, end = query_window(query.date_range, timezone, now)
    shown = buckets(start, end, query.interval, zone)
    earlier = buckets(_before(shown[0], query.interval), shown[0], query.interval, zone)
    slots = [earlier[-1], *shown]
    d = dialect_for(warehouse.dialect)
    params: dict[str, Any] = {"p": project_id, "end": end, "from": slots[0]}
    where = ["project_id = {p}", "timestamp < {end}"]
    if query.activity.event is not None:
        params["event"] = query.activity.event
        where.append("event = {event}")
    where += conditions(d, query.activity.filters, params, "af")
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
    bucket = bucket_index(d, "timestamp", query.interval, zone, slots, params, "lb")
    first = bucket_index(d, "first_seen", query.interval, zone, slots, params, "lf")
    last = len(slots) - 1
    # active: (person, bucket) from the interval before the range on; firsts: when each
    # person was first active ever (-1: before that interval).
    statuses = f"""
        SELECT a.person_id AS person_id, a.bucket AS bucket,
               CASE WHEN f.first_bucket = a.bucket THEN 'new'
                    WHEN b.person_id IS NOT NULL AND b.person_id != '' THEN 'returning'
                    ELSE 'resurrecting' END AS status
        FROM active AS a
        JOIN firsts AS f ON f.person_id = a.person_id
        LEFT JOIN active AS b ON b.person_id = a.person_id AND b.bucket = a.bucket - 1
        WHERE a.bucket >= 1
        UNION ALL
        SELECT a.person_id AS person_id, a.bucket + 1 AS bucket, 'dormant' AS status
        FROM active AS a
        LEFT JOIN active AS c ON c.person_id = a.person_id AND c.bucket = a.bucket + 1
        WHERE a.bucket < {last} AND (c.person_id IS NULL OR c.person_id = '')
    """
    keep = "MATERIALIZED" if warehouse.materialized_ctes else ""
    with_ctes = f"""
        WITH active AS {keep} (
            SELECT DISTINCT person_id, {bucket} AS bucket FROM {source} AS ev
            WHERE timestamp >= {{from}}
        ),
        firsts AS (
            SELECT person_id,
                   CASE WHEN first_seen < {{from}} THEN -1 ELSE {first} END AS first_bucket
            FROM (SELECT person_id, min(timestamp) AS first_seen FROM {source} AS ev2
                  GROUP BY person_id) AS f0
        )
        SELECT person_id, bucket, status FROM ({statuses}) AS st
    """
    return _Plan(zone, slots, with_ctes, params, start, end)


def _before(first: datetime, interval: str) -> datetime:
    """A moment inside the interval just before the one starting at ``first``."""
    return first - (timedelta(hours=1) if interval == "hour" else timedelta(days=1))
