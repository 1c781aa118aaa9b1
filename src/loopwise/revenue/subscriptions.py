"""What each subscription is doing now, for the lists that ask it of many customers at
once: who is past due, who is trialing, and on which plans.

A Stripe subscription's latest state is a billing object with a typed ``status``; a
subscription imported from CSV exists only as versions, the latest of which (by
``version_at``) is its state now. Both are read as set-based subqueries, so a list of
100,000 customers filters on them without one query per row. Plans are read for one page
of customers at a time from their subscriptions' versions, named as the MRR engine names
them (``stripe_states``), in whatever currency the subscription is priced.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CTE, case, func, select, union_all
from sqlalchemy.orm import Session

from loopwise.revenue.models import BillingObject, BillingObjectVersion, LedgerCustomer

# The plan naming the MRR engine's states use (price nickname, else product or price id).
from loopwise.revenue.sources.stripe_states import _plan as plan_name

CHUNK = 10_000
PAST_DUE = ("past_due", "unpaid")
TRIALING = ("trialing",)
NO_PLAN = "(no plan)"
# States after which a subscription no longer bills.
FINISHED = ("canceled", "incomplete_expired")


PAST_DUE_FLAG, TRIALING_FLAG = 2, 1


def status_flags(project_id: int, customers: Sequence[str] | None = None) -> CTE:
    """Per customer with a subscription past due, unpaid or trialing now: ``flag`` 2 when
    one is past due or unpaid, else 1 (trialing); one row per customer.

    Stripe subscriptions' statuses come from their objects, read in one pass (``subs`` is
    used twice, so both engines materialise it). The ledger's customers without one have
    imported subscriptions: the latest version of each says (a customer with both keeps
    the Stripe ones' status). ``customers`` (a few) limits it to those, read through the
    customer index instead of every subscription of the project."""
    kind = BillingObject.kind if customers is None else unindexed(BillingObject.kind)
    found = (
        select(BillingObject.customer_id, BillingObject.status)
        .where(BillingObject.project_id == project_id)
        .where(kind == "subscription")
        .where(BillingObject.deleted.is_(False))
    )
    if customers is not None:
        found = found.where(BillingObject.customer_id.in_(customers))
    subs = found.cte("subs")
    imported = (  # an anti-join: both engines hash or index it, where NOT IN may not
        select(LedgerCustomer.customer_id)
        .outerjoin(subs, subs.c.customer_id == LedgerCustomer.customer_id)
        .where(LedgerCustomer.project_id == project_id)
        .where(subs.c.customer_id.is_(None))
    )
    if customers is not None:
        imported = imported.where(LedgerCustomer.customer_id.in_(customers))
    version = BillingObjectVersion
    order = (version.version_at.desc(), version.id.desc())
    ranked = (
        select(version.customer_id, version.data["status"].as_string().label("status"),
               func.row_number().over(partition_by=version.external_id,
                                      order_by=order).label("rank"))
        .where(version.project_id == project_id)
        .where(unindexed(version.kind) == "subscription")
        .where(version.customer_id.in_(imported))
        .subquery("ranked")
    )  # fmt: skip
    wanted = (*PAST_DUE, *TRIALING)
    both = union_all(
        select(subs).where(subs.c.status.in_(wanted)),
        select(ranked.c.customer_id, ranked.c.status)
        .where(ranked.c.rank == 1)
        .where(ranked.c.status.in_(wanted)),
    ).subquery("both")
    flag = case((both.c.status.in_(PAST_DUE), PAST_DUE_FLAG), else_=TRIALING_FLAG)
    return (
        select(both.c.customer_id, func.max(flag).label("flag"))
        .group_by(both.c.customer_id)
        .cte("flags")
    )


def statuses_now(session: Session, project_id: int) -> dict[str, str]:
    """``past_due`` or ``trialing`` per customer with such a subscription now."""
    flags = status_flags(project_id)
    return {
        customer: "past_due" if flag == PAST_DUE_FLAG else "trialing"
        for customer, flag in session.execute(select(flags))
    }


def unindexed(column: Any) -> Any:
    """``column`` as an expression no index serves (``column || ''``). Without planner
    statistics SQLite prefers the index with more equality terms: for "project, kind and
    customer IN (...)" it reads every object of the kind through (project_id, kind) rather
    than probe (project_id, customer_id). Comparing the kind through this keeps the
    customer index in use, on SQLite and PostgreSQL alike."""
    return column.concat("")


@dataclass(frozen=True)
class Version:
    """What a subscription was from ``since`` on, as far as the lists need it."""

    subscription_id: str
    customer_id: str
    since: datetime
    status: str
    plan: str  # the first item's plan, or NO_PLAN
    ended_at: datetime | None


def versions_of(
    session: Session, project_id: int, customers: Iterable[str]
) -> dict[str, list[Version]]:
    """Each subscription of ``customers`` as its versions, oldest first, for one page of
    customers (read through the customer index). A subscription's first version counts
    from its start, as the MRR engine counts it."""
    wanted = sorted(set(customers))
    version = BillingObjectVersion
    rows: list[Any] = []
    for first in range(0, len(wanted), CHUNK):
        rows += session.execute(
            select(version.external_id, version.version_at, version.id, version.customer_id,
                   version.data)
            .where(version.project_id == project_id)
            .where(unindexed(version.kind) == "subscription")
            .where(version.customer_id.in_(wanted[first : first + CHUNK]))
        ).all()  # fmt: skip
    found: dict[str, list[Version]] = defaultdict(list)
    for subscription, at, _, customer, data in sorted(rows, key=lambda r: r[:3]):
        since = at
        if not found[subscription]:
            since = min(at, _time(data.get("start_date")) or at)
        found[subscription].append(Version(
            subscription, customer, since, str(data.get("status") or ""),
            plan_name(data) or NO_PLAN, _time(data.get("ended_at")),
        ))  # fmt: skip
    return found


def held_at(timeline: list[Version], moment: datetime) -> Version | None:
    """The version a subscription was in at ``moment`` (None before its first)."""
    held = None
    for version in timeline:
        if version.since > moment:
            break
        held = version
    return held


def current_plans(
    session: Session, project_id: int, customers: Iterable[str], now: datetime
) -> dict[str, list[str]]:
    """The plans of each customer's subscriptions that still bill (not cancelled and
    ended), for one page of customers; a customer whose subscriptions all ended gets the
    plans they had last, so a churned customer still shows what they were on."""
    wanted = sorted(set(customers))
    current: dict[str, set[str]] = defaultdict(set)
    last: dict[str, set[str]] = defaultdict(set)
    for timeline in versions_of(session, project_id, wanted).values():
        held = held_at(timeline, now)
        if held is None:
            continue
        last[held.customer_id].add(held.plan)
        ended = held.ended_at is not None and held.ended_at <= now
        if not ended and held.status not in FINISHED:
            current[held.customer_id].add(held.plan)
    return {c: sorted(current.get(c) or last.get(c) or ()) for c in wanted}


def _time(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None
