"""Customers, invoices and payments from other billing systems, as CSV or JSON rows.

Each kind has its columns (below); every row is checked first and a file with any problem
is refused whole, each bad line and field named. Rows are stored as the same canonical
billing objects Stripe's webhooks produce (so one mapping serves every source) and keyed
by their ids: importing a file again updates, never doubles. A failed payment is also a
payment failure, with its failure code.

The columns (``REQUIRED`` must be present and filled; the rest may be):

- customers: customer_id; email, name, user_id (your product's user id)
- invoices: invoice_id, customer_id, issued_at, status, total, currency; subscription_id,
  period_start, period_end
- payments: payment_id, customer_id, paid_at, amount, currency, status; failure_code,
  invoice_id
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.csvfile import MAX_ROWS, ImportRefused, RowError, csv_rows
from loopwise.core.currency import to_minor
from loopwise.revenue.models import PaymentFailure
from loopwise.revenue.sources.stripe import store_object

KINDS = ("customers", "invoices", "payments")
REQUIRED = {
    "customers": ("customer_id",),
    "invoices": ("invoice_id", "customer_id", "issued_at", "status", "total", "currency"),
    "payments": ("payment_id", "customer_id", "paid_at", "amount", "currency", "status"),
}
INVOICE_STATUSES = ("draft", "open", "paid", "void", "uncollectible")
PAYMENT_STATUSES = ("succeeded", "failed", "refunded")


def rows_of(text: str, kind: str, as_json: bool) -> list[tuple[int, dict[str, str]]]:
    """The file's rows as (line, values): CSV with a header, or a JSON array of objects
    (line = the object's position, from 1)."""
    if not as_json:
        return csv_rows(text, REQUIRED[kind])
    try:
        found = json.loads(text)
    except ValueError as exc:
        raise ImportRefused([RowError(1, "", f"the body is not JSON: {exc}")]) from None
    if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
        raise ImportRefused([RowError(1, "", "the body is a JSON array of objects")])
    if not found:
        raise ImportRefused([RowError(1, "", "the array has no rows")])
    if len(found) > MAX_ROWS:
        raise ImportRefused([RowError(1, "", f"at most {MAX_ROWS:,} rows")])
    return [(n, {str(k): "" if v is None else str(v).strip() for k, v in row.items()})
            for n, row in enumerate(found, start=1)]  # fmt: skip


def import_rows(
    session: Session, actor: Actor, project_id: int, kind: str, text: str, *,
    as_json: bool = False, zone: str = "UTC", now: datetime | None = None,
) -> int:  # fmt: skip
    """Check every row, then store them all; returns how many."""
    if kind not in KINDS:
        raise ImportRefused([RowError(1, "", f"the kind is one of {', '.join(KINDS)}")])
    rows = rows_of(text, kind, as_json)
    errors: list[RowError] = []
    parse: Callable[[Reader], dict[str, Any]] = {
        "customers": _customer, "invoices": _invoice, "payments": _payment}[kind]  # fmt: skip
    things = []
    for line, values in rows:
        reader = Reader(line, values, errors, ZoneInfo(zone))
        missing = [c for c in REQUIRED[kind] if not values.get(c)]
        for column in missing:
            errors.append(RowError(line, column, "is required"))
        if missing:
            continue
        before = len(errors)
        thing = parse(reader)
        if len(errors) == before:
            things.append(thing)
    if errors:
        raise ImportRefused(errors[:200])
    moment = now or datetime.now(UTC)
    object_kind = {"customers": "customer", "invoices": "invoice", "payments": "charge"}[kind]
    for thing in things:
        store_object(session, project_id, object_kind, thing, moment, source_event=f"import:{kind}")
        if kind == "payments" and thing["status"] == "failed":
            _failure(session, project_id, thing)
    audit.record(session, actor, "revenue.imported", kind, project_id=project_id, rows=len(things))
    return len(things)


class Reader:
    """One row's values, read with the problems noted against their line and field."""

    def __init__(self, line: int, values: dict[str, str], errors: list[RowError],
                 zone: ZoneInfo) -> None:  # fmt: skip
        self.line, self.values, self.errors, self.zone = line, values, errors, zone

    def text(self, name: str, limit: int = 200) -> str:
        value = self.values.get(name, "").replace("\x00", "")
        if len(value) > limit:
            self.errors.append(RowError(self.line, name, f"is at most {limit} characters"))
        return value[:limit]

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.values.get(name, "").lower()
        if value not in allowed:
            self.errors.append(RowError(self.line, name, f"is one of {', '.join(allowed)}"))
        return value

    def cents(self, name: str) -> int:
        """An amount in currency units, in the minor units of the row's currency (a
        currency that is not valid is reported by ``currency``; cents are assumed)."""
        try:
            amount = Decimal(self.values.get(name, ""))
            if not amount.is_finite() or abs(amount) > Decimal("1e12"):
                raise InvalidOperation
        except InvalidOperation:
            self.errors.append(RowError(self.line, name, "is an amount in currency units (49.00)"))
            return 0
        return to_minor(amount, self.values.get("currency", ""))

    def currency(self, name: str = "currency") -> str:
        value = self.values.get(name, "").lower()
        if not (len(value) == 3 and value.isascii() and value.isalpha()):
            self.errors.append(RowError(self.line, name, "is a three-letter ISO code such as usd"))
        return value

    def moment(self, name: str, *, required: bool = True) -> int | None:
        """Unix seconds of an ISO date or time (in the project's zone without an offset)."""
        value = self.values.get(name, "")
        if not value:
            if required:
                self.errors.append(RowError(self.line, name, "is required (ISO date or time)"))
            return None
        try:
            found = datetime.fromisoformat(value) if "T" in value or " " in value else (
                datetime.combine(date.fromisoformat(value), time()))  # fmt: skip
        except ValueError:
            self.errors.append(RowError(self.line, name, "is an ISO date or time"))
            return None
        if found.tzinfo is None:
            found = found.replace(tzinfo=self.zone)
        if not 1970 <= found.year <= 2100:
            self.errors.append(RowError(self.line, name, "is between 1970 and 2100"))
            return None
        return int(found.timestamp())


def _customer(r: Reader) -> dict[str, Any]:
    email, user_id = r.text("email", 320), r.text("user_id")
    if email and "@" not in email:
        r.errors.append(RowError(r.line, "email", "is an e-mail address"))
    return {"id": r.text("customer_id", 100), "object": "customer", "email": email or None,
            "name": r.text("name") or None,
            "metadata": {"user_id": user_id} if user_id else {}}  # fmt: skip


def _invoice(r: Reader) -> dict[str, Any]:
    invoice_id, total = r.text("invoice_id", 100), r.cents("total")
    start, end = r.moment("period_start", required=False), r.moment("period_end", required=False)
    subscription = r.text("subscription_id", 100)
    currency = r.currency()
    line = {"id": f"{invoice_id}-1", "object": "line_item", "amount": total, "currency": currency,
            "subscription": subscription or None,
            "period": {"start": start, "end": end} if start and end else None}  # fmt: skip
    return {"id": invoice_id, "object": "invoice", "customer": r.text("customer_id", 100),
            "status": r.choice("status", INVOICE_STATUSES), "currency": currency,
            "amount_due": total, "total": total, "created": r.moment("issued_at"),
            "lines": {"data": [line]}}  # fmt: skip


def _payment(r: Reader) -> dict[str, Any]:
    status = r.choice("status", PAYMENT_STATUSES)
    return {"id": r.text("payment_id", 100), "object": "charge",
            "customer": r.text("customer_id", 100), "amount": r.cents("amount"),
            "currency": r.currency(), "status": status, "refunded": status == "refunded",
            "failure_code": r.text("failure_code", 100) or None,
            "invoice": r.text("invoice_id", 100) or None,
            "created": r.moment("paid_at")}  # fmt: skip


def _failure(session: Session, project_id: int, payment: dict[str, Any]) -> None:
    event_id = f"import:{payment['id']}"[:100]
    held = session.scalar(
        select(PaymentFailure.id)
        .where(PaymentFailure.project_id == project_id)
        .where(PaymentFailure.event_id == event_id)
    )
    if held is not None:
        return  # imported before
    session.add(PaymentFailure(
        project_id=project_id, event_id=event_id, invoice_id=payment["invoice"] or "",
        customer_id=payment["customer"], amount=payment["amount"],
        currency=payment["currency"], attempt_count=1, next_attempt_at=None,
        failure_code=payment["failure_code"] or "",
        failed_at=datetime.fromtimestamp(payment["created"], UTC),
    ))  # fmt: skip
