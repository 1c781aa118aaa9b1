"""The live view of what is arriving: newest events by the time they were received."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from loopwise.warehouse import Warehouse

_COLUMNS = "uuid, event, distinct_id, timestamp, received_at, current_url, properties"
# How far back the page looks when it first opens; older events are for the dashboards.
WINDOW = timedelta(days=7)
PROPERTY_PREVIEW = 6


class LiveEvent(BaseModel):
    uuid: str
    event: str
    distinct_id: str
    timestamp: datetime
    received_at: datetime
    current_url: str
    properties: dict[str, Any]

    @property
    def preview(self) -> str:
        """A short, readable summary of the custom properties."""
        shown = [(k, v) for k, v in self.properties.items() if not k.startswith("$")]
        return ", ".join(f"{k}={v}" for k, v in shown[:PROPERTY_PREVIEW])


def _rows(warehouse: Warehouse, where: str, params: dict[str, Any], limit: int) -> list[LiveEvent]:
    sql = (
        f"SELECT {_COLUMNS} FROM events WHERE project_id = {{project_id}} AND {where} "
        "ORDER BY received_at DESC, timestamp DESC, uuid LIMIT {limit}"
    )
    table = warehouse.query(sql, {**params, "limit": limit}, timeout_s=10).table
    return [
        LiveEvent(**{**row, "properties": json.loads(row["properties"] or "{}")})
        for row in table.to_pylist()
    ]


def recent_events(warehouse: Warehouse, project_id: int, limit: int = 50) -> list[LiveEvent]:
    since = datetime.now(UTC) - WINDOW
    return _rows(
        warehouse, "received_at >= {since}", {"project_id": project_id, "since": since}, limit
    )


def events_after(warehouse: Warehouse, project_id: int, cursor: datetime) -> list[LiveEvent]:
    params = {"project_id": project_id, "cursor": cursor}
    return _rows(warehouse, "received_at > {cursor}", params, 200)


def parse_cursor(value: str) -> datetime:
    """The stream's start point: an ISO time from the page, else now."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
