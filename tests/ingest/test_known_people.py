"""Registering known people from a trusted producer: the identity tables as the identity
service's rules leave them, the warehouse override map, idempotence; on SQLite and
PostgreSQL, DuckDB and chDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core.db import transaction
from loopwise.core.errors import InvalidInput
from loopwise.ingest import known
from loopwise.ingest.facade import (
    CaptureEvent,
    KnownPerson,
    Registered,
    capture,
    find_person,
    register_people,
)
from loopwise.ingest.identity import Identity, Link, Operation, PropertyUpdate
from loopwise.ingest.ids import person_id_for
from loopwise.ingest.jobs import squash_overrides
from loopwise.ingest.models import Person, PersonDistinctId, PersonOverride
from loopwise.ingest.persons import person_by_distinct_id
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import has_person_overrides
from loopwise.web.context import AppContext
from tests.factories import create_project

ALICE = KnownPerson(
    "usr_alice",
    ("anon-a1", "anon-a2"),
    {"email": "alice@example.com", "name": "Alice", "plan": "pro"},
    {"$initial_utm_source": "google"},
)
BOB = KnownPerson("usr_bob", ("anon-b1",), {"email": "bob@example.com", "name": "Bob"})
T0 = datetime(2026, 5, 1, 9, tzinfo=UTC)


def snapshot(sessions: sessionmaker[Session], project_id: int) -> dict[str, Any]:
    """Every identity row of a project, timestamps included."""
    with sessions() as session:
        persons = session.execute(
            select(Person.id, Person.is_identified, Person.properties, Person.created_at,
                   Person.updated_at).where(Person.project_id == project_id).order_by(Person.id)
        ).all()  # fmt: skip
        ids = session.execute(
            select(PersonDistinctId.distinct_id, PersonDistinctId.person_id)
            .where(PersonDistinctId.project_id == project_id)
            .order_by(PersonDistinctId.distinct_id)
        ).all()
        overrides = session.execute(
            select(PersonOverride.old_person_id, PersonOverride.override_person_id,
                   PersonOverride.created_at, PersonOverride.squashed_at)
            .where(PersonOverride.project_id == project_id)
            .order_by(PersonOverride.old_person_id)
        ).all()  # fmt: skip
    return {"persons": persons, "ids": ids, "overrides": overrides}


def warehouse_overrides(warehouse: Warehouse, project_id: int) -> list[tuple[str, str]]:
    rows = warehouse.query(
        "SELECT old_person_id, override_person_id FROM person_overrides WHERE project_id = {p}"
        " ORDER BY old_person_id",
        {"p": project_id},
    ).table.to_pylist()
    return [(r["old_person_id"], r["override_person_id"]) for r in rows]


def unique_persons(warehouse: Warehouse, project_id: int) -> int:
    d = dialect_for(warehouse.dialect)
    merged = has_person_overrides(warehouse, project_id)
    source = d.events_with_persons("project_id = {p}", merged=merged)
    sql = f"SELECT count(DISTINCT person_id) AS n FROM {source} AS ev"
    return int(warehouse.query(sql, {"p": project_id}).table.column("n")[0].as_py())


def test_registered_people_are_found_by_user_id_anonymous_id_and_email(
    context: AppContext,
) -> None:
    project = create_project(context).id
    result = register_people(context.sessions, context.warehouse, project, [ALICE, BOB])
    assert result == Registered(people=2, created=2, updated=0, merged=0, refused=0, overrides=3)
    alice, bob = person_id_for(project, "usr_alice"), person_id_for(project, "usr_bob")
    with transaction(context.sessions) as session:
        assert find_person(session, project, user_id="usr_alice") == alice
        assert find_person(session, project, user_id="anon-a2") == alice
        assert find_person(session, project, email="bob@example.com") == bob
        assert find_person(session, project, user_id="nobody", email="nobody@example.com") is None
        found = person_by_distinct_id(session, project, "anon-a1")
    assert found.id == alice
    assert found.is_identified
    assert found.distinct_ids == ["anon-a1", "anon-a2", "usr_alice"]
    assert sorted(found.merged_person_ids) == sorted(
        person_id_for(project, d) for d in ("anon-a1", "anon-a2")
    )
    assert found.properties == {**ALICE.properties, **ALICE.properties_once}
    assert warehouse_overrides(context.warehouse, project) == sorted(
        [(person_id_for(project, "anon-a1"), alice), (person_id_for(project, "anon-a2"), alice),
         (person_id_for(project, "anon-b1"), bob)]
    )  # fmt: skip


def test_registering_the_same_people_again_changes_nothing(context: AppContext) -> None:
    project = create_project(context).id
    register_people(context.sessions, context.warehouse, project, [ALICE, BOB])
    before = snapshot(context.sessions, project), warehouse_overrides(context.warehouse, project)
    again = register_people(context.sessions, context.warehouse, project, [ALICE, BOB])
    assert again == Registered(people=2)
    assert (snapshot(context.sessions, project),
            warehouse_overrides(context.warehouse, project)) == before  # fmt: skip


def test_set_overwrites_and_set_once_only_fills_on_a_later_registration(
    context: AppContext,
) -> None:
    project = create_project(context).id
    register_people(context.sessions, context.warehouse, project, [ALICE])
    later = KnownPerson("usr_alice", ("anon-a3",), {"plan": "team"},
                        {"$initial_utm_source": "bing", "first_seen": "2026-05"})  # fmt: skip
    result = register_people(context.sessions, context.warehouse, project, [later])
    assert (result.updated, result.overrides, result.created) == (1, 1, 0)
    with transaction(context.sessions) as session:
        found = person_by_distinct_id(session, project, "anon-a3")
    assert found.properties["plan"] == "team"
    assert found.properties["$initial_utm_source"] == "google"
    assert found.properties["first_seen"] == "2026-05"
    assert found.distinct_ids == ["anon-a1", "anon-a2", "anon-a3", "usr_alice"]


def test_events_of_anonymous_and_user_ids_count_as_one_person_each(
    context: AppContext, warehouse: Warehouse
) -> None:
    project = create_project(context).id
    visitors = ["anon-a1", "anon-a2", "usr_alice", "anon-b1", "usr_bob", "anon-stranger"]
    capture(warehouse, project, [
        CaptureEvent(event="$pageview", distinct_id=d, timestamp=T0 + timedelta(minutes=i))
        for i, d in enumerate(visitors)
    ])  # fmt: skip
    assert unique_persons(warehouse, project) == 6
    register_people(context.sessions, warehouse, project, [ALICE, BOB])
    assert unique_persons(warehouse, project) == 3
    register_people(context.sessions, warehouse, project, [ALICE, BOB])
    assert len(warehouse_overrides(warehouse, project)) == 3
    assert squash_overrides(context.sessions, warehouse, older_than=timedelta(0)) == 3
    assert warehouse_overrides(warehouse, project) == []
    assert unique_persons(warehouse, project) == 3


def _existing_state(sessions: sessionmaker[Session], project: int) -> None:
    """What the SDK path had recorded: a visitor with properties, an identified user."""
    identity = Identity(sessions)
    identity.resolve(project, {"anon-c1"}, [PropertyUpdate("anon-c1", {"utm": "ads"}, None)])
    identity.resolve(project, {"usr_dora"}, [Link("usr_dora", "anon-d1")])


def _relative(sessions: sessionmaker[Session], project: int, names: list[str]) -> dict[str, Any]:
    """A project's identity rows with person ids named by the distinct id they derive from."""
    name = {person_id_for(project, n): n for n in names}
    rows = snapshot(sessions, project)
    return {
        "persons": sorted((name[p.id], p.is_identified, p.properties) for p in rows["persons"]),
        "ids": sorted((r.distinct_id, name[r.person_id]) for r in rows["ids"]),
        "overrides": sorted(
            (name[o.old_person_id], name[o.override_person_id]) for o in rows["overrides"]
        ),
    }


def test_registration_leaves_the_tables_as_the_identity_service_merging_each_id(
    context: AppContext,
) -> None:
    """Each id first seen on its own (as ``capture`` stamped it), then ``$identify``; the
    placeholder id is left out of both (the identity service would give it a person of its
    own for naming it, not link it)."""
    people = [
        ALICE,
        BOB,
        KnownPerson("usr_carol", ("anon-c1",), {"email": "carol@example.com"}),
        KnownPerson("usr_erin", ("anon-d1", "null"), {"email": "erin@example.com"}),
    ]
    names = ["usr_alice", "anon-a1", "anon-a2", "usr_bob", "anon-b1", "usr_carol", "anon-c1",
             "usr_dora", "anon-d1", "usr_erin"]  # fmt: skip
    by_rules, registered = create_project(context, "Rules").id, create_project(context).id
    for project in (by_rules, registered):
        _existing_state(context.sessions, project)
    identity = Identity(context.sessions)
    for distinct_id in [d for p in people for d in (p.distinct_id, *p.other_ids) if d in names]:
        identity.resolve(by_rules, {distinct_id}, [])
    operations: list[Operation] = []
    for p in people:
        operations += [Link(p.distinct_id, other) for other in p.other_ids if other in names]
        operations.append(
            PropertyUpdate(p.distinct_id, dict(p.properties), dict(p.properties_once))
        )
    identity.resolve(by_rules, set(names), operations)

    result = register_people(context.sessions, context.warehouse, registered, people)

    assert (result.merged, result.refused) == (1, 1)
    assert _relative(context.sessions, registered, names) == _relative(
        context.sessions, by_rules, names
    )
    with transaction(context.sessions) as session:
        carol = person_by_distinct_id(session, registered, "anon-c1")
    assert carol.properties == {"utm": "ads", "email": "carol@example.com"}
    with transaction(context.sessions) as session:
        assert find_person(session, registered, user_id="null") is None  # never linked


def test_a_user_id_the_sdk_linked_keeps_its_person_and_its_captured_events_follow(
    context: AppContext,
) -> None:
    """The SDK path gave the user id the anonymous person; events ``capture`` stamped
    with the user id's own person get an override to it."""
    project = create_project(context).id
    Identity(context.sessions).resolve(project, {"usr_fay"}, [Link("usr_fay", "anon-f1")])
    capture(context.warehouse, project, [
        CaptureEvent(event="$pageview", distinct_id=d, timestamp=T0)
        for d in ("usr_fay", "anon-f1")
    ])  # fmt: skip
    fay = KnownPerson("usr_fay", ("anon-f1",), {"email": "fay@example.com"})
    result = register_people(context.sessions, context.warehouse, project, [fay])
    assert (result.created, result.updated, result.overrides) == (0, 1, 1)
    survivor = person_id_for(project, "anon-f1")
    with transaction(context.sessions) as session:
        assert find_person(session, project, email="fay@example.com") == survivor
    assert warehouse_overrides(context.warehouse, project) == [
        (person_id_for(project, "usr_fay"), survivor)
    ]
    assert unique_persons(context.warehouse, project) == 1


def test_many_people_are_registered_across_transactions(
    context: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(known, "PEOPLE_PER_TRANSACTION", 700)
    project = create_project(context).id
    people = [
        KnownPerson(f"usr_{i:05d}", (f"anon-{i:05d}",), {"email": f"u{i}@example.com"})
        for i in range(2_300)
    ]
    result = register_people(context.sessions, context.warehouse, project, people)
    assert (result.people, result.created, result.overrides) == (2_300, 2_300, 2_300)
    assert len(warehouse_overrides(context.warehouse, project)) == 2_300
    assert register_people(context.sessions, context.warehouse, project, people) == Registered(
        people=2_300
    )
    with transaction(context.sessions) as session:
        assert find_person(session, project, email="u1999@example.com") == person_id_for(
            project, "usr_01999"
        )


@pytest.mark.parametrize("primary", ["anonymous", "null", "", "x" * 201])
def test_a_placeholder_or_invalid_primary_id_is_refused(primary: str) -> None:
    with pytest.raises(InvalidInput):
        KnownPerson(primary)


def test_properties_must_be_json(context: AppContext) -> None:
    project = create_project(context).id
    strange = KnownPerson("usr_x", (), {"when": object()})
    with pytest.raises(InvalidInput, match="properties"):
        register_people(context.sessions, context.warehouse, project, [strange])
