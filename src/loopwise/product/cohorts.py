"""Saved cohorts: definitions (app database), static member lists from uploaded ids,
member counts now and over time, and filling a query's cohort reference."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.product.contracts import (
    MAX_STATIC_MEMBERS,
    CohortDefinition,
    CohortFilter,
    PersonList,
)
from loopwise.product.models import Cohort
from loopwise.product.queries.cohorts import membership
from loopwise.product.queries.persons import persons_page
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import has_person_overrides

Q = TypeVar("Q", bound=BaseModel)
MAX_COHORTS = 200


@dataclass(frozen=True)
class CohortInfo:
    id: int
    name: str
    definition: CohortDefinition
    updated_at: datetime

    @property
    def kind(self) -> str:
        return "static" if self.definition.person_ids else "dynamic"


def list_cohorts(session: Session, project_id: int) -> list[CohortInfo]:
    rows = session.scalars(
        select(Cohort).where(Cohort.project_id == project_id).order_by(Cohort.name)
    )
    return [_info(r) for r in rows]


def get_cohort(session: Session, project_id: int, cohort_id: int) -> CohortInfo:
    return _info(_row(session, project_id, cohort_id))


def save_cohort(
    session: Session,
    actor: Actor,
    project_id: int,
    name: str,
    definition: CohortDefinition,
    cohort_id: int | None = None,
) -> CohortInfo:
    """Create a cohort, or replace the name and definition of ``cohort_id``."""
    clean = name.strip()
    if not clean or len(clean) > 200:
        raise InvalidInput("name", "give the cohort a name of 1 to 200 characters")
    others = [c for c in list_cohorts(session, project_id) if c.id != cohort_id]
    if any(c.name.lower() == clean.lower() for c in others):
        raise InvalidInput("name", "another cohort already has this name")
    stored = definition.model_dump(mode="json")
    if cohort_id is None:
        if len(others) >= MAX_COHORTS:
            raise InvalidInput("name", f"a project keeps at most {MAX_COHORTS} cohorts")
        row = Cohort(project_id=project_id, name=clean, definition=stored)
        session.add(row)
        session.flush()
        audit.record(session, actor, "cohort.created", clean, project_id=project_id)
    else:
        row = _row(session, project_id, cohort_id)
        row.name, row.definition, row.updated_at = clean, stored, utcnow()
        audit.record(session, actor, "cohort.changed", clean, project_id=project_id)
    return _info(row)


def delete_cohort(session: Session, actor: Actor, project_id: int, cohort_id: int) -> None:
    row = _row(session, project_id, cohort_id)
    session.delete(row)
    audit.record(session, actor, "cohort.deleted", row.name, project_id=project_id)


def with_cohort(session: Session, project_id: int, query: Q) -> Q:
    """The query (or a drill-down request's query) with its saved cohort's definition
    filled in; unknown ids are refused."""
    inner = getattr(query, "query", None)
    if isinstance(inner, BaseModel):
        return query.model_copy(update={"query": with_cohort(session, project_id, inner)})
    changes: dict[str, Any] = {}
    cohort = getattr(query, "cohort", None)
    if isinstance(cohort, CohortFilter):
        changes["cohort"] = _filled(session, project_id, cohort, "cohort")
    split = getattr(query, "cohort_breakdown", None)
    if split:
        changes["cohort_breakdown"] = [
            _filled(session, project_id, c, f"cohort_breakdown.{i}") for i, c in enumerate(split)
        ]
    return query.model_copy(update=changes) if changes else query


def _filled(session: Session, project_id: int, cohort: CohortFilter, field: str) -> CohortFilter:
    """A saved cohort's definition and name as they are now (an id always wins over a
    definition carried along, so saved insights follow edits of the cohort)."""
    if cohort.id is None:
        return cohort
    row = session.get(Cohort, cohort.id)
    if row is None or row.project_id != project_id:
        raise InvalidInput(f"{field}.id", f"there is no cohort {cohort.id} in this project")
    definition = CohortDefinition.model_validate(row.definition)
    return CohortFilter(id=cohort.id, definition=definition, name=row.name)


def ids_from_csv(warehouse: Warehouse, project_id: int, text: str) -> tuple[list[str], int]:
    """Person ids for an uploaded list: one distinct id or person id per line (first
    column; a header line is skipped when it matches no one). Returns the persons found
    and how many lines matched no one."""
    given = []
    for row in csv.reader(io.StringIO(text)):
        if row and row[0].strip():
            given.append(row[0].strip()[:200])
    given = list(dict.fromkeys(given))
    if not given:
        raise InvalidInput("file", "the file lists no ids: one id per line")
    if len(given) > MAX_STATIC_MEMBERS:
        raise InvalidInput("file", f"a static cohort holds at most {MAX_STATIC_MEMBERS:,} ids")
    d = dialect_for(warehouse.dialect)
    source = d.events_with_persons(
        "project_id = {p}", merged=has_person_overrides(warehouse, project_id)
    )
    sql = f"""
        SELECT DISTINCT distinct_id, person_id FROM {source} AS ev
        WHERE {d.in_array("distinct_id", "ids")} OR {d.in_array("person_id", "ids")}
    """
    rows = warehouse.query(sql, {"p": project_id, "ids": given}, max_rows=2 * len(given) + 10)
    found: dict[str, str] = {}
    persons = set()
    for row in rows.table.to_pylist():
        found[row["distinct_id"]] = row["person_id"]
        persons.add(row["person_id"])
    matched = [found.get(value) or (value if value in persons else None) for value in given]
    members = list(dict.fromkeys(m for m in matched if m))
    unknown = sum(1 for m in matched if m is None)
    if not members:
        raise InvalidInput("file", "none of the ids belongs to a person of this project")
    return members, unknown


def member_count(
    warehouse: Warehouse, project_id: int, definition: CohortDefinition, at: datetime | None = None
) -> int:
    """Persons in the cohort as of ``at`` (now by default) who have any event before it."""
    sql, params = _members(warehouse, project_id, definition, at or datetime.now(UTC))
    counted = f"SELECT {dialect_for(warehouse.dialect).count_rows()} AS n FROM ({sql}) AS m"
    return int(warehouse.query(counted, params).table.column("n")[0].as_py())


def member_counts(
    warehouse: Warehouse,
    project_id: int,
    definition: CohortDefinition,
    *,
    weeks: int = 8,
    now: datetime | None = None,
) -> list[tuple[datetime, int]]:
    """The member count at the end of each of the last ``weeks`` weeks (and now)."""
    moment = now or datetime.now(UTC)
    points = [moment - timedelta(weeks=n) for n in range(weeks, -1, -1)]
    return [(point, member_count(warehouse, project_id, definition, point)) for point in points]


def members(
    warehouse: Warehouse,
    project_id: int,
    definition: CohortDefinition,
    *,
    limit: int = 100,
    offset: int = 0,
    now: datetime | None = None,
) -> PersonList:
    moment = now or datetime.now(UTC)
    sql, params = _members(warehouse, project_id, definition, moment)
    span = (moment - timedelta(days=3 * 366), moment)
    return persons_page(warehouse, project_id, sql, params, limit, offset, span)


def _members(
    warehouse: Warehouse, project_id: int, definition: CohortDefinition, at: datetime
) -> tuple[str, dict[str, Any]]:
    d = dialect_for(warehouse.dialect)
    merged = has_person_overrides(warehouse, project_id)
    params: dict[str, Any] = {"p": project_id, "at": at}
    test = membership(d, definition, params, merged=merged, now=at)
    source = d.events_with_persons("project_id = {p} AND timestamp < {at}", merged=merged)
    return f"SELECT DISTINCT person_id FROM {source} AS ev WHERE {test}", params


def _row(session: Session, project_id: int, cohort_id: int) -> Cohort:
    row = session.get(Cohort, cohort_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"cohort {cohort_id}")
    return row


def _info(row: Cohort) -> CohortInfo:
    return CohortInfo(
        id=row.id,
        name=row.name,
        definition=CohortDefinition.model_validate(row.definition),
        updated_at=row.updated_at,
    )


def add_to_static_cohort(
    session: Session,
    actor: Actor,
    project_id: int,
    person_ids: list[str],
    *,
    cohort_id: int | None = None,
    name: str = "",
) -> CohortInfo:
    """Add persons to a static cohort: the existing cohort ``cohort_id`` (members already
    in it stay once), or a new cohort called ``name``. A cohort defined by criteria takes
    no added members."""
    given = list(dict.fromkeys(p for p in person_ids if p))
    if not given:
        raise InvalidInput("person_ids", "no one to add to the cohort")
    if cohort_id is None:
        members, title = given, name
    else:
        row = _row(session, project_id, cohort_id)
        current = CohortDefinition.model_validate(row.definition)
        if not current.person_ids:
            raise InvalidInput("cohort_id", "this cohort is defined by criteria: choose a "
                               "static cohort or name a new one")  # fmt: skip
        members, title = list(dict.fromkeys([*current.person_ids, *given])), row.name
    if len(members) > MAX_STATIC_MEMBERS:
        raise InvalidInput("person_ids", f"a static cohort holds at most {MAX_STATIC_MEMBERS:,} "
                           "persons")  # fmt: skip
    definition = CohortDefinition(person_ids=members)
    return save_cohort(session, actor, project_id, title, definition, cohort_id)
