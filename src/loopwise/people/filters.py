"""The people list's filters: quick filters, the condition builder, search text and
sorting, compiled to one SQL statement over ``person_summaries`` (the same answers on
SQLite and PostgreSQL), and behaviour conditions answered by the warehouse.

Everything in a ``FilterSpec`` holds at once: the search text (the prefix rules of
``search``: e-mail, name, a name word, distinct id, customer id, ticket number), each quick
filter, and the conditions, joined by ``match`` (``all``: every one; ``any``: at least one).

Quick filters
    ``at_risk``: health band at risk or critical. ``payment_failed``: an invoice still
    unpaid after a failed payment, or a failed payment in 30 days. ``open_tickets``: a
    ticket not solved. ``churned_30d``: billing status churned, and the churn day within
    the 30 days up to now. ``vip``: marked VIP, or paying at least the project's VIP MRR
    (``PeopleSettings.vip_mrr_minor``, 500.00 by default). ``new_this_week``: first known
    within 7 days (the earlier of their first event and their record in the identity
    service), so people imported or registered in bulk are not new because of it.

Condition fields (``contracts.FIELDS``) and the operators each takes
    Text (``email``, ``name``, ``account``, ``plan``, ``billing_status`` — paying,
    trialing, past_due, churned, never_paid or empty without a billing customer —
    ``band`` — healthy, at_risk, critical): ``eq``, ``ne``, ``contains``,
    ``not_contains``, ``is_set``, ``is_not_set``; letter case is ignored (e-mail and name
    against their lower-cased keys; the others with the database's ``lower``, which on
    SQLite folds ASCII letters only).
    Numbers (``health`` 0 to 100, ``active_days`` distinct days with events ever,
    ``active_days_28d``, ``events_7d``, ``sessions_30d``, ``errors_7d``, ``open_tickets``,
    ``payment_failures_30d``, and ``mrr``): ``eq``, ``ne``, ``gt``, ``gte``, ``lt``,
    ``lte``; ``health`` also ``is_set``/``is_not_set`` (no score yet). ``mrr`` is given
    in major units of the project's currency and compared in minor units through
    ``core.currency.minor_unit`` (times 100 for dollars, 1 for yen, 1,000 for dinars).
    Days before now (``last_seen_days``, ``first_seen_days``, ``churned_days``): whole
    days, ``gt 7`` = more than 7 days ago, ``lt 7`` = within the last 7 days, ``eq 3`` =
    3 to 4 days ago; ``is_not_set`` = never (never seen, never churned). ``churned_days``
    counts calendar days (UTC) since the churn day. A comparison leaves out people
    without the date.
    Lists (``tags``, the team's tags; ``features``, features used in 30 days):
    ``contains``, ``not_contains`` (one element, letter case of ASCII ignored),
    ``is_set`` (not empty), ``is_not_set``.
    ``vip`` (true or false): ``eq``, ``ne``; VIP as the quick filter defines it.
    ``property`` (a person property named by ``key``): ``eq``/``ne`` (a number given
    compares numerically with a number stored, and as text with text), ``gt``, ``gte``,
    ``lt``, ``lte`` (numbers only), ``contains``/``not_contains`` (text), ``is_set``,
    ``is_not_set``. ``ne`` and ``not_contains`` include people without the property.
    ``did_event`` (behaviour: ``event`` done at least ``value`` times, 1 when not given,
    in the ``days`` days up to now, merged ids counted for the survivor): ``eq`` or
    ``gte`` (at least), ``is_set`` (at least once), ``lt`` (fewer times, never included),
    ``is_not_set`` (not once).

"Churned users who were active more than 30 days" is ``billing_status eq churned`` and
``active_days gt 30``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from loopwise.core.errors import InvalidInput
from loopwise.people.conditions import Behaviour, Context, compile_condition, quick_tests
from loopwise.people.contracts import FilterSpec, PeoplePage, PersonRow
from loopwise.people.models import PersonSummary
from loopwise.people.search import narrowing, person_row
from loopwise.product.facade import persons_who_did
from loopwise.warehouse import Warehouse

MAX_PAGE = 500
MAX_OFFSET = 1_000_000
CHUNK = 500  # person ids per IN list when rows are read by id
S = PersonSummary
_CREATED = case((S.created_at.is_(None), S.first_seen), else_=S.created_at)
SORTS: dict[str, tuple[Any, ...]] = {
    "-health": (S.health.is_(None), S.health.desc()),
    "health": (S.health.is_(None), S.health),
    "-mrr": (S.mrr_minor.desc(),),
    "-last_seen": (S.last_seen.is_(None), S.last_seen.desc()),
    "last_seen": (S.last_seen.is_(None), S.last_seen),
    "name": (S.name_key == "", S.name_key, S.email),
    "-created": (_CREATED.is_(None), _CREATED.desc()),
}


def people_page(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    spec: FilterSpec,
    now: datetime,
    *,
    currency: str,
    limit: int = 50,
    offset: int = 0,
) -> PeoplePage:
    """One page of the people the spec selects, in its order, and how many there are."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput("limit", f"is 1 to {MAX_PAGE}")
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput("offset", f"is 0 to {MAX_OFFSET:,}")
    plan = _plan(session, warehouse, project_id, spec, now, currency)
    if plan.behaviour:
        ids = _ids_with_behaviour(session, plan)
        rows = rows_by_id(session, project_id, ids[offset : offset + limit])
        return PeoplePage(tuple(rows), len(ids), limit, offset, currency)
    total = session.scalar(select(func.count()).select_from(S).where(plan.where)) or 0
    query = select(S).where(plan.where).order_by(*plan.order).limit(limit).offset(offset)
    rows = [person_row(r) for r in session.scalars(query)]
    return PeoplePage(tuple(rows), total, limit, offset, currency)


def selected_ids(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    spec: FilterSpec,
    now: datetime,
    *,
    cap: int,
    currency: str = "usd",
) -> list[str]:
    """Every person the spec selects, in its order; refused when more than ``cap``
    (``currency`` is the project's, for ``mrr`` conditions)."""
    plan = _plan(session, warehouse, project_id, spec, now, currency)
    if plan.behaviour:
        ids = _ids_with_behaviour(session, plan)
    else:
        query = select(S.person_id).where(plan.where).order_by(*plan.order).limit(cap + 1)
        ids = list(session.scalars(query))
    if len(ids) > cap:
        raise InvalidInput("filter", f"selects more than {cap:,} people: narrow it down")
    return ids


def quick_counts(session: Session, project_id: int, now: datetime) -> dict[str, int]:
    """How many people each quick filter selects, in one pass over the summaries."""
    quick = quick_tests(Context.of(session, project_id, now, "usd"))
    columns = [func.count(case((test, 1))).label(name) for name, test in quick.items()]
    row = session.execute(select(*columns).where(S.project_id == project_id)).one()
    return {name: int(row._mapping[name]) for name in quick}


def rows_by_id(session: Session, project_id: int, ids: list[str]) -> list[PersonRow]:
    """The people of ``ids`` in that order (ids without a summary are left out)."""
    found: dict[str, PersonSummary] = {}
    for first in range(0, len(ids), CHUNK):
        part = ids[first : first + CHUNK]
        query = select(S).where(S.project_id == project_id).where(S.person_id.in_(part))
        found.update((r.person_id, r) for r in session.scalars(query))
    return [person_row(found[p]) for p in ids if p in found]


# --- a spec as a plan: SQL for the summaries, sets of persons from the warehouse ---------


@dataclass(frozen=True)
class _Plan:
    base: ColumnElement[bool]  # the project, the search text and the quick filters
    tests: list[ColumnElement[bool]]  # conditions answered in SQL
    behaviour: list[Behaviour]  # conditions answered by the warehouse
    match: str
    order: tuple[Any, ...]

    @property
    def joined(self) -> ColumnElement[bool] | None:
        if not self.tests:
            return None
        return and_(*self.tests) if self.match == "all" else or_(*self.tests)

    @property
    def where(self) -> ColumnElement[bool]:
        joined = self.joined
        return self.base if joined is None else and_(self.base, joined)


def _plan(session: Session, warehouse: Warehouse, project_id: int, spec: FilterSpec,
          now: datetime, currency: str) -> _Plan:  # fmt: skip
    context = Context.of(session, project_id, now, currency)
    base: list[ColumnElement[bool]] = [S.project_id == project_id]
    searched = narrowing(session, project_id, spec.q)
    if searched is not None:
        base.append(searched)
    quick = quick_tests(context)
    base += [quick[name] for name in dict.fromkeys(spec.quick)]
    tests: list[ColumnElement[bool]] = []
    behaviour: list[Behaviour] = []
    for index, condition in enumerate(spec.conditions):
        compiled = compile_condition(context, condition, f"conditions[{index}]")
        if isinstance(compiled, Behaviour):
            start = now - timedelta(days=compiled.days)
            found = persons_who_did(warehouse, project_id, compiled.event, start, now,
                                    compiled.times)  # fmt: skip
            behaviour.append(replace(compiled, persons=frozenset(found)))
        else:
            tests.append(compiled)
    return _Plan(and_(*base), tests, behaviour, spec.match, (*SORTS[spec.sort], S.person_id))


def _ids_with_behaviour(session: Session, plan: _Plan) -> list[str]:
    """Ids when some conditions are behaviour: the SQL conditions become one flag per
    person, joined in Python with the warehouse's answers."""
    joined = plan.joined
    if joined is not None:
        flag: ColumnElement[Any] = case((joined, 1), else_=0)
    else:
        flag = literal(1 if plan.match == "all" else 0)
    rows = session.execute(select(S.person_id, flag).where(plan.base).order_by(*plan.order))
    if plan.match == "all":
        return [p for p, f in rows if f and all(b.holds(p) for b in plan.behaviour)]
    return [p for p, f in rows if f or any(b.holds(p) for b in plan.behaviour)]
