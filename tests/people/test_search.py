"""The people search box on SQLite and PostgreSQL: e-mail and name prefixes, a word of the
name, distinct ids (merged ones finding the survivor), billing customer ids and ticket
numbers through the other areas, typos, and other projects left out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from loopwise.core.db import transaction
from loopwise.core.errors import InvalidInput
from loopwise.core.textkeys import after_prefix
from loopwise.ingest.facade import KnownPerson, register_people
from loopwise.ingest.ids import person_id_for
from loopwise.people import search as search_module
from loopwise.people.models import PersonSummary
from loopwise.people.search import search
from loopwise.revenue.facade import apply_event
from loopwise.support.contracts import NewTicket
from loopwise.support.facade import record_ticket
from loopwise.web.context import AppContext
from tests.factories import create_project

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
PEOPLE = {  # user id: (e-mail, name)
    "user-jane": ("jane@acme.io", "Jane Doe"),
    "user-john": ("john@x.io", "John Smith"),
    "user-bob": ("bob.stone@globex.com", "Bob Stone"),
    "user-janet": ("janet@y.io", "Janet Moss"),
}


def add_summary(context: AppContext, project_id: int, person_id: str, email: str, name: str
                ) -> None:  # fmt: skip
    with transaction(context.sessions) as session:
        session.add(PersonSummary(project_id=project_id, person_id=person_id, email=email,
                                  name=name, name_key=name.lower(), computed_at=NOW))  # fmt: skip


@pytest.fixture
def project(context: AppContext) -> tuple[int, int]:
    """A project with four people, Jane's customer and Bob's ticket; and another project
    with its own Jane."""
    made, other = create_project(context), create_project(context, "Other")
    people = [KnownPerson(distinct_id=user, other_ids=["anon-jane"] if user == "user-jane" else [])
              for user in PEOPLE]  # fmt: skip
    register_people(context.sessions, context.warehouse, made.id, people)
    for user, (email, name) in PEOPLE.items():
        add_summary(context, made.id, person_id_for(made.id, user), email, name)
    add_summary(context, other.id, person_id_for(other.id, "user-jane"), "jane@other.io", "Jane")
    with transaction(context.sessions) as session:
        customer = {"id": "cus_JaneA1", "object": "customer", "email": "jane@acme.io",
                    "metadata": {"user_id": "user-jane"}}  # fmt: skip
        event = {"id": "evt_1", "object": "event", "type": "customer.created", "created": 1,
                 "data": {"object": customer}}  # fmt: skip
        assert apply_event(session, made.id, event).outcome == "applied"
        ticket = NewTicket(subject="Cannot export", body="The export fails.",
                           requester_user_id="user-bob")  # fmt: skip
        assert record_ticket(session, made.id, ticket, NOW).number == 1
    return made.id, other.id


def found(context: AppContext, project_id: int, q: str, limit: int = 10) -> list[tuple[str, str]]:
    """(user id, what matched) of each result, in order."""
    users = {person_id_for(project_id, user): user for user in PEOPLE}
    with context.sessions() as session:
        rows = search(session, project_id, q, limit=limit)
    return [(users.get(r.person_id, r.person_id), r.matched) for r in rows]


def test_email_prefix_ignores_case(context: AppContext, project: tuple[int, int]) -> None:
    assert found(context, project[0], "JANE@ac") == [("user-jane", "email")]
    assert found(context, project[0], "jane") == [("user-jane", "email"), ("user-janet", "email")]


def test_name_prefix_and_a_later_word_of_the_name(
    context: AppContext, project: tuple[int, int]
) -> None:
    assert found(context, project[0], "john s") == [("user-john", "name")]
    assert found(context, project[0], "Doe") == [("user-jane", "name")]
    assert found(context, project[0], "sto") == [("user-bob", "name")]


def test_distinct_ids_find_their_person_and_merged_ids_the_survivor(
    context: AppContext, project: tuple[int, int]
) -> None:
    assert found(context, project[0], "user-jo") == [("user-john", "distinct id")]
    assert found(context, project[0], "anon-ja") == [("user-jane", "distinct id")]


def test_customer_id_and_ticket_number(context: AppContext, project: tuple[int, int]) -> None:
    assert found(context, project[0], "cus_Jane") == [("user-jane", "customer cus_JaneA1")]
    assert found(context, project[0], "#1") == [("user-bob", "ticket #1")]
    assert found(context, project[0], "1") == [("user-bob", "ticket #1")]
    assert found(context, project[0], "#2") == []


def test_typos_find_similar_emails_and_names(context: AppContext, project: tuple[int, int]) -> None:
    assert found(context, project[0], "jhon@") == [("user-john", "similar e-mail")]
    assert found(context, project[0], "smiht") == [("user-john", "similar name")]
    assert found(context, project[0], "jnae d") == [("user-jane", "similar name")]
    assert found(context, project[0], "xqzv") == []


def test_prefix_matches_come_before_similar_ones(
    context: AppContext, project: tuple[int, int]
) -> None:
    assert found(context, project[0], "janet") == [
        ("user-janet", "email"), ("user-jane", "similar name")]  # fmt: skip
    assert found(context, project[0], "janet", limit=1) == [("user-janet", "email")]


def test_other_projects_people_are_not_found(context: AppContext, project: tuple[int, int]) -> None:
    mine, other = project
    assert [m for _, m in found(context, other, "jane")] == ["email"]
    assert found(context, other, "cus_Jane") == []
    assert found(context, other, "#1") == []
    assert found(context, other, "doe") == []
    assert ("user-jane", "email") in found(context, mine, "jane")


def test_new_summaries_are_found_once_the_keys_are_read_again(
    context: AppContext, project: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert found(context, project[0], "quinn") == []
    add_summary(context, project[0], "p-zoe", "zoe@z.io", "Zoe Quinn")
    monkeypatch.setattr(search_module, "STAMP_SECONDS", 0.0)
    assert found(context, project[0], "quinn") == [("p-zoe", "name")]
    assert found(context, project[0], "qiunn") == [("p-zoe", "similar name")]


def test_empty_text_finds_no_one_and_limits_are_checked(
    context: AppContext, project: tuple[int, int]
) -> None:
    assert found(context, project[0], "   ") == []
    assert found(context, project[0], "jane@\x00acme") == [("user-jane", "email")]
    with context.sessions() as session, pytest.raises(InvalidInput) as refused:
        search(session, project[0], "jane", limit=0)
    assert refused.value.field == "limit"


def test_the_end_of_a_prefix_range_is_the_first_text_after_it() -> None:
    assert after_prefix("jane@") == "janeA"  # "@" is U+0040, "A" U+0041
    assert after_prefix("ab\U0010ffff") == "ac"  # the last code point cannot move up
    assert after_prefix("a\ud7ff") == "a\ue000"  # surrogates are skipped
    assert after_prefix("\U0010ffff") is None
    assert after_prefix("") is None
