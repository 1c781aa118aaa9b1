"""Reading persons back: by distinct id, by person id (merged-away ids resolve), and lists."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core.errors import InvalidInput, NotFound
from loopwise.ingest.models import Person, PersonDistinctId, PersonOverride

MAX_PAGE = 500


class PersonInfo(BaseModel):
    id: str
    is_identified: bool
    properties: dict[str, Any]
    distinct_ids: list[str]
    merged_person_ids: list[str]
    created_at: datetime


def _infos(session: Session, rows: Sequence[Person]) -> list[PersonInfo]:
    """Persons with their distinct ids and merged-away ids: three queries for any number.

    Both lookups go through their person index, and the ids are sorted here: ordering in
    SQL made SQLite (without planner statistics) walk the primary key instead and read
    every id of the project, tens of milliseconds per person on a project of 100,000. The
    distinct ids' project is compared as ``project_id + 0`` for the same reason (their
    person index does not hold the project)."""
    if not rows:
        return []
    project_id, ids = rows[0].project_id, [row.id for row in rows]
    distinct: dict[str, list[str]] = defaultdict(list)
    for person_id, distinct_id in session.execute(
        select(PersonDistinctId.person_id, PersonDistinctId.distinct_id)
        .where((PersonDistinctId.project_id + 0) == project_id)
        .where(PersonDistinctId.person_id.in_(ids))
    ):
        distinct[person_id].append(distinct_id)
    merged: dict[str, list[str]] = defaultdict(list)
    for survivor, old in session.execute(
        select(PersonOverride.override_person_id, PersonOverride.old_person_id)
        .where(PersonOverride.project_id == project_id)
        .where(PersonOverride.override_person_id.in_(ids))
    ):
        merged[survivor].append(old)
    for found in (*distinct.values(), *merged.values()):
        found.sort()
    return [
        PersonInfo(
            id=row.id,
            is_identified=row.is_identified,
            properties=dict(row.properties or {}),
            distinct_ids=distinct[row.id],
            merged_person_ids=merged[row.id],
            created_at=row.created_at,
        )
        for row in rows
    ]


def person_by_distinct_id(session: Session, project_id: int, distinct_id: str) -> PersonInfo:
    person_id = session.scalar(
        select(PersonDistinctId.person_id)
        .where(PersonDistinctId.project_id == project_id)
        .where(PersonDistinctId.distinct_id == distinct_id)
    )
    if person_id is None:
        raise NotFound(f"no person has the distinct id {distinct_id[:200]!r}")
    return person_by_id(session, project_id, person_id)


def person_by_id(session: Session, project_id: int, person_id: str) -> PersonInfo:
    """A person by id; the id of a person merged into another one finds the survivor."""
    override = session.scalar(
        select(PersonOverride.override_person_id)
        .where(PersonOverride.project_id == project_id)
        .where(PersonOverride.old_person_id == person_id)
    )
    row = session.get(Person, override or person_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"no person {person_id[:40]!r} in this project")
    return _infos(session, [row])[0]


def list_persons(
    session: Session, project_id: int, *, limit: int = 100, after: str | None = None
) -> list[PersonInfo]:
    """Persons ordered by id; ``after`` is the last id of the previous page."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", f"must be between 1 and {MAX_PAGE}, got {limit}")
    query = select(Person).where(Person.project_id == project_id)
    if after:
        query = query.where(Person.id > after)
    rows = session.scalars(query.order_by(Person.id).limit(limit)).all()
    return _infos(session, rows)


# --- in bulk, for read models built over every person ----------------------------------

_CHUNK = 10_000  # values per IN list (SQLite binds at most 32,766)


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """A person's id, properties and creation time, without their ids (lists of many)."""

    id: str
    properties: dict[str, Any]
    created_at: datetime


def person_records(
    session: Session, project_id: int, person_ids: Sequence[str] | None = None
) -> list[PersonRecord]:
    """Every person of the project (or those of ``person_ids`` that exist), ordered by id;
    columns only, so 100,000 persons load without the ORM's per-row work."""
    query = select(Person.id, Person.properties, Person.created_at).where(
        Person.project_id == project_id
    )
    rows: list[Any] = []
    if person_ids is None:
        rows += session.execute(query).all()
    else:
        for part in _chunks(person_ids):
            rows += session.execute(query.where(Person.id.in_(part))).all()
    found = [PersonRecord(str(i), dict(p or {}), at) for i, p, at in rows]
    return sorted(found, key=lambda r: r.id)


def merged_into(
    session: Session, project_id: int, person_ids: Sequence[str] | None = None
) -> dict[str, str]:
    """Merged-away person id -> the person it now is, for the project (or for the persons
    of ``person_ids`` as survivors)."""
    query = select(PersonOverride.old_person_id, PersonOverride.override_person_id).where(
        PersonOverride.project_id == project_id
    )
    rows: list[Any] = []
    if person_ids is None:
        rows += session.execute(query).all()
    else:
        for part in _chunks(person_ids):
            rows += session.execute(query.where(PersonOverride.override_person_id.in_(part)))
    return {str(old): str(new) for old, new in rows}


def person_projects(session: Session) -> list[int]:
    """The projects that have persons."""
    return sorted(int(p) for p in session.scalars(select(Person.project_id).distinct()))


def _chunks(values: Sequence[str]) -> list[list[str]]:
    ordered = sorted(set(values))
    return [ordered[first : first + _CHUNK] for first in range(0, len(ordered), _CHUNK)]
