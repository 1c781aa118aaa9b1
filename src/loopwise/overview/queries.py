"""The overview's warehouse queries, each written once for DuckDB and ClickHouse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from loopwise.warehouse import Warehouse, dialect_for


@dataclass(frozen=True)
class Scope:
    project_id: int
    start: datetime
    end: datetime
    timezone: str

    def params(self) -> dict[str, object]:
        return {"project_id": self.project_id, "start": self.start, "end": self.end}


IN_SCOPE = "project_id = {project_id} AND timestamp >= {start} AND timestamp < {end}"


def totals(warehouse: Warehouse, scope: Scope) -> dict[str, int]:
    d = dialect_for(warehouse.dialect)
    sql = f"""
        SELECT {d.count_rows()} AS events,
               {d.count_distinct("person_id")} AS persons,
               {d.count_distinct("CASE WHEN event = '$pageview' THEN uuid END")} AS pageviews
        FROM events WHERE {IN_SCOPE}
    """
    row = warehouse.query(sql, scope.params()).table.to_pylist()[0]
    new_sql = f"""
        SELECT {d.count_rows()} AS new_persons FROM (
            SELECT person_id, min(timestamp) AS first_seen
            FROM events WHERE project_id = {{project_id}} AND timestamp < {{end}}
            GROUP BY person_id
        ) AS firsts WHERE first_seen >= {{start}}
    """
    new = warehouse.query(new_sql, scope.params()).table.to_pylist()[0]
    return {k: int(v or 0) for k, v in {**row, **new}.items()}


def daily(warehouse: Warehouse, scope: Scope) -> dict[date, tuple[int, int]]:
    d = dialect_for(warehouse.dialect)
    sql = f"""
        SELECT {d.local_date("timestamp", "tz")} AS day,
               {d.count_rows()} AS events,
               {d.count_distinct("person_id")} AS persons
        FROM events WHERE {IN_SCOPE}
        GROUP BY day ORDER BY day
    """
    rows = warehouse.query(sql, {**scope.params(), "tz": scope.timezone}).table.to_pylist()
    return {r["day"]: (int(r["events"]), int(r["persons"])) for r in rows}


def _ranked(
    warehouse: Warehouse, scope: Scope, label: str, where: str, limit: int
) -> list[tuple[str, int, int]]:
    d = dialect_for(warehouse.dialect)
    sql = f"""
        SELECT {label} AS name, {d.count_rows()} AS hits, {d.count_distinct("person_id")} AS persons
        FROM events WHERE {IN_SCOPE} AND {where}
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


def sources(warehouse: Warehouse, scope: Scope, limit: int) -> list[tuple[str, int, int]]:
    """New people in the period by where their first event came from.

    The source is the first event's UTM source, else ``(referral)`` when it had a referrer,
    else ``(direct)``: first-touch attribution, as the acquisition reports will define it.
    """
    d = dialect_for(warehouse.dialect)
    sql = f"""
        SELECT source AS name, {d.count_rows()} AS persons FROM (
            SELECT person_id, argMin({SOURCE}, timestamp) AS source, min(timestamp) AS first_seen
            FROM events WHERE project_id = {{project_id}} AND timestamp < {{end}}
            GROUP BY person_id
        ) AS firsts WHERE first_seen >= {{start}}
        GROUP BY name ORDER BY persons DESC, name LIMIT {{limit}}
    """
    rows = warehouse.query(sql, {**scope.params(), "limit": limit}).table.to_pylist()
    return [(r["name"], int(r["persons"]), int(r["persons"])) for r in rows]
