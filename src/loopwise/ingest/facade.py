"""Captured events as warehouse rows: the conversion every path shares, and ``capture``.

``events_to_arrow`` turns a batch into ONE Arrow table shaped exactly like
``schema.EVENTS``; the SDK endpoints log those rows and the flusher appends them, while
trusted producers (the demo simulation) call ``capture`` to append them at once. One
columnar append per batch, because warehouses load columnar batches in milliseconds and
rows one by one at a few thousand per second. The conversion is column-wise and avoids
per-event Python work wherever a whole column can be built at once.

Trusted producers also tell the identity service who their people are with
``register_people`` (``known.py``): persons, the anonymous ids merged into them and their
properties, in bulk, so that ``find_person`` finds them and queries count the events
``capture`` stamped with an anonymous id's person as the identified person's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from loopwise.core.errors import InvalidInput
from loopwise.core.textkeys import after_prefix
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.ids import new_uuid4_texts, person_id_for, uuid4_texts
from loopwise.ingest.known import KnownPerson, Registered, register_people
from loopwise.ingest.models import Person, PersonDistinctId, PersonOverride
from loopwise.ingest.persons import (
    PersonInfo,
    PersonRecord,
    list_persons,
    merged_into,
    person_by_id,
    person_projects,
    person_records,
)
from loopwise.ingest.properties import encode_properties, hot_text
from loopwise.warehouse.base import Warehouse
from loopwise.warehouse.schema import EVENTS, HOT_COLUMNS, UTC_MICROS

__all__ = [
    "CaptureEvent",
    "KnownPerson",
    "PersonInfo",
    "PersonRecord",
    "Registered",
    "capture",
    "erase_people",
    "events_to_arrow",
    "list_persons",
    "merged_into",
    "person_by_id",
    "person_projects",
    "person_records",
    "register_people",
    "uuid4_texts",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def capture(
    warehouse: Warehouse,
    project_id: int,
    events: Sequence[CaptureEvent],
    *,
    received_at: datetime | None = None,
) -> int:
    """Store a batch of events for a project; return how many rows were written.

    ``received_at`` defaults to now; producers that replay or simulate data pass their own
    so that the stored rows are reproducible.
    """
    if not events:
        return 0
    table = events_to_arrow(project_id, events, received_at or datetime.now(UTC))
    return warehouse.append("events", table)


def events_to_arrow(
    project_id: int,
    events: Sequence[CaptureEvent],
    received_at: datetime,
    *,
    person_ids: bool = True,
) -> pa.Table:
    """Build the ``events`` rows of a batch as one Arrow table matching ``schema.EVENTS``.

    Hot columns are copied out of the properties ('' when absent), ``session_id`` comes from
    the event or its ``$session_id`` property, missing event uuids are generated (uuid4) and
    ``person_id`` is each distinct id's own person (``ids.person_id_for``), or '' with
    ``person_ids=False`` when the identity service will set it (the SDK endpoints' path).
    No I/O happens here.
    """
    if project_id < 0:
        raise InvalidInput("project_id", f"must not be negative, got {project_id}")
    if received_at.utcoffset() is None:
        raise InvalidInput("received_at", "must be timezone-aware")
    stored = [
        event.properties if event.set is None and event.set_once is None else _merged(event)
        for event in events
    ]
    distinct_ids = pa.array([event.distinct_id for event in events], pa.string())
    columns: dict[str, pa.Array] = {
        "uuid": pa.array(_event_uuids(events), pa.string()),
        "project_id": pa.array(np.full(len(events), project_id, dtype=np.int64)),
        "event": pa.array([event.event for event in events], pa.string()),
        "distinct_id": distinct_ids,
        "person_id": (
            _person_ids(project_id, distinct_ids)
            if person_ids
            else pa.array([""] * len(events), pa.string())
        ),
        "timestamp": _times([event.timestamp for event in events]),
        "received_at": _constant_time(received_at, len(events)),
        "session_id": _text_column(
            [
                event.session_id if event.session_id is not None else props.get("$session_id")
                for event, props in zip(events, stored, strict=True)
            ]
        ),
        "properties": pa.array(encode_properties(stored), pa.string()),
    }
    for column, key in HOT_COLUMNS.items():
        columns[column] = _text_column([props.get(key) for props in stored])
    return pa.Table.from_arrays([columns[field.name] for field in EVENTS], schema=EVENTS)


def _merged(event: CaptureEvent) -> dict[str, Any]:
    """The properties as stored: PostHog keeps ``$set``/``$set_once`` inside them."""
    stored = dict(event.properties)
    if event.set is not None:
        stored["$set"] = event.set
    if event.set_once is not None:
        stored["$set_once"] = event.set_once
    return stored


def _event_uuids(events: Sequence[CaptureEvent]) -> list[str | None]:
    ids = [event.uuid for event in events]
    missing = [index for index, value in enumerate(ids) if value is None]
    for index, fresh in zip(missing, new_uuid4_texts(len(missing)), strict=True):
        ids[index] = fresh
    return ids


def _person_ids(project_id: int, distinct_ids: pa.Array) -> pa.Array:
    """Hash each distinct id once per batch: people send many events per batch."""
    encoded = distinct_ids.dictionary_encode()
    unique = [person_id_for(project_id, value) for value in encoded.dictionary.to_pylist()]
    return pa.array(unique, pa.string()).take(encoded.indices)


def _times(moments: list[datetime]) -> pa.Array:
    """UTC microseconds; integer arithmetic is about twice as fast as Arrow's conversion."""
    micros = [(moment - _EPOCH) // _MICROSECOND for moment in moments]
    return pa.array(micros, pa.int64()).cast(UTC_MICROS)


def _constant_time(moment: datetime, count: int) -> pa.Array:
    micros = (moment - _EPOCH) // _MICROSECOND
    return pa.array(np.full(count, micros, dtype=np.int64)).cast(UTC_MICROS)


def _text_column(values: list[Any]) -> pa.Array:
    """A never-NULL string column; the fast path assumes the values are text already."""
    try:
        column = pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([hot_text(value) for value in values], pa.string())
    return column.fill_null("") if column.null_count else column


def with_hot_columns(rows: pa.Table) -> pa.Table:
    """Rows logged before a hot column existed, given that column from their properties,
    so a write-ahead log survives an upgrade that adds one."""
    missing = [c for c in HOT_COLUMNS if c not in rows.column_names]
    if not missing:
        return rows
    stored = [json.loads(text) for text in rows.column("properties").to_pylist()]
    for column in missing:
        rows = rows.append_column(
            column, _text_column([p.get(HOT_COLUMNS[column]) for p in stored])
        )
    return rows.select([field.name for field in EVENTS])


def find_person(
    session: Session, project_id: int, *, user_id: str | None = None, email: str | None = None
) -> str | None:
    """The person behind an external user id (one of their distinct ids) or, failing
    that, an e-mail address (their ``email`` property); None when nobody, or more than one
    person, matches the address. Merged-away persons resolve to the survivor."""
    if user_id:
        found = session.scalar(
            select(PersonDistinctId.person_id)
            .where(PersonDistinctId.project_id == project_id)
            .where(PersonDistinctId.distinct_id == user_id[:200])
        )
        if found is not None:
            return _survivor(session, project_id, found)
    if email:
        matches = session.scalars(
            select(Person.id)
            .where(Person.project_id == project_id)
            .where(Person.properties["email"].as_string() == email.strip()[:320])
            .limit(2)
        ).all()
        if len(matches) == 1:
            return _survivor(session, project_id, matches[0])
    return None


def _survivor(session: Session, project_id: int, person_id: str) -> str:
    override = session.scalar(
        select(PersonOverride.override_person_id)
        .where(PersonOverride.project_id == project_id)
        .where(PersonOverride.old_person_id == person_id)
    )
    return str(override or person_id)


def erase_people(session: Session, project_id: int) -> None:
    """Forget every person of the project in the identity service's app-database tables:
    persons, their distinct ids and the override map. The warehouse's copy of the map
    (``person_overrides``) goes with the project's events, by the caller, once this
    transaction has committed."""
    for table in (PersonOverride, PersonDistinctId, Person):
        session.execute(delete(table).where(table.project_id == project_id))


def distinct_ids_with_prefix(
    session: Session, project_id: int, prefix: str, *, limit: int = 10
) -> list[tuple[str, str]]:
    """Distinct ids starting with ``prefix`` (case-sensitive), first ``limit`` in id
    order, each with its person (a merged-away person resolved to the survivor), for
    search boxes. A range scan of the primary key (``id >= prefix AND id < next``), so it
    answers at once in a project of millions of ids."""
    if not prefix:
        return []
    query = (
        select(PersonDistinctId.distinct_id, PersonDistinctId.person_id)
        .where(PersonDistinctId.project_id == project_id)
        .where(PersonDistinctId.distinct_id >= prefix)
    )
    upper = after_prefix(prefix)
    if upper is not None:
        query = query.where(PersonDistinctId.distinct_id < upper)
    rows = session.execute(query.order_by(PersonDistinctId.distinct_id).limit(limit)).all()
    # The database's collation orders the range; the prefix itself is checked here.
    found = [(str(d), str(p)) for d, p in rows if str(d).startswith(prefix)]
    if not found:
        return []
    survivors = dict(
        session.execute(
            select(PersonOverride.old_person_id, PersonOverride.override_person_id)
            .where(PersonOverride.project_id == project_id)
            .where(PersonOverride.old_person_id.in_({p for _, p in found}))
        ).all()
    )
    return [(d, str(survivors.get(p) or p)) for d, p in found]
