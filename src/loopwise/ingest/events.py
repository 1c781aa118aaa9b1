"""The events API for debugging and scripts: newest first, filtered, cursor-paginated.

Events are read from the warehouse with ``person_id`` resolved through the person override
map, so each event names the person it belongs to now. A page cursor is the position of
the page's last event, ``(timestamp, uuid)``: the next page starts strictly after it, so
pages never skip or repeat an event even when many share a timestamp.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel

from loopwise.core.errors import InvalidInput
from loopwise.warehouse import Warehouse, dialect_for

MAX_PAGE = 1000


class StoredEvent(BaseModel):
    uuid: str
    event: str
    distinct_id: str
    person_id: str
    timestamp: datetime
    received_at: datetime
    session_id: str
    properties: dict[str, Any]


class EventPage(BaseModel):
    events: list[StoredEvent]
    next_cursor: str | None


@dataclass(frozen=True)
class EventFilter:
    event: str | None = None
    distinct_id: str | None = None
    after: datetime | None = None
    before: datetime | None = None

    def where(self, params: dict[str, Any]) -> str:
        """SQL conditions over ``events`` (values go into ``params``)."""
        parts = ["project_id = {project_id}"]
        for name in ("event", "distinct_id"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name} = {{f_{name}}}")
                params[f"f_{name}"] = value
        if self.after is not None:
            parts.append("timestamp >= {f_after}")
            params["f_after"] = _aware(self.after, "after")
        if self.before is not None:
            parts.append("timestamp < {f_before}")
            params["f_before"] = _aware(self.before, "before")
        return " AND ".join(parts)


def _aware(moment: datetime, field: str) -> datetime:
    if moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def encode_cursor(timestamp: datetime, uuid: str) -> str:
    raw = f"{timestamp.isoformat()}|{uuid}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, uuid = raw.partition("|")
        parsed = datetime.fromisoformat(moment)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor", "is not a cursor this API returned") from None
    if parsed.tzinfo is None or not uuid:
        raise InvalidInput("cursor", "is not a cursor this API returned")
    return parsed, uuid


def list_events(
    warehouse: Warehouse,
    project_id: int,
    filters: EventFilter,
    *,
    limit: int = 100,
    cursor: str | None = None,
) -> EventPage:
    """One page of a project's events, newest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", f"must be between 1 and {MAX_PAGE}, got {limit}")
    d = dialect_for(warehouse.dialect)
    params: dict[str, Any] = {"project_id": project_id, "limit": limit + 1}
    where = filters.where(params)
    if cursor:
        params["c_time"], params["c_uuid"] = decode_cursor(cursor)
        where += " AND (timestamp < {c_time} OR (timestamp = {c_time} AND uuid < {c_uuid}))"
    sql = f"""
        SELECT uuid, event, distinct_id, person_id, timestamp, received_at, session_id, properties
        FROM {d.events_with_persons(where)} AS ev
        ORDER BY timestamp DESC, uuid DESC
        LIMIT {{limit}}
    """
    rows = warehouse.query(sql, params, max_rows=limit + 1).table.to_pylist()
    events = [
        StoredEvent(**{**row, "properties": orjson.loads(row["properties"] or "{}")})
        for row in rows[:limit]
    ]
    more = len(rows) > limit
    next_cursor = encode_cursor(events[-1].timestamp, events[-1].uuid) if more else None
    return EventPage(events=events, next_cursor=next_cursor)


def count_events(warehouse: Warehouse, project_id: int, filters: EventFilter) -> int:
    d = dialect_for(warehouse.dialect)
    params: dict[str, Any] = {"project_id": project_id}
    sql = f"SELECT {d.count_rows()} AS n FROM events WHERE {filters.where(params)}"
    return int(warehouse.query(sql, params).table.column("n")[0].as_py())
