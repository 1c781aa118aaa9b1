"""The stored MRR ledger: the engine's movements kept in the app database, refreshed only
for the customers whose history changed, so pages and the nightly job read sums instead
of recomputing every customer.

``ensure`` brings a project's ledger up to date before anything reads it:

- conventions, currency or time zone changed (or never computed): every customer again;
- subscription versions stored since the last refresh (a webhook, an import, a backfill):
  those versions' customers;
- customers whose MRR changes with no new event by now (a subscription reaching its end,
  a coupon running out, a past-due cut-off; the engine says when): those customers.

A refresh replaces the customers' movements in the caller's transaction, so a reader
never sees half of it.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.orm import Session

from loopwise.core.db import utcnow
from loopwise.revenue.metrics import DayTotals
from loopwise.revenue.models import (
    BillingObjectVersion,
    LedgerCustomer,
    LedgerState,
    Movement,
)
from loopwise.revenue.mrr import Change, Conventions, Ledger, Period, movements
from loopwise.revenue.mrr import Movement as Kind
from loopwise.revenue.sources.stripe_states import (
    holders_of,
    subscription_states,
    subscriptions_of,
)

CHUNK = 10_000


def rules_key(rules: Conventions, currency: str, zone: str) -> str:
    return f"{rules.discounts}|{rules.churn_at}|{rules.past_due_days}|{currency}|{zone}"[:200]


@dataclass(frozen=True)
class Refreshed:
    customers: int  # customers recomputed (0: the ledger was current)
    full: bool


def ensure(
    session: Session, project_id: int, rules: Conventions, currency: str, zone: str,
    now: datetime | None = None, *, full: bool = False,
) -> Refreshed:  # fmt: skip
    """Bring the project's stored ledger up to date (see the module's description)."""
    moment = now or utcnow()
    key = rules_key(rules, currency, zone)
    state = session.scalar(
        select(LedgerState).where(LedgerState.project_id == project_id).with_for_update()
    )
    newest = (
        session.scalar(
            select(func.max(BillingObjectVersion.id))
            .where(BillingObjectVersion.project_id == project_id)
            .where(BillingObjectVersion.kind == "subscription")
        )
        or 0
    )
    if full or state is None or state.rules_key != key:
        _refresh(session, project_id, rules, currency, zone, moment, None)
        _mark(session, project_id, state, key, newest, moment)
        return Refreshed(_count_customers(session, project_id), True)
    customers: set[str] = set()
    if newest > state.last_version_id:
        customers.update(session.scalars(
            select(BillingObjectVersion.customer_id).distinct()
            .where(BillingObjectVersion.project_id == project_id)
            .where(BillingObjectVersion.kind == "subscription")
            .where(BillingObjectVersion.id > state.last_version_id)
        ))  # fmt: skip
    customers.update(session.scalars(
        select(LedgerCustomer.customer_id)
        .where(LedgerCustomer.project_id == project_id)
        .where(LedgerCustomer.next_change_at <= moment)
    ))  # fmt: skip
    if customers:
        customers = _with_former_holders(session, project_id, customers)
        _refresh(session, project_id, rules, currency, zone, moment, customers)
        _mark(session, project_id, state, key, newest, moment)
    return Refreshed(len(customers), False)


def _with_former_holders(session: Session, project_id: int, customers: set[str]) -> set[str]:
    """``customers`` and everyone who ever shared a subscription with them (a subscription
    moved from one customer to another changes both), until nothing new is added."""
    found = set(customers)
    while True:
        more = holders_of(session, project_id, subscriptions_of(session, project_id, found))
        if more <= found:
            return found
        found |= more


def _mark(session: Session, project_id: int, state: LedgerState | None, key: str,
          newest: int, moment: datetime) -> None:  # fmt: skip
    if state is None:
        state = LedgerState(project_id=project_id)
        session.add(state)
    state.rules_key, state.last_version_id, state.computed_at = key, newest, moment


def _count_customers(session: Session, project_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(LedgerCustomer)
        .where(LedgerCustomer.project_id == project_id)
    ) or 0  # fmt: skip


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a large book is read: the objects
    made here are freed by reference counting, and full collections over hundreds of
    thousands of live states would otherwise take most of the time (docs/benchmarks.md)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _refresh(
    session: Session, project_id: int, rules: Conventions, currency: str, zone: str,
    moment: datetime, customers: set[str] | None,
) -> None:  # fmt: skip
    with _collector_paused():
        _replace(session, project_id, rules, currency, zone, moment, customers)


def _replace(
    session: Session, project_id: int, rules: Conventions, currency: str, zone: str,
    moment: datetime, customers: set[str] | None,
) -> None:  # fmt: skip
    states = subscription_states(session, project_id, currency, customers)
    ledger = movements(states, rules, zone, moment)
    del states
    for table in (Movement, LedgerCustomer):
        if customers is None:
            session.execute(delete(table).where(table.project_id == project_id))
            continue
        wanted = sorted(customers)
        for first in range(0, len(wanted), CHUNK):
            session.execute(
                delete(table)
                .where(table.project_id == project_id)
                .where(table.customer_id.in_(wanted[first : first + CHUNK]))
            )
    rows = [
        {"project_id": project_id, "customer_id": c.customer_id[:100], "day": c.day,
         "kind": c.kind, "before": c.before, "after": c.after, "fx": c.fx,
         "paying_delta": (c.after > 0) - (c.before > 0), "subscriptions": list(c.subscriptions)}
        for c in ledger.changes
    ]  # fmt: skip
    # Core inserts (executemany): the ORM's bulk path costs several times more per row.
    for first in range(0, len(rows), CHUNK):
        session.execute(insert(cast(Table, Movement.__table__)), rows[first : first + CHUNK])
    known = set(ledger.final) | set(ledger.pending) | (customers or set())
    marks = [
        {"project_id": project_id, "customer_id": c[:100], "mrr": ledger.final.get(c, Decimal(0)),
         "next_change_at": ledger.pending.get(c)}
        for c in sorted(known) if c
    ]  # fmt: skip
    for first in range(0, len(marks), CHUNK):
        session.execute(insert(cast(Table, LedgerCustomer.__table__)), marks[first : first + CHUNK])


# --- reading -----------------------------------------------------------------------------


def _per_day(
    session: Session, project_id: int, first: date, end: date
) -> dict[date, dict[str, list[Decimal]]]:
    """Per day in [first, end) and kind: [movement amount, count, paying delta, fx]."""
    rows = session.execute(
        select(Movement.day, Movement.kind,
               func.sum(Movement.after - Movement.before - Movement.fx),
               func.count(), func.sum(Movement.paying_delta), func.sum(Movement.fx))
        .where(Movement.project_id == project_id)
        .where(Movement.day >= first)
        .where(Movement.day < end)
        .group_by(Movement.day, Movement.kind)
    )  # fmt: skip
    found: dict[date, dict[str, list[Decimal]]] = defaultdict(dict)
    for day, kind, amount, count, delta, fx in rows:
        found[day][kind] = [Decimal(amount or 0), Decimal(count), Decimal(delta or 0),
                            Decimal(fx or 0)]  # fmt: skip
    return found


def _base(session: Session, project_id: int, before: date) -> tuple[Decimal, int]:
    """MRR and paying customers at the end of the day before ``before``: today's, from
    each customer's current MRR, less the movements since (far fewer rows to read than
    every movement before, on a long history)."""
    now_mrr, now_paying = session.execute(
        select(func.sum(LedgerCustomer.mrr), func.count().filter(LedgerCustomer.mrr > 0)).where(
            LedgerCustomer.project_id == project_id
        )
    ).one()
    amount, paying = session.execute(
        select(func.sum(Movement.after - Movement.before), func.sum(Movement.paying_delta))
        .where(Movement.project_id == project_id)
        .where(Movement.day >= before)
    ).one()
    return Decimal(now_mrr or 0) - Decimal(amount or 0), int(now_paying or 0) - int(paying or 0)


def daily(session: Session, project_id: int, first: date, end: date) -> list[DayTotals]:
    """MRR, paying customers and churned customers for each day in [first, end)."""
    total, paying = _base(session, project_id, first)
    days = _per_day(session, project_id, first, end)
    found = []
    day = first
    while day < end:
        kinds = days.get(day, {})
        total += sum((v[0] + v[3] for v in kinds.values()), Decimal(0))
        paying += int(sum((v[2] for v in kinds.values()), Decimal(0)))
        found.append(DayTotals(day, total, paying, int(kinds.get("churn", [0, 0, 0])[1])))
        day = date.fromordinal(day.toordinal() + 1)
    return found


def periods(session: Session, project_id: int, starts: Sequence[date], end: date) -> list[Period]:
    """The stored ledger summed per period, as ``mrr.periods`` sums a computed one."""
    bounds = [*starts[1:], end]
    total, paying = _base(session, project_id, starts[0])
    days = _per_day(session, project_id, starts[0], end)
    found = []
    for first, after in zip(starts, bounds, strict=True):
        sums: dict[str, Decimal] = defaultdict(Decimal)
        start_mrr, start_paying, churned = total, paying, 0
        for day, kinds in days.items():
            if first <= day < after:
                for kind, (amount, count, delta, fx) in kinds.items():
                    sums[kind] += amount
                    sums["fx"] += fx
                    total += amount + fx
                    paying += int(delta)
                    churned += int(count) if kind == "churn" else 0
        found.append(Period(
            start=first, mrr=total, customers=paying, new=sums["new"],
            expansion=sums["expansion"], contraction=sums["contraction"], churn=sums["churn"],
            reactivation=sums["reactivation"], start_mrr=start_mrr,
            start_customers=start_paying, churned_customers=churned, fx=sums["fx"],
        ))  # fmt: skip
    return found


def _change(row: Movement) -> Change:
    return Change(
        row.customer_id, row.day, Decimal(row.before), Decimal(row.after),
        cast(Kind, row.kind), tuple(row.subscriptions or ()), Decimal(row.fx),
    )  # fmt: skip


def latest(session: Session, project_id: int, limit: int = 50) -> list[Change]:
    rows = session.scalars(
        select(Movement).where(Movement.project_id == project_id)
        .order_by(Movement.day.desc(), Movement.customer_id.desc()).limit(limit)
    )  # fmt: skip
    return [_change(r) for r in rows]


def of_customers(session: Session, project_id: int, customers: Iterable[str]) -> list[Change]:
    """The customers' movements, oldest first (the ledger behind their MRR)."""
    wanted = sorted(set(customers))
    found: list[Change] = []
    for first in range(0, len(wanted), CHUNK):
        found.extend(_change(r) for r in session.scalars(
            select(Movement).where(Movement.project_id == project_id)
            .where(Movement.customer_id.in_(wanted[first : first + CHUNK]))
        ))  # fmt: skip
    return sorted(found, key=lambda c: (c.day, c.customer_id))


def first_new(
    session: Session, project_id: int, start: date, end: date
) -> dict[str, tuple[date, Decimal]]:
    """Customers whose first paid day falls in [start, end): their day and new MRR."""
    rows = session.execute(
        select(Movement.customer_id, Movement.day, Movement.after)
        .where(Movement.project_id == project_id)
        .where(Movement.kind == "new")
        .where(Movement.day >= start)
        .where(Movement.day < end)
    )
    return {customer: (day, Decimal(after)) for customer, day, after in rows}


def stored(session: Session, project_id: int) -> Ledger:
    """The whole stored ledger (for analyses that follow every customer)."""
    rows = session.execute(
        select(Movement.customer_id, Movement.day, Movement.before, Movement.after,
               Movement.kind, Movement.subscriptions, Movement.fx)
        .where(Movement.project_id == project_id)
        .order_by(Movement.day, Movement.customer_id)
    )  # fmt: skip
    ledger = Ledger()
    for customer, day, before, after, kind, subscriptions, fx in rows:
        ledger.changes.append(Change(customer, day, Decimal(before), Decimal(after),
                                     cast(Kind, kind), tuple(subscriptions or ()),
                                     Decimal(fx)))  # fmt: skip
        ledger.final[customer] = Decimal(after)
    return ledger
