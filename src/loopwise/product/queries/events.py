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
