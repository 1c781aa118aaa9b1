"""Stripe subscriptions' recorded versions as the MRR engine's subscription states."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core.currency import rescale
from loopwise.revenue.models import BillingObjectVersion, FxRate
from loopwise.revenue.mrr import Discount, Item, State

INTERVALS = ("day", "week", "month", "year")


CHUNK = 10_000


def subscription_states(
    session: Session, project_id: int, currency: str, customers: Iterable[str] | None = None
) -> list[State]:
    """Every recorded state of the project's subscriptions priced in ``currency`` (others
    wait for exchange rates), oldest first; only ``customers``' when given."""
    columns = (BillingObjectVersion.external_id, BillingObjectVersion.version_at,
               BillingObjectVersion.data)  # fmt: skip
    query = (
        select(*columns)
        .where(BillingObjectVersion.project_id == project_id)
        .where(BillingObjectVersion.kind == "subscription")
        .order_by(BillingObjectVersion.external_id, BillingObjectVersion.version_at,
                  BillingObjectVersion.id)
    )  # fmt: skip
    if customers is None:
        batches = [query]
    else:  # every version of their subscriptions, also while another customer held one
        wanted = sorted(subscriptions_of(session, project_id, customers))
        # PostgreSQL binds at most 65,535 values per statement
        batches = [query.where(BillingObjectVersion.external_id.in_(wanted[i : i + CHUNK]))
                   for i in range(0, len(wanted), CHUNK)]  # fmt: skip
    rates = _rates(session, project_id)
    states: list[State] = []
    for batch in batches:
        # Streamed in subscription and time order: each version becomes a state at once and
        # its JSON is dropped, so a large book never holds every document in memory.
        current, number, overdue_since = None, 0, None
        for subscription, version_at, data in session.execute(
            batch.execution_options(yield_per=2_000)
        ):
            if subscription != current:
                current, number, overdue_since = subscription, 0, None
            else:
                number += 1
            status = str(data.get("status") or "")
            if status in ("past_due", "unpaid"):
                overdue_since = overdue_since or version_at
            else:
                overdue_since = None
            since = version_at
            if number == 0:  # the first state counts from the subscription's start
                since = min(since, _time(data.get("start_date")) or since)
            state = _state(subscription, since, status, overdue_since, data, currency, rates)
            if state is not None:
                states.append(state)
    return states


def subscriptions_of(session: Session, project_id: int, customers: Iterable[str]) -> set[str]:
    """The subscriptions any version of which belonged to one of ``customers``."""
    return _linked(session, project_id, customers, BillingObjectVersion.customer_id,
                   BillingObjectVersion.external_id)  # fmt: skip


def holders_of(session: Session, project_id: int, subscriptions: Iterable[str]) -> set[str]:
    """Every customer that held one of ``subscriptions`` at some version."""
    return _linked(session, project_id, subscriptions, BillingObjectVersion.external_id,
                   BillingObjectVersion.customer_id)  # fmt: skip


def _linked(
    session: Session, project_id: int, values: Iterable[str], by: Any, wanted: Any
) -> set[str]:
    found: set[str] = set()
    ordered = sorted(set(values))
    for first in range(0, len(ordered), CHUNK):
        query = (
            select(wanted).distinct()
            .where(BillingObjectVersion.project_id == project_id)
            .where(by.in_(ordered[first : first + CHUNK]))
        )  # fmt: skip
        if by is BillingObjectVersion.external_id:
            # (project, kind, external id) is the index; by customer, the kind is left
            # out (only subscriptions have versions) so that SQLite, without statistics,
            # takes the customer index rather than scanning every subscription.
            query = query.where(BillingObjectVersion.kind == "subscription")
        found.update(session.scalars(query))
    return found


def _items(data: dict[str, Any], currency: str) -> list[Item]:
    found = []
    for item in (data.get("items") or {}).get("data") or []:
        price = item.get("price") or item.get("plan") or {}
        recurring = price.get("recurring") or price
        amount = price.get("unit_amount", price.get("amount"))
        interval = recurring.get("interval")
        if not isinstance(amount, int) or interval not in INTERVALS:
            continue  # tiered or unknown pricing: left out rather than guessed
        if str(price.get("currency") or "").lower() != currency.lower():
            continue
        found.append(
            Item(
                unit_amount=amount,
                interval=interval,
                interval_count=max(_count(recurring.get("interval_count")), 1),
                quantity=_quantity(item.get("quantity")),
                metered=recurring.get("usage_type") == "metered",
            )
        )
    return found


def _state(
    subscription: str, since: datetime, status: str, overdue_since: datetime | None,
    data: dict[str, Any], currency: str, rates: Rates,
) -> State | None:  # fmt: skip
    native = _currency(data) or currency.lower()
    rate = Decimal(1)
    if native != currency.lower():
        # Converted at the start of the service period the state belongs to.
        start = _time(data.get("current_period_start")) or _item_period_start(data) or since
        found_rate = _rate_on(rates, native, start.date())
        if found_rate is None:
            return None  # no rate for that day yet: left out until one is imported
        rate = found_rate * rescale(native, currency)
    return State(
        subscription_id=subscription,
        customer_id=_id(data.get("customer")),
        since=since,
        status=status,
        items=tuple(_items(data, native)),
        discount=_discount(data),
        canceled_at=_time(data.get("canceled_at")),
        ended_at=_time(data.get("ended_at")),
        past_due_since=overdue_since,
        plan=_plan(data),
        rate=rate,
        currency=native,
    )


def _item_period_start(data: dict[str, Any]) -> datetime | None:
    """Where Stripe API versions from 2025-03-31 keep the service period: on each item."""
    items = data.get("items")
    for item in (items.get("data") if isinstance(items, dict) else None) or []:
        if isinstance(item, dict) and (found := _time(item.get("current_period_start"))):
            return found
    return None


def _currency(data: dict[str, Any]) -> str:
    """The subscription's currency: its first priced item's, else its own field."""
    for item in (data.get("items") or {}).get("data") or []:
        price = item.get("price") or item.get("plan") or {}
        if isinstance(price.get("currency"), str) and price["currency"]:
            return str(price["currency"]).lower()
    return str(data.get("currency") or "").lower()


Rates = dict[str, tuple[list[date], list[Decimal]]]


def _rates(session: Session, project_id: int) -> Rates:
    found: dict[str, tuple[list[date], list[Decimal]]] = {}
    rows = session.execute(
        select(FxRate.currency, FxRate.day, FxRate.rate)
        .where(FxRate.project_id == project_id)
        .order_by(FxRate.currency, FxRate.day)
    )
    for currency, day, rate in rows:
        days, values = found.setdefault(currency, ([], []))
        days.append(day)
        values.append(Decimal(rate))
    return found


def _rate_on(rates: Rates, currency: str, day: date) -> Decimal | None:
    """The latest rate for ``currency`` on or before ``day``."""
    if currency not in rates:
        return None
    days, values = rates[currency]
    index = bisect.bisect_right(days, day) - 1
    return values[index] if index >= 0 else None


def _discount(data: dict[str, Any]) -> Discount | None:
    found = data.get("discount")
    if not found:
        listed = [d for d in data.get("discounts") or [] if isinstance(d, dict)]
        found = listed[0] if listed else None
    if not isinstance(found, dict):
        return None
    coupon = found.get("coupon") or (found.get("source") or {}).get("coupon") or {}
    if not isinstance(coupon, dict):
        return None
    duration: Literal["forever", "once", "repeating"] = "forever"
    if coupon.get("duration") == "once":
        duration = "once"
    elif coupon.get("duration") == "repeating":
        duration = "repeating"
    percent = coupon.get("percent_off")
    return Discount(
        percent_off=Decimal(str(percent)) if _percent(percent) else None,
        amount_off=coupon.get("amount_off") if isinstance(coupon.get("amount_off"), int) else None,
        duration=duration,
        ends_at=_time(found.get("end")),
    )


def _id(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value or "")


def _time(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def _quantity(value: Any) -> int:
    """Seats: 1 when Stripe leaves it out, 0 when it says 0 (no MRR), never negative."""
    if value is None:
        return 1
    return max(value, 0) if isinstance(value, int) and not isinstance(value, bool) else 1


def _percent(value: Any) -> bool:
    """A usable percent-off: a finite number from 0 to 100 (JSON allows NaN through)."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and 0 <= value <= 100)  # fmt: skip


def _plan(data: dict[str, Any]) -> str:
    """The first item's plan: its price's nickname, else its product or price id."""
    for item in (data.get("items") or {}).get("data") or []:
        price = item.get("price") or item.get("plan") or {}
        for key in ("nickname", "product", "id"):
            value = price.get(key)
            if isinstance(value, str) and value:
                return value[:100]
            if isinstance(value, dict) and isinstance(value.get("id"), str):
                return str(value["id"])[:100]
    return ""
