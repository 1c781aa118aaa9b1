"""The query strings of the revenue pages: declared once per page (so the API's OpenAPI
lists them), read as text, and checked here, so a bad value is a 422 naming its field on
the API and a message beside the field on the page, never a 500.

Each ``*Args`` is a FastAPI dependency; ``query(today)`` turns it into the typed query
the facade takes, or raises ``BadArgs`` with every problem by field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, TypeVar

from fastapi import Query

from loopwise.core.errors import InvalidInput
from loopwise.revenue.facade import CustomerQuery, MovementQuery, PaymentQuery

T = TypeVar("T")
DEFAULT_DAYS = 90  # movements and payment health
PRESETS = (30, 90, 365)  # the CAC & channels page's ranges, in days
MAX_ACQUISITION_DAYS = 3 * 366 + 1

From = Annotated[str, Query(alias="from", description="First day, ISO (2026-03-01); "
                            "default: 89 days before `to`.")]  # fmt: skip
To = Annotated[str, Query(description="Last day, included, ISO; default: today in the "
                          "project's time zone.")]  # fmt: skip
Limit = Annotated[str, Query(description="Rows per page, 1 to 500 (default 50).")]
Offset = Annotated[str, Query(description="Rows to skip, 0 or more (default 0).")]


class BadArgs(Exception):
    """Query-string values that do not hold; ``errors`` maps each field to its problem."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class _Reader:
    """Reads a query string's values, noting each problem against its field."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = {k: v.strip() for k, v in values.items()}
        self.errors: dict[str, str] = {}

    def day(self, name: str, default: date) -> date:
        text = self.values.get(name, "")
        if not text:
            return default
        try:
            found = date.fromisoformat(text)
        except ValueError:
            self.errors[name] = "is a date such as 2026-03-01"
            return default
        if not 1970 <= found.year <= 2100:
            self.errors[name] = "is a date between 1970 and 2100"
            return default
        return found

    def whole(self, name: str, default: int, low: int, high: int) -> int:
        text = self.values.get(name, "")
        if not text:
            return default
        digits = text.removeprefix("-")
        if not (digits.isascii() and digits.isdigit() and len(digits) < 12):
            self.errors[name] = f"is a whole number from {low:,} to {high:,}"
            return default
        value = int(text)
        if not low <= value <= high:
            self.errors[name] = f"is a whole number from {low:,} to {high:,}"
            return default
        return value

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        text = self.values.get(name, "")
        if text and text not in allowed:
            self.errors[name] = f"is one of {', '.join(allowed)}"
            return ""
        return text

    def text(self, name: str, limit: int) -> str:
        text = self.values.get(name, "")
        if len(text) > limit:
            self.errors[name] = f"is at most {limit} characters"
            return ""
        return text

    def amount(self, name: str) -> Decimal:
        """An amount in currency units (``49.50``)."""
        text = self.values.get(name, "")
        if not text:
            return Decimal(0)
        try:
            found = Decimal(text)
            if not found.is_finite() or not 0 <= found <= Decimal("1e12"):
                raise InvalidOperation
        except InvalidOperation:
            self.errors[name] = "is an amount of zero or more in currency units, such as 100"
            return Decimal(0)
        return found

    def range(self, today: date, days: int) -> tuple[date, date]:
        end = self.day("to", today)
        start = self.day("from", end - timedelta(days=days - 1))
        return start, end

    def build(self, make: Callable[[], T]) -> T:
        """The typed query, checked by its own rules too; ``BadArgs`` with every problem."""
        if not self.errors:
            try:
                found = make()
                check = getattr(found, "check", None)
                if check is not None:
                    check()
                return found
            except InvalidInput as exc:
                self.errors[exc.field] = exc.message
        raise BadArgs(self.errors)


class MovementArgs:
    """The Movements filters."""

    def __init__(
        self,
        start: From = "",
        to: To = "",
        kind: Annotated[str, Query(description="new, expansion, reactivation, "
                                   "contraction, churn or fx; default: every kind.")] = "",
        customer: Annotated[str, Query(description="A part of the customer id, any case.")] = "",
        plan: Annotated[str, Query(description="A plan name, any case: movements of "
                                   "subscriptions on it that day.")] = "",
        min_amount: Annotated[str, Query(description="Smallest |amount| in currency units "
                                         "(100 = 100.00).")] = "",
        limit: Limit = "",
        offset: Offset = "",
        format: Annotated[str, Query(description="csv: every matching row as a CSV file.")] = "",
    ) -> None:  # fmt: skip
        self.values = {"from": start, "to": to, "kind": kind, "customer": customer,
                       "plan": plan, "min_amount": min_amount, "limit": limit,
                       "offset": offset}  # fmt: skip
        self.csv = format.strip().lower() == "csv"
        self.bad_format = format.strip().lower() not in ("", "csv", "json", "html")

    def query(self, today: date) -> MovementQuery:
        r = _Reader(self.values)
        if self.bad_format:
            r.errors["format"] = "is csv, or empty"
        start, end = r.range(today, DEFAULT_DAYS)
        kind = r.choice("kind", MovementQuery.KINDS)
        customer, plan = r.text("customer", 100), r.text("plan", 100)
        minimum = r.amount("min_amount")
        limit, offset = r.whole("limit", 50, 1, 500), r.whole("offset", 0, 0, 10**9)
        return r.build(lambda: MovementQuery(start, end, kind, customer, plan, minimum,
                                             limit, offset))  # fmt: skip


class CustomerArgs:
    """The Customers search, filter and sort."""

    def __init__(
        self,
        q: Annotated[str, Query(description="A part of the customer id, e-mail or name.")] = "",
        status: Annotated[str, Query(description="paying, trialing, past_due, churned or "
                                     "never_paid; default: every status.")] = "",
        sort: Annotated[str, Query(description="mrr, first_paid or name; a leading - sorts "
                                   "descending (default -mrr).")] = "",
        limit: Limit = "",
        offset: Offset = "",
    ) -> None:  # fmt: skip
        self.values = {"q": q, "status": status, "sort": sort, "limit": limit,
                       "offset": offset}  # fmt: skip

    def query(self) -> CustomerQuery:
        r = _Reader(self.values)
        search = r.text("q", 200)
        status = r.choice("status", CustomerQuery.STATUSES)
        sort = r.choice("sort", CustomerQuery.SORTS)
        limit, offset = r.whole("limit", 50, 1, 500), r.whole("offset", 0, 0, 10**9)
        return r.build(lambda: CustomerQuery(search, status, sort or "-mrr", limit, offset))


class PaymentArgs:
    """The Payment health range, and the page of past-due customers."""

    def __init__(self, start: From = "", to: To = "", limit: Limit = "",
                 offset: Offset = "") -> None:  # fmt: skip
        self.values = {"from": start, "to": to, "limit": limit, "offset": offset}

    def query(self, today: date) -> PaymentQuery:
        r = _Reader(self.values)
        start, end = r.range(today, DEFAULT_DAYS)
        limit, offset = r.whole("limit", 50, 1, 500), r.whole("offset", 0, 0, 10**9)
        return r.build(lambda: PaymentQuery(start, end, limit, offset))


class AcquisitionArgs:
    """The CAC & channels range: a preset number of days to today, or from/to."""

    def __init__(
        self,
        days: Annotated[str, Query(description="30, 90 or 365: the days to today "
                                   "(default 30); ignored when from is given.")] = "",
        start: Annotated[str, Query(alias="from", description="First day, ISO.")] = "",
        to: Annotated[str, Query(description="Last day, included, ISO (default today).")] = "",
    ) -> None:  # fmt: skip
        self.values = {"days": days, "from": start, "to": to}

    def range(self, today: date) -> tuple[date, date]:
        """First and last day, both included."""
        r = _Reader(self.values)
        days = r.whole("days", PRESETS[0], 1, 366)
        if "days" not in r.errors and days not in PRESETS:
            r.errors["days"] = "is 30, 90 or 365"
        start, end = r.range(today, days)
        if not r.errors and start > end:
            r.errors["to"] = "is on or after from"
        if not r.errors and (end - start).days >= MAX_ACQUISITION_DAYS:
            r.errors["from"] = "is at most three years before to"
        return r.build(lambda: (start, end))
