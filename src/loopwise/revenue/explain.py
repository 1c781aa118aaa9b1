"""Why a customer's MRR moved: each movement with the subscription states behind it, the
rule that applied, and the invoice lines billed for that service period.

This is the answer to "your MRR does not match my billing system": every figure on the
Revenue page is a sum of these movements, and each movement names its evidence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core.currency import minor_unit
from loopwise.revenue.models import BillingObject
from loopwise.revenue.mrr import Change, Conventions, State, monthly, state_mrr


@dataclass(frozen=True)
class Cause:
    subscription: str
    status: str
    plan: str
    terms: str  # "3 x 20.00 usd / month, 10 % off forever"
    mrr: Decimal  # this subscription's MRR after the movement
    reason: str  # the state change or rule that moved it


@dataclass(frozen=True)
class InvoiceLine:
    invoice: str
    line: str
    subscription: str
    amount: int  # minor units
    currency: str
    period_start: date | None
    period_end: date | None
    proration: bool


@dataclass(frozen=True)
class Explained:
    change: Change
    causes: list[Cause]
    lines: list[InvoiceLine]


def explain(
    session: Session,
    project_id: int,
    changes: list[Change],
    states: list[State],
    rules: Conventions,
    zone: str,
) -> list[Explained]:
    """Each of a customer's movements with its causes and invoice lines."""
    tz = ZoneInfo(zone)
    timelines: dict[str, list[State]] = defaultdict(list)
    for state in sorted(states, key=lambda s: s.since):
        timelines[state.subscription_id].append(state)
    customers = {c.customer_id for c in changes}
    lines = _invoice_lines(session, project_id, customers, tz)
    found = []
    for change in changes:
        begin = datetime.combine(change.day, time(), tz)
        end = begin + timedelta(days=1)
        causes = []
        for subscription in change.subscriptions:
            timeline = timelines.get(subscription, [])
            held = [s for s in timeline if s.since < end]
            if not held:
                continue
            state = held[-1]
            mrr = state_mrr(state, end - timedelta(microseconds=1), rules)
            causes.append(Cause(subscription, state.status, state.plan, _terms(state),
                                mrr.quantize(Decimal("0.01")),
                                _reason(state, held, begin, end, rules)))  # fmt: skip
        billed = [
            line for line in lines
            if line.subscription in change.subscriptions
            and line.period_start is not None and line.period_end is not None
            and line.period_start <= change.day <= line.period_end
        ]  # fmt: skip
        found.append(Explained(change, causes, billed))
    return found


def _terms(state: State) -> str:
    """The state's items and discount in words, in its own currency's units."""
    unit = minor_unit(state.currency or "usd")
    code = f" {state.currency.upper()}" if state.currency else ""
    parts = []
    for item in state.items:
        every = f"{item.interval_count} {item.interval}s" if item.interval_count > 1 else (
            item.interval)  # fmt: skip
        text = f"{item.quantity} x {item.unit_amount / unit:,.2f}{code} / {every}"
        if item.metered:
            text += " (metered, not MRR)"
        elif (item.interval, item.interval_count, item.quantity) != ("month", 1, 1):
            text += f" = {monthly(item) / unit:,.2f}{code} a month"
        parts.append(text)
    if state.discount is not None:
        d = state.discount
        off = f"{d.percent_off} % off" if d.percent_off is not None else (
            f"{(d.amount_off or 0) / unit:,.2f}{code} off")  # fmt: skip
        parts.append(f"{off} ({d.duration})")
    return "; ".join(parts) or "no priced items"


def _reason(
    state: State, held: list[State], begin: datetime, end: datetime, rules: Conventions
) -> str:
    def inside(moment: datetime | None) -> bool:
        return moment is not None and begin <= moment < end

    if inside(state.ended_at):
        return "the subscription ended"
    if rules.churn_at == "request" and inside(state.canceled_at):
        return "cancellation requested (churn is counted at the request)"
    if state.discount is not None and inside(state.discount.ends_at):
        return "the coupon ran out"
    if (
        rules.past_due_days is not None
        and state.past_due_since is not None
        and inside(state.past_due_since + timedelta(days=rules.past_due_days))
    ):
        return f"past due for {rules.past_due_days} days (churned by the past-due rule)"
    if inside(state.since):
        before = held[-2] if len(held) > 1 else None
        if before is None:
            openings = {"trialing": "a trial began (trials are not MRR)",
                        "active": "the subscription began"}  # fmt: skip
            return openings.get(state.status, f"first seen as {state.status}")
        if before.status != state.status:
            return f"status changed from {before.status} to {state.status}"
        if before.items != state.items:
            return "items, quantity or price changed"
        if before.discount != state.discount:
            return "the discount changed"
        return "the subscription was updated"
    return "a change in another subscription of the customer"


def _invoice_lines(
    session: Session, project_id: int, customers: set[str], tz: ZoneInfo
) -> list[InvoiceLine]:
    if not customers:
        return []
    invoices = session.scalars(
        select(BillingObject)
        .where(BillingObject.project_id == project_id)
        .where(BillingObject.kind == "invoice")
        .where(BillingObject.customer_id.in_(sorted(customers)))
    )
    found = []
    for invoice in invoices:
        listed = (invoice.data.get("lines") or {}).get("data") or []
        for line in listed:
            if not isinstance(line, dict):
                continue
            period = line.get("period") or {}
            found.append(InvoiceLine(
                invoice=invoice.external_id, line=str(line.get("id") or ""),
                subscription=_line_subscription(line),
                amount=line["amount"] if isinstance(line.get("amount"), int) else 0,
                currency=str(line.get("currency") or invoice.currency),
                period_start=_day(period.get("start"), tz), period_end=_day(period.get("end"), tz),
                proration=bool(line.get("proration") or _parent(line).get("proration")),
            ))  # fmt: skip
    return found


def _parent(line: dict[str, Any]) -> dict[str, Any]:
    parent = line.get("parent") or {}
    details = parent.get("subscription_item_details") if isinstance(parent, dict) else None
    return details if isinstance(details, dict) else {}


def _line_subscription(line: dict[str, Any]) -> str:
    """The line's subscription: ``subscription`` on older API versions, under
    ``parent.subscription_item_details`` on newer ones."""
    value = line.get("subscription") or _parent(line).get("subscription")
    if isinstance(value, dict):
        value = value.get("id")
    return str(value or "")


def _day(value: Any, tz: ZoneInfo) -> date | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz).date()
    return None
