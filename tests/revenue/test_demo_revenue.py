"""The demo business in the revenue area: its Stripe events and marketing spend, loaded
through the real write paths, tell the same story as the simulated people.

Each expectation is computed from the ``Business`` itself (who pays for which plan at the
end, who stopped paying), not from what was stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import func, select

from loopwise.core.db import transaction
from loopwise.demo import catalog
from loopwise.demo.billing import StripeBilling
from loopwise.demo.billing_terms import add_months, paid_run, terms
from loopwise.demo.contracts import DemoTarget
from loopwise.demo.facade import run_generators
from loopwise.demo.population import Business
from loopwise.demo.spend import MarketingSpend
from loopwise.revenue.facade import cac, mrr_report
from loopwise.revenue.models import BillingObject, Movement, PaymentFailure, SourceEvent
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, create_project

END = datetime(2026, 6, 1, 12, tzinfo=UTC)
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def business() -> Business:
    return Business.build(users=300, days=120, seed=7, end=END)


def load_revenue(context: AppContext, business: Business) -> int:
    """A new project holding the business's billing events and spend (no product events:
    the revenue generators do not need them)."""
    project = create_project(context, "Demo").id
    target = DemoTarget(context.warehouse, project, business.end, context.sessions, TEST_ACTOR)
    run_generators(business, target, (StripeBilling(), MarketingSpend()))
    return project


def expected_mrr(business: Business) -> Decimal:
    """What the simulated people pay each month at the end, in cents: their plan's price
    per kitchen, annual Team at ten months' price over twelve, less a coupon in force."""
    total = Decimal(0)
    for person in business.people:
        plan = person.plan_at(business.end)
        found = terms(business, person)
        if plan == "free" or found is None or found.run is None:
            continue
        monthly = Decimal(catalog.PRICES[plan] * 100 * found.quantity(plan))
        if found.annual:
            monthly = monthly * 10 / 12
        coupon = found.coupon
        if coupon and (coupon.months is None
                       or add_months(found.run.start, coupon.months) > business.end):  # fmt: skip
            monthly -= monthly * coupon.percent_off / 100
        total += monthly.quantize(CENT, ROUND_HALF_UP)
    return total


def test_the_demo_mrr_at_the_end_is_what_the_simulated_people_pay(
    context: AppContext, business: Business
) -> None:
    project = load_revenue(context, business)
    with transaction(context.sessions) as session:
        report = mrr_report(session, project, "UTC", months=6, now=END)
    assert report.periods[-1].mrr == expected_mrr(business) > 0
    paying = sum(1 for p in business.people if p.plan_at(END) != "free")
    assert report.periods[-1].customers == paying


def test_the_customers_who_churn_are_the_people_who_stopped_paying(
    context: AppContext, business: Business
) -> None:
    project = load_revenue(context, business)
    stopped = set()
    for person in business.people:
        run = paid_run(person)
        # A paid span that starts and ends on one day never shows in daily MRR.
        if run is not None and run.end is not None and run.end.date() != run.start.date():
            found = terms(business, person)
            assert found is not None
            stopped.add(found.customer_id)
    with transaction(context.sessions) as session:
        mrr_report(session, project, "UTC", months=12, now=END)
        churned = set(session.scalars(
            select(Movement.customer_id)
            .where(Movement.project_id == project).where(Movement.kind == "churn")
        ))  # fmt: skip
    assert len(stopped) >= 10
    assert churned == stopped


def test_failed_renewals_are_recorded_with_their_decline_codes(
    context: AppContext, business: Business
) -> None:
    project = load_revenue(context, business)
    with transaction(context.sessions) as session:
        failures = session.scalars(
            select(PaymentFailure).where(PaymentFailure.project_id == project)
        ).all()
        declined = {
            row.data["invoice"]: row.data["outcome"]["reason"]
            for row in session.scalars(
                select(BillingObject)
                .where(BillingObject.project_id == project)
                .where(BillingObject.kind == "charge")
                .where(BillingObject.status == "failed")
            )
        }
        failed_events = session.scalar(
            select(func.count()).select_from(SourceEvent)
            .where(SourceEvent.project_id == project)
            .where(SourceEvent.type == "invoice.payment_failed")
        )  # fmt: skip
    assert len(failures) == failed_events >= 10
    assert all(f.amount > 0 and f.currency == "usd" and f.attempt_count >= 1 for f in failures)
    # The decline code travels with the failed charge, sent just before the invoice's failure.
    assert all(f.failure_code == declined[f.invoice_id] for f in failures)
    codes = {f.failure_code for f in failures}
    assert len(codes) >= 4
    assert "insufficient_funds" in codes


def test_every_paid_channel_has_daily_spend(context: AppContext, business: Business) -> None:
    project = load_revenue(context, business)
    with transaction(context.sessions) as session:
        report = cac(session, context.warehouse, project, "UTC", business.start.date(),
                     END.date(), now=END)  # fmt: skip
    spend = {channel.source: channel.spend for channel in report.channels}
    assert {"google", "facebook", "newsletter", "producthunt"} <= {s for s, v in spend.items() if v}
    assert spend["google"] > spend["facebook"] > spend["producthunt"]


def test_the_same_seed_gives_the_same_revenue_in_two_projects(context: AppContext) -> None:
    business = Business.build(users=150, days=90, seed=3, end=END)
    first, second = load_revenue(context, business), load_revenue(context, business)
    with transaction(context.sessions) as session:
        reports = [mrr_report(session, p, "UTC", months=12, now=END) for p in (first, second)]
    assert reports[0].periods == reports[1].periods
    assert reports[0].periods[-1].mrr > 0
