"""Subscription histories from a CSV file, for billing systems without a connector.

One row is one state of a subscription from ``effective_at`` on::

    subscription_id,customer_id,effective_at,status,amount,currency,interval,interval_count,quantity,ended_at
    sub_1,cus_1,2026-01-15,active,49.00,usd,month,1,3,
    sub_1,cus_1,2026-06-01,canceled,49.00,usd,month,1,3,2026-06-01

Every row is checked before anything is written; any error refuses the whole file and
names each bad line and field. A file is the truth for the subscriptions it lists: their
earlier imported states are replaced, so importing the same file twice changes nothing.
States are kept in the same shape as Stripe's subscriptions, so one mapping feeds the MRR
engine from either source.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.csvfile import MAX_ROWS, ImportRefused, RowError
from loopwise.core.currency import to_minor
from loopwise.revenue.models import BillingObjectVersion

COLUMNS = (
    "subscription_id", "customer_id", "effective_at", "status", "amount", "currency",
    "interval", "interval_count", "quantity", "ended_at", "plan",
)  # fmt: skip
REQUIRED = COLUMNS[:7]
STATUSES = ("active", "trialing", "past_due", "unpaid", "canceled", "paused")
INTERVALS = ("day", "week", "month", "year")
CHUNK = 10_000
YEARS = (1970, 2100)  # dates outside are typing mistakes, not billing history


@dataclass(frozen=True)
class Imported:
    rows: int
    subscriptions: int


def import_subscriptions(
    session: Session, actor: Actor, project_id: int, text: str, zone: str = "UTC"
) -> Imported:
    """Check the whole file, then replace the listed subscriptions' imported states.
    Dates and times without an offset are read in ``zone`` (the project's)."""
    if "\x00" in text:
        raise ImportRefused([RowError(1, "", "the file holds NUL characters: is it text?")])
    reader = csv.DictReader(io.StringIO(text))
    states: list[tuple[str, datetime, dict[str, Any], int]] = []
    errors: list[RowError] = []
    customers: dict[str, str] = {}
    try:
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ImportRefused([RowError(1, name, "column missing from the header")
                                 for name in missing])  # fmt: skip
        for count, row in enumerate(reader, start=1):
            line = reader.line_num
            if count > MAX_ROWS:
                errors.append(RowError(line, "", f"a file holds at most {MAX_ROWS:,} rows"))
                break
            parsed = _row(row, line, errors, ZoneInfo(zone))
            if parsed is None:
                continue
            owner = customers.setdefault(parsed[0], parsed[2]["customer"])
            if owner != parsed[2]["customer"]:
                message = f"{parsed[0]} belongs to {owner} on an earlier line"
                errors.append(RowError(line, "customer_id", message))
                continue
            states.append((*parsed, line))
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, "", f"the file is not readable CSV: {exc}"))
    if not states and not errors:
        errors.append(RowError(2, "", "the file has no rows"))
    if errors:
        raise ImportRefused(errors[:200])
    listed = sorted({s[0] for s in states})
    for first in range(0, len(listed), CHUNK):  # PostgreSQL binds at most 65,535 values
        session.execute(
            delete(BillingObjectVersion)
            .where(BillingObjectVersion.project_id == project_id)
            .where(BillingObjectVersion.kind == "subscription")
            .where(BillingObjectVersion.external_id.in_(listed[first : first + CHUNK]))
            .where(BillingObjectVersion.event_id.like("csv:%"))
        )
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    for subscription, since, data, line in states:
        session.add(
            BillingObjectVersion(project_id=project_id, kind="subscription",
                                 external_id=subscription, customer_id=data["customer"],
                                 event_id=f"csv:{digest}:{line}",
                                 version_at=since, data=data)
        )  # fmt: skip
    audit.record(session, actor, "revenue.imported", "subscriptions", project_id=project_id,
                 rows=len(states), subscriptions=len(listed))  # fmt: skip
    return Imported(len(states), len(listed))


def _row(
    row: dict[str, str | None], line: int, errors: list[RowError], zone: ZoneInfo
) -> tuple[str, datetime, dict[str, Any]] | None:
    def text(name: str) -> str:
        return (row.get(name) or "").strip()

    before = len(errors)
    subscription, customer = text("subscription_id"), text("customer_id")
    for name, value in (("subscription_id", subscription), ("customer_id", customer)):
        if not value or len(value) > 100:
            errors.append(RowError(line, name, "is required, at most 100 characters"))
    since = _moment(text("effective_at"), line, "effective_at", errors, zone, required=True)
    ended = _moment(text("ended_at"), line, "ended_at", errors, zone, required=False)
    status = text("status")
    if status not in STATUSES:
        errors.append(RowError(line, "status", f"is one of {', '.join(STATUSES)}"))
    amount = _decimal(text("amount"), line, errors)
    currency = text("currency").lower()
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        errors.append(RowError(line, "currency", "is a three-letter ISO code such as usd"))
    interval = text("interval")
    if interval not in INTERVALS:
        errors.append(RowError(line, "interval", f"is one of {', '.join(INTERVALS)}"))
    count = _whole(text("interval_count") or "1", line, "interval_count", errors)
    quantity = _whole(text("quantity") or "1", line, "quantity", errors)
    if len(errors) > before or since is None or amount is None:
        return None
    cents = to_minor(amount, currency)
    plan = text("plan")[:100]
    item = {"price": {"unit_amount": cents, "currency": currency, "nickname": plan or None,
                      "recurring": {"interval": interval, "interval_count": count}},
            "quantity": quantity}  # fmt: skip
    data = {
        "id": subscription, "object": "subscription", "customer": customer, "status": status,
        "items": {"data": [item]}, "start_date": None,
        "ended_at": int(ended.timestamp()) if ended else None, "canceled_at": None,
    }  # fmt: skip
    return subscription, since, data


def _moment(
    value: str, line: int, name: str, errors: list[RowError], zone: ZoneInfo, *, required: bool
) -> datetime | None:
    if not value:
        if required:
            errors.append(RowError(line, name, "is required (ISO date or time)"))
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        errors.append(RowError(line, name, f"{value[:40]!r} is not an ISO date or time"))
        return None
    if not YEARS[0] <= moment.year <= YEARS[1]:
        errors.append(RowError(line, name, f"is a date between {YEARS[0]} and {YEARS[1]}"))
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def _decimal(value: str, line: int, errors: list[RowError]) -> Decimal | None:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        errors.append(RowError(line, "amount", f"{value!r} is not a number"))
        return None
    if not amount.is_finite() or amount < 0 or amount > Decimal("1e12"):
        errors.append(RowError(line, "amount", "is a non-negative amount in currency units"))
        return None
    return amount


def _whole(value: str, line: int, name: str, errors: list[RowError]) -> int:
    if not (value.isascii() and value.isdigit() and 0 < int(value) <= 100_000):
        errors.append(RowError(line, name, "is a whole number from 1 to 100,000"))
        return 1
    return int(value)
