"""Known identities from a trusted producer: persons registered in bulk, idempotently.

A trusted producer (the demo simulation; later, imports from a user table or a CRM) knows
who its people are: each one's primary distinct id (the user id), the anonymous ids that
turned out to be them, and their properties. ``register_people`` records them in the
identity tables as the identity service would record ``$identify`` (``distinct_id`` = the
primary id, ``$anon_distinct_id`` = each other id, with ``$set``/``$set_once``) arriving
*after* the events ``capture`` already stored. ``capture`` stamps every event with its
distinct id's own person, ``person_id_for(project, distinct_id)``, so every id named here
counts as already seen with that person, unless the tables say it belongs to another one.
Under the identity service's rules (identity.py) that gives:

- **The survivor is the primary id's person**: ``person_id_for(project, primary id)`` for
  a new one (the id ``capture`` gave the user's events, most of a person's events), or the
  person the primary id already belongs to. It is marked identified.
- **Each other id joins it.** Its own person is merged into the survivor: an anonymous id
  not in the tables had the person ``person_id_for(project, id)``, never stored, so only
  its distinct id row and the override ``that person -> survivor`` are written; an id in
  the tables whose person is not identified has that person merged (its ids moved,
  missing properties filled from it, the person deleted, overrides pointing at it
  re-pointed). An id whose person is identified as someone else is left alone (refused).
- **Overrides** (old person -> survivor) go to the app database and, mirrored, to the
  warehouse's ``person_overrides`` table, which queries join: events stamped with an
  anonymous id's person count as the survivor's. A primary id that already belongs to
  another person gets one too, for the events ``capture`` stamped with its own person.
- **Properties**: ``properties`` overwrite (``$set``), then ``properties_once`` fill in
  what is missing (``$set_once``).

Everything is read and written in bulk (chunked ``IN`` reads, multi-row inserts, one
prepared statement per kind of update), a few thousand people per transaction; nothing is
written that is already there, so registering the same people again changes nothing.
The warehouse rows of a transaction are written before it commits (delete, then append),
so a failed commit leaves true overrides there and a re-run writes them again, never twice.
On PostgreSQL a table the load grew by more than a tenth is analysed after each commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import orjson
import pyarrow as pa
from sqlalchemy import Table, bindparam, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core.db import transaction
from loopwise.core.errors import InvalidInput
from loopwise.ingest.contracts import MAX_NAME_LENGTH
from loopwise.ingest.identity import is_placeholder
from loopwise.ingest.ids import person_id_for
from loopwise.ingest.models import Person, PersonDistinctId, PersonOverride
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.schema import PERSON_OVERRIDES

PEOPLE_PER_TRANSACTION = 5_000
_CHUNK = 2_000  # values per IN list and rows per INSERT statement (SQLite binds ≤ 32,766)
_WAREHOUSE_CHUNK = 10_000  # override rows per warehouse delete and append
# Core tables: reads and writes skip the ORM's per-row work.
_PERSONS = cast(Table, Person.__table__)
_IDS = cast(Table, PersonDistinctId.__table__)
_OVERRIDES = cast(Table, PersonOverride.__table__)


@dataclass(frozen=True, slots=True)
class KnownPerson:
    """One person as a trusted producer knows them.

    ``distinct_id`` is their primary id (the user id), ``other_ids`` the ids merged into
    them (anonymous browser ids); placeholder ids (``anonymous``, ``null``…) among these
    are skipped, as the identity service never links them. ``properties`` are ``$set``,
    ``properties_once`` ``$set_once``; both must be JSON-serialisable.
    """

    distinct_id: str
    other_ids: Sequence[str] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)
    properties_once: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_id("distinct_id", self.distinct_id)
        if is_placeholder(self.distinct_id):
            raise InvalidInput("distinct_id", f"{self.distinct_id!r} is a placeholder id")
        others = tuple(self.other_ids)
        for other in others:
            _check_id("other_ids", other)
        object.__setattr__(self, "other_ids", others)


@dataclass(frozen=True)
class Registered:
    """What ``register_people`` changed: persons created and updated (identified, or
    their properties changed), persons merged into a registered one, links refused (the
    id belongs to another identified person) and override rows written."""

    people: int = 0
    created: int = 0
    updated: int = 0
    merged: int = 0
    refused: int = 0
    overrides: int = 0

    def __add__(self, other: Registered) -> Registered:
        return Registered(
            self.people + other.people,
            self.created + other.created,
            self.updated + other.updated,
            self.merged + other.merged,
            self.refused + other.refused,
            self.overrides + other.overrides,
        )


def register_people(
    sessions: sessionmaker[Session],
    warehouse: Warehouse,
    project_id: int,
    people: Sequence[KnownPerson],
) -> Registered:
    """Record these people, their merged ids and properties (see the module docstring);
    in order, as if each had sent ``$identify``. Commits every few thousand people."""
    total = Registered()
    for first in range(0, len(people), PEOPLE_PER_TRANSACTION):
        chunk = people[first : first + PEOPLE_PER_TRANSACTION]
        with transaction(sessions) as session:
            done, inserted = _register(session, warehouse, project_id, chunk)
        _keep_statistics(sessions, inserted)
        total += done
    return total


@dataclass
class _State:
    """A person as the plan sees it; ``stored`` ones are compared with ``loaded`` at the end."""

    identified: bool
    properties: dict[str, Any]
    stored: bool
    loaded: tuple[bool, dict[str, Any]] | None = None
    merged_into: bool = False  # another person was merged into it


@dataclass
class _Plan:
    """The identity tables' end state for one chunk of people, worked out in memory."""

    project_id: int
    stored_ids: dict[str, str]  # distinct id -> person, as loaded (named ids only)
    persons: dict[str, _State]  # live persons the plan touches or may touch
    mapping: dict[str, str] = field(default_factory=dict)  # named id -> person, now
    members: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    merged: dict[str, str] = field(default_factory=dict)  # stored person -> survivor
    linked: set[str] = field(default_factory=set)  # ids now belonging to a registered person
    refused: int = 0

    def __post_init__(self) -> None:
        for distinct_id, person in self.stored_ids.items():
            self._assign(distinct_id, person)

    def register(self, known: KnownPerson) -> None:
        primary = known.distinct_id
        target = self.mapping.get(primary)
        if target is None:
            target = person_id_for(self.project_id, primary)
            self.persons.setdefault(target, _State(identified=True, properties={}, stored=False))
            self._assign(primary, target)
        self.persons[target].identified = True
        self.linked.add(primary)
        for other in known.other_ids:
            if other == primary or is_placeholder(other):
                continue
            source = self.mapping.get(other)
            if source is None:
                self._assign(other, target)
            elif source != target and self.persons[source].identified:
                self.refused += 1
                continue
            elif source != target:
                self._merge(source, target)
            self.linked.add(other)
        properties = self.persons[target].properties
        properties.update(_json("properties", known.properties))
        for key, value in _json("properties_once", known.properties_once).items():
            properties.setdefault(key, value)

    def _assign(self, distinct_id: str, person: str) -> None:
        self.mapping[distinct_id] = person
        self.members[person].add(distinct_id)
        if person not in self.persons:  # a distinct id row whose person row is missing
            self.persons[person] = _State(identified=False, properties={}, stored=True)

    def _merge(self, source: str, target: str) -> None:
        """Fold the stored, unidentified person ``source`` into ``target``."""
        gone, kept = self.persons.pop(source), self.persons[target]
        assert gone.stored, "persons created here are identified, never merged"
        kept.properties = {**gone.properties, **kept.properties}
        kept.merged_into = True
        for distinct_id in self.members.pop(source, set()):
            self.mapping[distinct_id] = target
            self.members[target].add(distinct_id)
        self.merged[source] = target

    def overrides(self) -> dict[str, str]:
        """Override rows the end state needs, before those pointing at merged persons:
        each merged person, and the own person of every registered id that now belongs
        to someone else (its events were stamped with it)."""
        wanted = dict(self.merged)
        for distinct_id in sorted(self.linked):
            own, now = person_id_for(self.project_id, distinct_id), self.mapping[distinct_id]
            if own != now and own not in self.persons:
                wanted.setdefault(own, now)
        return wanted


def _register(
    session: Session, warehouse: Warehouse, project_id: int, people: Sequence[KnownPerson]
) -> tuple[Registered, dict[Table, int]]:
    """One transaction's people; what changed, and the rows inserted per table."""
    named = {p.distinct_id for p in people} | {o for p in people for o in p.other_ids}
    named = {d for d in named if not is_placeholder(d)}
    stored_ids = _load_ids(session, project_id, named)
    # A person row exists only while one of its distinct ids points at it (merges delete
    # the merged person), so the stored ids name every person the plan can meet.
    stored_persons = _load_persons(session, project_id, set(stored_ids.values()))
    plan = _Plan(project_id, stored_ids, stored_persons)
    for known in people:
        plan.register(known)
    now = datetime.now(UTC)
    created, updated = _write_persons(session, project_id, plan, now)
    _write_ids(session, project_id, plan)
    changes = _write_overrides(session, project_id, plan)
    _mirror(warehouse, project_id, changes)
    new_ids = sum(1 for d in plan.mapping if d not in plan.stored_ids)
    done = Registered(len(people), created, updated, len(plan.merged), plan.refused, len(changes))
    return done, {_PERSONS: created, _IDS: new_ids, _OVERRIDES: len(changes)}


def _load_ids(session: Session, project_id: int, distinct_ids: Iterable[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(distinct_ids)):
        rows = session.connection().execute(
            select(_IDS.c.distinct_id, _IDS.c.person_id)
            .where(_IDS.c.project_id == project_id)
            .where(_IDS.c.distinct_id.in_(chunk))
        )
        for distinct_id, person in rows:
            found[distinct_id] = person
    return found


def _load_persons(session: Session, project_id: int, ids: Iterable[str]) -> dict[str, _State]:
    found: dict[str, _State] = {}
    for chunk in _chunks(sorted(ids)):
        rows = session.connection().execute(
            select(_PERSONS.c.id, _PERSONS.c.is_identified, _PERSONS.c.properties)
            .where(_PERSONS.c.project_id == project_id)
            .where(_PERSONS.c.id.in_(chunk))
        )
        for person, identified, stored in rows:
            properties = dict(stored or {})
            found[person] = _State(bool(identified), dict(properties), True,
                                   (bool(identified), properties))  # fmt: skip
    return found


def _write_persons(
    session: Session, project_id: int, plan: _Plan, now: datetime
) -> tuple[int, int]:
    """New persons inserted, changed ones updated, merged ones deleted; returns the counts
    of new and changed."""
    fresh = [
        {"id": pid, "project_id": project_id, "is_identified": state.identified,
         "properties": state.properties, "created_at": now, "updated_at": now}
        for pid, state in sorted(plan.persons.items()) if not state.stored
    ]  # fmt: skip
    _insert_ignore(session, _PERSONS, fresh)
    changed = [
        {"b_id": pid, "b_identified": state.identified, "b_properties": state.properties}
        for pid, state in sorted(plan.persons.items())
        if state.stored and state.loaded is not None
        and (state.merged_into or state.loaded != (state.identified, state.properties))
    ]  # fmt: skip
    if changed:
        statement = (
            update(_PERSONS)
            .where(_PERSONS.c.id == bindparam("b_id"))
            .values(is_identified=bindparam("b_identified"),
                    properties=bindparam("b_properties"), updated_at=now)
        )  # fmt: skip
        session.connection().execute(statement, changed)
    for chunk in _chunks(sorted(plan.merged)):
        session.connection().execute(delete(_PERSONS).where(_PERSONS.c.id.in_(chunk)))
    return len(fresh), len(changed)


def _write_ids(session: Session, project_id: int, plan: _Plan) -> None:
    """Distinct ids of merged persons moved to the survivor; ids not yet stored inserted."""
    if plan.merged:
        statement = (
            update(_IDS)
            .where(_IDS.c.project_id == project_id)
            .where(_IDS.c.person_id == bindparam("b_old"))
            .values(person_id=bindparam("b_new"))
        )
        moves = [{"b_old": old, "b_new": new} for old, new in sorted(plan.merged.items())]
        session.connection().execute(statement, moves)
    fresh = [
        {"project_id": project_id, "distinct_id": d, "person_id": p}
        for d, p in sorted(plan.mapping.items())
        if d not in plan.stored_ids
    ]
    _insert_ignore(session, _IDS, fresh)


def _write_overrides(session: Session, project_id: int, plan: _Plan) -> dict[str, str]:
    """Insert or re-point the override rows the plan needs; returns those that changed."""
    wanted = plan.overrides()
    pointing = _overrides_where(session, project_id, _OVERRIDES.c.override_person_id,
                                plan.merged)  # fmt: skip
    for old, into in pointing.items():  # older merges into a merged person
        wanted[old] = plan.merged[into]
    existing = _overrides_where(session, project_id, _OVERRIDES.c.old_person_id, wanted)
    changes = {old: into for old, into in wanted.items() if existing.get(old) != into}
    fresh = [
        {"project_id": project_id, "old_person_id": old, "override_person_id": into}
        for old, into in sorted(changes.items())
        if old not in existing
    ]
    _insert_ignore(session, _OVERRIDES, fresh)
    repointed = [{"b_old": o, "b_new": n} for o, n in sorted(changes.items()) if o in existing]
    if repointed:
        statement = (
            update(_OVERRIDES)
            .where(_OVERRIDES.c.project_id == project_id)
            .where(_OVERRIDES.c.old_person_id == bindparam("b_old"))
            .values(override_person_id=bindparam("b_new"), squashed_at=None)
        )
        session.connection().execute(statement, repointed)
    return changes


def _overrides_where(
    session: Session, project_id: int, column: Any, values: Iterable[str]
) -> dict[str, str]:
    """Override rows (old -> survivor) whose ``column`` is one of ``values``."""
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(values)):
        rows = session.connection().execute(
            select(_OVERRIDES.c.old_person_id, _OVERRIDES.c.override_person_id)
            .where(_OVERRIDES.c.project_id == project_id)
            .where(column.in_(chunk))
        )
        for old, into in rows:
            found[old] = into
    return found


def _mirror(warehouse: Warehouse, project_id: int, changes: dict[str, str]) -> None:
    """The changed overrides into the warehouse: rows for the same old persons first
    deleted, so that a re-run after a failed commit never doubles a row."""
    d = dialect_for(warehouse.dialect)
    olds = sorted(changes)
    for first in range(0, len(olds), _WAREHOUSE_CHUNK):
        chunk = olds[first : first + _WAREHOUSE_CHUNK]
        warehouse.delete(
            "person_overrides",
            f"project_id = {{p}} AND {d.in_array('old_person_id', 'olds')}",
            {"p": project_id, "olds": chunk},
        )
        rows = pa.table(
            {
                "project_id": pa.array([project_id] * len(chunk), pa.int64()),
                "old_person_id": pa.array(chunk, pa.string()),
                "override_person_id": pa.array([changes[o] for o in chunk], pa.string()),
            },
            schema=PERSON_OVERRIDES,
        )
        warehouse.append("person_overrides", rows)


def _keep_statistics(sessions: sessionmaker[Session], inserted: dict[Table, int]) -> None:
    """On PostgreSQL, analyse a table this load has grown by more than a tenth (or that was
    never analysed), as autovacuum would a minute later: the next transaction's ``IN``
    lookups are planned from its statistics, and without them turn into scans that grow
    with the table (a 100,000-person load took minutes instead of seconds)."""
    with sessions() as session:
        if session.get_bind().dialect.name != "postgresql":
            return
        for table, count in inserted.items():
            estimate = session.scalar(
                text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)"),
                {"name": table.name},
            )
            if count and (estimate is None or count > 0.1 * max(float(estimate), 0.0)):
                session.execute(text(f'ANALYZE "{table.name}"'))
        session.commit()


def _insert_ignore(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Multi-row inserts, skipping rows whose key exists (a concurrent writer's)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for start in range(0, len(rows), _CHUNK):
        session.execute(insert(table).on_conflict_do_nothing(), rows[start : start + _CHUNK])


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _check_id(name: str, value: object) -> None:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME_LENGTH:
        raise InvalidInput(name, f"must be text of 1 to {MAX_NAME_LENGTH} characters")


def _json(name: str, value: Mapping[str, Any]) -> dict[str, Any]:
    """Properties as the JSON column gives them back, so re-registering compares equal."""
    try:
        loaded = orjson.loads(orjson.dumps(dict(value), option=orjson.OPT_NON_STR_KEYS))
    except TypeError as exc:
        raise InvalidInput(name, f"must be JSON-serialisable: {exc}") from None
    if not isinstance(loaded, dict):
        raise InvalidInput(name, "must be a mapping")
    return loaded
