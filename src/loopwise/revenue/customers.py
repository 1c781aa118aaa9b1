"""The customers list: every billing customer with their MRR now, a status, plans, first
paid day, last movement, linked person and open payment failures; searched, filtered
by status, sorted and paged (the Customers page and its API).

The list is one SQL statement: the customers (of the stored ledger, or with a customer
object) with their MRR now (``LedgerCustomer``) and a status from set-based subqueries,
as a CTE that the page and each status's count read, so it is computed once. What only
the shown page needs (names, plans, last movement, open failures) is read for its
customers in one batched query each. Statuses, in the order they win
(docs/metrics/revenue.md):

- ``past_due``: a subscription's latest state is past_due or unpaid;
- ``paying``: MRR above zero now;
- ``trialing``: a subscription's latest state is trialing;
- ``churned``: no MRR now, but had some (the ledger holds their ``new`` movement);
- ``never_paid``: none of these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import CTE, and_, case, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from loopwise.core.errors import InvalidInput
from loopwise.revenue.models import BillingObject, LedgerCustomer, Movement
from loopwise.revenue.payments import open_failures
from loopwise.revenue.subscriptions import (
    PAST_DUE_FLAG,
    TRIALING_FLAG,
    current_plans,
    status_flags,
)

STATUSES = ("paying", "trialing", "past_due", "churned", "never_paid")
# The same statuses in the order they win (the list's CASE), first the most pressing.
PRECEDENCE = ("past_due", "paying", "trialing", "churned", "never_paid")
SORTS = ("-mrr", "mrr", "-first_paid", "first_paid", "name", "-name")
MAX_LIMIT = 500
CHUNK = 10_000


@dataclass(frozen=True)
class CustomerQuery:
    search: str = ""  # a part of the id, e-mail or name, any case
    status: str = ""  # one of STATUSES, or every status
    sort: str = "-mrr"  # one of SORTS; "-" sorts descending
    limit: int = 50
    offset: int = 0
    STATUSES: ClassVar[tuple[str, ...]] = STATUSES
    SORTS: ClassVar[tuple[str, ...]] = SORTS

    def check(self) -> None:
        if len(self.search) > 200:
            raise InvalidInput("q", "is at most 200 characters")
        if self.status and self.status not in STATUSES:
            raise InvalidInput("status", f"is one of {', '.join(STATUSES)}")
        if self.sort not in SORTS:
            raise InvalidInput("sort", f"is one of {', '.join(SORTS)}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInput("limit", f"is 1 to {MAX_LIMIT}")
        if self.offset < 0:
            raise InvalidInput("offset", "is zero or more")


@dataclass(frozen=True)
class LastMovement:
    day: date
    kind: str
    amount: Decimal  # minor units, exchange-rate effect excluded


@dataclass(frozen=True)
class CustomerRow:
    customer_id: str
    name: str
    email: str
    person_id: str  # the linked person, or ""
    status: str
    mrr: Decimal  # minor units of the reporting currency, now
    first_paid: date | None
    plans: tuple[str, ...] = ()
    last_movement: LastMovement | None = None
    open_failures: int = 0  # failed invoices not since paid, voided or written off


@dataclass(frozen=True)
class CustomerList:
    currency: str
    query: CustomerQuery
    total: int  # customers matching the search and status
    counts: dict[str, int]  # per status, for the search alone
    rows: list[CustomerRow] = field(default_factory=list)


def _listed(project_id: int, query: CustomerQuery, customers: Sequence[str] | None = None) -> CTE:
    """Every customer (of the ledger, or with a customer object) with MRR now and status,
    searched; with what the sort needs (the name and e-mail, or the first paid day).
    ``customers`` (a few) limits it to those, read through their keys."""
    known = aliased(LedgerCustomer, name="known")
    ledger = select(LedgerCustomer.customer_id.label("customer_id")).where(
        LedgerCustomer.project_id == project_id
    )
    objects = (
        select(BillingObject.external_id)
        .outerjoin(known, and_(known.project_id == project_id,
                               known.customer_id == BillingObject.external_id))
        .where(BillingObject.project_id == project_id)
        .where(BillingObject.kind == "customer")
        .where(known.customer_id.is_(None))
    )  # fmt: skip
    if customers is not None:
        ledger = ledger.where(LedgerCustomer.customer_id.in_(customers))
        objects = objects.where(BillingObject.external_id.in_(customers))
    # the ledger's customers, and those only known as objects (no sort)
    ids = union_all(ledger, objects).subquery("ids")
    cid = ids.c.customer_id
    flags = status_flags(project_id, customers)
    mrr = func.coalesce(LedgerCustomer.mrr, 0)
    # Looked up only for customers without MRR: the CASE stops at "paying" before it.
    paid = exists().where(and_(Movement.project_id == project_id, Movement.customer_id == cid,
                               Movement.kind == "new"))  # fmt: skip
    status = case(
        (flags.c.flag == PAST_DUE_FLAG, literal("past_due")),
        (mrr > 0, literal("paying")),
        (flags.c.flag == TRIALING_FLAG, literal("trialing")),
        (paid, literal("churned")),
        else_=literal("never_paid"),
    )
    columns: list[Any] = [cid.label("customer_id"), mrr.label("mrr"), status.label("status")]
    found = (
        select()
        .select_from(ids)
        .outerjoin(LedgerCustomer, and_(LedgerCustomer.project_id == project_id,
                                        LedgerCustomer.customer_id == cid))
        .outerjoin(flags, flags.c.customer_id == cid)
        .where(cid != "")
    )  # fmt: skip
    if query.search or query.sort.endswith("name"):
        customer = aliased(BillingObject, name="customer")
        name = func.coalesce(customer.data["name"].as_string(), "")
        email = func.coalesce(customer.data["email"].as_string(), "")
        columns += [name.label("name"), email.label("email")]
        found = found.outerjoin(customer, and_(customer.project_id == project_id,
                                               customer.kind == "customer",
                                               customer.external_id == cid))  # fmt: skip
        if query.search:
            found = found.where(or_(cid.icontains(query.search, autoescape=True),
                                    email.icontains(query.search, autoescape=True),
                                    name.icontains(query.search, autoescape=True)))  # fmt: skip
    if query.sort.endswith("first_paid"):
        firsts = (
            select(Movement.customer_id, Movement.day)
            .where(Movement.project_id == project_id)
            .where(Movement.kind == "new")
            .subquery("firsts")
        )
        columns.append(firsts.c.day.label("first_paid"))
        found = found.outerjoin(firsts, firsts.c.customer_id == cid)
    return found.add_columns(*columns).cte("listed")


def _order(listed: CTE, sort: str) -> list[Any]:
    key = sort.removeprefix("-")
    column: Any
    if key == "name":
        column = func.lower(func.coalesce(func.nullif(listed.c.name, ""),
                                          func.nullif(listed.c.email, ""),
                                          listed.c.customer_id))  # fmt: skip
    else:
        column = listed.c[key]
    ordered = column.desc() if sort.startswith("-") else column.asc()
    # Customers without a first paid day come last either way.
    return [column.is_(None), ordered, listed.c.customer_id]


def customer_list(
    session: Session, project_id: int, query: CustomerQuery, *, currency: str, now: datetime
) -> CustomerList:
    """One page of customers with the counts per status (the stored ledger must be
    current: the facade brings it up to date first). One statement: the list is a CTE
    used by the page and by each status's count, so both engines compute it once."""
    query.check()
    listed = _listed(project_id, query)
    counts = [
        select(func.count()).select_from(listed).where(listed.c.status == s).scalar_subquery()
        .label(f"n_{s}")
        for s in STATUSES
    ]  # fmt: skip
    page = select(listed.c.customer_id, listed.c.mrr, listed.c.status, *counts)
    if query.status:
        page = page.where(listed.c.status == query.status)
    page = page.order_by(*_order(listed, query.sort)).limit(query.limit).offset(query.offset)
    found = session.execute(page).all()
    if not found:  # past the last page: the counts alone
        found_counts = session.execute(select(*counts)).one()
        tally = {s: int(n or 0) for s, n in zip(STATUSES, found_counts, strict=True)}
    else:
        tally = {s: int(n or 0) for s, n in zip(STATUSES, found[0][3:], strict=True)}
    total = tally.get(query.status, 0) if query.status else sum(tally.values())
    wanted = [str(r[0]) for r in found]
    who = _customers(session, project_id, wanted)
    firsts, lasts = _movements_of(session, project_id, wanted)
    plans = current_plans(session, project_id, wanted, now)
    failures = open_failures(session, project_id, wanted)
    rows = [
        CustomerRow(
            customer_id=c, name=who.get(c, ("", "", ""))[0], email=who.get(c, ("", "", ""))[1],
            person_id=who.get(c, ("", "", ""))[2], status=str(status), mrr=Decimal(mrr),
            first_paid=firsts.get(c), plans=tuple(plans.get(c, ())),
            last_movement=lasts.get(c), open_failures=len(failures.get(c, ())),
        )
        for c, (_, mrr, status, *_) in zip(wanted, found, strict=True)
    ]  # fmt: skip
    return CustomerList(currency, query, total, tally, rows)


def _customers(
    session: Session, project_id: int, customers: list[str]
) -> dict[str, tuple[str, str, str]]:
    """Name, e-mail and linked person of the page's customers (those with an object)."""
    if not customers:
        return {}
    rows = session.execute(
        select(BillingObject.external_id, BillingObject.data, BillingObject.person_id)
        .where(BillingObject.project_id == project_id)
        .where(BillingObject.kind == "customer")
        .where(BillingObject.external_id.in_(customers))
    )
    found = {}
    for customer, data, person in rows:
        name, email = data.get("name"), data.get("email")
        found[customer] = (name if isinstance(name, str) else "",
                           email if isinstance(email, str) else "", person or "")  # fmt: skip
    return found


def _movements_of(
    session: Session, project_id: int, customers: Iterable[str]
) -> tuple[dict[str, date], dict[str, LastMovement]]:
    """The page's customers' first paid day and last movement, in one query."""
    wanted = sorted(set(customers))
    firsts: dict[str, date] = {}
    lasts: dict[str, LastMovement] = {}
    if not wanted:
        return firsts, lasts
    rows = session.execute(
        select(Movement.customer_id, Movement.day, Movement.kind,
               Movement.after - Movement.before - Movement.fx)
        .where(Movement.project_id == project_id)
        .where(Movement.customer_id.in_(wanted))
    )  # fmt: skip
    for customer, day, kind, amount in sorted(rows, key=lambda r: r[1]):
        if kind == "new" and customer not in firsts:
            firsts[customer] = day
        lasts[customer] = LastMovement(day, kind, Decimal(amount))
    return firsts, lasts


def statuses_of(
    session: Session, project_id: int, customers: Sequence[str]
) -> dict[str, tuple[str, Decimal]]:
    """Status and MRR now (minor units) of a few customers, as the list computes them (the
    stored ledger must be current); customers the project has never seen are left out."""
    if not customers:
        return {}
    listed = _listed(project_id, CustomerQuery(), sorted(set(customers)))
    rows = session.execute(select(listed.c.customer_id, listed.c.status, listed.c.mrr))
    return {str(c): (str(status), Decimal(mrr)) for c, status, mrr in rows}
