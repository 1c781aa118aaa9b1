"""Customer accounts (B2B): the people who share one ``account`` value in their summary
(the person property named by the project's ``account_property``, "company" unless
set), with their seats, activity, revenue and health taken together.

Figures of an account:

- **seats**: its people; **active 7d / 30d**: of them, those seen in the last 7 / 30 days;
- **MRR**: the sum of its people's MRR (minor units of the project's currency);
- **mean health**: the plain mean of its scored people's health;
- **account health** (the account's page): the MRR-weighted mean of its scored people's
  health when any of them pays (who pays weighs in proportion; non-payers count for
  nothing), else the plain mean; None when nobody is scored yet;
- **health distribution**: its scored people per band, and per ten points of score.

Everything is read from the summaries, refreshed daily; no other area is asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.people.contracts import BANDS, PersonRow
from loopwise.people.models import PersonSummary
from loopwise.people.search import person_row
from loopwise.revenue.facade import revenue_rules

MAX_LIMIT = 500
MAX_MEMBERS = 500  # people listed on an account's page (all are counted)


@dataclass(frozen=True)
class AccountRow:
    account: str
    seats: int
    active_7d: int
    active_30d: int
    mrr_minor: int
    mean_health: float | None  # None when none of its people is scored
    bands: dict[str, int]  # scored people per band (every band present)


@dataclass(frozen=True)
class AccountView:
    row: AccountRow
    health: float | None  # MRR-weighted when anyone pays, else the plain mean
    weighted: bool  # whether ``health`` is MRR-weighted
    distribution: tuple[int, ...]  # scored people per ten points: 0-9, 10-19, …, 90-100
    members: tuple[PersonRow, ...]  # the highest MRR first, at most MAX_MEMBERS
    currency: str


def _figures(now: datetime) -> list[Any]:
    """The columns of an account's row, per ``account`` group."""
    s = PersonSummary
    seen = [func.sum(case((s.last_seen >= now - timedelta(days=d), 1), else_=0)) for d in (7, 30)]
    bands = [func.sum(case((s.band == band, 1), else_=0)) for band in BANDS]
    return [s.account, func.count(), *seen, func.sum(s.mrr_minor), func.avg(s.health), *bands]


def _row(found: Any) -> AccountRow:
    account, seats, seen7, seen30, mrr, mean, *bands = found
    return AccountRow(
        account=account, seats=int(seats), active_7d=int(seen7 or 0),
        active_30d=int(seen30 or 0), mrr_minor=int(mrr or 0),
        mean_health=None if mean is None else round(float(mean), 1),
        bands={band: int(n or 0) for band, n in zip(BANDS, bands, strict=True)},
    )  # fmt: skip


def accounts_page(
    session: Session,
    project_id: int,
    *,
    q: str = "",
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> list[AccountRow]:
    """The project's accounts whose name contains ``q`` (any case), the highest MRR first
    (then the most seats, then by name)."""
    if len(q) > 200:
        raise InvalidInput("q", "is at most 200 characters")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"is 1 to {MAX_LIMIT}")
    if offset < 0:
        raise InvalidInput("offset", "is zero or more")
    s = PersonSummary
    query = (
        select(*_figures(now or utcnow()))
        .where(s.project_id == project_id, s.account != "")
        .group_by(s.account)
    )
    if q.strip():
        text = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(s.account).like(f"%{text}%", escape="\\"))
    query = query.order_by(func.sum(s.mrr_minor).desc(), func.count().desc(), s.account)
    return [_row(r) for r in session.execute(query.limit(limit).offset(offset))]


def account_view(session: Session, project_id: int, account: str, now: datetime) -> AccountView:
    """One account with its members; ``NotFound`` when nobody in the project has it."""
    s = PersonSummary
    mine = (s.project_id == project_id, s.account == account)
    figures = select(*_figures(now)).where(*mine).group_by(s.account)
    found = session.execute(figures).first() if account else None
    if found is None:
        raise NotFound(f"no account {account[:100]!r} in this project")
    pairs = session.execute(select(s.health, s.mrr_minor).where(*mine, s.health.is_not(None)))
    scored = [(int(h or 0), int(m or 0)) for h, m in pairs]
    health, weighted = account_health(scored)
    members = session.scalars(
        select(s).where(*mine).order_by(s.mrr_minor.desc(), s.name_key, s.person_id)
        .limit(MAX_MEMBERS)
    )  # fmt: skip
    return AccountView(
        row=_row(found), health=health, weighted=weighted,
        distribution=tuple(sum(1 for h, _ in scored if min(h // 10, 9) == step)
                           for step in range(10)),
        members=tuple(person_row(m) for m in members),
        currency=revenue_rules(session, project_id).currency,
    )  # fmt: skip


def account_health(scored: list[tuple[int, int]]) -> tuple[float | None, bool]:
    """The account's health from its members' (score, MRR): weighted by MRR when anyone
    pays, else the plain mean; and whether it was weighted."""
    if not scored:
        return None, False
    paid = sum(m for _, m in scored if m > 0)
    if paid:
        return round(sum(h * m for h, m in scored if m > 0) / paid, 1), True
    return round(sum(h for h, _ in scored) / len(scored), 1), False
