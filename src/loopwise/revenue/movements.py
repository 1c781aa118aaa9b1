"""The movements ledger: a project's stored MRR movements filtered by day, kind, customer,
plan and size, totalled per kind and paged newest first (the Movements page, its API and
its CSV export; definitions in docs/metrics/revenue.md).

Every filter but the plan is SQL on ``revenue_movements`` (indexed by project and day).
A movement does not store a plan: it names the subscriptions whose state changed that
day, and a subscription's plan at that day comes from its recorded versions. So the plan
filter reads the matching movements' customers' subscription versions and filters in
Python, bounded by ``MAX_ROWS``; the shown page's plans are read the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from loopwise.core.currency import minor_unit
from loopwise.core.errors import InvalidInput
from loopwise.revenue.models import Movement
from loopwise.revenue.subscriptions import held_at, versions_of

# In the order the pages show them: gains, losses, then the exchange-rate effect.
KINDS = ("new", "expansion", "reactivation", "contraction", "churn", "fx")
MAX_ROWS = 200_000  # rows a CSV export, or a plan filter, reads at most
MAX_LIMIT = 500
MAX_DAYS = 10 * 366


@dataclass(frozen=True)
class MovementQuery:
    """Movements on days ``start`` to ``end`` (both included, the project's time zone)."""

    start: date
    end: date
    kind: str = ""  # one of KINDS, or every kind
    customer: str = ""  # a part of the customer id, any case
    plan: str = ""  # the plan of a subscription the movement names, any case
    min_amount: Decimal = Decimal(0)  # currency units, against |amount| (|fx| for kind fx)
    limit: int = 50
    offset: int = 0
    KINDS: ClassVar[tuple[str, ...]] = KINDS

    def check(self) -> None:
        """Raise ``InvalidInput`` naming the first field out of bounds."""
        if not (self.start.year >= 1970 and self.end.year <= 2100):
            raise InvalidInput("from", "is a date between 1970 and 2100")
        if self.start > self.end:
            raise InvalidInput("to", "is on or after from")
        if (self.end - self.start).days > MAX_DAYS:
            raise InvalidInput("from", "is at most ten years before to")
        if self.kind and self.kind not in KINDS:
            raise InvalidInput("kind", f"is one of {', '.join(KINDS)}")
        if len(self.customer) > 100:
            raise InvalidInput("customer", "is at most 100 characters")
        if len(self.plan) > 100:
            raise InvalidInput("plan", "is at most 100 characters")
        if self.min_amount < 0:
            raise InvalidInput("min_amount", "is zero or more")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInput("limit", f"is 1 to {MAX_LIMIT}")
        if self.offset < 0:
            raise InvalidInput("offset", "is zero or more")


@dataclass(frozen=True)
class MovementRow:
    id: int
    customer_id: str
    day: date
    kind: str
    before: Decimal  # the customer's MRR before and after, minor units
    after: Decimal
    fx: Decimal  # the part of after - before due to exchange rates alone
    subscriptions: tuple[str, ...]
    plans: tuple[str, ...] = ()  # each named subscription's plan at the day's end

    @property
    def amount(self) -> Decimal:
        """The movement, exchange-rate effect excluded (0 for an FX-only row)."""
        return self.after - self.before - self.fx


@dataclass(frozen=True)
class KindTotal:
    kind: str
    count: int  # rows of this kind
    # The kind's movement amounts; for "fx", the FX effect of every row in the set.
    amount: Decimal


@dataclass(frozen=True)
class Bucket:
    """The set's movements in a week (ranges up to 26 weeks) or a calendar month."""

    start: date
    amounts: dict[str, Decimal]  # per kind; "fx" holds the FX effect


@dataclass(frozen=True)
class MovementPage:
    currency: str
    query: MovementQuery
    total: int  # rows matching the filters
    totals: list[KindTotal]  # every kind, in KINDS order
    rows: list[MovementRow] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)

    @property
    def net(self) -> Decimal:
        """The change in MRR over the set: movements plus the FX effect."""
        return sum((t.amount for t in self.totals), Decimal(0))


def _size() -> ColumnElement[Any]:
    change = Movement.after - Movement.before - Movement.fx
    return case((Movement.kind == "fx", func.abs(Movement.fx)), else_=func.abs(change))


def _conditions(project_id: int, query: MovementQuery, currency: str) -> list[ColumnElement[bool]]:
    found = [
        Movement.project_id == project_id,
        Movement.day >= query.start,
        Movement.day <= query.end,
    ]
    if query.kind:
        found.append(Movement.kind == query.kind)
    if query.customer:
        found.append(Movement.customer_id.icontains(query.customer, autoescape=True))
    if query.min_amount > 0:
        found.append(_size() >= query.min_amount * minor_unit(currency))
    return found


def _row(values: Any) -> MovementRow:
    number, customer, day, kind, before, after, fx, subscriptions = values
    return MovementRow(number, customer, day, kind, Decimal(before), Decimal(after),
                       Decimal(fx), tuple(subscriptions or ()))  # fmt: skip


def _select(project_id: int, query: MovementQuery, currency: str) -> Any:
    return (
        select(Movement.id, Movement.customer_id, Movement.day, Movement.kind, Movement.before,
               Movement.after, Movement.fx, Movement.subscriptions)
        .where(*_conditions(project_id, query, currency))
        .order_by(Movement.day.desc(), Movement.id.desc())
    )  # fmt: skip


def movement_page(
    session: Session, project_id: int, query: MovementQuery, *, currency: str, zone: str
) -> MovementPage:
    """One page of the filtered movements, newest first, with the set's totals per kind
    and per week or month."""
    query.check()
    if query.plan:
        rows = all_rows(session, project_id, query, currency=currency, zone=zone)
        daily = [(r.day, r.kind, 1, r.amount, r.fx) for r in rows]
        page = rows[query.offset : query.offset + query.limit]
    else:
        daily = [
            (day, kind, int(count), Decimal(amount or 0), Decimal(fx or 0))
            for day, kind, count, amount, fx in session.execute(
                select(Movement.day, Movement.kind, func.count(),
                       func.sum(Movement.after - Movement.before - Movement.fx),
                       func.sum(Movement.fx))
                .where(*_conditions(project_id, query, currency))
                .group_by(Movement.day, Movement.kind)
            )
        ]  # fmt: skip
        page_of = _select(project_id, query, currency).limit(query.limit).offset(query.offset)
        found = session.execute(page_of)
        page = _with_plans(session, project_id, [_row(r) for r in found], zone)
    totals = _totals(daily)
    total = sum(t.count for t in totals)
    return MovementPage(currency, query, total, totals, page, _buckets(query, daily))


Daily = list[tuple[date, str, int, Decimal, Decimal]]  # day, kind, rows, amount, fx


def _totals(daily: Daily) -> list[KindTotal]:
    counts = dict.fromkeys(KINDS, 0)
    amounts = dict.fromkeys(KINDS, Decimal(0))
    for _, kind, count, amount, fx in daily:
        counts[kind] = counts.get(kind, 0) + count
        amounts[kind] = amounts.get(kind, Decimal(0)) + amount
        amounts["fx"] += fx
    return [KindTotal(k, counts[k], amounts[k]) for k in KINDS]


def _buckets(query: MovementQuery, daily: Daily) -> list[Bucket]:
    monthly = (query.end - query.start).days > 26 * 7

    def start_of(day: date) -> date:
        return day.replace(day=1) if monthly else day - timedelta(days=day.weekday())

    found: dict[date, dict[str, Decimal]] = {}
    bucket = start_of(query.start)
    while bucket <= query.end:
        found[bucket] = dict.fromkeys(KINDS, Decimal(0))
        bucket = (bucket + timedelta(days=32)).replace(day=1) if monthly else (
            bucket + timedelta(days=7))  # fmt: skip
    for day, kind, _, amount, fx in daily:
        amounts = found[start_of(day)]
        amounts[kind] = amounts.get(kind, Decimal(0)) + amount
        amounts["fx"] += fx
    return [Bucket(start, amounts) for start, amounts in found.items()]


def all_rows(
    session: Session, project_id: int, query: MovementQuery, *, currency: str, zone: str
) -> list[MovementRow]:
    """Every filtered movement, newest first (for the CSV export and the plan filter);
    ``InvalidInput`` when more than ``MAX_ROWS`` match."""
    query.check()
    selected = _select(project_id, query, currency).limit(MAX_ROWS + 1)
    found = [_row(r) for r in session.execute(selected)]
    if len(found) > MAX_ROWS:
        raise InvalidInput("from", f"matches over {MAX_ROWS:,} movements: narrow the dates")
    if not query.plan:
        return found
    wanted = query.plan.casefold()
    with_plans = _with_plans(session, project_id, found, zone)
    return [r for r in with_plans if any(p.casefold() == wanted for p in r.plans)]


def _with_plans(
    session: Session, project_id: int, rows: list[MovementRow], zone: str
) -> list[MovementRow]:
    """The rows with the plan each named subscription was on at the end of the row's day
    (for a churn: the state that ended, which still names its plan)."""
    customers = {r.customer_id for r in rows}
    if not customers:
        return rows
    lines = versions_of(session, project_id, customers)
    tz = ZoneInfo(zone)
    found = []
    for row in rows:
        moment = datetime.combine(row.day + timedelta(days=1), time(), tz)
        moment -= timedelta(microseconds=1)
        plans = []
        for subscription in row.subscriptions:
            held = held_at(lines.get(subscription, []), moment)
            if held is not None and held.plan not in plans:
                plans.append(held.plan)
        found.append(replace(row, plans=tuple(plans)))
    return found
