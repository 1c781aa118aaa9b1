"""The live view of what is arriving: events in the order they were received.

A position in the feed is a cursor ``(received_at, uuid)``: events received at the same
microsecond are ordered by uuid, so paging never skips or repeats one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from loopwise.warehouse import Warehouse

_COLUMNS = "uuid, event, distinct_id, timestamp, received_at, current_url, properties"
# How far back the page looks when it first opens; older events are for the dashboards.
WINDOW = timedelta(days=7)
PROPERTY_PREVIEW = 6
PAGE = 200


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
        """A short summary of the custom properties, values written as JSON (as the page's
        script writes streamed events)."""
        shown = [(k, v) for k, v in self.properties.items() if not k.startswith("$")]
        return ", ".join(
            f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in shown[:PROPERTY_PREVIEW]
        )


@dataclass(frozen=True)
class Cursor:
    received_at: datetime
    uuid: str = ""

    def encode(self) -> str:
        return f"{self.received_at.isoformat()}|{self.uuid}"

    @classmethod
    def decode(cls, value: str | None) -> Cursor:
        """A cursor from the page or an SSE ``Last-Event-ID``; anything unreadable means now."""
        moment, _, uuid = (value or "").partition("|")
        try:
            parsed = datetime.fromisoformat(moment)
        except ValueError:
            return cls(datetime.now(UTC))
        return cls(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC), uuid[:64])

    @classmethod
    def after(cls, event: LiveEvent) -> Cursor:
        return cls(event.received_at, event.uuid)


def _rows(warehouse: Warehouse, sql: str, params: dict[str, Any]) -> list[LiveEvent]:
    table = warehouse.query(sql, params, timeout_s=10).table
    return [
        LiveEvent(**{**row, "properties": json.loads(row["properties"] or "{}")})
        for row in table.to_pylist()
    ]


def recent_events(warehouse: Warehouse, project_id: int, limit: int = 50) -> list[LiveEvent]:
    """The newest events received in the last week, newest first.

    Events received in one batch share ``received_at``; among them, the latest happened
    first in the list.
    """
    sql = (
        f"SELECT {_COLUMNS} FROM events WHERE project_id = {{project_id}} "
        "AND received_at >= {since} "
        "ORDER BY received_at DESC, timestamp DESC, uuid DESC LIMIT {limit}"
    )
    since = datetime.now(UTC) - WINDOW
    return _rows(warehouse, sql, {"project_id": project_id, "since": since, "limit": limit})


def latest_cursor(warehouse: Warehouse, project_id: int) -> Cursor:
    """The feed position just after the last event received: where a live stream starts."""
    sql = (
        "SELECT received_at, uuid FROM events WHERE project_id = {project_id} "
        "AND received_at >= {since} ORDER BY received_at DESC, uuid DESC LIMIT 1"
    )
    since = datetime.now(UTC) - WINDOW
    rows = warehouse.query(sql, {"project_id": project_id, "since": since}).table.to_pylist()
    return Cursor(rows[0]["received_at"], rows[0]["uuid"]) if rows else Cursor(datetime.now(UTC))


def events_after(warehouse: Warehouse, project_id: int, cursor: Cursor) -> list[LiveEvent]:
    """Up to ``PAGE`` events received after the cursor, oldest first."""
    sql = (
        f"SELECT {_COLUMNS} FROM events WHERE project_id = {{project_id}} "
        "AND (received_at > {at} OR (received_at = {at} AND uuid > {uuid})) "
        "ORDER BY received_at, uuid LIMIT {limit}"
    )
    params = {
        "project_id": project_id, "at": cursor.received_at, "uuid": cursor.uuid, "limit": PAGE,
    }  # fmt: skip
    return _rows(warehouse, sql, params)
