"""The inbox: tickets filtered by status, priority, type, queue, assignee, requester or
words, newest or most urgent first, a page at a time; and saved views of those filters."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from loopwise.core.errors import InvalidInput, NotFound
from loopwise.support.contracts import PRIORITIES, STATUSES, UNSOLVED
from loopwise.support.models import InboxView, Ticket

SORTS = ("newest", "oldest", "priority", "updated")
PAGE = 50


@dataclass(frozen=True)
class InboxQuery:
    status: str = "unsolved"  # a status, "unsolved" or "all"
    priority: str = ""
    category: str = ""
    queue: str = ""
    assignee: str = ""
    person: str = ""
    search: str = ""
    sort: str = "newest"
    page: int = 1

    def check(self) -> None:
        if self.status not in (*STATUSES, "unsolved", "all"):
            raise InvalidInput("status", "is a status, unsolved or all")
        if self.priority and self.priority not in PRIORITIES:
            raise InvalidInput("priority", "is one of " + ", ".join(PRIORITIES))
        if self.sort not in SORTS:
            raise InvalidInput("sort", "is one of " + ", ".join(SORTS))
        if not 1 <= self.page <= 10_000:
            raise InvalidInput("page", "is from 1 to 10000")
        if len(self.search) > 200:
            raise InvalidInput("search", "is longer than 200 characters")

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in ("", None) and k != "page"}


@dataclass(frozen=True)
class InboxRow:
    id: int
    number: int
    subject: str
    requester: str
    status: str
    priority: str
    category: str
    queue: str
    assignee: str
    sentiment: str
    created_at: str
    updated_at: str
    first_response_due: str
    answered: bool
    auto_resolved: bool


@dataclass(frozen=True)
class InboxPage:
    query: InboxQuery
    total: int
    counts: dict[str, int]  # per status, under the other filters
    rows: list[InboxRow] = field(default_factory=list)


def _filtered(project_id: int, query: InboxQuery, *, with_status: bool) -> Any:
    sql = select(Ticket).where(Ticket.project_id == project_id)
    if with_status and query.status == "unsolved":
        sql = sql.where(Ticket.status.in_(UNSOLVED))
    elif with_status and query.status != "all":
        sql = sql.where(Ticket.status == query.status)
    for column, value in (
        (Ticket.priority, query.priority),
        (Ticket.category, query.category),
        (Ticket.queue, query.queue),
        (Ticket.assignee, query.assignee),
        (Ticket.person_id, query.person),
    ):
        if value:
            sql = sql.where(column == value)
    if query.search:
        words = query.search.strip()
        if words.startswith("#") and words[1:].isdigit():
            return sql.where(Ticket.number == int(words[1:]))
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql = sql.where(
            or_(
                Ticket.subject.ilike(pattern, escape="\\"),
                Ticket.requester_email.ilike(pattern, escape="\\"),
                Ticket.requester_name.ilike(pattern, escape="\\"),
            )
        )
    return sql


def inbox(session: Session, project_id: int, query: InboxQuery) -> InboxPage:
    query.check()
    listed = _filtered(project_id, query, with_status=True).subquery()
    total = int(session.scalar(select(func.count()).select_from(listed)) or 0)
    by_status = _filtered(project_id, query, with_status=False).subquery()
    counts = {
        status: int(n)
        for status, n in session.execute(
            select(by_status.c.status, func.count()).group_by(by_status.c.status)
        )
    }
    urgency = case({p: i for i, p in enumerate(reversed(PRIORITIES))}, value=Ticket.priority)
    orders: dict[str, list[Any]] = {
        "newest": [Ticket.created_at.desc(), Ticket.id.desc()],
        "oldest": [Ticket.created_at, Ticket.id],
        "priority": [urgency, Ticket.created_at],
        "updated": [Ticket.updated_at.desc(), Ticket.id.desc()],
    }
    order = orders[query.sort]
    rows = session.scalars(
        _filtered(project_id, query, with_status=True)
        .order_by(*order)
        .offset((query.page - 1) * PAGE)
        .limit(PAGE)
    ).all()
    return InboxPage(query, total, counts, [_row(t) for t in rows])


def _row(t: Ticket) -> InboxRow:
    return InboxRow(
        id=t.id,
        number=t.number,
        subject=t.subject,
        requester=t.requester_name or t.requester_email or t.requester_user_id,
        status=t.status,
        priority=t.priority,
        category=t.category,
        queue=t.queue,
        assignee=t.assignee,
        sentiment=t.sentiment,
        created_at=t.created_at.isoformat(),
        updated_at=t.updated_at.isoformat(),
        first_response_due=t.first_response_due.isoformat() if t.first_response_due else "",
        answered=t.first_response_at is not None,
        auto_resolved=t.auto_resolved,
    )


def views(session: Session, project_id: int) -> list[InboxView]:
    return list(
        session.scalars(
            select(InboxView).where(InboxView.project_id == project_id).order_by(InboxView.name)
        )
    )


def save_view(
    session: Session, project_id: int, name: str, query: InboxQuery, by: str
) -> InboxView:
    query.check()
    name = " ".join(name.split())
    if not 1 <= len(name) <= 100:
        raise InvalidInput("name", "is 1 to 100 characters")
    row = session.scalar(
        select(InboxView).where(InboxView.project_id == project_id).where(InboxView.name == name)
    )
    if row is None:
        row = InboxView(project_id=project_id, name=name, created_by=by[:320])
        session.add(row)
    row.query = query.as_dict()
    session.flush()
    return row


def delete_view(session: Session, project_id: int, view_id: int) -> None:
    row = session.get(InboxView, view_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"view {view_id}")
    session.delete(row)
