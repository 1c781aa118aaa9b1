"""What happened to one person's billing over time, and what the team asked billing to do
for them: the person page's timeline and billing card read these through the facade.

- **Events** of the person's billing customers in a time range: each paid invoice (at
  the moment it was paid), each failed attempt to collect one, and each MRR movement of
  the stored ledger (new, expansion, contraction, churn, reactivation; exchange-rate-only
  changes are not events of the customer). A movement has a day, not a moment: it is
  placed at the start of that day in the project's time zone.
- **The payment method** on file, where the stored objects carry it: the card of the
  latest charge (``payment_method_details.card``), else the customer's expanded default
  payment method or source. Only the brand and the last four digits are read.
- **Billing requests**: a complimentary subscription or a credit someone asked for from
  the person page, recorded for whoever runs billing. Nothing is written to the billing
  system and no billing object changes; the request is audited.

A person has few customers, so everything is read through the customer index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.errors import InvalidInput
from loopwise.revenue.models import BillingObject, BillingRequest, Movement, PaymentFailure
from loopwise.revenue.subscriptions import unindexed

MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")
REQUEST_KINDS = ("complimentary", "credit")
MAX_MONTHS = 36
MAX_CREDIT_MINOR = 10**11


@dataclass(frozen=True)
class BillingEvent:
    """One thing that happened to a person's billing."""

    at: datetime
    kind: str  # "payment" (an invoice paid), "payment_failed", or "subscription"
    customer_id: str
    amount_minor: int  # the payment's or the MRR movement's amount (positive), minor units
    currency: str  # an invoice's own currency; the reporting currency for movements
    invoice_id: str = ""
    movement: str = ""  # for subscription events: one of MOVEMENTS
    mrr_before_minor: int = 0  # for subscription events, reporting currency
    mrr_after_minor: int = 0
    failure_code: str = ""  # for failed payments: the decline code, when known
    attempt: int = 0
    next_attempt_at: datetime | None = None


@dataclass(frozen=True)
class PaymentMethod:
    brand: str  # "visa", "mastercard", …
    last4: str


@dataclass(frozen=True)
class BillingRequestInfo:
    id: int
    person_id: str
    customer_id: str
    kind: str  # one of REQUEST_KINDS
    months: int
    plan: str
    amount_minor: int
    currency: str
    reason: str
    status: str  # "requested" until billing acts on it
    requested_by: str
    created_at: datetime


def billing_events(
    session: Session, project_id: int, customers: Sequence[str], start: datetime,
    end: datetime, *, zone: str,
) -> list[BillingEvent]:  # fmt: skip
    """The customers' payments, failed payments and MRR movements in [start, end), newest
    first (equal moments: payments, then failures, then movements, each by customer and
    reference)."""
    wanted = sorted(set(customers))
    if not wanted:
        return []
    found = [
        *_payments(session, project_id, wanted, start, end),
        *_failures(session, project_id, wanted, start, end),
        *_movements(session, project_id, wanted, start, end, ZoneInfo(zone)),
    ]
    rank = {"payment": 0, "payment_failed": 1, "subscription": 2}
    found.sort(key=lambda e: (e.at, -rank[e.kind], e.customer_id, e.invoice_id, e.movement),
               reverse=True)  # fmt: skip
    return found


def _payments(
    session: Session, project_id: int, customers: list[str], start: datetime, end: datetime
) -> list[BillingEvent]:
    rows = session.execute(
        select(BillingObject.external_id, BillingObject.customer_id, BillingObject.amount,
               BillingObject.currency, BillingObject.data, BillingObject.version_at)
        .where(BillingObject.project_id == project_id)
        .where(unindexed(BillingObject.kind) == "invoice")
        .where(BillingObject.customer_id.in_(customers))
        .where(BillingObject.status == "paid")
    )  # fmt: skip
    found = []
    for invoice_id, customer_id, due, currency, data, version_at in rows:
        moment = paid_at(data) or version_at
        if not start <= moment < end:
            continue
        paid = data.get("amount_paid")
        amount = paid if isinstance(paid, int) and not isinstance(paid, bool) else due
        found.append(BillingEvent(moment, "payment", customer_id, int(amount), currency.lower(),
                                  invoice_id=invoice_id))  # fmt: skip
    return found


def paid_at(data: dict[str, Any]) -> datetime | None:
    """When an invoice was paid: Stripe's ``status_transitions.paid_at``, else its
    creation (imports carry only that)."""
    transitions = data.get("status_transitions")
    found = _time(transitions.get("paid_at")) if isinstance(transitions, dict) else None
    return found or _time(data.get("created"))


def _failures(
    session: Session, project_id: int, customers: list[str], start: datetime, end: datetime
) -> list[BillingEvent]:
    f = PaymentFailure
    rows = session.scalars(
        select(f).where(f.project_id == project_id, f.customer_id.in_(customers))
        .where(f.failed_at >= start, f.failed_at < end)
    )  # fmt: skip
    return [
        BillingEvent(r.failed_at, "payment_failed", r.customer_id, r.amount, r.currency.lower(),
                     invoice_id=r.invoice_id, failure_code=r.failure_code,
                     attempt=r.attempt_count, next_attempt_at=r.next_attempt_at)
        for r in rows
    ]  # fmt: skip


def _movements(
    session: Session, project_id: int, customers: list[str], start: datetime, end: datetime,
    zone: ZoneInfo,
) -> list[BillingEvent]:  # fmt: skip
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    rows = session.scalars(
        select(Movement).where(Movement.project_id == project_id)
        .where(Movement.customer_id.in_(customers))
        .where(Movement.day >= first, Movement.day <= last)
        .where(Movement.kind.in_(MOVEMENTS))
    )  # fmt: skip
    found = []
    for row in rows:
        moment = day_start(row.day, zone)
        if not start <= moment < end:
            continue
        amount = Decimal(row.after) - Decimal(row.before) - Decimal(row.fx)
        before, after = _whole(Decimal(row.before)), _whole(Decimal(row.after))
        found.append(BillingEvent(
            moment, "subscription", row.customer_id, _whole(abs(amount)), "", movement=row.kind,
            mrr_before_minor=before, mrr_after_minor=after,
        ))  # fmt: skip
    return found


def day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _whole(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), ROUND_HALF_UP))


def _time(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None


# --- the payment method on file --------------------------------------------------------------


def payment_method(
    session: Session, project_id: int, customers: Sequence[str]
) -> PaymentMethod | None:
    """The card of the customers' latest charge that names one, else a customer's expanded
    default payment method or source; None when the stored objects carry no card."""
    wanted = sorted(set(customers))
    if not wanted:
        return None
    charges = session.scalars(
        select(BillingObject.data).where(BillingObject.project_id == project_id)
        .where(unindexed(BillingObject.kind) == "charge")
        .where(BillingObject.customer_id.in_(wanted))
        .order_by(BillingObject.version_at.desc()).limit(20)
    )  # fmt: skip
    for data in charges:
        details = data.get("payment_method_details")
        if isinstance(details, dict) and (found := _card(details.get("card"))):
            return found
    # Customers by primary key (project, kind, id): comparing the kind unindexed here
    # would send SQLite through another index over every object of the project.
    people = session.scalars(
        select(BillingObject.data).where(BillingObject.project_id == project_id)
        .where(BillingObject.kind == "customer")
        .where(BillingObject.external_id.in_(wanted))
        .order_by(BillingObject.version_at.desc())
    )  # fmt: skip
    for data in people:
        settings = data.get("invoice_settings")
        method = settings.get("default_payment_method") if isinstance(settings, dict) else None
        source = data.get("default_source")
        for candidate in (method.get("card") if isinstance(method, dict) else None, source):
            if found := _card(candidate):
                return found
    return None


def _card(thing: Any) -> PaymentMethod | None:
    if not isinstance(thing, dict):
        return None
    brand, last4 = thing.get("brand"), thing.get("last4")
    if isinstance(brand, str) and isinstance(last4, str) and last4.isdigit() and len(last4) == 4:
        return PaymentMethod(brand.lower()[:30], last4)
    return None


# --- billing requests ------------------------------------------------------------------------


def record_request(
    session: Session, actor: Actor, project_id: int, person_id: str, *, customer_id: str,
    kind: str, months: int, plan: str, amount_minor: int, currency: str, reason: str,
    requested_by: str, now: datetime,
) -> int:  # fmt: skip
    """Store a billing request (checked first) and audit it; returns its id."""
    reason, plan = reason.strip(), " ".join(plan.split())
    if kind not in REQUEST_KINDS:
        raise InvalidInput("grant", "is complimentary or credit")
    if kind == "complimentary" and not 1 <= months <= MAX_MONTHS:
        raise InvalidInput("months", f"a complimentary subscription is 1 to {MAX_MONTHS} months")
    if kind == "credit" and not 0 < amount_minor <= MAX_CREDIT_MINOR:
        raise InvalidInput("amount", "a credit is more than zero")
    if not reason or len(reason) > 2000:
        raise InvalidInput("reason", "is 1 to 2,000 characters")
    if len(plan) > 200:
        raise InvalidInput("plan", "is at most 200 characters")
    credit = kind == "credit"
    row = BillingRequest(
        project_id=project_id, person_id=person_id[:36], customer_id=customer_id[:100],
        kind=kind, amount_minor=amount_minor if credit else 0, currency=currency,
        months=0 if credit else months, plan="" if credit else plan, reason=reason,
        status="requested", requested_by=requested_by[:320], created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, actor, "revenue.request_recorded", person_id, project_id=project_id,
                 request_id=row.id, kind=kind, months=row.months, plan=row.plan,
                 amount_minor=row.amount_minor, currency=currency,
                 customer_id=row.customer_id)  # fmt: skip
    return row.id


def requests_of(session: Session, project_id: int, person_id: str) -> list[BillingRequestInfo]:
    """A person's billing requests, newest first."""
    rows = session.scalars(
        select(BillingRequest).where(BillingRequest.project_id == project_id)
        .where(BillingRequest.person_id == person_id)
        .order_by(BillingRequest.created_at.desc(), BillingRequest.id.desc())
    )  # fmt: skip
    return [
        BillingRequestInfo(r.id, r.person_id, r.customer_id, r.kind, r.months, r.plan,
                           r.amount_minor, r.currency, r.reason, r.status, r.requested_by,
                           r.created_at)
        for r in rows
    ]  # fmt: skip
