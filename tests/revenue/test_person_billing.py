"""One person's billing summary: customers linked to them through Stripe webhook events
(the real write path), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from loopwise.core.db import transaction
from loopwise.ingest.facade import KnownPerson, register_people
from loopwise.ingest.ids import person_id_for
from loopwise.revenue.facade import PersonBilling, apply_event, person_billing
from loopwise.web.context import AppContext
from tests.factories import create_project

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
DAY = timedelta(days=1)
USERS = ("user-pay", "user-late", "user-two", "user-none")


def stamp(moment: datetime) -> int:
    return int(moment.timestamp())


class Stripe:
    """Stripe events applied as the webhook applies them, numbered in sending order."""

    def __init__(self, session: Session, project_id: int) -> None:
        self.session, self.project_id, self.count = session, project_id, 0

    def send(self, kind: str, thing: dict[str, Any], at: datetime) -> None:
        self.count += 1
        event = {"id": f"evt_pb{self.count}", "object": "event", "type": kind,
                 "created": stamp(at), "data": {"object": thing}}  # fmt: skip
        assert apply_event(self.session, self.project_id, event).outcome == "applied"

    def customer(self, key: str, user: str) -> None:
        thing = {"id": f"cus_{key}", "object": "customer", "email": f"{key}@x.io",
                 "metadata": {"user_id": user}}  # fmt: skip
        self.send("customer.created", thing, NOW - 60 * DAY)

    def subscription(
        self, key: str, status: str, amount: int, plan: str, at: datetime, *,
        period_end: datetime, on_items: bool = False, interval: str = "month",
    ) -> None:  # fmt: skip
        """A subscription; ``on_items`` keeps its period on the items (API 2025-03-31+)."""
        price = {"id": f"price_{plan}", "nickname": plan, "unit_amount": amount,
                 "currency": "usd", "recurring": {"interval": interval}}  # fmt: skip
        item: dict[str, Any] = {"price": price, "quantity": 1}
        thing: dict[str, Any] = {"id": f"sub_{key}", "object": "subscription",
                                 "customer": f"cus_{key}", "status": status,
                                 "start_date": stamp(NOW - 40 * DAY),
                                 "items": {"data": [item]}}  # fmt: skip
        if on_items:
            item["current_period_end"] = stamp(period_end)
        else:
            thing["current_period_end"] = stamp(period_end)
        kind = "created" if status == "active" else "updated"
        self.send(f"customer.subscription.{kind}", thing, at)

    def invoice(self, name: str, key: str, status: str, amount: int, at: datetime) -> None:
        thing = {"id": name, "object": "invoice", "customer": f"cus_{key}", "status": status,
                 "amount_due": amount, "amount_paid": amount if status == "paid" else 0,
                 "currency": "usd", "created": stamp(at - DAY), "attempt_count": 1}  # fmt: skip
        kind = "invoice.paid" if status == "paid" else "invoice.payment_failed"
        self.send(kind, thing, at)


@pytest.fixture
def project(context: AppContext) -> int:
    made = create_project(context)
    people = [KnownPerson(distinct_id=user) for user in USERS]
    register_people(context.sessions, context.warehouse, made.id, people)
    with transaction(context.sessions) as session:
        stripe = Stripe(session, made.id)
        # user-pay: $50/month "pro", two invoices paid.
        stripe.customer("pay", "user-pay")
        stripe.subscription("pay", "active", 5000, "pro", NOW - 40 * DAY,
                            period_end=NOW + 12 * DAY)  # fmt: skip
        stripe.invoice("in_pay1", "pay", "paid", 5000, NOW - 40 * DAY)
        stripe.invoice("in_pay2", "pay", "paid", 5000, NOW - 10 * DAY)
        # user-late: $20/month; an old failure paid since, a recent one still open.
        stripe.customer("late", "user-late")
        stripe.subscription("late", "active", 2000, "basic", NOW - 40 * DAY,
                            period_end=NOW + 2 * DAY)  # fmt: skip
        stripe.invoice("in_late1", "late", "open", 2000, NOW - 35 * DAY)
        stripe.invoice("in_late1", "late", "paid", 2000, NOW - 33 * DAY)
        stripe.invoice("in_late2", "late", "open", 2000, NOW - 9 * DAY)
        stripe.invoice("in_late2", "late", "open", 2000, NOW - 6 * DAY)
        stripe.subscription("late", "past_due", 2000, "basic", NOW - 9 * DAY,
                            period_end=NOW + 2 * DAY)  # fmt: skip
        # user-two: two customers, $30/month "basic" and $120/year "addon" (items' period).
        stripe.customer("two", "user-two")
        stripe.customer("twob", "user-two")
        stripe.subscription("two", "active", 3000, "basic", NOW - 40 * DAY,
                            period_end=NOW + 20 * DAY)  # fmt: skip
        stripe.subscription("twob", "active", 12000, "addon", NOW - 40 * DAY,
                            period_end=NOW + 5 * DAY, on_items=True, interval="year")  # fmt: skip
    return made.id


def billing(context: AppContext, project: int, user: str) -> PersonBilling | None:
    with transaction(context.sessions) as session:
        return person_billing(session, project, person_id_for(project, user), now=NOW)


def test_a_paying_customer_of_a_person(context: AppContext, project: int) -> None:
    found = billing(context, project, "user-pay")
    assert found == PersonBilling(
        customer_ids=("cus_pay",), status="paying", plan="pro", mrr_minor=5000,
        currency="usd", next_billing=(NOW + 12 * DAY).date(), payment_failures_30d=0,
        open_failures=0, ltv_minor=10000,
    )  # fmt: skip


def test_a_failed_payment_counts_and_makes_the_person_past_due(
    context: AppContext, project: int
) -> None:
    found = billing(context, project, "user-late")
    assert found is not None
    assert (found.status, found.plan, found.mrr_minor) == ("past_due", "basic", 2000)
    # Two failed attempts of in_late2 in the last 30 days; in_late1's, 35 days ago, is
    # older (and was paid since).
    assert (found.payment_failures_30d, found.open_failures) == (2, 1)
    assert found.next_billing == date(2026, 3, 22)
    assert found.ltv_minor == 2000


def test_a_person_without_a_customer_has_no_billing(context: AppContext, project: int) -> None:
    assert billing(context, project, "user-none") is None
    assert billing(context, project, "never-seen") is None


def test_two_customers_of_one_person_are_summed(context: AppContext, project: int) -> None:
    found = billing(context, project, "user-two")
    assert found is not None
    assert found.customer_ids == ("cus_two", "cus_twob")
    assert (found.status, found.plan, found.mrr_minor) == ("paying", "addon, basic", 4000)
    assert found.next_billing == (NOW + 5 * DAY).date()  # the add-on's, from its item
    assert (found.payment_failures_30d, found.open_failures, found.ltv_minor) == (0, 0, 0)
