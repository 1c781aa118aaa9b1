"""The Stripe billing story: reproducible, in simulated time, and true to each person's
plan history, with trials, annual and multi-kitchen Team plans, coupons, failed renewals
(mostly recovered) and refunds."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest

from loopwise.demo.billing import DECLINES, StripeBilling, person_billing_events
from loopwise.demo.billing_terms import LAUNCH, paid_run, terms
from loopwise.demo.population import Business
from tests.demo.conftest import END

Events = dict[int, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def business() -> Business:
    """The default demo's size: enough renewals for the shares to be stable."""
    return Business.build(users=2000, days=90, seed=42, end=END)


@pytest.fixture(scope="module")
def events(business: Business) -> Events:
    return {p.index: person_billing_events(business, p) for p in business.people}


def of_type(events: Events, kind: str) -> list[dict[str, Any]]:
    return [e["data"]["object"] for found in events.values() for e in found if e["type"] == kind]


def test_the_same_seed_gives_identical_billing_events() -> None:
    def generate(seed: int) -> list[dict[str, Any]]:
        business = Business.build(users=150, days=60, seed=seed, end=END)
        return list(StripeBilling().generate(business, business.people))

    first = generate(5)
    assert len(first) > 100
    assert first == generate(5)
    assert first != generate(6)


def test_billing_events_follow_the_simulated_time(business: Business, events: Events) -> None:
    end = int(END.timestamp())
    for person in business.people:
        found = events[person.index]
        created = [e["created"] for e in found]
        assert created == sorted(created)
        assert all(c <= end for c in created)
        if found:
            assert found[0]["type"] == "customer.created"
            assert found[0]["created"] >= int(person.signup_at.timestamp()) - 60


def test_ids_are_unique_and_shaped_like_stripe_ids(events: Events) -> None:
    ids = [e["id"] for found in events.values() for e in found]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"evt_[0-9A-Za-z]{24}", i) for i in ids)
    customers = [c["id"] for c in of_type(events, "customer.created")]
    assert len(customers) == len(set(customers))
    assert all(re.fullmatch(r"cus_[0-9A-Za-z]{14}", c) for c in customers)


def test_every_paying_person_is_a_customer_linked_by_user_id(
    business: Business, events: Events
) -> None:
    customers = {c["metadata"]["user_id"]: c for c in of_type(events, "customer.created")}
    paying = {p.distinct_id: p for p in business.people if paid_run(p) is not None}
    assert len(paying) > 500
    assert set(paying) <= set(customers)
    assert all(customers[d]["email"] == p.email for d, p in paying.items())
    # The rest are business accounts whose trial lapsed without paying.
    lapsed = set(customers) - set(paying)
    assert 0 < len(lapsed) < 0.1 * len(customers)


def test_subscriptions_follow_each_persons_plan_history(business: Business, events: Events) -> None:
    for person in business.people:
        run = paid_run(person)
        if run is None:
            continue
        states = [(e["type"], e["data"]["object"]) for e in events[person.index]
                  if e["type"].startswith("customer.subscription.")]  # fmt: skip
        plans = []
        for _, state in states:
            plan = state["items"]["data"][0]["price"]["product"].removeprefix("prod_Recipely")
            if not plans or plans[-1] != plan.lower():
                plans.append(plan.lower())
        assert plans == [c.plan for c in _distinct_plans(run.changes)]
        deleted = [s for kind, s in states if kind == "customer.subscription.deleted"]
        if run.end is None:
            assert not deleted
        else:
            assert [s["ended_at"] for s in deleted] == [int(run.end.timestamp())]
            assert deleted[0]["status"] == "canceled"


def _distinct_plans(changes: Any) -> list[Any]:
    found: list[Any] = []
    for change in changes:
        if not found or found[-1].plan != change.plan:
            found.append(change)
    return found


def test_a_share_of_invoices_fails_with_a_realistic_mix_of_decline_codes(
    events: Events,
) -> None:
    invoices = {i["id"] for kind in ("invoice.paid", "invoice.payment_failed")
                for i in of_type(events, kind)}  # fmt: skip
    first_code: dict[str, str] = {}
    for charge in of_type(events, "charge.failed"):
        first_code.setdefault(charge["invoice"], charge["outcome"]["reason"])
    assert 0.04 <= len(first_code) / len(invoices) <= 0.09
    codes = Counter(first_code.values())
    assert codes.most_common(1)[0][0] == "insufficient_funds"
    assert len(codes) >= 6
    assert set(codes) <= {decline.reason for decline, _ in DECLINES}


def test_most_failed_renewals_are_paid_on_a_retry_and_the_rest_end_the_subscription(
    events: Events,
) -> None:
    failed = {i["id"] for i in of_type(events, "invoice.payment_failed")}
    recovered = {i["id"] for i in of_type(events, "invoice.paid")} & failed
    lost = {i["id"] for i in of_type(events, "invoice.marked_uncollectible")}
    pending = failed - recovered - lost  # still being retried when the data ends
    assert len(recovered) > 2 * len(lost) > 0
    assert len(pending) < len(lost)
    ended = {s["latest_invoice"] for s in of_type(events, "customer.subscription.deleted")
             if s["cancellation_details"]["reason"] == "payment_failed"}  # fmt: skip
    assert len(ended) == len(lost)


def test_failed_payments_carry_the_attempt_count_and_next_retry(events: Events) -> None:
    attempts: dict[str, list[tuple[int, int | None, int]]] = defaultdict(list)
    for found in events.values():
        for e in found:
            if e["type"] == "invoice.payment_failed":
                bill = e["data"]["object"]
                attempts[bill["id"]].append(
                    (bill["attempt_count"], bill["next_payment_attempt"], e["created"])
                )
    for tries in attempts.values():
        assert [count for count, _, _ in tries] == list(range(1, len(tries) + 1))
        for _, retry, created in tries:
            assert retry is None or retry > created
        if len(tries) > 1:
            assert tries[0][1] == tries[1][2] - 2  # the retry happens when it was announced


def test_past_due_subscriptions_turn_active_again_once_paid(events: Events) -> None:
    for found in events.values():
        statuses = [e["data"]["object"]["status"] for e in found
                    if e["type"].startswith("customer.subscription.")]  # fmt: skip
        for before, after in itertools.pairwise(statuses):
            if before == "past_due":
                assert after in ("active", "past_due", "canceled")


def test_team_is_billed_per_kitchen_and_some_teams_pay_yearly(
    business: Business, events: Events
) -> None:
    team = [t for p in business.people if (t := terms(business, p)) and t.run
            and t.run.plan_at(END) == "team"]  # fmt: skip
    assert 0.1 < sum(t.annual for t in team) / len(team) < 0.4
    assert 0.1 < sum(t.kitchens > 1 for t in team) / len(team) < 0.4
    yearly = [i for i in of_type(events, "invoice.paid")
              if i["lines"]["data"][0]["price"]["recurring"]["interval"] == "year"]  # fmt: skip
    assert yearly
    assert all(i["lines"]["data"][0]["price"]["unit_amount"] == 79_000 for i in yearly)


def test_trials_begin_trialing_and_turn_active_on_the_upgrade(
    business: Business, events: Events
) -> None:
    converted = 0
    for person in business.people:
        found = terms(business, person)
        if found is None or found.trial_start is None:
            continue
        states = [e for e in events[person.index] if e["type"].startswith("customer.subscr")]
        assert states[0]["data"]["object"]["status"] == "trialing"
        assert states[0]["created"] == int(found.trial_start.timestamp())
        if found.run is not None:
            converted += 1
            assert states[1]["data"]["object"]["status"] == "active"
            assert states[1]["created"] == int(found.run.start.timestamp())
    assert converted >= 20


def test_coupons_discount_invoices_and_the_launch_coupon_is_product_hunts(
    business: Business, events: Events
) -> None:
    holders = [(p, t) for p in business.people if (t := terms(business, p)) and t.coupon]
    assert len(holders) >= 20
    assert all(p.channel.name == "producthunt_referral" for p, t in holders if t.coupon == LAUNCH)
    discounted = [i for i in of_type(events, "invoice.paid") if i["total"] < i["subtotal"]]
    assert discounted


def test_a_few_cancellations_are_refunded(events: Events) -> None:
    refunded = of_type(events, "charge.refunded")
    assert 0 < len(refunded) < len(of_type(events, "customer.subscription.deleted"))
    assert all(0 < c["amount_refunded"] <= c["amount"] for c in refunded)


def test_amounts_are_cents_in_usd(events: Events) -> None:
    for bill in of_type(events, "invoice.paid"):
        assert bill["currency"] == "usd"
        assert bill["amount_due"] == bill["total"] == bill["amount_paid"]
        assert bill["subtotal"] % 1900 == 0 or bill["subtotal"] % 7900 == 0


def test_billing_runs_only_with_an_app_database(demo: Any) -> None:
    assert demo.summary.billing_events == demo.summary.spend_rows == 0
    assert demo.summary.events > 0


def test_data_ends_with_the_simulation() -> None:
    business = Business.build(users=100, days=40, seed=1, end=datetime(2026, 1, 1, tzinfo=UTC))
    events = [e for p in business.people for e in person_billing_events(business, p)]
    assert max(e["created"] for e in events) <= int(business.end.timestamp())
