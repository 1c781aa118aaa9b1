"""What revenue knows about one person: their billing customers' status, plans, MRR, next
billing date, payment failures and paid invoices (the support area and the person page
read it through ``facade.person_billing``; definitions in docs/revenue.md, "Billing
summary of one person").

A person has few customers, so everything is read through the customer index of each
table (a handful of queries, none over the whole project). Status, MRR and plans come
from the same helpers as the Customers page, so the two always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loopwise.revenue.customers import PRECEDENCE, statuses_of
from loopwise.revenue.models import BillingObject, PaymentFailure
from loopwise.revenue.payments import Rates, open_failures
from loopwise.revenue.subscriptions import current_plans, unindexed

FAILURE_DAYS = 30
# Subscriptions that will bill again at the end of their current period.
BILLING = ("active", "trialing", "past_due")
# A customer in one of these is a current one: their plans are the person's plans.
CURRENT = ("past_due", "paying", "trialing")


@dataclass(frozen=True)
class PersonBilling:
    """One person's billing, summed over the customers linked to them."""

    customer_ids: tuple[str, ...]  # the linked billing customers, by id
    status: str  # the most pressing of their statuses (customers.PRECEDENCE)
    plan: str  # current plan names, sorted, joined by ", " ("" without a subscription)
    mrr_minor: int  # MRR now, minor units of ``currency`` (rounded half up)
    currency: str  # the project's reporting currency
    next_billing: date | None  # earliest current-period end of a subscription that bills
    payment_failures_30d: int  # failed payment attempts in the 30 days before now
    open_failures: int  # failed invoices not since paid, voided or written off
    ltv_minor: int  # paid invoices' amounts to date, minor units of ``currency``


def billing_of(
    session: Session, project_id: int, customers: Sequence[str], *, currency: str,
    now: datetime,
) -> PersonBilling:  # fmt: skip
    """The summary for ``customers`` (one person's; the stored ledger must be current)."""
    wanted = sorted(set(customers))
    found = statuses_of(session, project_id, wanted)
    statuses = {status for status, _ in found.values()} or {"never_paid"}
    status = next(s for s in PRECEDENCE if s in statuses)
    mrr = sum((m for _, m in found.values()), Decimal(0))
    current = [c for c in wanted if found.get(c, ("",))[0] in CURRENT] or wanted
    plans = current_plans(session, project_id, current, now)
    failing = open_failures(session, project_id, wanted)
    return PersonBilling(
        customer_ids=tuple(wanted),
        status=status,
        plan=", ".join(sorted({p for c in current for p in plans.get(c, ())})),
        mrr_minor=int(mrr.quantize(Decimal(1), ROUND_HALF_UP)),
        currency=currency,
        next_billing=_next_billing(session, project_id, wanted),
        payment_failures_30d=_failures_since(session, project_id, wanted,
                                             now - timedelta(days=FAILURE_DAYS), now),
        open_failures=sum(len(v) for v in failing.values()),
        ltv_minor=_paid(session, project_id, wanted, currency, now),
    )  # fmt: skip


def _failures_since(
    session: Session, project_id: int, customers: list[str], start: datetime, end: datetime
) -> int:
    f = PaymentFailure
    return session.scalar(
        select(func.count()).select_from(f)
        .where(f.project_id == project_id, f.customer_id.in_(customers))
        .where(f.failed_at >= start, f.failed_at < end)
    ) or 0  # fmt: skip


def _next_billing(session: Session, project_id: int, customers: list[str]) -> date | None:
    """The earliest end of the current period of the customers' subscriptions that will
    bill again (active, trialing or past due, not ended, not cancelled at period end)."""
    rows = session.execute(
        select(BillingObject.status, BillingObject.data)
        .where(BillingObject.project_id == project_id)
        .where(unindexed(BillingObject.kind) == "subscription")
        .where(BillingObject.customer_id.in_(customers))
        .where(BillingObject.deleted.is_(False))
    )
    ends = [
        end
        for status, data in rows
        if status in BILLING and not data.get("ended_at") and not data.get("cancel_at_period_end")
        and (end := period_end(data)) is not None
    ]  # fmt: skip
    return min(ends).date() if ends else None


def period_end(data: dict[str, Any]) -> datetime | None:
    """A Stripe subscription's current period end: its own field, or (API versions from
    2025-03-31) the earliest of its items'."""
    found = _time(data.get("current_period_end"))
    if found is not None:
        return found
    items = data.get("items")
    ends = [
        end
        for item in (items.get("data") if isinstance(items, dict) else None) or []
        if isinstance(item, dict) and (end := _time(item.get("current_period_end")))
    ]
    return min(ends, default=None)


def _paid(
    session: Session, project_id: int, customers: list[str], currency: str, now: datetime
) -> int:
    """The customers' paid invoices (amount paid, else amount due) paid by ``now``, each
    in the reporting currency at the rate of the day it was paid; an invoice in a currency
    without a rate for that day is left out."""
    rows = session.execute(
        select(BillingObject.amount, BillingObject.currency, BillingObject.data,
               BillingObject.version_at)
        .where(BillingObject.project_id == project_id)
        .where(unindexed(BillingObject.kind) == "invoice")
        .where(BillingObject.customer_id.in_(customers))
        .where(BillingObject.status == "paid")
    )  # fmt: skip
    rates: Rates | None = None
    total = Decimal(0)
    for due, native, data, version_at in rows:
        transitions = data.get("status_transitions")
        paid_at = _time(transitions.get("paid_at")) if isinstance(transitions, dict) else None
        moment = paid_at or _time(data.get("created")) or version_at
        if moment > now:
            continue
        paid = data.get("amount_paid")
        amount = paid if isinstance(paid, int) and not isinstance(paid, bool) else due
        if native and native.lower() != currency.lower():
            rates = rates or Rates(session, project_id, currency)
            total += rates.convert(amount, native, moment.date()) or 0
        else:
            total += amount
    return int(total.quantize(Decimal(1), ROUND_HALF_UP))


def _time(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None
