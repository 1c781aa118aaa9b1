"""The identity service's merge rules (PostHog's), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core import accounts
from loopwise.core.db import make_engine, migrate, session_factory
from loopwise.ingest.identity import Identity, Link, PropertyUpdate, is_placeholder
from loopwise.ingest.ids import person_id_for
from loopwise.ingest.persons import list_persons, person_by_distinct_id, person_by_id
from tests.factories import TEST_ACTOR

P = 1  # the project every test creates first in its fresh database


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    migrate(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        assert accounts.create_project(session, TEST_ACTOR, "Identity").id == P
    yield factory
    engine.dispose()


def person(sessions: sessionmaker[Session], distinct_id: str) -> dict:
    with sessions() as session:
        return person_by_distinct_id(session, P, distinct_id).model_dump()


@pytest.mark.parametrize(
    "value", ["anonymous", "Guest", "null", "0", "undefined", " ", "[object Object]"]
)
def test_placeholder_ids_are_recognised(value: str) -> None:
    assert is_placeholder(value)


@pytest.mark.parametrize("value", ["user-1", "0x0", "Null-island", "00"])
def test_real_ids_are_not_placeholders(value: str) -> None:
    assert not is_placeholder(value)


def test_a_new_distinct_id_gets_its_own_deterministic_person(
    sessions: sessionmaker[Session],
) -> None:
    resolution = Identity(sessions).resolve(P, {"a"}, [])
    assert resolution.persons == {"a": person_id_for(P, "a")}
    assert person(sessions, "a")["is_identified"] is False


def test_identify_with_an_unknown_user_id_keeps_the_anonymous_person(
    sessions: sessionmaker[Session],
) -> None:
    identity = Identity(sessions)
    identity.resolve(P, {"anon"}, [])
    resolution = identity.resolve(P, {"user"}, [Link("user", "anon")])
    assert resolution.persons["user"] == person_id_for(P, "anon")
    assert resolution.overrides == {}
    found = person(sessions, "user")
    assert found["distinct_ids"] == ["anon", "user"]
    assert found["is_identified"] is True


def test_merging_two_stored_persons_records_an_override_and_merges_properties(
    sessions: sessionmaker[Session],
) -> None:
    identity = Identity(sessions)
    identity.resolve(P, {"anon"}, [PropertyUpdate("anon", {"utm": "ads", "plan": "free"}, None)])
    identity.resolve(P, {"user"}, [PropertyUpdate("user", {"plan": "pro"}, None)])
    resolution = identity.resolve(P, {"user"}, [Link("user", "anon")])
    anon_person, user_person = person_id_for(P, "anon"), person_id_for(P, "user")
    assert resolution.overrides == {anon_person: user_person}
    assert resolution.merges == 1
    found = person(sessions, "anon")
    assert found["id"] == user_person
    assert found["properties"] == {"utm": "ads", "plan": "pro"}  # the survivor's values win
    assert found["merged_person_ids"] == [anon_person]
    with sessions() as session:
        assert person_by_id(session, P, anon_person).id == user_person


def test_an_identified_person_is_never_merged_into_another(sessions: sessionmaker[Session]) -> None:
    identity = Identity(sessions)
    identity.resolve(P, {"alice"}, [Link("alice", "device-1")])  # alice is identified
    identity.resolve(P, {"bob"}, [])
    resolution = identity.resolve(P, {"bob"}, [Link("bob", "alice")])
    assert resolution.refused == 1
    assert resolution.overrides == {}
    assert person(sessions, "alice")["id"] != person(sessions, "bob")["id"]


def test_placeholder_ids_are_never_linked(sessions: sessionmaker[Session]) -> None:
    identity = Identity(sessions)
    identity.resolve(P, {"anonymous", "user-1", "user-2"}, [])
    identity.resolve(P, {"user-1"}, [Link("user-1", "anonymous")])
    identity.resolve(P, {"user-2"}, [Link("user-2", "anonymous")])
    assert person(sessions, "user-1")["id"] != person(sessions, "user-2")["id"]
    assert person(sessions, "anonymous")["distinct_ids"] == ["anonymous"]


def test_a_merge_survivor_is_identified_so_it_is_not_merged_again(
    sessions: sessionmaker[Session],
) -> None:
    identity = Identity(sessions)
    identity.resolve(P, {"a", "b", "c"}, [])
    identity.resolve(P, {"b"}, [Link("b", "a")])  # a's person merges into b's
    resolution = identity.resolve(P, {"c"}, [Link("c", "b")])
    assert resolution.refused == 1
    a, b = person_id_for(P, "a"), person_id_for(P, "b")
    assert person(sessions, "a")["id"] == b
    assert person(sessions, "a")["merged_person_ids"] == [a]
    assert person(sessions, "c")["id"] == person_id_for(P, "c")


def test_set_once_only_fills_missing_properties_in_event_order(
    sessions: sessionmaker[Session],
) -> None:
    identity = Identity(sessions)
    identity.resolve(
        P,
        {"u"},
        [
            PropertyUpdate("u", None, {"first_seen": "mon", "plan": "free"}),
            PropertyUpdate("u", {"plan": "pro"}, {"first_seen": "tue"}),
        ],
    )
    assert person(sessions, "u")["properties"] == {"first_seen": "mon", "plan": "pro"}


def test_every_id_of_a_merged_person_follows_it_even_when_not_in_the_batch(
    sessions: sessionmaker[Session],
) -> None:
    identity = Identity(sessions)
    identity.resolve(P, {"phone", "laptop", "user"}, [])
    identity.resolve(P, {"laptop"}, [Link("laptop", "phone")])  # phone joins laptop's person
    identity.resolve(P, {"user"}, [Link("user", "laptop")])  # refused: laptop is identified
    fresh = Identity(sessions)  # another node, empty cache
    for resolver in (identity, fresh):
        persons = resolver.resolve(P, {"phone", "laptop"}, []).persons
        assert persons["phone"] == persons["laptop"] == person_id_for(P, "laptop")


def test_persons_list_in_pages_with_their_ids(sessions: sessionmaker[Session]) -> None:
    identity = Identity(sessions)
    identity.resolve(P, {"a", "b", "c"}, [])
    identity.resolve(P, {"b"}, [Link("b", "a")])
    with sessions() as session:
        first = list_persons(session, P, limit=1)
        rest = list_persons(session, P, limit=10, after=first[0].id)
    everyone = first + rest
    assert len(everyone) == 2
    by_ids = {tuple(p.distinct_ids): p for p in everyone}
    assert set(by_ids) == {("a", "b"), ("c",)}
    assert by_ids[("a", "b")].merged_person_ids == [person_id_for(P, "a")]
    assert by_ids[("c",)].merged_person_ids == []
