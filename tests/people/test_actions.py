"""Quick actions on one person, on SQLite and PostgreSQL (DuckDB and chDB for the summary a
tag creates): each action's effect, its ``person_actions`` row and its audit entry; an
e-mail received by a local SMTP server; a ticket with the person as requester; a grant
recorded as a billing request without touching billing objects. Bad input (a NUL
character, a line break in a subject, a tag already there in another letter case) raises
``InvalidInput`` naming the field and writes nothing; an e-mail goes only to a person
whose ``email`` property is exactly one valid address."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loopwise.core.db import transaction
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.core.models import AuditEvent
from loopwise.ingest.facade import KnownPerson, register_people
from loopwise.ingest.ids import person_id_for
from loopwise.people.actions import act
from loopwise.people.contracts import (
    Action,
    ActionDone,
    EmailAction,
    GrantAction,
    NoteAction,
    TagAction,
    TicketAction,
    VipAction,
)
from loopwise.people.identity import person_email
from loopwise.people.models import PersonAction, PersonSummary
from loopwise.people.timeline import timeline
from loopwise.revenue.models import BillingObject, BillingRequest
from loopwise.support.facade import Mailer, mailer, save_template
from loopwise.support.models import Ticket
from loopwise.warehouse import Warehouse
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, create_project
from tests.people.test_timeline import Stripe
from tests.servers import Inbox, free_port, smtp_server

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
AUTHOR = "agent@acme.test"


@pytest.fixture
def smtp() -> Iterator[tuple[str, Inbox]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def project(context: AppContext, warehouse: Warehouse) -> int:
    made = create_project(context)
    people = [
        KnownPerson(distinct_id="ann", properties={"email": "ann@acme.test", "name": "Ann Lee"}),
        KnownPerson(distinct_id="bob", properties={"name": "Bob"}),  # no e-mail address
    ]
    register_people(context.sessions, warehouse, made.id, people)
    with transaction(context.sessions) as session:
        stripe = Stripe(session, made.id, "ann")
        stripe.customer("ann", NOW - timedelta(days=60))
        stripe.subscription(4900, "Pro", NOW - timedelta(days=20), NOW + timedelta(days=10))
    return made.id


def ann(project: int) -> str:
    return person_id_for(project, "ann")


def run(
    context: AppContext, warehouse: Warehouse, project: int, action: Action, *,
    who: str = "ann", send: Mailer | None = None,
) -> ActionDone:  # fmt: skip
    with transaction(context.sessions) as session:
        return act(session, warehouse, TEST_ACTOR, project, person_id_for(project, who), action,
                   NOW, mailer=send, sender="team@acme.test", author=AUTHOR)  # fmt: skip


def written(session: Session) -> tuple[int, int]:
    """Rows in person_actions and the audit log."""
    actions = session.scalar(select(func.count()).select_from(PersonAction)) or 0
    audits = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    return actions, audits


def refused(
    context: AppContext, warehouse: Warehouse, project: int, action: Action, field: str, *,
    who: str = "ann", send: Mailer | None = None,
) -> None:  # fmt: skip
    """The action raises InvalidInput naming ``field`` and adds no row before raising."""
    with transaction(context.sessions) as session:
        before = written(session)
        with pytest.raises(InvalidInput) as caught:
            act(session, warehouse, TEST_ACTOR, project, person_id_for(project, who), action,
                NOW, mailer=send, sender="team@acme.test", author=AUTHOR)  # fmt: skip
        session.flush()
        assert caught.value.field == field
        assert written(session) == before


def recorded(context: AppContext, project: int, kind: str) -> tuple[PersonAction, AuditEvent]:
    """The one person_actions row of ``kind`` and the one audit entry for it."""
    with context.sessions() as session:
        rows = session.scalars(select(PersonAction).where(PersonAction.kind == kind)).all()
        assert len(rows) == 1
        audits = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("person.%"))
            .where(AuditEvent.details["action_id"].as_integer() == rows[0].id)
        ).all()  # fmt: skip
        assert len(audits) == 1
        assert (audits[0].target, audits[0].project_id) == (ann(project), project)
        assert (rows[0].person_id, rows[0].author, rows[0].at) == (ann(project), AUTHOR, NOW)
        return rows[0], audits[0]


def summary(context: AppContext, project: int) -> PersonSummary:
    with context.sessions() as session:
        found = session.get(PersonSummary, (project, ann(project)))
        assert found is not None
        return found


def test_a_note_is_stored_audited_and_on_the_timeline(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    done = run(context, warehouse, project, NoteAction(kind="note", body="  Renewal **in May**  "))
    row, entry = recorded(context, project, "note")
    assert (done.kind, done.action_id, row.body) == ("note", row.id, "Renewal **in May**")
    assert entry.action == "person.note_added"
    with transaction(context.sessions) as session:
        found = timeline(session, warehouse, project, ann(project), NOW + timedelta(seconds=1),
                         kinds=("note",))  # fmt: skip
    assert [(i.kind, i.title, i.detail) for i in found.items] == [
        ("note", f"Note by {AUTHOR}", "Renewal **in May**")
    ]
    refused(context, warehouse, project, NoteAction(kind="note", body="   "), "body")


def test_tags_are_added_and_removed_on_a_summary_made_when_missing(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    run(context, warehouse, project, TagAction(kind="tag", tag="  churn   risk "))
    assert summary(context, project).tags == ["churn risk"]
    row, entry = recorded(context, project, "tag")
    assert (entry.action, entry.details["tag"], row.details) == (
        "person.tagged", "churn risk", {"tag": "churn risk"}
    )  # fmt: skip
    refused(context, warehouse, project, TagAction(kind="tag", tag="churn risk"), "tag")
    run(context, warehouse, project, TagAction(kind="tag", tag="Beta"))
    assert summary(context, project).tags == ["Beta", "churn risk"]
    run(context, warehouse, project, TagAction(kind="untag", tag="churn risk"))
    assert summary(context, project).tags == ["Beta"]
    _, entry = recorded(context, project, "untag")
    assert entry.action == "person.untagged"
    refused(context, warehouse, project, TagAction(kind="untag", tag="churn risk"), "tag")


def test_the_vip_mark_is_set_and_audited(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    assert run(context, warehouse, project, VipAction(kind="vip")).message == "Marked as VIP."
    assert summary(context, project).vip is True
    _, entry = recorded(context, project, "vip")
    assert (entry.action, entry.details["vip"], entry.details["was"]) == (
        "person.vip_changed", True, False
    )  # fmt: skip


def test_an_email_from_a_template_reaches_the_person(
    context: AppContext, warehouse: Warehouse, project: int, smtp: tuple[str, Inbox]
) -> None:
    with transaction(context.sessions) as session:
        template = save_template(session, project, "Your {{ plan }} plan", "",
                                 "Hi {{ first_name }},\n\nYou pay {{ mrr }} a month.\n\n"
                                 "{{ agent_name }}", NOW).id  # fmt: skip
    send = mailer(smtp[0], "team@acme.test")
    done = run(context, warehouse, project, EmailAction(kind="email", template_id=template),
               send=send)  # fmt: skip
    assert done.message == "E-mail sent to ann@acme.test."
    assert len(smtp[1].messages) == 1
    message = message_from_bytes(smtp[1].messages[0], policy=policy.default)
    assert (message["To"], message["From"], message["Subject"]) == (
        "ann@acme.test", "team@acme.test", "Your Pro plan"
    )  # fmt: skip
    body = message.get_body(("plain",))
    assert body is not None
    text: Any = body.get_content()
    assert (
        text.replace("\r\n", "\n").strip() == f"Hi Ann,\n\nYou pay USD 49.00 a month.\n\n{AUTHOR}"
    )
    row, entry = recorded(context, project, "email")
    assert row.details["subject"] == "Your Pro plan"
    assert (entry.action, entry.details["to"]) == ("person.email_sent", "ann@acme.test")


def test_an_email_that_cannot_be_sent_is_refused_and_not_recorded(
    context: AppContext, warehouse: Warehouse, project: int, smtp: tuple[str, Inbox]
) -> None:
    send = mailer(smtp[0], "team@acme.test")
    written_by_hand = EmailAction(kind="email", subject="Hello", body="Hi there")
    unknown = EmailAction(kind="email", template_id=999_999, subject="x")
    refused(context, warehouse, project, unknown, "template_id", send=send)
    refused(context, warehouse, project, written_by_hand, "email", who="bob", send=send)
    refused(context, warehouse, project, written_by_hand, "smtp", send=None)
    refused(context, warehouse, project, EmailAction(kind="email", subject="Hello"), "body",
            send=send)  # fmt: skip
    nowhere = mailer(f"smtp://127.0.0.1:{free_port()}", "team@acme.test")
    refused(context, warehouse, project, written_by_hand, "email", send=nowhere)
    assert smtp[1].messages == []


def test_a_ticket_is_created_with_the_person_as_requester(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    action = TicketAction(
        kind="ticket", subject="Follow-up on billing",
        body="Customer called about a double charge.", priority="high",
    )  # fmt: skip
    done = run(context, warehouse, project, action)
    with context.sessions() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.project_id == project)).one()
    assert (ticket.person_id, ticket.requester_email, ticket.source) == (
        ann(project), "ann@acme.test", "agent"
    )  # fmt: skip
    assert (ticket.subject, ticket.priority, ticket.status) == (
        "Follow-up on billing", "high", "new"
    )  # fmt: skip
    assert done.link == f"/projects/{project}/support/tickets/{ticket.id}"
    row, entry = recorded(context, project, "ticket")
    assert (row.details["ticket_id"], row.details["number"]) == (ticket.id, ticket.number)
    assert entry.action == "person.ticket_created"


def test_a_grant_is_recorded_as_a_billing_request_only(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    with context.sessions() as session:
        objects = session.scalars(select(BillingObject.data)).all()
    run(context, warehouse, project, GrantAction(kind="grant", grant="complimentary", months=3,
                                                  plan="Pro", reason="Beta tester"))  # fmt: skip
    run(context, warehouse, project, GrantAction(kind="grant", grant="credit", amount=25.5,
                                                  reason="Outage on 3 March"))  # fmt: skip
    with context.sessions() as session:
        requests = session.scalars(select(BillingRequest).order_by(BillingRequest.id)).all()
        assert session.scalars(select(BillingObject.data)).all() == objects
        audits = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("%request%"))
            .order_by(AuditEvent.id)
        ).all()  # fmt: skip
    assert [(r.kind, r.months, r.plan, r.amount_minor, r.currency, r.customer_id, r.status,
             r.requested_by, r.person_id) for r in requests] == [
        ("complimentary", 3, "Pro", 0, "usd", "cus_ann", "requested", AUTHOR, ann(project)),
        ("credit", 0, "", 2550, "usd", "cus_ann", "requested", AUTHOR, ann(project)),
    ]  # fmt: skip
    assert audits == ["revenue.request_recorded", "person.grant_requested"] * 2
    with context.sessions() as session:
        rows = session.scalars(select(PersonAction).order_by(PersonAction.id)).all()
    assert [r.details["request_id"] for r in rows] == [r.id for r in requests]
    refused(context, warehouse, project, GrantAction(kind="grant", grant="complimentary",
                                                     months=0, reason="x"), "months")  # fmt: skip
    refused(context, warehouse, project, GrantAction(kind="grant", grant="credit", amount=0,
                                                     reason="x"), "amount")  # fmt: skip


def test_a_person_of_another_project_is_not_found(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    other = create_project(context, "Other").id
    with transaction(context.sessions) as session, pytest.raises(NotFound):
        act(session, warehouse, TEST_ACTOR, other, ann(project), VipAction(kind="vip"), NOW,
            mailer=None, sender="", author=AUTHOR)  # fmt: skip


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (" Ann.Lee+news@Acme.test ", "Ann.Lee+news@Acme.test"),
        ("o'brien@x.ie", "o'brien@x.ie"),
        ("attacker@x.test, victim@y.test", ""),
        ("attacker,victim@y.test", ""),
        ("Ann <ann@acme.test>", ""),
        ("<ann@acme.test>", ""),
        ("ann@acme.test\r\nBcc: victim@y.test", ""),
        ("ann@acme.test>", ""),
        ('"ann"@acme.test', ""),
        ("ann@localhost", ""),
        ("ann..lee@acme.test", ""),
        ("ann@-acme.test", ""),
        ("a" * 65 + "@acme.test", ""),
        (["ann@acme.test"], ""),
    ],
)
def test_a_persons_email_is_exactly_one_valid_address(value: object, expected: str) -> None:
    assert person_email({"email": value}) == expected


def test_a_person_whose_email_property_lists_two_addresses_gets_no_email(
    context: AppContext, warehouse: Warehouse, project: int, smtp: tuple[str, Inbox]
) -> None:
    register_people(context.sessions, warehouse, project, [KnownPerson(
        distinct_id="mal", properties={"email": "attacker@x.test, victim@y.test"})])  # fmt: skip
    action = EmailAction(kind="email", subject="Hello", body="Hi there")
    refused(context, warehouse, project, action, "email", who="mal",
            send=mailer(smtp[0], "team@acme.test"))  # fmt: skip
    assert smtp[1].messages == []


@pytest.mark.parametrize(
    ("action", "field"),
    [
        (TagAction(kind="tag", tag="\u0000"), "tag"),
        (TagAction(kind="tag", tag="beta\u0000"), "tag"),
        (TagAction(kind="tag", tag="a\u0007b"), "tag"),
        (NoteAction(kind="note", body="Called\u0000 her"), "body"),
        (TicketAction(kind="ticket", subject="Help\u0000", body="x"), "subject"),
        (TicketAction(kind="ticket", subject="Help", body="x\u0000"), "body"),
        (GrantAction(kind="grant", grant="credit", amount=5, reason="Sorry\u0000"), "reason"),
        (EmailAction(kind="email", subject="Hello", body="Hi\u0000"), "body"),
        (EmailAction(kind="email", subject="Hello\r\nBcc: victim@y.test", body="Hi"), "subject"),
        (EmailAction(kind="email", subject="Hello\n", body="Hi"), "subject"),
    ],
)  # fmt: skip
def test_nul_and_line_breaks_are_refused_naming_the_field(
    context: AppContext, warehouse: Warehouse, project: int, smtp: tuple[str, Inbox],
    action: Action, field: str,
) -> None:  # fmt: skip
    refused(context, warehouse, project, action, field, send=mailer(smtp[0], "team@acme.test"))
    assert smtp[1].messages == []


def test_tags_compare_whatever_their_case_and_keep_the_first_spelling(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    run(context, warehouse, project, TagAction(kind="tag", tag="Beta"))
    refused(context, warehouse, project, TagAction(kind="tag", tag="BETA"), "tag")
    done = run(context, warehouse, project, TagAction(kind="untag", tag=" beta "))
    assert done.message == "Removed the tag “Beta”."
    assert summary(context, project).tags == []


def test_a_line_break_in_a_name_is_one_line_in_the_subject(
    context: AppContext, warehouse: Warehouse, project: int, smtp: tuple[str, Inbox]
) -> None:
    register_people(context.sessions, warehouse, project, [KnownPerson(
        distinct_id="cy", properties={"email": "cy@acme.test",
                                      "name": "Cy\r\nBcc: victim@y.test"})])  # fmt: skip
    action = EmailAction(kind="email", subject="Hello {{ name }}", body="Hi {{ first_name }}")
    run(context, warehouse, project, action, who="cy", send=mailer(smtp[0], "team@acme.test"))
    [raw] = smtp[1].messages
    message = message_from_bytes(raw, policy=policy.default)
    assert (message["To"], message["Subject"], message["Bcc"]) == (
        "cy@acme.test", "Hello Cy Bcc: victim@y.test", None)  # fmt: skip


@pytest.mark.parametrize("template_id", [2**63, 10**30])
def test_a_template_id_beyond_what_the_database_stores_is_refused(template_id: int) -> None:
    with pytest.raises(ValidationError) as refused:
        EmailAction(kind="email", template_id=template_id)
    assert refused.value.errors()[0]["loc"] == ("template_id",)
