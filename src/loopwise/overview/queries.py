"""The overview's warehouse queries, each written once for DuckDB and ClickHouse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.buckets import bucket_index


@dataclass(frozen=True)
class Scope:
    project_id: int
    start: datetime
    end: datetime
    timezone: str
    # False when the project has no merged persons to resolve (the join is skipped).
    merged: bool = True

    def params(self) -> dict[str, object]:
        return {"project_id": self.project_id, "start": self.start, "end": self.end}


IN_SCOPE = "project_id = {project_id} AND timestamp >= {start} AND timestamp < {end}"


def totals(warehouse: Warehouse, scope: Scope, previous_start: datetime) -> dict[str, int]:
    """Headline counts for the period and for the one before it, in one scan.

    Keys: ``events``, ``persons``, ``pageviews``, each also with a ``previous_`` prefix.
    """
    d = dialect_for(warehouse.dialect)
    now, before = "timestamp >= {start}", "timestamp < {start}"
    pageview = "event = '$pageview'"
    window = "project_id = {project_id} AND timestamp >= {previous_start} AND timestamp < {end}"
    source = d.events_with_persons(window, merged=scope.merged)
    # Per person first, then totals: exact distinct counts without a count(DISTINCT).
    sql = f"""
        SELECT CAST(sum(e_now) AS BIGINT) AS events,
               {d.count_rows("e_now > 0")} AS persons,
               CAST(sum(pv_now) AS BIGINT) AS pageviews,
               CAST(sum(e_before) AS BIGINT) AS previous_events,
               {d.count_rows("e_before > 0")} AS previous_persons,
               CAST(sum(pv_before) AS BIGINT) AS previous_pageviews
        FROM (
            SELECT person_id,
                   {d.count_rows(now)} AS e_now,
                   {d.count_rows(f"{now} AND {pageview}")} AS pv_now,
                   {d.count_rows(before)} AS e_before,
                   {d.count_rows(f"{before} AND {pageview}")} AS pv_before
            FROM {source} AS ev
            GROUP BY person_id
        ) AS per_person
    """
    params = {**scope.params(), "previous_start": previous_start}
    row = warehouse.query(sql, params).table.to_pylist()[0]
    return {k: int(v or 0) for k, v in row.items()}


def daily(warehouse: Warehouse, scope: Scope) -> dict[date, tuple[int, int]]:
    d = dialect_for(warehouse.dialect)
    zone = ZoneInfo(scope.timezone)
    days = _local_days(scope.start, scope.end, zone)
    params = {**scope.params()}
    day = bucket_index(
        d, "timestamp", "day", scope.timezone,
        [datetime.combine(x, time(), zone).astimezone(UTC) for x in days], params, "dy",
    )  # fmt: skip
    # Two-phase: rows per (day, person) first, then count them. Both engines run this
    # faster than a count(DISTINCT) per group, and it is exact. Days are numbered by epoch
    # arithmetic: no per-row time-zone conversion.
    sql = f"""
        SELECT day, CAST(sum(n) AS BIGINT) AS events, {d.count_rows()} AS persons
        FROM (
            SELECT {day} AS day, person_id, {d.count_rows()} AS n
            FROM {d.events_with_persons(IN_SCOPE, merged=scope.merged)} AS ev
            GROUP BY day, person_id
        ) AS per_person
        GROUP BY day ORDER BY day
    """
    rows = warehouse.query(sql, params).table.to_pylist()
    return {days[r["day"]]: (int(r["events"]), int(r["persons"])) for r in rows}


def _local_days(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    """The local calendar days that [start, end) touches."""
    first, last = (
        start.astimezone(zone).date(),
        (end - timedelta(microseconds=1)).astimezone(zone).date(),
    )
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _ranked(
    warehouse: Warehouse, scope: Scope, label: str, where: str, limit: int
) -> list[tuple[str, int, int]]:
    d = dialect_for(warehouse.dialect)
    sql = f"""
        SELECT name, CAST(sum(n) AS BIGINT) AS hits, {d.count_rows()} AS persons
        FROM (
            SELECT {label} AS name, person_id, {d.count_rows()} AS n
            FROM {d.events_with_persons(f"{IN_SCOPE} AND {where}", merged=scope.merged)} AS ev
            GROUP BY name, person_id
        ) AS per_person
        GROUP BY name ORDER BY hits DESC, name LIMIT {{limit}}
    """
    rows = warehouse.query(sql, {**scope.params(), "limit": limit}).table.to_pylist()
    return [(r["name"], int(r["hits"]), int(r["persons"])) for r in rows]


def top_events(warehouse: Warehouse, scope: Scope, limit: int) -> list[tuple[str, int, int]]:
    return _ranked(warehouse, scope, "event", "1 = 1", limit)


def top_pages(warehouse: Warehouse, scope: Scope, limit: int) -> list[tuple[str, int, int]]:
    return _ranked(warehouse, scope, "pathname", "event = '$pageview' AND pathname != ''", limit)


SOURCE = (
    "CASE WHEN utm_source != '' THEN utm_source "
    "WHEN referrer != '' THEN '(referral)' ELSE '(direct)' END"
)


@dataclass(frozen=True)
class Newcomers:
    """People first seen in the period (and in the one before), and where they came from."""

    count: int
    previous_count: int
    sources: list[tuple[str, int]]


def newcomers(
    warehouse: Warehouse, scope: Scope, previous_start: datetime, limit: int
) -> Newcomers:
    """First-touch view of new people, from one pass over each person's first event.

    A person's source is their first event's UTM source, else ``(referral)`` when it had a
    referrer, else ``(direct)``: first-touch attribution.
    """
    d = dialect_for(warehouse.dialect)
    now = "first_seen >= {start}"
    source = d.events_with_persons(
        "project_id = {project_id} AND timestamp < {end}", merged=scope.merged
    )
    sql = f"""
        SELECT source, {d.count_rows(now)} AS persons,
               {d.count_rows("first_seen < {start}")} AS previous_persons
        FROM (
            SELECT person_id, argMin({SOURCE}, timestamp) AS source, min(timestamp) AS first_seen
            FROM {source} AS ev
            GROUP BY person_id
        ) AS firsts
        WHERE first_seen >= {{previous_start}}
        GROUP BY source ORDER BY persons DESC, source
    """
    params = {**scope.params(), "previous_start": previous_start}
    rows = warehouse.query(sql, params).table.to_pylist()
    ranked = [(r["source"], int(r["persons"])) for r in rows if r["persons"]]
    return Newcomers(
        count=sum(int(r["persons"]) for r in rows),
        previous_count=sum(int(r["previous_persons"]) for r in rows),
        sources=ranked[:limit],
    )
