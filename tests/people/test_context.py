"""The person page's context on DuckDB and chDB (app data in SQLite and PostgreSQL): every
card's figures for a person with billing, tickets and events; no billing card without a
billing customer; another project's person not found; the inactivity and core-feature
insights with their numbers; and customer accounts summed over their members."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from loopwise.core.db import transaction
from loopwise.core.errors import NotFound
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import KnownPerson, capture, register_people
from loopwise.ingest.ids import person_id_for
from loopwise.people.accounts import account_view, accounts_page
from loopwise.people.context import PersonContext, person_context
from loopwise.people.contracts import Insight, PeopleConfig, Signals
from loopwise.people.health import score
from loopwise.people.insights import Facts, insights
from loopwise.people.models import PersonSummary
from loopwise.people.timeline import timeline
from loopwise.product.contracts import FeatureIn
from loopwise.product.features import create_feature
from loopwise.warehouse import Warehouse
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, create_project
from tests.people.test_timeline import NOW, build_person

DAY, HOUR = timedelta(days=1), timedelta(hours=1)


@pytest.fixture
def project(context: AppContext, warehouse: Warehouse) -> int:
    made = create_project(context)
    build_person(context, warehouse, made.id)
    # cy came every other day for four weeks, and has not been seen for eight days.
    last = NOW - 8 * DAY
    capture(warehouse, made.id, [CaptureEvent(event="view", distinct_id="cy",
                                              timestamp=last - 2 * k * DAY)
                                 for k in range(14)], received_at=NOW)  # fmt: skip
    register_people(context.sessions, warehouse, made.id, [KnownPerson(distinct_id="cy")])
    with transaction(context.sessions) as session:
        for name, events in (("Export", ["export"]), ("Plan a week", ["plan_week"])):
            create_feature(session, TEST_ACTOR, made.id,
                           FeatureIn(name=name, events=events, is_core=True))  # fmt: skip
    return made.id


def build(context: AppContext, warehouse: Warehouse, project: int, who: str) -> PersonContext:
    with transaction(context.sessions) as session:
        return person_context(session, warehouse, project, person_id_for(project, who), NOW)


def test_a_person_with_billing_tickets_and_events_has_every_card(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    found = build(context, warehouse, project, "ann")
    ann = person_id_for(project, "ann")
    assert (found.person.id, found.name, found.email, found.account) == (
        ann, "Ann Lee", "ann@acme.test", "Acme"
    )  # fmt: skip
    assert found.person.merged_person_ids == [person_id_for(project, "anon-ann")]
    assert (found.tier, found.currency, found.tags, found.vip) == ("basic", "usd", (), False)
    # Health: computed for the page since she had no summary; one point in its history.
    assert found.health is not None
    assert found.computed_at == NOW
    assert [(p.day, p.score) for p in found.health_history] == [
        (date(2026, 3, 20), found.health.score)
    ]
    billing = found.billing
    assert billing is not None
    assert billing.billing is not None
    b = billing.billing
    assert (b.customer_ids, b.plan, b.mrr_minor, b.ltv_minor) == (("cus_ann",), "basic", 2000, 2000)
    assert (b.payment_failures_30d, b.open_failures) == (1, 1)
    assert b.next_billing == date(2026, 4, 15)
    assert billing.external == (("cus_ann", "https://dashboard.stripe.com/customers/cus_ann"),)
    assert billing.pages == (("cus_ann", f"/projects/{project}/revenue/customers/cus_ann"),)
    assert billing.payment_method is not None
    assert (billing.payment_method.brand, billing.payment_method.last4) == ("visa", "4242")
    assert billing.requests == ()
    support = found.support
    assert support is not None
    assert (support.total, support.open, support.solved) == (1, 0, 1)
    assert support.mean_resolution == timedelta(hours=5)
    assert (support.last.number, support.last.subject) == (1, "Cannot export")
    usage = found.usage
    assert usage is not None
    assert usage.last_seen == NOW - 2 * DAY + timedelta(minutes=90)
    assert (usage.events_30d, usage.sessions_30d, usage.errors_7d) == (8, 2, 1)
    assert usage.core_adopted == ("Export",)
    with transaction(context.sessions) as session:
        alone = timeline(session, warehouse, project, ann, NOW)
    assert found.timeline == alone
    assert len(found.timeline.items) == 10
    events = found.debug.recent_events
    assert [(e.at, e.event) for e in events[:2]] == [
        (NOW - 2 * DAY + timedelta(minutes=90), "view"),
        (NOW - 2 * DAY + timedelta(minutes=25), "$exception"),
    ]
    assert len(events) == 8
    assert events[1].properties["$current_url"] == "https://app.acme.test/recipes/generate"
    assert found.debug.person["id"] == ann


def test_the_json_twin_is_plain_json_with_iso_times(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    found = build(context, warehouse, project, "ann").to_json()
    assert json.loads(json.dumps(found)) == found
    assert found["usage"]["last_seen"] == "2026-03-18T13:30:00+00:00"
    assert found["support"]["mean_resolution"] == 5 * 3600
    assert found["billing"]["billing"]["next_billing"] == "2026-04-15"
    assert found["timeline"]["items"][0]["at"] == "2026-03-20T06:00:00+00:00"
    assert found["health"]["score"] == found["health_history"][0]["score"]


def test_a_person_without_billing_or_tickets_has_no_such_cards(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    found = build(context, warehouse, project, "bob")
    assert (found.billing, found.support, found.tier) == (None, None, "free")
    assert found.usage is not None
    assert found.usage.events_30d == 1
    assert [i.kind for i in found.timeline.items] == ["session"]


def test_another_projects_person_is_not_found(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    other = create_project(context, "Other").id
    with transaction(context.sessions) as session, pytest.raises(NotFound):
        person_context(session, warehouse, other, person_id_for(project, "ann"), NOW)


def test_insights_say_who_went_quiet_against_their_usual_rhythm(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    found = build(context, warehouse, project, "cy")
    assert found.insights[0] == Insight(
        "warning", "Hasn't been seen for 8 days; usually active every 2 days",
        "Last seen 12 Mar 2026; active on 14 days of the 28 days up to then",
    )  # fmt: skip
    assert found.usage is not None
    assert found.usage.last_seen == NOW - 8 * DAY


def test_insights_of_a_payer_with_errors_and_a_missing_core_feature(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    # 25 people used "Plan a week" (20 active in 14 days), 25 did not (5 active).
    with transaction(context.sessions) as session:
        for n in range(50):
            uses, active = n < 25, (n < 20) or (25 <= n < 30)
            session.add(PersonSummary(
                project_id=project, person_id=f"p{n:02d}", features=["Plan a week"] if uses else [],
                last_seen=NOW - (DAY if active else 20 * DAY),
            ))  # fmt: skip
    found = build(context, warehouse, project, "ann")
    # Ann herself counts among those who did not: 6 of 26 active.
    assert list(found.insights) == [
        Insight("warning", "1 failed payment in 30 days; next charge on 15 Apr 2026",
                "1 failed invoice not paid since; billing status paying"),
        Insight("warning", "1 error in the last 7 days on /recipes/generate",
                "TypeError: x is undefined on https://app.acme.test/recipes/generate (once)"),
        Insight("info", "People who use Plan a week are 3.5\u00d7 as likely to be active in the "
                "last 14 days (80% vs 23%)",
                "20 of 25 people who used Plan a week in 30 days were active in the last 14 "
                "days, against 6 of 26 who did not; this person has not used it in 30 days"),
    ]  # fmt: skip


def test_accounts_sum_their_members(context: AppContext) -> None:
    project = create_project(context).id
    people = [  # (id, account, MRR, health, band, last seen days ago)
        ("a1", "Acme", 5000, 80, "healthy", 1),
        ("a2", "Acme", 0, 30, "critical", 10),
        ("a3", "Acme", 1000, 50, "at_risk", 40),
        ("a4", "Acme", 0, None, "", None),
        ("g1", "Globex", 9000, 90, "healthy", 2),
        ("n1", "", 100, 60, "at_risk", 1),
    ]
    with transaction(context.sessions) as session:
        for pid, account, mrr, health, band, seen in people:
            session.add(PersonSummary(
                project_id=project, person_id=pid, account=account, mrr_minor=mrr,
                health=health, band=band, name=pid.upper(), name_key=pid,
                last_seen=None if seen is None else NOW - seen * DAY,
            ))  # fmt: skip
    with transaction(context.sessions) as session:
        rows = accounts_page(session, project, now=NOW)
        acme = account_view(session, project, "Acme", NOW)
        assert [r.account for r in accounts_page(session, project, q="CM", now=NOW)] == ["Acme"]
        with pytest.raises(NotFound):
            account_view(session, project, "Initech", NOW)
    assert [(r.account, r.seats, r.active_7d, r.active_30d, r.mrr_minor) for r in rows] == [
        ("Globex", 1, 1, 1, 9000), ("Acme", 4, 1, 2, 6000),
    ]  # fmt: skip
    assert rows[1].mean_health == pytest.approx(53.3)
    assert rows[1].bands == {"healthy": 1, "at_risk": 1, "critical": 1}
    # (80 × 5000 + 50 × 1000) / 6000: only the paying members weigh.  # noqa: RUF003
    assert (acme.health, acme.weighted) == (75.0, True)
    assert acme.distribution == (0, 0, 0, 1, 0, 1, 0, 0, 1, 0)
    assert [m.person_id for m in acme.members] == ["a1", "a3", "a2", "a4"]
    assert acme.currency == "usd"


def test_the_usage_insight_says_what_the_health_score_says(context: AppContext) -> None:
    # First seen 21 days ago: the usual week is taken over the 2 weeks they were around
    # (20 events, 10 a week), not the 4 of ``weekly_baseline`` (5 a week).
    project = create_project(context).id
    seen = {"first_seen": NOW - 21 * DAY, "last_seen": NOW - HOUR, "events_7d": 5,
            "weekly_baseline": 20 / 4}  # fmt: skip
    young = PersonSummary(project_id=project, person_id="p1", computed_at=NOW, **seen)
    health = score(Signals(person_id="p1", now=NOW, **seen), PeopleConfig())
    with context.sessions() as session:
        found = insights(session, context.warehouse, project,
                         Facts("p1", NOW, "UTC", young, None, None, None, []))  # fmt: skip
    assert "usage down 50% vs their 2-week average" in [r.text for r in health.reasons]
    assert found == [Insight(
        "warning", "Usage down 50% vs their 2-week average",
        "5 events in the last 7 days vs 10 a week in the 2 weeks before (as of 20 Mar 2026)",
    )]  # fmt: skip
