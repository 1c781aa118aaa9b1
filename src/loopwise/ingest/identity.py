"""The identity service: which person each distinct id belongs to, and merging persons.

Rules (PostHog's):

- Every distinct id belongs to exactly one person. A distinct id seen for the first time gets
  a person of its own whose id is ``ids.person_id_for(project, distinct_id)``.
- ``$identify`` (``distinct_id`` = the user id, ``$anon_distinct_id`` = the previous anonymous
  id) and ``$create_alias`` (``distinct_id`` and ``alias``) link two ids:
  neither known: one new person gets both; one known: the other id joins that person; both
  known and different: the anonymous person is merged into the other one, unless it is
  already identified, in which case nothing is merged (an identified person is never
  merged into another).
- Placeholder ids (``anonymous``, ``null``, ``undefined``, ``0``, empty, ...) are never linked.
- A merge moves the distinct ids, fills the surviving person's missing properties from the
  merged one, deletes the merged person and records ``old person -> surviving person`` in
  the override map (re-pointing older overrides, so chains never form). Events already
  stored keep their person id; queries resolve it through the map.
- ``$set`` overwrites person properties, ``$set_once`` only fills missing ones, in event order.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core.db import transaction
from loopwise.ingest.ids import person_id_for
from loopwise.ingest.models import Person, PersonDistinctId, PersonOverride

CASE_INSENSITIVE_PLACEHOLDERS = frozenset(
    {
        "anonymous",
        "guest",
        "distinctid",
        "distinct_id",
        "id",
        "not_authenticated",
        "email",
        "undefined",
        "true",
        "false",
    }
)
CASE_SENSITIVE_PLACEHOLDERS = frozenset(
    {"[object Object]", "NaN", "None", "none", "null", "0", "undefined", "$posthog_cookieless"}
)
_CHUNK = 500


def is_placeholder(distinct_id: str | None) -> bool:
    """Ids SDKs send when they have no real one; such ids are never linked to others."""
    if distinct_id is None:
        return True
    text = distinct_id.strip()
    return (
        not text
        or text.lower() in CASE_INSENSITIVE_PLACEHOLDERS
        or text in CASE_SENSITIVE_PLACEHOLDERS
    )


@dataclass(frozen=True, slots=True)
class Link:
    """``other`` should become the same person as ``distinct_id`` (identify or alias)."""

    distinct_id: str
    other: str


@dataclass(frozen=True, slots=True)
class PropertyUpdate:
    distinct_id: str
    set: dict[str, Any] | None
    set_once: dict[str, Any] | None


Operation = Link | PropertyUpdate


@dataclass(frozen=True, slots=True)
class Resolution:
    """The person of every distinct id of a batch, and the override rows that changed."""

    persons: dict[str, str]
    overrides: dict[str, str]
    merges: int
    refused: int


@dataclass
class _Work:
    """The state of one batch inside its transaction."""

    project_id: int
    mapping: dict[str, str]  # distinct id -> person id, for every id the batch touches
    stored: dict[str, str]  # what the database holds for those ids, kept current
    identified: set[str]  # person ids to mark identified
    new_persons: dict[str, bool]  # person id -> identified, created in this batch
    overrides: dict[str, str]
    merges: int = 0
    refused: int = 0


class Identity:
    """Resolves distinct ids to persons; one per process, safe to call from one thread."""

    def __init__(self, sessions: sessionmaker[Session], cache_size: int = 200_000) -> None:
        self._sessions = sessions
        self._cache: OrderedDict[tuple[int, str], str] = OrderedDict()
        self._cache_size = cache_size

    def resolve(
        self, project_id: int, distinct_ids: Iterable[str], operations: Sequence[Operation]
    ) -> Resolution:
        """Apply the batch's links and property updates in order; map every distinct id.

        Ids seen recently and not named by an operation are answered from the cache; the
        database is read only for the others."""
        wanted = set(distinct_ids)
        involved: set[str] = set()
        for operation in operations:
            involved.add(operation.distinct_id)
            if isinstance(operation, Link):
                involved.add(operation.other)
        known: dict[str, str] = {}
        unknown = set(involved)
        for distinct_id in wanted - involved:
            person = self._cache.get((project_id, distinct_id))
            if person is None:
                unknown.add(distinct_id)
            else:
                known[distinct_id] = person
        if not unknown:
            return Resolution(known, {}, 0, 0)
        with transaction(self._sessions) as session:
            stored = _load(session, project_id, unknown)
            work = _Work(project_id, dict(stored), dict(stored), set(), {}, {})
            updates: list[PropertyUpdate] = []
            for operation in operations:
                if isinstance(operation, Link):
                    _link(session, work, operation)
                else:
                    updates.append(operation)
            for distinct_id in unknown - work.mapping.keys():
                work.mapping[distinct_id] = person_id_for(project_id, distinct_id)
                work.new_persons.setdefault(work.mapping[distinct_id], False)
            _write_persons(session, work, updates)
        self._remember(project_id, work.mapping)
        persons = {d: work.mapping.get(d) or known[d] for d in wanted}
        return Resolution(persons, work.overrides, work.merges, work.refused)

    def forget(self) -> None:
        self._cache.clear()

    def _remember(self, project_id: int, mapping: dict[str, str]) -> None:
        for distinct_id, person in mapping.items():
            self._cache[(project_id, distinct_id)] = person
            self._cache.move_to_end((project_id, distinct_id))
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


def _load(session: Session, project_id: int, distinct_ids: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    ordered = sorted(distinct_ids)
    for start in range(0, len(ordered), _CHUNK):
        rows = session.execute(
            select(PersonDistinctId.distinct_id, PersonDistinctId.person_id)
            .where(PersonDistinctId.project_id == project_id)
            .where(PersonDistinctId.distinct_id.in_(ordered[start : start + _CHUNK]))
        )
        found.update({row.distinct_id: row.person_id for row in rows})
    return found


def _link(session: Session, work: _Work, link: Link) -> None:
    into, other = link.distinct_id, link.other
    if is_placeholder(into) or is_placeholder(other) or into == other:
        if not is_placeholder(into):
            work.identified.add(_person_of(work, into))
        return
    target, source = work.mapping.get(into), work.mapping.get(other)
    if target is None and source is None:
        person = person_id_for(work.project_id, other)
        work.mapping[into] = work.mapping[other] = person
        work.new_persons[person] = True
    elif target is None:
        assert source is not None
        work.mapping[into] = source
        work.identified.add(source)
    elif source is None:
        work.mapping[other] = target
        work.identified.add(target)
    elif source == target:
        work.identified.add(target)
    elif _is_identified(session, work, source):
        work.refused += 1
        work.identified.add(target)
    else:
        _merge(session, work, source, target)
        work.identified.add(target)


def _person_of(work: _Work, distinct_id: str) -> str:
    person = work.mapping.get(distinct_id)
    if person is None:
        person = work.mapping[distinct_id] = person_id_for(work.project_id, distinct_id)
        work.new_persons.setdefault(person, False)
    return person


def _is_identified(session: Session, work: _Work, person_id: str) -> bool:
    if person_id in work.new_persons:
        return work.new_persons[person_id] or person_id in work.identified
    if person_id in work.identified:
        return True
    return bool(session.scalar(select(Person.is_identified).where(Person.id == person_id)))


def _merge(session: Session, work: _Work, source: str, target: str) -> None:
    """Fold person ``source`` into ``target`` (both ids of this project)."""
    work.merges += 1
    for distinct_id, person in list(work.mapping.items()):
        if person == source:
            work.mapping[distinct_id] = target
    if source in work.new_persons:  # never stored: nothing to move or override
        del work.new_persons[source]
        return
    _ensure_stored(session, work, target)
    moved = session.scalars(  # all of them, so the cache learns where they went
        select(PersonDistinctId.distinct_id)
        .where(PersonDistinctId.project_id == work.project_id)
        .where(PersonDistinctId.person_id == source)
    ).all()
    for distinct_id in moved:
        work.mapping[distinct_id] = work.stored[distinct_id] = target
    session.execute(
        update(PersonDistinctId)
        .where(PersonDistinctId.project_id == work.project_id)
        .where(PersonDistinctId.person_id == source)
        .values(person_id=target)
    )
    rows = session.execute(
        select(Person.id, Person.properties).where(Person.id.in_([source, target]))
    )
    properties = {row.id: dict(row.properties or {}) for row in rows}
    merged = {**properties.get(source, {}), **properties.get(target, {})}
    session.execute(
        update(Person).where(Person.id == target).values(properties=merged, updated_at=_now())
    )
    session.execute(delete(Person).where(Person.id == source))
    repointed = session.execute(
        select(PersonOverride.old_person_id)
        .where(PersonOverride.project_id == work.project_id)
        .where(PersonOverride.override_person_id == source)
    ).scalars()
    for old in [*repointed, source]:
        work.overrides[old] = target
    session.execute(
        update(PersonOverride)
        .where(PersonOverride.project_id == work.project_id)
        .where(PersonOverride.override_person_id == source)
        .values(override_person_id=target, squashed_at=None)
    )
    session.add(
        PersonOverride(project_id=work.project_id, old_person_id=source, override_person_id=target)
    )
    session.flush()


def _ensure_stored(session: Session, work: _Work, person_id: str) -> None:
    """A person created earlier in this batch is written before rows point at it."""
    if person_id in work.new_persons:
        identified = work.new_persons.pop(person_id)
        session.add(
            Person(
                id=person_id, project_id=work.project_id, is_identified=identified, properties={}
            )
        )
        session.flush()


def _write_persons(session: Session, work: _Work, updates: list[PropertyUpdate]) -> None:
    now = _now()
    new_rows = [
        {
            "id": person,
            "project_id": work.project_id,
            "is_identified": identified or person in work.identified,
            "properties": {},
            "created_at": now,
            "updated_at": now,
        }
        for person, identified in work.new_persons.items()
    ]
    _insert_ignore(session, Person.__table__, new_rows)  # type: ignore[arg-type]
    _save_mapping(session, work)
    stored_identified = work.identified - work.new_persons.keys()
    if stored_identified:
        session.execute(
            update(Person)
            .where(Person.id.in_(sorted(stored_identified)))
            .where(Person.is_identified.is_(False))
            .values(is_identified=True, updated_at=now)
        )
    if updates:
        _apply_properties(session, work, updates, now)


def _save_mapping(session: Session, work: _Work) -> None:
    fresh = [
        {"project_id": work.project_id, "distinct_id": d, "person_id": p}
        for d, p in work.mapping.items()
        if d not in work.stored
    ]
    _insert_ignore(session, PersonDistinctId.__table__, fresh)  # type: ignore[arg-type]
    for distinct_id, person in work.mapping.items():
        if distinct_id in work.stored and work.stored[distinct_id] != person:
            session.execute(
                update(PersonDistinctId)
                .where(PersonDistinctId.project_id == work.project_id)
                .where(PersonDistinctId.distinct_id == distinct_id)
                .values(person_id=person)
            )


def _apply_properties(
    session: Session, work: _Work, updates: list[PropertyUpdate], now: datetime
) -> None:
    persons = sorted({work.mapping[u.distinct_id] for u in updates})
    current: dict[str, dict[str, Any]] = {}
    for start in range(0, len(persons), _CHUNK):
        query = select(Person.id, Person.properties).where(
            Person.id.in_(persons[start : start + _CHUNK])
        )
        current.update({row.id: dict(row.properties or {}) for row in session.execute(query)})
    changed: set[str] = set()
    for item in updates:
        person = work.mapping[item.distinct_id]
        properties = current.setdefault(person, {})
        before = dict(properties)
        properties.update(item.set or {})
        for key, value in (item.set_once or {}).items():
            properties.setdefault(key, value)
        if properties != before:
            changed.add(person)
    if changed:  # one prepared statement for all of them
        table = cast(Table, Person.__table__)
        statement = (
            update(table)
            .where(table.c.id == bindparam("person"))
            .values(properties=bindparam("props"), updated_at=now)
        )
        rows = [{"person": p, "props": current[p]} for p in sorted(changed)]
        session.connection().execute(statement, rows)


def _insert_ignore(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows, skipping any whose key exists (another node may have written it)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for start in range(0, len(rows), _CHUNK):
        session.execute(insert(table).on_conflict_do_nothing(), rows[start : start + _CHUNK])


def _now() -> datetime:
    return datetime.now(UTC)
