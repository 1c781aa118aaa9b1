"""Which events a project has: the names offered when building a query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loopwise.warehouse import Warehouse, dialect_for

LOOKBACK = timedelta(days=90)


def top_event_names(warehouse: Warehouse, project_id: int, limit: int) -> list[str]:
    d = dialect_for(warehouse.dialect)
    sql = f"""
        SELECT event, {d.count_rows()} AS n FROM events
        WHERE project_id = {{p}} AND timestamp >= {{since}}
        GROUP BY event ORDER BY n DESC, event LIMIT {{limit}}
    """
    since = datetime.now(UTC) - LOOKBACK
    rows = warehouse.query(sql, {"p": project_id, "since": since, "limit": limit}).table
    return [str(name) for name in rows.column("event").to_pylist()]


def data_watermark(warehouse: Warehouse, project_id: int) -> str:
    """Changes whenever the project's events or person merges change: the number of
    events, the latest receipt time, and the number of merge rows."""
    sql = """
        SELECT (SELECT CAST(count(*) AS BIGINT) FROM events WHERE project_id = {p}) AS n,
               (SELECT max(received_at) FROM events WHERE project_id = {p}) AS last,
               (SELECT CAST(count(*) AS BIGINT) FROM person_overrides WHERE project_id = {p})
                   AS merges
    """
    row = warehouse.query(sql, {"p": project_id}, max_rows=1).table.to_pylist()[0]
    last = row["last"].isoformat() if row["last"] is not None else "-"
    return f"{row['n']}:{last}:{row['merges']}"
