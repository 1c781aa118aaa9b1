"""Marketing spend and CAC: spend per channel from CSV, new customers attributed to the
channel that brought them (first or last touch), and the cost of acquiring each.

A customer is **new** on the day of their first ``new`` MRR movement. Their channel comes
from the events of the person the customer is linked to: the first (or last) event with a
``utm_source`` within the lookback window before that day; no person or no such event is
``(direct)``, shown and never dropped. Definitions in docs/metrics/revenue.md.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.csvfile import ImportRefused, RowError, csv_rows
from loopwise.core.currency import to_minor
from loopwise.revenue.models import BillingObject, MarketingSpend
from loopwise.revenue.mrr import Ledger
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import has_person_overrides

DIRECT = "(direct)"
CHUNK = 10_000
Model = Literal["first_touch", "last_touch"]


def import_spend(session: Session, actor: Actor, project_id: int, text: str) -> int:
    """Spend rows ``date,source,medium,campaign,amount,currency``: all or none; a row for
    a day and channel already imported is replaced."""
    rows: dict[tuple[date, str, str, str, str], int] = {}
    errors: list[RowError] = []
    for line, values in csv_rows(text, ("date", "source", "amount", "currency")):
        _spend_row(values, line, rows, errors)
    if errors:
        raise ImportRefused(errors[:200])
    for (day, source, medium, campaign, currency), cents in rows.items():
        found = session.get(MarketingSpend, (project_id, day, source, medium, campaign, currency))
        if found is None:
            session.add(MarketingSpend(project_id=project_id, day=day, source=source,
                                       medium=medium, campaign=campaign, currency=currency,
                                       amount=cents))  # fmt: skip
        else:
            found.amount = cents
    audit.record(session, actor, "revenue.imported", "spend", project_id=project_id, rows=len(rows))
    return len(rows)


def _spend_row(
    values: dict[str, str],
    line: int,
    rows: dict[tuple[date, str, str, str, str], int],
    errors: list[RowError],
) -> None:
    try:
        day = date.fromisoformat(values.get("date", ""))
    except ValueError:
        errors.append(RowError(line, "date", "is an ISO date such as 2026-03-01"))
        return
    if not 1970 <= day.year <= 2100:
        errors.append(RowError(line, "date", "is a date between 1970 and 2100"))
        return
    source = values.get("source", "")
    if not source or len(source) > 200:
        errors.append(RowError(line, "source", "is required, at most 200 characters"))
        return
    try:
        amount = Decimal(values.get("amount", ""))
        if not amount.is_finite() or amount < 0 or amount > Decimal("1e12"):
            raise InvalidOperation
    except InvalidOperation:
        errors.append(RowError(line, "amount", "is an amount from 0 to 10^12 in currency units"))
        return
    currency = values.get("currency", "").lower()
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
        errors.append(RowError(line, "currency", "is a three-letter ISO code"))
        return
    key = (day, source, values.get("medium", "")[:200], values.get("campaign", "")[:200], currency)
    rows[key] = rows.get(key, 0) + to_minor(amount, currency)


@dataclass(frozen=True)
class Channel:
    source: str
    spend: int  # minor units
    customers: int
    new_mrr: Decimal

    @property
    def cac(self) -> Decimal | None:
        """Spend per new customer (None for a channel without new customers)."""
        return Decimal(self.spend) / self.customers if self.customers else None


@dataclass(frozen=True)
class CacReport:
    start: date
    end: date  # exclusive
    model: Model
    channels: list[Channel]

    @property
    def blended(self) -> Decimal | None:
        """All spend over all new customers, paid channels or not."""
        customers = sum(c.customers for c in self.channels)
        return Decimal(sum(c.spend for c in self.channels)) / customers if customers else None


@dataclass(frozen=True)
class NewCustomer:
    customer_id: str
    day: date  # local day of the first ``new`` movement
    new_mrr: Decimal
    source: str  # the attributed channel, or DIRECT


def firsts_of(ledger: Ledger) -> dict[str, tuple[date, Decimal]]:
    """Each customer's first paid day and new MRR, from a computed ledger."""
    firsts: dict[str, tuple[date, Decimal]] = {}
    for change in ledger.changes:
        if change.kind == "new" and change.customer_id not in firsts:
            firsts[change.customer_id] = (change.day, change.amount)
    return firsts


def new_customers(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    firsts: dict[str, tuple[date, Decimal]],
    start: date,
    end: date,
    *,
    zone: str = "UTC",
    model: Model = "first_touch",
    lookback_days: int = 90,
) -> list[NewCustomer]:
    """Customers new on days in [start, end) (``firsts``: each customer's first paid day
    and new MRR), each with the channel that brought them."""
    new = {c: v for c, v in firsts.items() if start <= v[0] < end}
    persons: dict[str, str] = {}
    wanted = list(new)
    for first in range(0, len(wanted), CHUNK):  # PostgreSQL binds at most 65,535 values
        for customer, person in session.execute(
            select(BillingObject.external_id, BillingObject.person_id)
            .where(BillingObject.project_id == project_id)
            .where(BillingObject.kind == "customer")
            .where(BillingObject.external_id.in_(wanted[first : first + CHUNK]))
        ):
            persons[customer] = person
    persons = _survivors(warehouse, project_id, persons)
    since = start - timedelta(days=lookback_days + 1)
    linked = [p for p in persons.values() if p]
    touches = _touches(warehouse, project_id, linked, since, end + timedelta(days=1))
    tz = ZoneInfo(zone)
    found = []
    for customer, (day, amount) in sorted(new.items(), key=lambda kv: (kv[1][0], kv[0])):
        mine = touches.get(persons.get(customer, ""), [])
        found.append(NewCustomer(customer, day, amount, _channel(mine, day, lookback_days,
                                                                 model, tz)))  # fmt: skip
    return found


def spend_by_day(
    session: Session, project_id: int, currency: str, start: date, end: date
) -> dict[tuple[date, str], int]:
    """Spend in ``currency`` per (day, source) for days in [start, end), minor units."""
    spend: dict[tuple[date, str], int] = defaultdict(int)
    for row in session.scalars(
        select(MarketingSpend)
        .where(MarketingSpend.project_id == project_id)
        .where(MarketingSpend.currency == currency)
        .where(MarketingSpend.day >= start)
        .where(MarketingSpend.day < end)
    ):
        spend[(row.day, row.source)] += row.amount
    return spend


def cac_report(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    firsts: dict[str, tuple[date, Decimal]],
    start: date,
    end: date,
    *,
    currency: str,
    zone: str = "UTC",
    model: Model = "first_touch",
    lookback_days: int = 90,
) -> CacReport:
    """Spend, new customers and their new MRR per source for days in [start, end)."""
    customers: dict[str, int] = defaultdict(int)
    mrr: dict[str, Decimal] = defaultdict(Decimal)
    for found in new_customers(session, warehouse, project_id, firsts, start, end,
                               zone=zone, model=model, lookback_days=lookback_days):  # fmt: skip
        customers[found.source] += 1
        mrr[found.source] += found.new_mrr
    spend: dict[str, int] = defaultdict(int)
    for (_, source), amount in spend_by_day(session, project_id, currency, start, end).items():
        spend[source] += amount
    names = sorted(set(spend) | set(customers), key=lambda s: (s == DIRECT, s))
    channels = [Channel(n, spend.get(n, 0), customers.get(n, 0), mrr.get(n, Decimal(0)))
                for n in names]  # fmt: skip
    return CacReport(start, end, model, channels)


def _touches(
    warehouse: Warehouse, project_id: int, persons: list[str], since: date, until: date
) -> dict[str, list[tuple[datetime, str]]]:
    """Each person's events with a ``utm_source`` in [since, until), in time order."""
    if not persons:
        return {}
    d = dialect_for(warehouse.dialect)
    where = "project_id = {p} AND timestamp >= {since} AND timestamp < {until} AND utm_source != ''"
    source = d.events_with_persons(where, merged=has_person_overrides(warehouse, project_id))
    sql = f"""
        SELECT person_id, timestamp, utm_source FROM {source} AS ev
        WHERE {d.in_array("person_id", "persons")} ORDER BY person_id, timestamp
    """
    params = {"p": project_id, "persons": persons,
              "since": datetime.combine(since, time(), UTC),
              "until": datetime.combine(until, time(), UTC)}  # fmt: skip
    found: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for row in warehouse.query(sql, params, max_rows=5_000_000).table.to_pylist():
        found[row["person_id"]].append((row["timestamp"], row["utm_source"]))
    return found


def _channel(
    touches: list[tuple[datetime, str]], day: date, lookback: int, model: Model, zone: ZoneInfo
) -> str:
    """The source of the first (or last) touch from ``lookback`` days before ``day`` to the
    end of that day, in the project's time zone."""
    begin = datetime.combine(day - timedelta(days=lookback), time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    inside = [source for moment, source in touches if begin <= moment < end]
    if not inside:
        return DIRECT
    return inside[0] if model == "first_touch" else inside[-1]


def _survivors(warehouse: Warehouse, project_id: int, persons: dict[str, str]) -> dict[str, str]:
    """Person ids as they are now: one merged into another since the link became the
    survivor, whose events carry the survivor's id."""
    old = sorted({p for p in persons.values() if p})
    if not old:
        return persons
    renamed: dict[str, str] = {}
    for first in range(0, len(old), CHUNK):
        sql = """
            SELECT old_person_id, override_person_id FROM person_overrides
            WHERE project_id = {p} AND old_person_id IN ({ids})
        """
        d = dialect_for(warehouse.dialect)
        sql = sql.replace("old_person_id IN ({ids})", d.in_array("old_person_id", "ids"))
        rows = warehouse.query(sql, {"p": project_id, "ids": old[first : first + CHUNK]})
        for row in rows.table.to_pylist():
            if row["override_person_id"]:
                renamed[row["old_person_id"]] = row["override_person_id"]
    return {c: renamed.get(p, p) for c, p in persons.items()}
