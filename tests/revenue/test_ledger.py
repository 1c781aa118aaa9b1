"""The stored ledger: refreshed only for customers whose history changed or whose MRR
moves with time, fully when conventions change, and always equal to a recomputation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from loopwise.core.db import transaction
from loopwise.revenue import ledger
from loopwise.revenue.facade import import_subscriptions
from loopwise.revenue.mrr import Conventions, movements
from loopwise.revenue.sources.stripe import apply_event
from loopwise.revenue.sources.stripe_states import subscription_states
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, create_project

HEADER = (
    "subscription_id,customer_id,effective_at,status,amount,currency,interval,quantity,ended_at\n"
)
T0 = datetime(2026, 3, 10, tzinfo=UTC)


def ensure(context: AppContext, project: int, now: datetime, **rules: object) -> ledger.Refreshed:
    with transaction(context.sessions) as session:
        return ledger.ensure(session, project, Conventions(**rules), "usd", "UTC", now)  # type: ignore[arg-type]


def test_only_what_changed_is_recomputed(context: AppContext) -> None:
    project = create_project(context).id
    rows = "".join(f"s{n},c{n},2026-01-0{n},active,10,usd,month,1,\n" for n in range(1, 6))
    # c9 cancelled with an end in April: its churn comes with time, not with an event.
    rows += "s9,c9,2026-01-05,active,30,usd,month,1,2026-04-01\n"
    with transaction(context.sessions) as session:
        import_subscriptions(session, TEST_ACTOR, project, HEADER + rows)
    first = ensure(context, project, T0)
    assert (first.full, first.customers) == (True, 6)
    assert ensure(context, project, T0 + timedelta(hours=1)).customers == 0  # nothing new
    with transaction(context.sessions) as session:  # c2 adds a seat
        import_subscriptions(session, TEST_ACTOR, project,
                             HEADER + "s2,c2,2026-01-02,active,10,usd,month,1,\n"
                             "s2,c2,2026-03-12,active,10,usd,month,2,\n")  # fmt: skip
    assert ensure(context, project, T0 + timedelta(days=3)).customers == 1
    # After 1 April c9's end is due: refreshed with no new version.
    april = datetime(2026, 4, 2, tzinfo=UTC)
    assert ensure(context, project, april).customers == 1
    with context.sessions() as session:
        kinds = [c.kind for c in ledger.of_customers(session, project, ["c9"])]
    assert kinds == ["new", "churn"]
    # A convention change recomputes everyone.
    assert ensure(context, project, april, churn_at="request").full is True


def test_the_stored_ledger_equals_a_recomputation(context: AppContext) -> None:
    project = create_project(context).id
    history = [
        "a,ca,2026-01-01,active,100,usd,month,1,",
        "a,ca,2026-02-01,active,100,usd,month,3,",
        "b,cb,2026-01-15,trialing,50,usd,month,1,",
        "b,cb,2026-01-29,active,50,usd,month,1,",
        "c,cb,2026-02-10,active,20,usd,year,12,",
        "d,cd,2026-01-20,active,40,usd,week,1,2026-03-01",
    ]
    with transaction(context.sessions) as session:
        import_subscriptions(session, TEST_ACTOR, project, HEADER + "\n".join(history[:3]) + "\n")
    ensure(context, project, T0)
    with transaction(context.sessions) as session:
        import_subscriptions(session, TEST_ACTOR, project, HEADER + "\n".join(history[2:]) + "\n")
    ensure(context, project, T0)
    with context.sessions() as session:
        kept = ledger.stored(session, project)
        fresh = movements(subscription_states(session, project, "usd"), Conventions(), "UTC", T0)
    assert kept.changes == fresh.changes
    assert len(kept.changes) >= 5


def subscription_event(event_id: str, customer: str, created: datetime) -> dict[str, Any]:
    price = {"unit_amount": 10000, "currency": "usd", "recurring": {"interval": "month"}}
    thing = {"id": "s1", "object": "subscription", "customer": customer, "status": "active",
             "start_date": int(datetime(2026, 1, 10, tzinfo=UTC).timestamp()),
             "items": {"data": [{"price": price, "quantity": 1}]}}  # fmt: skip
    return {"id": event_id, "object": "event", "type": "customer.subscription.updated",
            "created": int(created.timestamp()), "data": {"object": thing}}  # fmt: skip


def test_a_subscription_moved_to_another_customer_leaves_the_first(
    context: AppContext,
) -> None:
    project = create_project(context).id
    with transaction(context.sessions) as session:
        apply_event(
            session, project, subscription_event("evt_1", "ca", datetime(2026, 1, 10, tzinfo=UTC))
        )
    ensure(context, project, T0 - timedelta(days=30))
    # In February a billing system reassigns the subscription to cb (an account merge):
    # ca's $100 churns and cb's $100 is new that day; MRR stays $100, never $200.
    with transaction(context.sessions) as session:
        apply_event(
            session, project, subscription_event("evt_2", "cb", datetime(2026, 2, 15, tzinfo=UTC))
        )
    assert ensure(context, project, T0).customers == 2  # cb, and ca whom it left
    with context.sessions() as session:
        kept = ledger.stored(session, project)
        fresh = movements(subscription_states(session, project, "usd"), Conventions(), "UTC", T0)
    moves = [(c.customer_id, c.day.isoformat(), c.kind, c.after) for c in kept.changes]
    assert moves == [
        ("ca", "2026-01-10", "new", 10000),
        ("ca", "2026-02-15", "churn", 0),
        ("cb", "2026-02-15", "new", 10000),  # from the move, not backdated to January
    ]
    assert kept.changes == fresh.changes
    assert sum(kept.final.values()) == 10000
