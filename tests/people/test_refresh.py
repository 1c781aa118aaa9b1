"""The people refresh end to end: persons registered, events captured, Stripe events and
tickets recorded through their real write paths; the summaries it writes are checked
against hand-worked values, on SQLite and PostgreSQL with DuckDB and chDB."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loopwise.core.db import transaction
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.core.jobs import JobContext
from loopwise.core.models import AuditEvent
from loopwise.core.settings import Settings
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import KnownPerson, capture, register_people
from loopwise.ingest.identity import Identity, PropertyUpdate
from loopwise.ingest.ids import person_id_for
from loopwise.people import jobs as people_jobs
from loopwise.people import refresh
from loopwise.people.actions import act
from loopwise.people.config import config_of, save_config
from loopwise.people.contracts import (
    DEFAULT_WEIGHTS,
    Action,
    Health,
    NoteAction,
    TagAction,
    VipAction,
)
from loopwise.people.jobs import recompute
from loopwise.people.models import HealthPoint, PersonAction, PersonSummary
from loopwise.people.timeline import timeline
from loopwise.product.contracts import FeatureIn
from loopwise.product.features import create_feature
from loopwise.revenue.facade import apply_event
from loopwise.support.contracts import NewTicket
from loopwise.support.facade import record_ticket
from loopwise.support.models import Ticket
from loopwise.warehouse import Warehouse
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, build_events, create_project

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
PEOPLE = [
    KnownPerson("ann", other_ids=["anon-1"],
                properties={"email": "Ann@X.io", "name": "Ann Lee", "company": "Acme"}),
    KnownPerson("bob", properties={"email": "bob@x.io", "first_name": "Bob",
                                   "last_name": "Ray", "company": "Beta"}),
    KnownPerson("cy"),
    KnownPerson("dee", properties={"email": "dee@x.io"}),
    KnownPerson("eve"),
]  # fmt: skip
# (distinct id, event, when, session)
EVENTS = [
    # ann, this week (4 events, one an error; anon-1 was merged into her)
    ("anon-1", "$pageview", NOW - 3 * DAY, "s1"),
    ("ann", "export", NOW - 2 * DAY, "s1"),
    ("ann", "$exception", NOW - DAY, "s2"),
    ("ann", "view", NOW - DAY + HOUR, "s2"),
    # ann, the four weeks before (5 events: a usual week of 1.25)
    ("ann", "view", NOW - 10 * DAY, "s3"),
    ("ann", "view", NOW - 10 * DAY + HOUR, "s3"),
    ("ann", "view", NOW - 20 * DAY, ""),
    ("ann", "view", NOW - 30 * DAY, ""),
    ("anon-1", "share", NOW - 34 * DAY, ""),  # a core feature, but not in 30 days
    ("ann", "signup", NOW - 100 * DAY, "s0"),
    ("ann", "export", NOW + HOUR, "s9"),  # after now
    # bob: new this week
    ("bob", "share", NOW - 2 * DAY, "s8"),
    ("bob", "view", NOW - DAY, "s8"),
    ("dee", "export", NOW - DAY, "s7"),
]
FEATURES = [
    FeatureIn(name="Export", events=["export"], is_core=True),
    FeatureIn(name="Share", events=["share"], is_core=True),
    FeatureIn(name="Views", events=["view"]),
]


class Stripe:
    """Stripe events applied as the webhook applies them."""

    def __init__(self, session: Session, project_id: int) -> None:
        self.session, self.project_id, self.count = session, project_id, 0

    def send(self, kind: str, thing: dict[str, Any], at: datetime) -> None:
        self.count += 1
        event = {"id": f"evt_people{self.count}", "object": "event", "type": kind,
                 "created": int(at.timestamp()), "data": {"object": thing}}  # fmt: skip
        assert apply_event(self.session, self.project_id, event).outcome == "applied"

    def customer(self, key: str) -> None:
        thing = {"id": f"cus_{key}", "object": "customer", "email": f"{key}@x.io",
                 "metadata": {"user_id": key}}  # fmt: skip
        self.send("customer.created", thing, NOW - 90 * DAY)

    def subscription(
        self, kind: str, key: str, amount: int, plan: str, at: datetime, **extra: Any
    ) -> None:
        price = {"id": f"price_{plan}", "nickname": plan, "unit_amount": amount,
                 "currency": "usd", "recurring": {"interval": "month"}}  # fmt: skip
        thing = {"id": f"sub_{key}", "object": "subscription", "customer": f"cus_{key}",
                 "status": "active", "start_date": int((NOW - 60 * DAY).timestamp()),
                 "current_period_end": int((NOW + 10 * DAY).timestamp()),
                 "items": {"data": [{"price": price, "quantity": 1}]}} | extra  # fmt: skip
        self.send(f"customer.subscription.{kind}", thing, at)

    def failed_invoice(self, name: str, key: str, amount: int, at: datetime) -> None:
        thing = {"id": name, "object": "invoice", "customer": f"cus_{key}", "status": "open",
                 "amount_due": amount, "amount_paid": 0, "currency": "usd",
                 "created": int((at - DAY).timestamp()), "attempt_count": 1}  # fmt: skip
        self.send("invoice.payment_failed", thing, at)


def ticket(
    session: Session, project: int, who: str, status: str, at: datetime, sentiment: str
) -> Ticket:
    """A ticket through support's write path, with the sentiment triage would give it."""
    new = NewTicket(subject="Export broken", body="The export fails every time.",
                    requester_user_id=who, status=status, created_at=at)  # fmt: skip
    found = session.get(Ticket, record_ticket(session, project, new, at).ticket_id)
    assert found is not None
    found.sentiment = sentiment
    return found


@pytest.fixture
def project(context: AppContext, warehouse: Warehouse) -> int:
    made = create_project(context).id
    rows = [
        CaptureEvent(event=name, distinct_id=who, timestamp=when,
                     properties={"$session_id": session} if session else {})
        for who, name, when, session in EVENTS
    ]  # fmt: skip
    capture(warehouse, made, rows, received_at=NOW)
    # Another project's events with ann's very person id are not hers.
    ann = person_id_for(made, "ann")
    warehouse.append(
        "events",
        build_events(
            [{"project_id": made + 1, "person_id": ann, "event": "export", "timestamp": NOW - DAY}]
            * 3
        ),
    )
    register_people(context.sessions, warehouse, made, PEOPLE)
    with transaction(context.sessions) as session:
        for feature in FEATURES:
            create_feature(session, TEST_ACTOR, made, feature)
        stripe = Stripe(session, made)
        for key in ("bob", "dee", "eve"):
            stripe.customer(key)
        # bob pays $50 a month; an invoice failed twice this month, still open.
        stripe.subscription("created", "bob", 5000, "pro", NOW - 60 * DAY)
        stripe.failed_invoice("in_bob", "bob", 5000, NOW - 6 * DAY)
        stripe.failed_invoice("in_bob", "bob", 5000, NOW - 3 * DAY)
        # dee went from $100 to $40 five days ago.
        stripe.subscription("created", "dee", 10000, "team", NOW - 60 * DAY)
        stripe.subscription("updated", "dee", 4000, "team", NOW - 5 * DAY)
        # eve cancelled; her subscription ended ten days ago.
        stripe.subscription("created", "eve", 3000, "basic", NOW - 60 * DAY)
        ended = int((NOW - 10 * DAY).timestamp())
        stripe.subscription("deleted", "eve", 3000, "basic", NOW - 10 * DAY,
                            status="canceled", ended_at=ended, canceled_at=ended)  # fmt: skip
        # bob: one open negative ticket this week, one solved long ago.
        ticket(session, made, "bob", "open", NOW - 3 * DAY, "negative")
        ticket(session, made, "bob", "solved", NOW - 40 * DAY, "negative")
        # A ticket filed under anon-1 before the merge counts for ann.
        filed = ticket(session, made, "ann", "new", NOW - 2 * DAY, "neutral")
        filed.person_id = person_id_for(made, "anon-1")
    return made


def refreshed(context: AppContext, warehouse: Warehouse, project: int,
              now: datetime = NOW) -> refresh.RefreshReport:  # fmt: skip
    with transaction(context.sessions) as session:
        return refresh.refresh_people(session, warehouse, project, now)


def summaries(context: AppContext, project: int) -> dict[str, PersonSummary]:
    with context.sessions() as session:
        rows = session.scalars(select(PersonSummary).where(PersonSummary.project_id == project))
        return {row.person_id: row for row in rows}


def points(context: AppContext, project: int) -> list[tuple[str, date, int]]:
    with context.sessions() as session:
        rows = session.execute(
            select(HealthPoint.person_id, HealthPoint.day, HealthPoint.score)
            .where(HealthPoint.project_id == project)
            .order_by(HealthPoint.person_id, HealthPoint.day)
        )
        return [(p, d, s) for p, d, s in rows]


def test_the_summaries_hold_each_areas_signals(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    report = refreshed(context, warehouse, project)
    assert report.persons == 5
    assert sum(report.by_band.values()) == 5
    found = summaries(context, project)
    assert set(found) == {person_id_for(project, p.distinct_id) for p in PEOPLE}
    ann = found[person_id_for(project, "ann")]
    assert (ann.email, ann.name, ann.name_key, ann.account) == (
        "ann@x.io", "Ann Lee", "ann lee", "Acme")  # fmt: skip
    assert (ann.first_seen, ann.last_seen) == (NOW - 100 * DAY, NOW - DAY + HOUR)
    # Days with events: 17, 18 and 19 March, 10 March, 28, 18 and 14 February, 10 December.
    assert (ann.active_days, ann.active_days_28d) == (8, 5)
    assert (ann.events_7d, ann.weekly_baseline, ann.errors_7d) == (4, 5 / 4, 1)
    assert ann.sessions_30d == 3
    assert (ann.core_adopted, ann.core_total, ann.features) == (1, 2, ["Export", "Views"])
    assert (ann.billing_status, ann.customer_ids, ann.mrr_minor) == ("", [], 0)
    assert (ann.open_tickets, ann.tickets_30d, ann.negative_tickets_30d) == (1, 1, 0)
    # 4 events this week against 1.25 a week before: usage up, no reason to worry there.
    detail = Health.from_json(ann.health_detail)
    assert detail is not None
    assert (detail.score, detail.band) == (ann.health, ann.band)
    assert "usage up 220% vs their 4-week average" in [r.text for r in detail.reasons]


def test_billing_and_support_signals_of_payers(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    refreshed(context, warehouse, project)
    found = summaries(context, project)
    bob = found[person_id_for(project, "bob")]
    assert (bob.name, bob.account, bob.customer_ids) == ("Bob Ray", "Beta", ["cus_bob"])
    assert (bob.billing_status, bob.plan, bob.mrr_minor) == ("paying", "pro", 5000)
    assert (bob.payment_failures_30d, bob.open_failures) == (2, 1)
    assert (bob.open_tickets, bob.tickets_30d, bob.negative_tickets_30d) == (1, 1, 1)
    assert (bob.events_7d, bob.weekly_baseline, bob.core_adopted) == (2, 0.0, 1)
    reasons = [r["text"] for r in bob.health_detail["reasons"]]
    assert "2 failed payments in the last 30 days, 1 invoice still unpaid" in reasons
    dee = found[person_id_for(project, "dee")]
    assert (dee.billing_status, dee.plan, dee.mrr_minor) == ("paying", "team", 4000)
    assert (dee.downgrades_30d, dee.upgrades_30d, dee.churned_on) == (1, 0, None)
    eve = found[person_id_for(project, "eve")]
    assert (eve.billing_status, eve.mrr_minor, eve.plan) == ("churned", 0, "basic")
    assert (eve.churned_on, eve.downgrades_30d) == (date(2026, 3, 10), 1)
    assert "churned on 2026-03-10" in [r["text"] for r in eve.health_detail["reasons"]]


def test_a_person_never_seen_scores_low_with_a_reason(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    refreshed(context, warehouse, project)
    cy = summaries(context, project)[person_id_for(project, "cy")]
    assert (cy.last_seen, cy.active_days, cy.events_7d, cy.core_total) == (None, 0, 0, 2)
    # Engagement, frequency and adoption at 0, support at full: 10 of 60 points.
    assert (cy.health, cy.band) == (17, "critical")
    assert cy.health_detail["reasons"][0]["text"] == "not seen in the last 28 days"


def test_history_is_written_once_and_the_teams_marks_survive(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    refreshed(context, warehouse, project)
    first = points(context, project)
    assert len(first) == 5
    assert {day for _, day, _ in first} == {NOW.date()}
    ann = person_id_for(project, "ann")
    with transaction(context.sessions) as session:
        row = session.get(PersonSummary, (project, ann))
        assert row is not None
        row.tags, row.vip = ["champion"], True
    refreshed(context, warehouse, project)  # the same scores: no point added
    assert points(context, project) == first
    again = summaries(context, project)[ann]
    assert (again.tags, again.vip, again.computed_at) == (["champion"], True, NOW)
    # Two weeks later ann's usage has stopped: her score moves, a point is added.
    later = NOW + 14 * DAY
    refreshed(context, warehouse, project, later)
    mine = [(day, score) for who, day, score in points(context, project) if who == ann]
    assert [day for day, _ in mine] == [NOW.date(), later.date()]
    assert mine[1][1] == summaries(context, project)[ann].health < mine[0][1]
    with context.sessions() as session:
        history = refresh.health_history(session, project, ann, days=30, now=later)
        assert [(p.day, p.score) for p in history] == mine
        # A window opening after the first point starts with the score then held.
        week = refresh.health_history(session, project, ann, days=7, now=later)
        assert [(p.day, p.score) for p in week] == [
            (later.date() - 6 * DAY, mine[0][1]), mine[1]]  # fmt: skip


def test_one_person_and_persons_that_no_longer_exist(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    refreshed(context, warehouse, project)
    summaries_before = summaries(context, project)
    with transaction(context.sessions) as session:
        session.add(PersonSummary(project_id=project, person_id="gone", health=50))
        session.add(HealthPoint(project_id=project, person_id="gone", day=NOW.date(),
                                score=50, band="at_risk"))  # fmt: skip
    bob = person_id_for(project, "bob")
    with transaction(context.sessions) as session:
        one = refresh.refresh_person(session, warehouse, project, bob, NOW)
        assert (one.mrr_minor, one.open_tickets) == (5000, 1)
        # One person's refresh also counts what was merged into them.
        ann = refresh.refresh_person(session, warehouse, project, person_id_for(project, "ann"),
                                     NOW)  # fmt: skip
        assert (ann.events_7d, ann.active_days, ann.sessions_30d, ann.open_tickets) == (4, 8, 3, 1)
        assert ann.health == summaries_before[ann.person_id].health
        with pytest.raises(NotFound):
            refresh.refresh_person(session, warehouse, project, "nobody", NOW)
    assert "gone" in summaries(context, project)  # only the whole project is swept
    refreshed(context, warehouse, project)
    assert "gone" not in summaries(context, project)
    assert all(who != "gone" for who, _, _ in points(context, project))
    with transaction(context.sessions) as session:
        refresh.erase(session, project)
    assert summaries(context, project) == {}
    assert points(context, project) == []


def mark(context: AppContext, warehouse: Warehouse, project: int, who: str, action: Action) -> None:
    """A quick action of the team on the person of the distinct id ``who``, at NOW."""
    with transaction(context.sessions) as session:
        act(session, warehouse, TEST_ACTOR, project, person_id_for(project, who), action, NOW,
            mailer=None, sender="", author="cs@x.io")  # fmt: skip


def test_a_merged_persons_tags_vip_and_notes_move_to_the_survivor(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    # zed: an anonymous visitor the identity service met, then bob once he logged in.
    Identity(context.sessions).resolve(
        project, {"anon-zed"}, [PropertyUpdate("anon-zed", {"plan": "trial"}, None)]
    )
    zed, bob = person_id_for(project, "anon-zed"), person_id_for(project, "bob")
    refreshed(context, warehouse, project)
    assert any(who == zed for who, _, _ in points(context, project))
    mark(context, warehouse, project, "bob", TagAction(kind="tag", tag="Champion"))
    for action in (
        TagAction(kind="tag", tag="champion"),
        TagAction(kind="tag", tag="trial"),
        VipAction(kind="vip"),
        NoteAction(kind="note", body="Asked about SSO."),
    ):
        mark(context, warehouse, project, "anon-zed", action)  # fmt: skip
    register_people(context.sessions, warehouse, project,
                    [KnownPerson("bob", other_ids=["anon-zed"])])  # fmt: skip
    # bob's own refresh moves them (as would the whole project's).
    with transaction(context.sessions) as session:
        refresh.refresh_person(session, warehouse, project, bob, NOW)
    found = summaries(context, project)
    assert zed not in found
    assert (found[bob].tags, found[bob].vip) == (["Champion", "trial"], True)
    assert all(who != zed for who, _, _ in points(context, project))  # bob keeps his own
    assert [day for who, day, _ in points(context, project) if who == bob] == [NOW.date()]
    with context.sessions() as session:
        owners = session.scalars(select(PersonAction.person_id)).all()
        notes = timeline(session, warehouse, project, bob, NOW + HOUR, kinds=["note"]).items
    assert sorted(owners) == [bob] * 5
    assert [(n.title, n.detail) for n in notes] == [("Note by cs@x.io", "Asked about SSO.")]
    refreshed(context, warehouse, project)  # nothing left to move, nothing doubled
    again = summaries(context, project)[bob]
    assert (again.tags, again.vip, len(summaries(context, project))) == (
        ["Champion", "trial"], True, 5)  # fmt: skip


def test_the_daily_job_recomputes_each_project_with_persons(
    context: AppContext, warehouse: Warehouse, project: int, settings: Settings
) -> None:
    summary = recompute(JobContext(context.sessions, warehouse, settings), NOW)
    assert summary.startswith(f"project {project}: 5 persons (")
    assert len(summaries(context, project)) == 5
    with context.sessions() as session:
        recomputed = AuditEvent.action == "people.health_recomputed"
        audited = session.scalar(select(func.count()).select_from(AuditEvent).where(recomputed))
    assert audited == 0


def test_a_failing_project_leaves_the_others_refreshed_and_is_named_in_the_summary(
    context: AppContext, warehouse: Warehouse, project: int, settings: Settings,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    later = create_project(context, "Later").id
    register_people(context.sessions, warehouse, later, [KnownPerson("zoe")])
    real = people_jobs.refresh_people

    def failing_first(session: Session, wh: Warehouse, project_id: int,
                      now: datetime) -> refresh.RefreshReport:  # fmt: skip
        if project_id == project:
            raise RuntimeError("the warehouse went away")
        return real(session, wh, project_id, now)

    monkeypatch.setattr(people_jobs, "refresh_people", failing_first)
    summary = recompute(JobContext(context.sessions, warehouse, settings), NOW)
    assert summary.startswith(
        f"project {project} failed: RuntimeError: the warehouse went away; "
        f"project {later}: 1 person ("
    )  # fmt: skip
    assert summaries(context, project) == {}
    assert list(summaries(context, later)) == [person_id_for(later, "zoe")]
    assert f"the refresh of project {project} failed" in caplog.text


def test_settings_are_checked_merged_and_audited(context: AppContext, project: int) -> None:
    def save(**changes: Any) -> None:
        values: dict[str, Any] = {
            "healthy_from": 80, "at_risk_from": 50, "weights": {"trend": 30},
            "vip_mrr_minor": 100_000, "account_property": "org", "mail_from": "cs@x.io",
        } | changes  # fmt: skip
        with transaction(context.sessions) as session:
            save_config(session, TEST_ACTOR, project, **values)

    bad = [
        ({"healthy_from": 101}, "healthy_from"), ({"at_risk_from": 80}, "at_risk_from"),
        ({"weights": {"speed": 5}}, "weight_speed"), ({"weights": {"trend": 101}}, "weight_trend"),
        ({"weights": dict.fromkeys(DEFAULT_WEIGHTS, 0)}, "weight_engagement"),
        ({"vip_mrr_minor": -1}, "vip_mrr"), ({"account_property": " "}, "account_property"),
        ({"mail_from": "not an address"}, "mail_from"),
    ]  # fmt: skip
    for changes, field in bad:
        with pytest.raises(InvalidInput) as raised:
            save(**changes)
        assert raised.value.field == field
    with context.sessions() as session:
        assert config_of(session, project).weights == DEFAULT_WEIGHTS
    save()
    with context.sessions() as session:
        config = config_of(session, project)
        assert config.weights == DEFAULT_WEIGHTS | {"trend": 30}
        assert (config.band(80), config.band(79), config.band(49)) == (
            "healthy", "at_risk", "critical")  # fmt: skip
        assert (config.account_property, config.mail_from) == ("org", "cs@x.io")
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "people.settings_changed" in actions
