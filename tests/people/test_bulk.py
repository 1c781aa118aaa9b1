"""Bulk actions on SQLite and PostgreSQL: tagging (tags, timeline rows, audit), the CSV
export, adding to static cohorts (seen through product analytics), and e-mail: a preview
that sends nothing, then sending through a real local SMTP server, each send logged and
a refused delivery recorded without stopping the rest; only a single valid address
receives one, a subject is one line, and tags and text follow the quick actions' rules."""

from __future__ import annotations

import csv
import email
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.db import transaction
from loopwise.core.errors import InvalidInput
from loopwise.people.bulk import BulkOutcome, run_bulk
from loopwise.people.contracts import BulkAction
from loopwise.people.models import PersonAction, PersonSummary
from loopwise.product.cohorts import save_cohort
from loopwise.product.contracts import CohortCriterion, CohortDefinition
from loopwise.product.facade import cohort
from loopwise.support.facade import mailer, save_template
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, create_project
from tests.servers import Inbox, free_port, smtp_server

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
SENDER = "team@loopwise.test"
PEOPLE = [  # person id, e-mail, name, plan, account, MRR (minor units), tags
    ("p-ann", "ann@acme.io", "Ann Lee", "Pro", "Acme", 9_900, ["beta"]),
    ("p-bob", "bob@x.io", "Bob Stone", "Basic", "", 1_250, []),
    ("p-eve", "eve@x.io", "=HYPERLINK(evil)", "", "+Corp", 0, ["VIP list"]),
    ("p-fay", "", "Fay", "", "", 0, []),
]
EVERYONE = {"filter": {"sort": "name"}}


@pytest.fixture
def project(context: AppContext) -> int:
    made, other = create_project(context), create_project(context, "Other")
    with transaction(context.sessions) as session:
        for person, address, name, plan, account, mrr, tags in PEOPLE:
            session.add(PersonSummary(project_id=made.id, person_id=person, email=address,
                                      name=name, name_key=name.lower(), plan=plan,
                                      account=account, mrr_minor=mrr, tags=tags,
                                      billing_status="paying" if mrr else "",
                                      created_at=NOW, computed_at=NOW))  # fmt: skip
        session.add(PersonSummary(project_id=other.id, person_id="p-zed", email="zed@x.io",
                                  name="Zed", name_key="zed", computed_at=NOW))  # fmt: skip
    return made.id


def bulk(context: AppContext, project: int, *, currency: str = "usd", send: Any = None,
         **action: Any) -> BulkOutcome:  # fmt: skip
    with transaction(context.sessions) as session:
        return run_bulk(session, context.warehouse, TEST_ACTOR, project,
                        BulkAction.model_validate(action), NOW, currency=currency,
                        mailer=send, sender=SENDER)  # fmt: skip


def actions(session: Session, project: int, kind: str) -> list[PersonAction]:
    query = select(PersonAction).where(PersonAction.project_id == project)
    return list(session.scalars(query.where(PersonAction.kind == kind)))


def audited(session: Session, project: int, action: str) -> list[dict[str, Any]]:
    entries, _ = audit.entries(session, action=action, limit=100)
    return [e.details for e in entries if e.project_id == project]


def test_tag_adds_once_and_logs_each_person(context: AppContext, project: int) -> None:
    first = bulk(context, project, kind="tag", tag=" vip  list ", **EVERYONE)
    again = bulk(context, project, kind="tag", tag="vip list", **EVERYONE)
    assert (first.count, again.count) == (4, 4)
    assert "already had it" in first.message
    assert "Tagged 0" in again.message
    with context.sessions() as session:
        tags = dict(session.execute(select(PersonSummary.person_id, PersonSummary.tags)).all())
        logged = actions(session, project, "tag")
        entries = audited(session, project, "people.tagged")
    assert tags == {"p-ann": ["beta", "vip list"], "p-bob": ["vip list"],
                    "p-eve": ["VIP list"], "p-fay": ["vip list"], "p-zed": []}  # fmt: skip
    assert sorted(a.person_id for a in logged) == ["p-ann", "p-bob", "p-fay"]
    assert all(a.details == {"bulk": True, "tag": "vip list"} for a in logged)
    assert sorted((e["count"], e["added"]) for e in entries) == [(4, 0), (4, 3)]


def test_tag_needs_a_tag_and_someone_to_tag(context: AppContext, project: int) -> None:
    with pytest.raises(InvalidInput) as no_tag:
        bulk(context, project, kind="tag", tag="  ", **EVERYONE)
    with pytest.raises(InvalidInput) as no_one:
        bulk(context, project, kind="tag", tag="x", filter={"q": "nobody"})
    assert (no_tag.value.field, no_one.value.field) == ("tag", "filter")


def test_export_writes_every_selected_person(context: AppContext, project: int) -> None:
    done = bulk(context, project, kind="export", **EVERYONE)
    yen = bulk(context, project, kind="export", currency="jpy", filter={"q": "ann"})
    rows = list(csv.DictReader(io.StringIO(done.csv_text or "")))
    assert done.count == 4
    assert [r["person_id"] for r in rows] == ["p-eve", "p-ann", "p-bob", "p-fay"]
    ann = rows[1]
    assert (ann["email"], ann["name"], ann["plan"], ann["account"], ann["mrr"]) == (
        "ann@acme.io", "Ann Lee", "Pro", "Acme", "99.00")  # fmt: skip
    assert (ann["billing_status"], ann["tags"], ann["last_seen"]) == ("paying", "beta", "")
    assert ann["created_at"] == NOW.isoformat()
    assert (rows[0]["name"], rows[0]["account"]) == ("'=HYPERLINK(evil)", "'+Corp")
    assert rows[2]["mrr"] == "12.50"
    [yen_row] = csv.DictReader(io.StringIO(yen.csv_text or ""))
    assert yen_row["mrr"] == "9900"
    with context.sessions() as session:
        assert [e["count"] for e in audited(session, project, "people.exported")] == [1, 4]


def test_cohort_new_then_existing_static_one(context: AppContext, project: int) -> None:
    made = bulk(
        context,
        project,
        kind="cohort",
        cohort_name="Beta testers",
        filter={"conditions": [{"field": "tags", "op": "contains", "value": "beta"}]},
    )
    with context.sessions() as session:
        created = cohort(session, project, _cohort_id(session, project, "people.added_to_cohort"))
    assert (made.count, created.name, created.definition.person_ids) == (
        1, "Beta testers", ["p-ann"])  # fmt: skip
    bulk(context, project, kind="cohort", cohort_id=created.id, **EVERYONE)
    with context.sessions() as session:
        grown = cohort(session, project, created.id)
        entries = audited(session, project, "people.added_to_cohort")
    assert grown.definition.person_ids == ["p-ann", "p-eve", "p-bob", "p-fay"]
    assert sorted(e["count"] for e in entries) == [1, 4]


def test_cohort_needs_a_static_cohort_or_a_name(context: AppContext, project: int) -> None:
    with transaction(context.sessions) as session:
        criteria = [CohortCriterion(type="did_event", event="export")]
        dynamic = save_cohort(session, TEST_ACTOR, project, "Exporters",
                              CohortDefinition(criteria=criteria))  # fmt: skip
    with pytest.raises(InvalidInput) as to_dynamic:
        bulk(context, project, kind="cohort", cohort_id=dynamic.id, **EVERYONE)
    with pytest.raises(InvalidInput) as unnamed:
        bulk(context, project, kind="cohort", **EVERYONE)
    assert (to_dynamic.value.field, unnamed.value.field) == ("cohort_id", "cohort_id")


def _cohort_id(session: Session, project: int, action: str) -> int:
    return int(audited(session, project, action)[0]["cohort_id"])


# --- e-mail ----------------------------------------------------------------------------------

MESSAGE = {"subject": "Your {{plan}} plan", "body": "Hi {{first_name}},\n{{account}} is set."}


def parsed(raw: bytes) -> Message:
    return email.message_from_bytes(raw)


def test_email_preview_sends_nothing(context: AppContext, project: int) -> None:
    with smtp_server() as (url, inbox):
        preview = bulk(context, project, kind="email", send=mailer(url, SENDER), **MESSAGE,
                       **EVERYONE)  # fmt: skip
    assert inbox.messages == []
    assert (preview.count, preview.sent) == (3, 0)
    assert "1 without a valid e-mail address" in preview.message
    assert preview.preview == [
        ("eve@x.io", "Your  plan", "Hi =HYPERLINK(evil),\n+Corp is set."),
        ("ann@acme.io", "Your Pro plan", "Hi Ann,\nAcme is set."),
        ("bob@x.io", "Your Basic plan", "Hi Bob,\n is set."),
    ]
    with context.sessions() as session:
        assert actions(session, project, "email") == []
        assert audited(session, project, "people.emailed") == []


def test_email_confirmed_is_sent_and_logged(context: AppContext, project: int) -> None:
    with smtp_server() as (url, inbox):
        done = bulk(context, project, kind="email", send=mailer(url, SENDER), confirm=True,
                    filter={"q": "ann"}, **MESSAGE)  # fmt: skip
    assert (done.count, done.sent, done.failed) == (1, 1, [])
    [message] = [parsed(raw) for raw in inbox.messages]
    assert (message["To"], message["From"], message["Subject"]) == (
        "ann@acme.io", SENDER, "Your Pro plan")  # fmt: skip
    assert str(message.get_payload()).replace("\r\n", "\n").strip() == "Hi Ann,\nAcme is set."
    with context.sessions() as session:
        [logged] = actions(session, project, "email")
        [entry] = audited(session, project, "people.emailed")
    assert (logged.person_id, logged.body) == ("p-ann", "Hi Ann,\nAcme is set.")
    assert logged.details["subject"] == "Your Pro plan"
    assert logged.details["status"] == "sent"
    assert entry == {"recipients": 1, "sent": 1, "failed": 0, "skipped": 0}


class Picky(Inbox):
    """An SMTP server that has no mailbox for bob."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:  # fmt: skip
        if address.startswith("bob@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@contextmanager
def picky_server() -> Iterator[tuple[str, Picky]]:
    inbox, port = Picky(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


def test_a_refused_delivery_does_not_stop_the_rest(context: AppContext, project: int) -> None:
    with picky_server() as (url, inbox):
        done = bulk(context, project, kind="email", send=mailer(url, SENDER), confirm=True,
                    **MESSAGE, **EVERYONE)  # fmt: skip
    assert (done.count, done.sent, done.failed) == (3, 2, ["bob@x.io"])
    assert sorted(parsed(raw)["To"] for raw in inbox.messages) == ["ann@acme.io", "eve@x.io"]
    with context.sessions() as session:
        status = {a.person_id: a.details["status"] for a in actions(session, project, "email")}
        [entry] = audited(session, project, "people.emailed")
    assert status["p-ann"] == status["p-eve"] == "sent"
    assert status["p-bob"].startswith("failed: ")
    assert entry == {"recipients": 3, "sent": 2, "failed": 1, "skipped": 1}


def test_email_from_a_support_template(context: AppContext, project: int) -> None:
    with transaction(context.sessions) as session:
        template = save_template(session, project, "Renewal", "", "Dear {{ name }}, thanks!", NOW)
        ticketish = save_template(session, project, "Ticket", "", "About #{{ticket_number}}", NOW)
        ids = (template.id, ticketish.id)
    with smtp_server() as (url, _):
        preview = bulk(context, project, kind="email", send=mailer(url, SENDER),
                       template_id=ids[0], filter={"q": "bob"})  # fmt: skip
        with pytest.raises(InvalidInput) as unfillable:
            bulk(context, project, kind="email", send=mailer(url, SENDER), template_id=ids[1],
                 **EVERYONE)  # fmt: skip
    assert preview.preview == [("bob@x.io", "Renewal", "Dear Bob Stone, thanks!")]
    assert unfillable.value.field == "template_id"


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ({"subject": "Hello {{ nickname }}", "body": "Hi"}, "subject"),
        ({"subject": "Hello", "body": "  "}, "body"),
        ({"subject": "", "body": "Hi"}, "subject"),
        ({"template_id": 999, "body": ""}, "template_id"),
    ],
)
def test_email_content_is_checked_before_anything_goes(
    context: AppContext, project: int, action: dict[str, Any], field: str
) -> None:
    with smtp_server() as (url, inbox), pytest.raises(InvalidInput) as refused:
        bulk(context, project, kind="email", send=mailer(url, SENDER), confirm=True, **action,
             **EVERYONE)  # fmt: skip
    assert refused.value.field == field
    assert inbox.messages == []


def test_email_without_smtp_is_refused(context: AppContext, project: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        bulk(context, project, kind="email", send=mailer(None, SENDER), **MESSAGE, **EVERYONE)
    assert refused.value.field == "email"
    assert "no SMTP server" in refused.value.message


class Envelopes(Inbox):
    """An SMTP server that keeps each message's envelope recipients."""

    def __init__(self) -> None:
        super().__init__()
        self.recipients: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.recipients += envelope.rcpt_tos
        return await super().handle_DATA(server, session, envelope)


@contextmanager
def envelope_server() -> Iterator[tuple[str, Envelopes]]:
    inbox, port = Envelopes(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


def add_person(context: AppContext, project: int, person: str, address: str, name: str) -> None:
    with transaction(context.sessions) as session:
        session.add(PersonSummary(project_id=project, person_id=person, email=address, name=name,
                                  name_key=name.lower(), computed_at=NOW))  # fmt: skip


@pytest.mark.parametrize(
    "address",
    ["attacker@x.test, victim@y.test", "attacker@x.test,victim@y.test", "Mal <mal@x.test>",
     "mal@x.test\r\nbcc: victim@y.test", "<mal@x.test>", "mal@localhost"],
)  # fmt: skip
def test_email_reaches_only_people_with_exactly_one_valid_address(
    context: AppContext, project: int, address: str
) -> None:
    add_person(context, project, "p-mal", address, "Mal")
    with envelope_server() as (url, inbox):
        preview = bulk(context, project, kind="email", send=mailer(url, SENDER), **MESSAGE,
                       **EVERYONE)  # fmt: skip
        done = bulk(context, project, kind="email", send=mailer(url, SENDER), confirm=True,
                    **MESSAGE, **EVERYONE)  # fmt: skip
    assert (preview.count, done.count, done.sent) == (3, 3, 3)
    assert "2 without a valid e-mail address are skipped" in preview.message
    assert [to for to, _, _ in preview.preview or []] == ["eve@x.io", "ann@acme.io", "bob@x.io"]
    assert sorted(inbox.recipients) == ["ann@acme.io", "bob@x.io", "eve@x.io"]
    with context.sessions() as session:
        assert "p-mal" not in {a.person_id for a in actions(session, project, "email")}
        [entry] = audited(session, project, "people.emailed")
    assert entry["skipped"] == 2


def test_a_line_break_in_a_filled_value_stays_out_of_the_subject(
    context: AppContext, project: int
) -> None:
    add_person(context, project, "p-mal", "mal@x.test", "Mal\r\nBcc: victim@y.test")
    with envelope_server() as (url, inbox):
        done = bulk(context, project, kind="email", send=mailer(url, SENDER), confirm=True,
                    subject="Hello {{name}}", body="Hi {{name}}", filter={"q": "mal"})  # fmt: skip
    assert (done.sent, done.failed) == (1, [])
    assert inbox.recipients == ["mal@x.test"]
    assert parsed(inbox.messages[0])["Subject"] == "Hello Mal Bcc: victim@y.test"
    assert parsed(inbox.messages[0])["Bcc"] is None


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ({"subject": "Hello\r\nBcc: victim@y.test", "body": "Hi"}, "subject"),
        ({"subject": "Hello\n", "body": "Hi"}, "subject"),
        ({"subject": "Hello\x00", "body": "Hi"}, "subject"),
        ({"subject": "Hello", "body": "Hi\x00"}, "body"),
    ],
)
def test_a_subject_is_one_line_and_no_text_holds_a_nul(
    context: AppContext, project: int, action: dict[str, Any], field: str
) -> None:
    with smtp_server() as (url, inbox), pytest.raises(InvalidInput) as refused:
        bulk(context, project, kind="email", send=mailer(url, SENDER), confirm=True, **action,
             **EVERYONE)  # fmt: skip
    assert refused.value.field == field
    assert inbox.messages == []


def test_a_message_refused_before_delivery_is_that_persons_failure_only(
    context: AppContext, project: int
) -> None:
    with smtp_server() as (url, inbox):
        send = mailer(url, SENDER)

        def fussy(to: str, subject: str, body: str) -> None:
            if to.startswith("bob@"):
                raise ValueError("Header values may not contain linefeed or carriage return")
            send(to, subject, body)

        done = bulk(context, project, kind="email", send=fussy, confirm=True, **MESSAGE,
                    **EVERYONE)  # fmt: skip
    assert (done.count, done.sent, done.failed) == (3, 2, ["bob@x.io"])
    assert len(inbox.messages) == 2
    with context.sessions() as session:
        status = {a.person_id: a.details["status"] for a in actions(session, project, "email")}
        [entry] = audited(session, project, "people.emailed")
    assert status["p-ann"] == status["p-eve"] == "sent"
    assert status["p-bob"].startswith("failed: Header values")
    assert entry == {"recipients": 3, "sent": 2, "failed": 1, "skipped": 1}


@pytest.mark.parametrize("tag", ["\x00", "beta\x00", "a\x07b", " \u2028 "])
def test_a_tag_is_refused_with_a_control_character(
    context: AppContext, project: int, tag: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        bulk(context, project, kind="tag", tag=tag, **EVERYONE)
    assert refused.value.field == "tag"
    with context.sessions() as session:
        assert actions(session, project, "tag") == []


def test_a_tag_is_compared_whatever_its_case_and_kept_as_first_given(
    context: AppContext, project: int
) -> None:
    done = bulk(context, project, kind="tag", tag="  BETA ", **EVERYONE)
    assert done.message == "Tagged 3 people “BETA” (1 already had it)."
    with context.sessions() as session:
        tags = dict(session.execute(select(PersonSummary.person_id, PersonSummary.tags)).all())
    assert (tags["p-ann"], tags["p-bob"]) == (["beta"], ["BETA"])


@pytest.mark.parametrize("name", ["cohort_id", "template_id"])
def test_ids_beyond_what_the_database_stores_are_refused(name: str) -> None:
    assert BulkAction.model_validate({"kind": "cohort", name: 2**63 - 1})
    with pytest.raises(ValidationError) as refused:
        BulkAction.model_validate({"kind": "cohort", name: 2**63})
    assert refused.value.errors()[0]["loc"] == (name,)
