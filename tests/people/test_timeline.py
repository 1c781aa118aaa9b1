"""One person's timeline merged from every area, on DuckDB and chDB (app data in SQLite and
PostgreSQL): a hand-built person with two visits (one through a merged anonymous id, one
without a session id), an ``$exception``, a paid invoice, a failed payment, a new
subscription, a ticket opened and solved and a note, at known times; the exact order,
ties broken by kind, kind filters and paging backwards without cutting a session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from loopwise.core.db import transaction
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import KnownPerson, capture, register_people
from loopwise.ingest.identity import Identity
from loopwise.ingest.ids import person_id_for
from loopwise.people.actions import act
from loopwise.people.contracts import NoteAction, Timeline
from loopwise.people.timeline import timeline, timeline_json
from loopwise.product.facade import ProductSession, RawEvent, person_sessions, recent_events
from loopwise.revenue.facade import apply_event
from loopwise.support.facade import NewTicket, record_ticket
from loopwise.warehouse import Warehouse
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, create_project

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
DAY, MINUTE = timedelta(days=1), timedelta(minutes=1)
AUTHOR = "agent@acme.test"
ERROR = {"$exception_list": [{"type": "TypeError", "value": "x is undefined\n  at f()"}],
         "$current_url": "https://app.acme.test/recipes/generate"}  # fmt: skip
# (distinct id, event, when, session id, properties)
EVENTS: list[tuple[str, str, datetime, str, dict[str, Any]]] = [
    # A visit with a session id, begun from the anonymous id merged into ann.
    ("anon-ann", "$pageview", NOW - 5 * DAY, "s1", {}),
    ("ann", "export", NOW - 5 * DAY + 5 * MINUTE, "s1", {}),
    ("ann", "export", NOW - 5 * DAY + 12 * MINUTE, "s1", {}),
    # A visit without a session id: events 20 and 5 minutes apart, one an error; then an
    # event an hour later, which is another visit.
    ("ann", "view", NOW - 2 * DAY, "", {}),
    ("ann", "view", NOW - 2 * DAY + 20 * MINUTE, "", {}),
    ("ann", "$exception", NOW - 2 * DAY + 25 * MINUTE, "", ERROR),
    ("ann", "view", NOW - 2 * DAY + 90 * MINUTE, "", {}),
    # A visit across the first page's start (30 days ago), and an old one.
    ("ann", "view", NOW - 30 * DAY - 10 * MINUTE, "edge", {}),
    ("ann", "share", NOW - 30 * DAY + 5 * MINUTE, "edge", {}),
    ("ann", "view", NOW - 40 * DAY, "old", {}),
    # Someone else, and ann after now: never on her timeline.
    ("bob", "export", NOW - 2 * DAY, "s9", {}),
    ("ann", "export", NOW + MINUTE, "s8", {}),
]


def stamp(moment: datetime) -> int:
    return int(moment.timestamp())


class Stripe:
    """Stripe webhook events applied as the webhook applies them."""

    def __init__(self, session: Session, project_id: int, key: str) -> None:
        self.session, self.project_id, self.key, self.count = session, project_id, key, 0

    def send(self, kind: str, thing: dict[str, Any], at: datetime) -> None:
        self.count += 1
        event = {"id": f"evt_{self.key}{self.count}", "object": "event", "type": kind,
                 "created": stamp(at), "data": {"object": thing}}  # fmt: skip
        assert apply_event(self.session, self.project_id, event).outcome == "applied"

    def customer(self, user: str, at: datetime) -> None:
        thing = {"id": f"cus_{self.key}", "object": "customer", "email": f"{user}@x.io",
                 "metadata": {"user_id": user}}  # fmt: skip
        self.send("customer.created", thing, at)

    def subscription(self, amount: int, plan: str, at: datetime, period_end: datetime) -> None:
        price = {"id": f"price_{plan}", "nickname": plan, "unit_amount": amount,
                 "currency": "usd", "recurring": {"interval": "month"}}  # fmt: skip
        thing = {"id": f"sub_{self.key}", "object": "subscription", "customer": f"cus_{self.key}",
                 "status": "active", "start_date": stamp(at),
                 "current_period_end": stamp(period_end),
                 "items": {"data": [{"price": price, "quantity": 1}]}}  # fmt: skip
        self.send("customer.subscription.created", thing, at)

    def invoice(self, name: str, amount: int, at: datetime, *, paid: bool) -> None:
        thing: dict[str, Any] = {
            "id": name, "object": "invoice", "customer": f"cus_{self.key}",
            "status": "paid" if paid else "open", "amount_due": amount,
            "amount_paid": amount if paid else 0, "currency": "usd",
            "created": stamp(at - DAY), "attempt_count": 1,
        }  # fmt: skip
        if paid:
            thing["status_transitions"] = {"paid_at": stamp(at)}
        else:
            thing["charge"] = {"id": f"ch_{name}", "object": "charge",
                               "outcome": {"reason": "insufficient_funds"}}  # fmt: skip
            thing["next_payment_attempt"] = stamp(at + 3 * DAY)
        self.send("invoice.paid" if paid else "invoice.payment_failed", thing, at)

    def charge(self, name: str, amount: int, at: datetime, brand: str, last4: str) -> None:
        thing = {"id": name, "object": "charge", "customer": f"cus_{self.key}",
                 "status": "succeeded", "amount": amount, "currency": "usd",
                 "payment_method_details": {"card": {"brand": brand, "last4": last4}}}  # fmt: skip
        self.send("charge.succeeded", thing, at)


def build_person(context: AppContext, warehouse: Warehouse, project_id: int) -> str:
    """ann, with everything in EVENTS, billing, a ticket and a note; returns her id."""
    rows = [
        CaptureEvent(event=name, distinct_id=who, timestamp=when,
                     properties={**props, "$session_id": session} if session else props)
        for who, name, when, session, props in EVENTS
    ]  # fmt: skip
    capture(warehouse, project_id, rows, received_at=NOW)
    people = [KnownPerson(distinct_id="ann", other_ids=["anon-ann"],
                          properties={"email": "ann@acme.test", "name": "Ann Lee",
                                      "company": "Acme"}),
              KnownPerson(distinct_id="bob", properties={"email": "bob@acme.test"})]  # fmt: skip
    register_people(context.sessions, warehouse, project_id, people)
    ann = person_id_for(project_id, "ann")
    with transaction(context.sessions) as session:
        stripe = Stripe(session, project_id, "ann")
        stripe.customer("ann", NOW - 60 * DAY)
        stripe.subscription(2000, "basic", NOW - 4 * DAY, NOW + 26 * DAY)
        stripe.charge("ch_ann1", 2000, NOW - 4 * DAY + 50 * MINUTE, "visa", "4242")
        stripe.invoice("in_ann1", 2000, NOW - 4 * DAY + 60 * MINUTE, paid=True)
        stripe.invoice("in_ann2", 2000, NOW - DAY, paid=False)
        record_ticket(session, project_id, NewTicket(
            subject="Cannot export", body="The export button does nothing.",
            requester_user_id="ann", source="api", created_at=NOW - 2 * DAY,
            status="solved", solved_at=NOW - 2 * DAY + 5 * 60 * MINUTE,
        ), NOW - 2 * DAY)  # fmt: skip
        act(session, warehouse, TEST_ACTOR, project_id, ann,
            NoteAction(kind="note", body="Called her: **happy** with exports now."),
            NOW - 6 * 60 * MINUTE, mailer=None, sender="", author=AUTHOR)  # fmt: skip
    return ann


@pytest.fixture
def project(context: AppContext, warehouse: Warehouse) -> tuple[int, str]:
    made = create_project(context)
    return made.id, build_person(context, warehouse, made.id)


def read(
    context: AppContext, warehouse: Warehouse, project: tuple[int, str], **options: Any
) -> Timeline:
    with transaction(context.sessions) as session:
        return timeline(session, warehouse, project[0], project[1], NOW, **options)


def titles(found: Timeline) -> list[tuple[str, str]]:
    return [(item.kind, item.title) for item in found.items]


EXPECTED = [
    ("note", f"Note by {AUTHOR}"),
    ("payment", "Payment of USD 20.00 failed (insufficient_funds)"),
    ("ticket", "Ticket #1 solved: Cannot export"),
    ("session", "Session of under a minute · 1 event"),
    ("error", "TypeError: x is undefined on https://app.acme.test/recipes/generate"),
    ("session", "Session of 25 min · 3 events"),  # the same moment as the ticket: first
    ("ticket", "Ticket #1 opened: Cannot export"),
    ("payment", "Payment of USD 20.00 received"),
    ("subscription", "New subscription: +USD 20.00 MRR"),
    ("session", "Session of 12 min · 3 events"),
]


def test_every_source_merges_into_one_list_newest_first(
    context: AppContext, warehouse: Warehouse, project: tuple[int, str]
) -> None:
    found = read(context, warehouse, project)
    assert titles(found) == EXPECTED
    assert (found.start, found.end) == (NOW - 30 * DAY, NOW)
    at = {title: item.at for item, (_, title) in zip(found.items, EXPECTED, strict=True)}
    assert at["Session of 25 min · 3 events"] == NOW - 2 * DAY
    assert at["Ticket #1 opened: Cannot export"] == NOW - 2 * DAY
    assert at["New subscription: +USD 20.00 MRR"] == datetime(2026, 3, 16, tzinfo=UTC)
    assert at["Payment of USD 20.00 received"] == NOW - 4 * DAY + 60 * MINUTE
    visit = found.items[-1]
    assert visit.detail == "Top events: export ×2, $pageview ×1"  # noqa: RUF001
    assert visit.data["session_id"] == "s1"
    assert visit.data["duration_s"] == 12 * 60
    error = found.items[4]
    assert (error.detail, error.data["type"], error.data["message"]) == (
        "https://app.acme.test/recipes/generate", "TypeError", "x is undefined"
    )  # fmt: skip
    failed = found.items[1]
    assert failed.detail == "Attempt 1; next attempt on 22 Mar 2026"
    assert failed.link == f"/projects/{project[0]}/revenue/customers/cus_ann"
    note = found.items[0]
    assert (note.actor, note.detail) == (AUTHOR, "Called her: **happy** with exports now.")
    opened = found.items[6]
    assert opened.link.startswith(f"/projects/{project[0]}/support/tickets/")


def test_kinds_filter_the_list(
    context: AppContext, warehouse: Warehouse, project: tuple[int, str]
) -> None:
    payments = read(context, warehouse, project, kinds=("payment",))
    assert titles(payments) == [e for e in EXPECTED if e[0] == "payment"]
    assert payments.kinds == ("payment",)
    mixed = read(context, warehouse, project, kinds=("note", "error", "subscription"))
    assert titles(mixed) == [e for e in EXPECTED if e[0] in ("note", "error", "subscription")]
    with pytest.raises(InvalidInput, match="kinds"):
        read(context, warehouse, project, kinds=("session", "emails"))


def test_paging_backwards_shows_a_session_once_on_the_page_it_began(
    context: AppContext, warehouse: Warehouse, project: tuple[int, str]
) -> None:
    first = read(context, warehouse, project)
    before = first.items[-1].at
    assert timeline_json(first)["next_before"] == before.isoformat()
    second = read(context, warehouse, project, before=before)
    assert (second.start, second.end) == (before - 30 * DAY, before)
    # The visit begun ten minutes before the first page's start is whole on the second.
    assert titles(second) == [("session", "Session of 15 min · 2 events")]
    assert second.items[0].at == NOW - 30 * DAY - 10 * MINUTE
    third = read(context, warehouse, project, before=second.items[0].at)
    assert titles(third) == [("session", "Session of under a minute · 1 event")]
    assert third.items[0].at == NOW - 40 * DAY
    short = read(context, warehouse, project, days=3)
    assert titles(short) == EXPECTED[:7]


def test_another_projects_person_is_not_found(
    context: AppContext, warehouse: Warehouse, project: tuple[int, str]
) -> None:
    other = create_project(context, "Other").id
    with transaction(context.sessions) as session, pytest.raises(NotFound):
        timeline(session, warehouse, other, project[1], NOW)
    with pytest.raises(InvalidInput, match="days"):
        read(context, warehouse, project, days=0)


def test_sessions_find_merged_ids_in_the_warehouse_when_not_given(
    context: AppContext, warehouse: Warehouse, project: tuple[int, str]
) -> None:
    project_id, ann = project
    start = NOW - 30 * DAY
    with context.sessions() as session:
        found = person_sessions(warehouse, session, project_id, ann, start, NOW, horizon=NOW)
        told = person_sessions(warehouse, session, project_id, ann, start, NOW, horizon=NOW,
                               merged=[person_id_for(project_id, "anon-ann")])  # fmt: skip
        gone = person_sessions(warehouse, session, project_id,
                               person_id_for(project_id, "anon-ann"), start, NOW)  # fmt: skip
    assert found == told
    first = found[-1]
    assert isinstance(first, ProductSession)
    assert (first.start, first.events, first.session_id) == (NOW - 5 * DAY, 3, "s1")
    assert gone == []  # merged into ann: its events are hers
    assert recent_events(warehouse, project_id, ann, NOW, 2) == [
        RawEvent(NOW - 2 * DAY + 90 * MINUTE, "view", "ann", {}),
        RawEvent(NOW - 2 * DAY + 25 * MINUTE, "$exception", "ann", ERROR),
    ]


def test_notes_on_a_person_since_merged_into_them_show_before_any_refresh(
    context: AppContext, warehouse: Warehouse, project: tuple[int, str]
) -> None:
    project_id = project[0]
    # kim: a visitor the identity service met and the team wrote about, who turned out
    # to be ann.
    Identity(context.sessions).resolve(project_id, {"anon-kim"}, [])
    with transaction(context.sessions) as session:
        act(session, warehouse, TEST_ACTOR, project_id, person_id_for(project_id, "anon-kim"),
            NoteAction(kind="note", body="Asked for a demo."), NOW - 3 * 60 * MINUTE,
            mailer=None, sender="", author="sales@acme.test")  # fmt: skip
    register_people(context.sessions, warehouse, project_id,
                    [KnownPerson(distinct_id="ann", other_ids=["anon-kim"])])  # fmt: skip
    notes = read(context, warehouse, project, kinds=("note",)).items
    assert [(n.actor, n.detail) for n in notes] == [
        ("sales@acme.test", "Asked for a demo."),
        (AUTHOR, "Called her: **happy** with exports now."),
    ]
