"""Payment health: failed payments by decline code and by week, how many failed invoices
were paid later (recovery), and the MRR of the customers who are behind on paying now
(MRR at risk), with those customers listed (definitions in docs/metrics/revenue.md,
"Payment health").

A **failure** is one failed attempt to collect an invoice (``PaymentFailure``: Stripe's
``invoice.payment_failed``, or an imported failed payment). Its **decline code** is the
failure's own code (imports carry one); for Stripe, whose invoice event has none, it is
the failed charge's ``outcome.reason`` (the issuer's reason, e.g. ``insufficient_funds``),
else its ``failure_code``: the charge of the same invoice, else the customer's failed
charge closest in time within an hour. An invoice's **outcome** is ``paid`` (its status
is paid, or a succeeded charge names it), ``lost`` (void or uncollectible) or ``open``.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from loopwise.core.currency import rescale
from loopwise.core.errors import InvalidInput
from loopwise.revenue.models import (
    BillingObject,
    BillingObjectVersion,
    FxRate,
    LedgerCustomer,
    PaymentFailure,
)
from loopwise.revenue.sources.stripe import decline_code
from loopwise.revenue.subscriptions import PAST_DUE, statuses_now, unindexed

LOST = ("void", "uncollectible")
UNKNOWN = "(unknown)"
NEAR = timedelta(hours=1)  # a failed charge this close to a failure is its attempt
CHUNK = 10_000
MAX_LIMIT = 500
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class PaymentQuery:
    """Failures on days ``start`` to ``end`` (both included, the project's time zone);
    ``limit``/``offset`` page the past-due customers."""

    start: date
    end: date
    limit: int = 50
    offset: int = 0

    def check(self) -> None:
        if not (self.start.year >= 1970 and self.end.year <= 2100):
            raise InvalidInput("from", "is a date between 1970 and 2100")
        if self.start > self.end:
            raise InvalidInput("to", "is on or after from")
        if (self.end - self.start).days > MAX_DAYS:
            raise InvalidInput("from", "is at most three years before to")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInput("limit", f"is 1 to {MAX_LIMIT}")
        if self.offset < 0:
            raise InvalidInput("offset", "is zero or more")


@dataclass(frozen=True)
class Failure:
    invoice_id: str
    customer_id: str
    amount: int  # minor units of ``currency``
    currency: str
    attempt_count: int
    next_attempt_at: datetime | None
    code: str
    failed_at: datetime


@dataclass(frozen=True)
class CodeFigures:
    code: str
    count: int  # failed attempts
    amount: Decimal  # their amounts, minor units of the reporting currency


@dataclass(frozen=True)
class WeekFigures:
    week: date  # the Monday
    count: int
    amount: Decimal


@dataclass(frozen=True)
class PastDueCustomer:
    customer_id: str
    mrr: Decimal  # now, minor units
    since: datetime  # first failure of the unpaid invoice, or when the subscription fell due
    days: int  # whole days since ``since``
    subscription_status: str  # past_due, unpaid, or "" (only the invoice is unpaid)
    invoice_id: str  # the unpaid failed invoice, or ""
    attempts: int
    next_attempt_at: datetime | None
    code: str  # the latest failure's decline code, or ""


@dataclass(frozen=True)
class PaymentHealth:
    currency: str
    query: PaymentQuery
    failures: int  # failed attempts in the range
    failed_amount: Decimal
    unconverted: int  # failures in a currency without an exchange rate (not in amounts)
    untraced: int  # failures without an invoice id (not in recovery)
    codes: list[CodeFigures]
    weeks: list[WeekFigures]
    failed_invoices: int  # invoices with a failure in the range
    recovered_invoices: int  # of those, paid since
    lost_invoices: int  # voided or written off
    recovered_amount: Decimal
    mrr_at_risk: Decimal
    at_risk: int  # customers
    past_due: list[PastDueCustomer] = field(default_factory=list)  # the page

    @property
    def open_invoices(self) -> int:
        return self.failed_invoices - self.recovered_invoices - self.lost_invoices

    @property
    def recovery_rate(self) -> Decimal | None:
        if not self.failed_invoices:
            return None
        return Decimal(self.recovered_invoices) / self.failed_invoices


# --- reading failures --------------------------------------------------------------------


def _failures(session: Session, project_id: int, *where: ColumnElement[bool]) -> list[Failure]:
    f = PaymentFailure
    rows = session.execute(
        select(f.invoice_id, f.customer_id, f.amount, f.currency, f.attempt_count,
               f.next_attempt_at, f.failure_code, f.failed_at)
        .where(f.project_id == project_id, *where)
        .order_by(f.failed_at, f.id)
    )  # fmt: skip
    found = [Failure(*row) for row in rows]
    return _with_codes(session, project_id, found)


def _with_codes(session: Session, project_id: int, failures: list[Failure]) -> list[Failure]:
    """Failures without a code take it from their failed charge (see the module)."""
    missing = {f.customer_id for f in failures if not f.code}
    if not missing:
        return failures
    charges: dict[str, list[tuple[datetime | None, str, str]]] = defaultdict(list)
    for customer, data in _objects(session, project_id, "charge", "failed", missing):
        charges[customer].append((_time(data.get("created")), _id(data.get("invoice")),
                                  decline_code(data)))  # fmt: skip
    found = []
    for failure in failures:
        code = failure.code or _charge_code(failure, charges.get(failure.customer_id, []))
        found.append(replace(failure, code=code or UNKNOWN))
    return found


def _charge_code(failure: Failure, charges: list[tuple[datetime | None, str, str]]) -> str:
    def distance(charge: tuple[datetime | None, str, str]) -> timedelta:
        return abs(charge[0] - failure.failed_at) if charge[0] else timedelta.max

    same = [c for c in charges if failure.invoice_id and c[1] == failure.invoice_id]
    near = [c for c in charges if not c[1] and distance(c) <= NEAR]
    chosen = min(same or near, key=distance, default=None)
    return chosen[2] if chosen else ""


def _objects(
    session: Session, project_id: int, kind: str, status: str, customers: Iterable[str]
) -> list[tuple[str, dict[str, Any]]]:
    """(customer, data) of the customers' billing objects of a kind and status."""
    wanted = sorted(set(customers))
    found: list[tuple[str, dict[str, Any]]] = []
    for first in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(BillingObject.customer_id, BillingObject.data)
            .where(BillingObject.project_id == project_id)
            .where(unindexed(BillingObject.kind) == kind)
            .where(BillingObject.status == status)
            .where(BillingObject.customer_id.in_(wanted[first : first + CHUNK]))
        )
        found.extend((customer, data) for customer, data in rows)
    return found


def _id(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _time(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None


# --- what became of the invoices ---------------------------------------------------------


@dataclass(frozen=True)
class _Invoice:
    outcome: str  # paid, lost, open
    amount: int | None  # amount due in ``currency`` (None: the invoice is not stored)
    currency: str


def _invoices(
    session: Session, project_id: int, failures: Sequence[Failure]
) -> dict[str, _Invoice]:
    """Each failed invoice's outcome and amount."""
    ids = sorted({f.invoice_id for f in failures if f.invoice_id})
    stored: dict[str, tuple[str, int | None, str]] = {}
    for first in range(0, len(ids), CHUNK):
        for external_id, status, due, currency in session.execute(
            select(BillingObject.external_id, BillingObject.status, BillingObject.amount,
                   BillingObject.currency)
            .where(BillingObject.project_id == project_id)
            .where(BillingObject.kind == "invoice")
            .where(BillingObject.external_id.in_(ids[first : first + CHUNK]))
        ):  # fmt: skip
            stored[external_id] = (status, due, currency)
    settled = ("paid", *LOST)
    unsettled = {
        f.customer_id
        for f in failures
        if f.invoice_id and stored.get(f.invoice_id, ("",))[0] not in settled
    }
    paid = _objects(session, project_id, "charge", "succeeded", unsettled)
    by_charge = {_id(data.get("invoice")) for _, data in paid}
    found = {}
    for invoice in ids:
        status, amount, currency = stored.get(invoice, ("", None, ""))
        outcome = "paid" if status == "paid" or invoice in by_charge else (
            "lost" if status in LOST else "open")  # fmt: skip
        found[invoice] = _Invoice(outcome, amount, currency)
    return found


def open_failures(
    session: Session, project_id: int, customers: Iterable[str]
) -> dict[str, list[str]]:
    """Each customer's failed invoices that are still open (for a page of customers)."""
    wanted = sorted(set(customers))
    failures: list[Failure] = []
    for first in range(0, len(wanted), CHUNK):
        batch = PaymentFailure.customer_id.in_(wanted[first : first + CHUNK])
        failures += _failures(session, project_id, batch)
    outcomes = _invoices(session, project_id, failures)
    found: dict[str, list[str]] = defaultdict(list)
    for failure in failures:
        invoice = failure.invoice_id
        if invoice and outcomes[invoice].outcome == "open" and invoice not in found[
                failure.customer_id]:  # fmt: skip
            found[failure.customer_id].append(invoice)
    return dict(found)


# --- exchange rates ----------------------------------------------------------------------


class Rates:
    """Amounts in the reporting currency, at the rate in force on the failure's day."""

    def __init__(self, session: Session, project_id: int, reporting: str) -> None:
        self.reporting = reporting.lower()
        self.rates: dict[str, tuple[list[date], list[Decimal]]] = {}
        for currency, day, rate in session.execute(
            select(FxRate.currency, FxRate.day, FxRate.rate)
            .where(FxRate.project_id == project_id)
            .order_by(FxRate.currency, FxRate.day)
        ):
            days, values = self.rates.setdefault(currency, ([], []))
            days.append(day)
            values.append(Decimal(rate))

    def convert(self, amount: int, currency: str, day: date) -> Decimal | None:
        """``amount`` minor units of ``currency`` in the reporting currency's minor units."""
        if not currency or currency.lower() == self.reporting:
            return Decimal(amount)
        days, values = self.rates.get(currency.lower(), ([], []))
        index = bisect.bisect_right(days, day) - 1
        if index < 0:
            return None
        return Decimal(amount) * values[index] * rescale(currency, self.reporting)


# --- the page ----------------------------------------------------------------------------


def payment_health(
    session: Session, project_id: int, query: PaymentQuery, *, currency: str, zone: str,
    now: datetime,
) -> PaymentHealth:  # fmt: skip
    """The figures of the Payment health page (the stored ledger must be current)."""
    query.check()
    tz = ZoneInfo(zone)
    begin = datetime.combine(query.start, time(), tz)
    end = datetime.combine(query.end + timedelta(days=1), time(), tz)
    failures = _failures(session, project_id, PaymentFailure.failed_at >= begin,
                         PaymentFailure.failed_at < end)  # fmt: skip
    rates = Rates(session, project_id, currency)
    codes: dict[str, list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    weeks: dict[date, list[Any]] = {}
    week = _monday(query.start)
    while week <= query.end:
        weeks[week] = [0, Decimal(0)]
        week += timedelta(days=7)
    total, unconverted = Decimal(0), 0
    for failure in failures:
        day = failure.failed_at.astimezone(tz).date()
        amount = rates.convert(failure.amount, failure.currency, day)
        unconverted += amount is None
        for bucket in (codes[failure.code], weeks[_monday(day)]):
            bucket[0] += 1
            bucket[1] += amount or 0
        total += amount or 0
    invoices = _invoices(session, project_id, failures)
    recovered = Decimal(0)
    last_failure = {f.invoice_id: f for f in failures if f.invoice_id}
    for invoice, found in invoices.items():
        if found.outcome == "paid":
            failure = last_failure[invoice]
            due = found.amount if found.amount is not None else failure.amount
            day = failure.failed_at.astimezone(tz).date()
            recovered += rates.convert(due, found.currency or failure.currency, day) or 0
    at_risk = past_due_customers(session, project_id, now=now)
    return PaymentHealth(
        currency=currency, query=query, failures=len(failures), failed_amount=total,
        unconverted=unconverted, untraced=sum(1 for f in failures if not f.invoice_id),
        codes=[CodeFigures(c, v[0], v[1])
               for c, v in sorted(codes.items(), key=lambda kv: (-kv[1][0], kv[0]))],
        weeks=[WeekFigures(w, v[0], v[1]) for w, v in weeks.items()],
        failed_invoices=len(invoices),
        recovered_invoices=sum(1 for i in invoices.values() if i.outcome == "paid"),
        lost_invoices=sum(1 for i in invoices.values() if i.outcome == "lost"),
        recovered_amount=recovered, mrr_at_risk=sum((c.mrr for c in at_risk), Decimal(0)),
        at_risk=len(at_risk), past_due=at_risk[query.offset : query.offset + query.limit],
    )  # fmt: skip


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- who is behind now -------------------------------------------------------------------


def past_due_customers(
    session: Session, project_id: int, *, now: datetime
) -> list[PastDueCustomer]:
    """The customers at risk now, most MRR first: a subscription past due or unpaid, or
    their latest invoice unpaid after a failed payment."""
    flags = statuses_now(session, project_id)
    by_subscription = {c for c, status in flags.items() if status == "past_due"}
    unpaid = _unpaid_latest(session, project_id)
    customers = sorted(by_subscription | set(unpaid))
    if not customers:
        return []
    mrr = _mrr(session, project_id, customers)
    overdue = _overdue_since(session, project_id, by_subscription, now)
    found = []
    for customer in customers:
        failures = unpaid.get(customer, [])
        last = failures[-1] if failures else None
        status, fell_due = overdue.get(customer, ("", None))
        starts = [m for m in (failures[0].failed_at if failures else None, fell_due) if m]
        since = min(starts) if starts else now
        attempts = max([len(failures), *(f.attempt_count for f in failures)])
        found.append(PastDueCustomer(
            customer_id=customer, mrr=mrr.get(customer, Decimal(0)), since=since,
            days=max((now - since).days, 0), subscription_status=status,
            invoice_id=last.invoice_id if last else "", attempts=attempts,
            next_attempt_at=last.next_attempt_at if last else None,
            code=last.code if last else "",
        ))  # fmt: skip
    found.sort(key=lambda c: (-c.mrr, -c.days, c.customer_id))
    return found


def _unpaid_latest(session: Session, project_id: int) -> dict[str, list[Failure]]:
    """Customers whose latest invoice has a failure and is still open: the failures of
    that invoice, oldest first."""
    invoice = BillingObject
    settled = ("paid", *LOST)
    closed = (
        select(invoice.external_id)
        .where(invoice.project_id == project_id)
        .where(invoice.kind == "invoice")
        .where(invoice.external_id == PaymentFailure.invoice_id)
        .where(invoice.status.in_(settled))
        .exists()
    )
    failures = _failures(session, project_id, PaymentFailure.invoice_id != "", ~closed)
    outcomes = _invoices(session, project_id, failures)
    still = [f for f in failures if outcomes[f.invoice_id].outcome == "open"]
    if not still:
        return {}
    per_invoice: dict[str, list[Failure]] = defaultdict(list)
    for failure in still:
        per_invoice[failure.invoice_id].append(failure)
    latest = _latest_invoices(session, project_id, {f.customer_id for f in still}, per_invoice)
    return {customer: per_invoice[invoice] for customer, invoice in latest.items()
            if invoice in per_invoice}  # fmt: skip


def _latest_invoices(
    session: Session, project_id: int, customers: set[str], failed: dict[str, list[Failure]]
) -> dict[str, str]:
    """Each customer's latest invoice by creation time (an invoice known only from its
    failures counts from its first failure)."""
    created: dict[str, tuple[datetime, str]] = {}
    for invoice, failures in failed.items():
        created[invoice] = (failures[0].failed_at, failures[0].customer_id)
    wanted = sorted(customers)
    for first in range(0, len(wanted), CHUNK):
        for external_id, customer, version_at, stamp in session.execute(
            select(BillingObject.external_id, BillingObject.customer_id,
                   BillingObject.version_at, BillingObject.data["created"].as_string())
            .where(BillingObject.project_id == project_id)
            .where(unindexed(BillingObject.kind) == "invoice")
            .where(BillingObject.customer_id.in_(wanted[first : first + CHUNK]))
        ):  # fmt: skip
            moment = _time(int(stamp)) if str(stamp or "").isdigit() else None
            created[external_id] = (moment or version_at, customer)
    latest: dict[str, tuple[datetime, str]] = {}
    for invoice, (moment, customer) in created.items():
        if customer not in latest or (moment, invoice) > latest[customer]:
            latest[customer] = (moment, invoice)
    return {customer: invoice for customer, (_, invoice) in latest.items()}


def _mrr(session: Session, project_id: int, customers: list[str]) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for first in range(0, len(customers), CHUNK):
        for customer, mrr in session.execute(
            select(LedgerCustomer.customer_id, LedgerCustomer.mrr)
            .where(LedgerCustomer.project_id == project_id)
            .where(LedgerCustomer.customer_id.in_(customers[first : first + CHUNK]))
        ):
            found[customer] = Decimal(mrr)
    return found


def _overdue_since(
    session: Session, project_id: int, customers: set[str], now: datetime
) -> dict[str, tuple[str, datetime | None]]:
    """Each customer's past-due status and since when: the start of the current run of
    past-due or unpaid versions of their subscriptions (the earliest of them), read from
    the versions of those customers only."""
    found: dict[str, tuple[str, datetime | None]] = dict.fromkeys(customers, ("past_due", None))
    wanted = sorted(customers)
    version = BillingObjectVersion
    rows: list[Any] = []
    for first in range(0, len(wanted), CHUNK):
        rows += session.execute(
            select(version.external_id, version.version_at, version.id, version.customer_id,
                   version.data["status"].as_string())
            .where(version.project_id == project_id)
            .where(unindexed(version.kind) == "subscription")
            .where(version.customer_id.in_(wanted[first : first + CHUNK]))
            .where(version.version_at <= now)
        ).all()  # fmt: skip
    latest: dict[str, tuple[str, str, datetime | None]] = {}  # customer, status, run start
    for subscription, at, _, customer, status in sorted(rows, key=lambda r: r[:3]):
        before = latest.get(subscription)
        overdue = status in PAST_DUE
        start = (before[2] if before and before[1] in PAST_DUE else at) if overdue else None
        latest[subscription] = (customer, str(status or ""), start)
    for customer, status, start in latest.values():
        if status in PAST_DUE and start is not None and customer in found:
            since = found[customer][1]
            if since is None or start < since:
                found[customer] = (status, start)
    return found
