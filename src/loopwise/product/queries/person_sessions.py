"""One person's visits to the product over a time range, for the person page's timeline:
their sessions (when, how long, how many events, which ones most) and each ``$exception``
they hit; also their latest raw events and how many days they were active.

Each question is one statement, merged ids included, after a lookup of the person's ids
in the override map (a handful of rows): their own id and the ids merged into them.
Events carrying those ids are theirs, so the statement filters on them directly, one
equality scan per id, and needs no join with the override map (the join, and a list test
the engine cannot push into its scan, cost several times the scan itself); a person
merged into someone else has no events of their own. The statement groups events per
session id, and events without one per 15-minute bucket; the buckets are then joined
into sessions here, a new one starting after more than 30 minutes without an event (a
bucket never holds a gap that long, so the result is exactly that of grouping event by
event, at a fraction of the rows).

A session belongs to the range its first event falls in, so paging backwards through time
(the next range ends where the previous one started) shows every session once and whole:
events up to a day before and after the range are read to complete the sessions at its
edges (a session is at most a day long).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from loopwise.product.queries.person_activity import EXCEPTION, error_text
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import Dialect

SESSION_GAP = timedelta(minutes=30)  # inactivity that ends a session without a session id
SESSION_SPAN = timedelta(days=1)  # the longest session; events this far around are read
BUCKET = timedelta(minutes=15)  # shorter than the gap, so a bucket is never split
TOP_EVENTS = 3
MAX_ERRORS = 200  # errors per range (the newest); a broken client may send thousands
MAX_ROWS = 200_000
RECENT_DAYS = 30  # how far back the latest raw events are looked for
K = TypeVar("K", str, int)
UNION_IDS = 4  # ids read by one equality scan each; more by a list test


@dataclass(frozen=True)
class ProductSession:
    """One visit: a session id's events, or events without one close together in time."""

    start: datetime  # the first event
    end: datetime  # the last event
    events: int
    errors: int  # of those, ``$exception`` events
    top_events: tuple[tuple[str, int], ...]  # the most frequent, (name, count)
    session_id: str  # "" when grouped by inactivity

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class ProductError:
    """One ``$exception`` event: its type, message and where it happened."""

    at: datetime
    text: str  # "Type: message on place", as the activity card shows errors
    kind: str
    message: str
    place: str
    session_id: str


@dataclass(frozen=True)
class RawEvent:
    at: datetime
    event: str
    distinct_id: str
    properties: dict[str, Any]


def _ids(
    warehouse: Warehouse, project_id: int, person_id: str, merged: Sequence[str] | None
) -> list[str]:
    """The person ids the person's events carry: their own and those merged into them
    (``merged``, when the caller knows them from the identity service, else read from the
    override map); none when they were merged into someone else (their events are the
    survivor's)."""
    if merged is not None:
        return [person_id, *sorted(set(merged) - {person_id})]
    sql = """
        SELECT old_person_id, override_person_id FROM person_overrides
        WHERE project_id = {p} AND (override_person_id = {person} OR old_person_id = {person})
    """
    rows = warehouse.query(sql, {"p": project_id, "person": person_id}).table.to_pylist()
    if any(r["old_person_id"] == person_id and r["override_person_id"] not in ("", person_id)
           for r in rows):  # fmt: skip
        return []
    merged_in = {str(r["old_person_id"]) for r in rows if r["override_person_id"] == person_id}
    return [person_id, *sorted(merged_in - {person_id})]


def _source(d: Dialect, ids: list[str], where: str) -> str:
    """The person's events matching ``where`` (bind ``_bound(ids)``). A few ids are read
    as one equality scan each: the engine tests the person id first and reads the other
    columns only where it matches."""
    if len(ids) > UNION_IDS:
        mine = d.in_array("person_id", "ids")
        return f"(SELECT * FROM events WHERE project_id = {{p}} AND {mine} AND {where})"
    scans = [
        f"SELECT * FROM events WHERE project_id = {{p}} AND person_id = {{id{n}}} AND {where}"
        for n in range(len(ids))
    ]
    return "(" + " UNION ALL ".join(scans) + ")"


def _bound(ids: list[str]) -> dict[str, Any]:
    return {"ids": ids, **{f"id{n}": person for n, person in enumerate(ids)}}


def person_sessions(
    warehouse: Warehouse,
    project_id: int,
    person_id: str,
    start: datetime,
    end: datetime,
    *,
    horizon: datetime | None = None,
    merged: Sequence[str] | None = None,
) -> list[ProductSession | ProductError]:
    """Sessions that started in [start, end) and errors in [start, end), newest first;
    events at or after ``horizon`` (the present, for the first page) are never read."""
    d = dialect_for(warehouse.dialect)
    ids = _ids(warehouse, project_id, person_id, merged)
    if not ids:
        return []
    read_end = end + SESSION_SPAN if horizon is None else min(end + SESSION_SPAN, horizon)
    params: dict[str, Any] = {
        "p": project_id, "person": person_id, **_bound(ids), "from": start - SESSION_SPAN,
        "to": max(read_end, end), "start": start, "end": end, "exception": EXCEPTION,
    }  # fmt: skip
    rows = _read(warehouse, d, ids, params)
    sessions = [s for s in _sessions(rows) if start <= s.start < end]
    errors = [_error(r) for r in rows if r["part"] == "error"]
    found: list[ProductSession | ProductError] = [*sessions, *errors]
    return sorted(found, key=_order)


def _order(item: ProductSession | ProductError) -> tuple[float, int, str]:
    if isinstance(item, ProductSession):
        return (-item.start.timestamp(), 0, item.session_id)
    return (-item.at.timestamp(), 1, item.text)


def _read(
    warehouse: Warehouse, d: Dialect, ids: list[str], params: dict[str, Any]
) -> list[dict[str, Any]]:
    """Counts per (session id or time bucket, event) over the read range, and the range's
    newest errors with their properties (read apart, so that the wide properties column
    is read for errors only)."""
    bucket = d.int_div(d.epoch_micros("timestamp"), int(BUCKET.total_seconds() * 1_000_000))
    errors = "timestamp >= {start} AND timestamp < {end} AND event = {exception}"
    sql = f"""
        SELECT 'group' AS part, session_id,
               CASE WHEN session_id = '' THEN {bucket} ELSE CAST(0 AS BIGINT) END AS bucket,
               event, min(timestamp) AS first_at, max(timestamp) AS last_at,
               {d.count_rows()} AS n, '' AS props
        FROM {_source(d, ids, "timestamp >= {from} AND timestamp < {to}")} AS ev
        GROUP BY session_id, bucket, event
        UNION ALL
        SELECT * FROM (
            SELECT 'error' AS part, session_id, CAST(0 AS BIGINT) AS bucket, event,
                   timestamp AS first_at, timestamp AS last_at, CAST(1 AS BIGINT) AS n,
                   properties AS props
            FROM {_source(d, ids, errors)} AS ev
            ORDER BY first_at DESC, props DESC LIMIT {MAX_ERRORS}
        ) AS errors
    """
    found: list[dict[str, Any]] = warehouse.query(sql, params, max_rows=MAX_ROWS).table.to_pylist()
    return found


@dataclass
class _Visit:
    first: datetime
    last: datetime
    counts: Counter[str]
    session_id: str

    def add(self, first: datetime, last: datetime, counts: Counter[str]) -> None:
        self.first, self.last = min(self.first, first), max(self.last, last)
        self.counts.update(counts)


def _sessions(rows: list[dict[str, Any]]) -> list[ProductSession]:
    by_id: dict[str, _Visit] = {}
    buckets: dict[int, _Visit] = {}
    for row in rows:
        if row["part"] != "group":
            continue
        sid = str(row["session_id"])
        if sid:
            _count(by_id, sid, row)
        else:
            _count(buckets, int(row["bucket"]), row)
    visits = list(by_id.values()) + _joined(sorted(buckets.values(), key=lambda v: v.first))
    return [_session(v) for v in visits]


def _count(held: dict[K, _Visit], key: K, row: dict[str, Any]) -> None:
    counts = Counter({str(row["event"]): int(row["n"])})
    if key in held:
        held[key].add(row["first_at"], row["last_at"], counts)
    else:
        held[key] = _Visit(row["first_at"], row["last_at"], counts, str(row["session_id"]))


def _joined(buckets: list[_Visit]) -> list[_Visit]:
    """Time buckets (in time order) joined into visits: a gap of more than SESSION_GAP
    between one bucket's last event and the next one's first starts a new visit."""
    visits: list[_Visit] = []
    for bucket in buckets:
        if visits and bucket.first - visits[-1].last <= SESSION_GAP:
            visits[-1].add(bucket.first, bucket.last, bucket.counts)
        else:
            visits.append(_Visit(bucket.first, bucket.last, Counter(bucket.counts), ""))
    return visits


def _session(visit: _Visit) -> ProductSession:
    top = sorted(visit.counts.items(), key=lambda c: (-c[1], c[0]))[:TOP_EVENTS]
    return ProductSession(
        start=visit.first, end=visit.last, events=sum(visit.counts.values()),
        errors=visit.counts.get(EXCEPTION, 0), top_events=tuple(top),
        session_id=visit.session_id,
    )  # fmt: skip


def _error(row: dict[str, Any]) -> ProductError:
    kind, message, place = error_parts(str(row["props"]))
    return ProductError(
        at=row["first_at"], text=error_text(str(row["props"])), kind=kind, message=message,
        place=place, session_id=str(row["session_id"]),
    )  # fmt: skip


def error_parts(properties: str) -> tuple[str, str, str]:
    """An ``$exception`` event's type, message (first line) and place, read from the same
    properties as ``person_activity.error_text``; "" for what is missing."""
    props = _object(properties)
    listed = props.get("$exception_list")
    first = listed[0] if isinstance(listed, list) and listed else None
    first = first if isinstance(first, dict) else {}
    kind = _text(first.get("type")) or _text(props.get("$exception_type"))
    message = _text(first.get("value")) or _text(props.get("$exception_message"))
    place = next((p for key in ("$current_url", "path", "$pathname")
                  if (p := _text(props.get(key)))), "")  # fmt: skip
    return kind[:200], message.strip().split("\n", 1)[0][:200], place[:200]


def _object(text: str) -> dict[str, Any]:
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def active_days(
    warehouse: Warehouse, project_id: int, person_id: str, start: datetime, end: datetime,
    timezone: str, *, merged: Sequence[str] | None = None,
) -> int:  # fmt: skip
    """The calendar days (in ``timezone``) in [start, end) on which the person had events."""
    d = dialect_for(warehouse.dialect)
    ids = _ids(warehouse, project_id, person_id, merged)
    if not ids:
        return 0
    sql = f"""
        SELECT {d.count_distinct(d.local_date("timestamp", "tz"))} AS days
        FROM {_source(d, ids, "timestamp >= {start} AND timestamp < {end}")} AS ev
    """
    params = {"p": project_id, "person": person_id, **_bound(ids), "start": start,
              "end": end, "tz": timezone}  # fmt: skip
    rows = warehouse.query(sql, params, max_rows=1).table.to_pylist()
    return int(rows[0]["days"]) if rows else 0


def recent_events(
    warehouse: Warehouse, project_id: int, person_id: str, now: datetime, limit: int = 50,
    *, merged: Sequence[str] | None = None,
) -> list[RawEvent]:  # fmt: skip
    """The person's latest events up to ``now`` (within RECENT_DAYS), newest first, with
    every property: what the page's debug panel shows."""
    d = dialect_for(warehouse.dialect)
    ids = _ids(warehouse, project_id, person_id, merged)
    if not ids:
        return []
    sql = f"""
        SELECT timestamp, event, distinct_id, properties
        FROM {_source(d, ids, "timestamp >= {start} AND timestamp <= {now}")} AS ev
        ORDER BY timestamp DESC, event DESC, distinct_id DESC LIMIT {int(limit)}
    """
    params = {"p": project_id, "person": person_id, **_bound(ids), "now": now,
              "start": now - timedelta(days=RECENT_DAYS)}  # fmt: skip
    rows = warehouse.query(sql, params, max_rows=limit).table.to_pylist()
    return [
        RawEvent(r["timestamp"], str(r["event"]), str(r["distinct_id"]), _object(r["properties"]))
        for r in rows
    ]
