"""What revenue knows about every person of a project at once: the billing signals the
people list and health scores read (status, plan, MRR, churn, payment failures and
subscription changes), summed over each person's billing customers.

The single-person summary (``person.py``) reads a person's few customers through their
keys; a daily recompute of 100,000 persons cannot, so this reads each table once for the
whole project (set-based, a handful of statements) and groups in memory. Status, MRR and
plans come from the same helpers as the Customers page and the person summary, so all
three agree:

- a person's customers are the customer objects linked to them (``BillingObject.person_id``;
  a link to a person since merged into another counts for the survivor);
- ``status`` is the most pressing of their customers' statuses (``customers.PRECEDENCE``),
  ``mrr_minor`` their MRR now, summed and rounded half up, ``plan`` the current plans of
  their current customers (else of all of them);
- ``churned_on`` is the day of the latest churn movement, when the status is churned;
- ``payment_failures_30d`` counts failed attempts in the 30 days before now,
  ``open_failures`` failed invoices not since paid, voided or written off;
- ``downgrades_30d`` counts contraction and churn movements on days in the 30 days,
  ``upgrades_30d`` expansion and reactivation movements (days of the project's zone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from loopwise.revenue.customers import PRECEDENCE, CustomerQuery, _listed, statuses_of
from loopwise.revenue.models import BillingObject, Movement, PaymentFailure
from loopwise.revenue.payments import open_failures
from loopwise.revenue.person import CURRENT, FAILURE_DAYS
from loopwise.revenue.subscriptions import current_plans, unindexed

CHUNK = 10_000  # values per IN list (SQLite binds at most 32,766)
CHANGE_DAYS = 30
DOWNGRADES = ("contraction", "churn")
UPGRADES = ("expansion", "reactivation")


@dataclass(frozen=True)
class BillingSignals:
    """One person's billing, summed over the customers linked to them."""

    customer_ids: tuple[str, ...]
    status: str  # customers.STATUSES
    plan: str  # current plan names, sorted, joined by ", "
    mrr_minor: int  # MRR now, minor units of the reporting currency
    churned_on: date | None  # the latest churn movement's day, when churned
    payment_failures_30d: int
    open_failures: int
    downgrades_30d: int  # contraction and churn movements
    upgrades_30d: int  # expansion and reactivation movements


def billing_signals(
    session: Session,
    project_id: int,
    now: datetime,
    person_ids: Sequence[str] | None = None,
    *,
    timezone: str,
    merged: Mapping[str, str] | None = None,
) -> dict[str, BillingSignals]:
    """The signals of every person linked to a billing customer (or of ``person_ids``),
    keyed by person id; ``merged`` maps merged-away person ids to their survivor. The
    stored ledger must be current (the facade brings it up to date first)."""
    aliases = dict(merged or {})
    links = _links(session, project_id, person_ids, aliases)
    customers = sorted({c for owned in links.values() for c in owned})
    if not customers:
        return {}
    whole = person_ids is None
    statuses = _statuses(session, project_id, customers, whole=whole)
    plans = current_plans(session, project_id, customers, now)
    churns = _latest_churns(session, project_id, customers, whole=whole)
    since = (now - timedelta(days=CHANGE_DAYS)).astimezone(ZoneInfo(timezone)).date()
    changes = _changes(session, project_id, customers, since, whole=whole)
    failed = _failures(session, project_id, customers, now - timedelta(days=FAILURE_DAYS), now,
                       whole=whole)  # fmt: skip
    failing = _open_failures(session, project_id, customers, whole=whole)
    found = {}
    for person, owned in links.items():
        wanted = sorted(owned)
        mine = {c: statuses[c] for c in wanted if c in statuses}
        status = next(s for s in PRECEDENCE if s in ({s for s, _ in mine.values()}
                                                       or {"never_paid"}))  # fmt: skip
        mrr = sum((m for _, m in mine.values()), Decimal(0))
        current = [c for c in wanted if mine.get(c, ("",))[0] in CURRENT] or wanted
        churned = [churns[c] for c in wanted if c in churns]
        found[person] = BillingSignals(
            customer_ids=tuple(wanted), status=status,
            plan=", ".join(sorted({p for c in current for p in plans.get(c, ())})),
            mrr_minor=int(mrr.quantize(Decimal(1), ROUND_HALF_UP)),
            churned_on=max(churned) if status == "churned" and churned else None,
            payment_failures_30d=sum(failed.get(c, 0) for c in wanted),
            open_failures=sum(failing.get(c, 0) for c in wanted),
            downgrades_30d=sum(changes.get((c, "down"), 0) for c in wanted),
            upgrades_30d=sum(changes.get((c, "up"), 0) for c in wanted),
        )  # fmt: skip
    return found


def _links(
    session: Session, project_id: int, person_ids: Sequence[str] | None,
    aliases: dict[str, str],
) -> dict[str, set[str]]:  # fmt: skip
    """Each person's linked customers (links to a merged-away person count for the
    survivor), for the project or for ``person_ids`` and the ids merged into them."""
    query = (
        select(BillingObject.person_id, BillingObject.external_id)
        .where(BillingObject.project_id == project_id)
        .where(BillingObject.person_id != "")
    )
    rows: list[tuple[str, str]] = []
    if person_ids is None:
        found = session.execute(query.where(BillingObject.kind == "customer"))
        rows += [(str(person), str(customer)) for person, customer in found]
    else:
        wanted = set(person_ids)
        ids = sorted(wanted | {old for old, new in aliases.items() if new in wanted})
        query = query.where(unindexed(BillingObject.kind) == "customer")
        for part in _chunks(ids):
            found = session.execute(query.where(BillingObject.person_id.in_(part)))
            rows += [(str(person), str(customer)) for person, customer in found]
    keep = None if person_ids is None else set(person_ids)
    links: dict[str, set[str]] = defaultdict(set)
    for person, customer in rows:
        survivor = aliases.get(person, person)
        if keep is None or survivor in keep:
            links[survivor].add(customer)
    return dict(links)


def _statuses(
    session: Session, project_id: int, customers: list[str], *, whole: bool
) -> dict[str, tuple[str, Decimal]]:
    """Status and MRR now of the customers, as the Customers page computes them: the
    page's statement over the whole project, or through the customers' keys for a few."""
    if not whole:
        found: dict[str, tuple[str, Decimal]] = {}
        for part in _chunks(customers):
            found |= statuses_of(session, project_id, part)
        return found
    listed = _listed(project_id, CustomerQuery())
    rows = session.execute(select(listed.c.customer_id, listed.c.status, listed.c.mrr))
    wanted = set(customers)
    return {str(c): (str(s), Decimal(m)) for c, s, m in rows if c in wanted}


def _latest_churns(
    session: Session, project_id: int, customers: list[str], *, whole: bool
) -> dict[str, date]:
    query = (
        select(Movement.customer_id, func.max(Movement.day))
        .where(Movement.project_id == project_id)
        .where(Movement.kind == "churn")
        .group_by(Movement.customer_id)
    )
    return dict(_read(session, query, Movement.customer_id, customers, whole))


def _changes(
    session: Session, project_id: int, customers: list[str], since: date, *, whole: bool
) -> dict[tuple[str, str], int]:
    """Downgrade (``down``) and upgrade (``up``) movements per customer on days from
    ``since``."""
    query = (
        select(Movement.customer_id, Movement.kind, func.count())
        .where(Movement.project_id == project_id)
        .where(Movement.day >= since)
        .where(Movement.kind.in_((*DOWNGRADES, *UPGRADES)))
        .group_by(Movement.customer_id, Movement.kind)
    )
    found: dict[tuple[str, str], int] = defaultdict(int)
    for customer, kind, n in _read(session, query, Movement.customer_id, customers, whole):
        found[(customer, "down" if kind in DOWNGRADES else "up")] += int(n)
    return dict(found)


def _failures(
    session: Session, project_id: int, customers: list[str], start: datetime, end: datetime,
    *, whole: bool,
) -> dict[str, int]:  # fmt: skip
    f = PaymentFailure
    query = (
        select(f.customer_id, func.count())
        .where(f.project_id == project_id, f.failed_at >= start, f.failed_at < end)
        .group_by(f.customer_id)
    )
    return {c: int(n) for c, n in _read(session, query, f.customer_id, customers, whole)}


def _open_failures(
    session: Session, project_id: int, customers: list[str], *, whole: bool
) -> dict[str, int]:
    """Open failed invoices per customer, asked only of customers with any failure."""
    query = select(PaymentFailure.customer_id).where(PaymentFailure.project_id == project_id)
    query = query.distinct()
    failing = [str(r[0]) for r in _read(session, query, PaymentFailure.customer_id,
                                         customers, whole)]  # fmt: skip
    return {c: len(v) for c, v in open_failures(session, project_id, failing).items()}


def _read(
    session: Session, query: Any, column: Any, customers: list[str], whole: bool
) -> list[Any]:
    """The query's rows for ``customers``: over the whole project, keeping theirs, or
    through the customer key for a few."""
    if whole:
        wanted = set(customers)
        return [r for r in session.execute(query) if r[0] in wanted]
    rows: list[Any] = []
    for part in _chunks(customers):
        rows += session.execute(query.where(column.in_(part))).all()
    return rows


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(values)
    for first in range(0, len(ordered), CHUNK):
        yield ordered[first : first + CHUNK]
