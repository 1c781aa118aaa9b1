"""Who is asking: what the identity service, revenue and product analytics know about a
ticket's requester, gathered through those areas' facades.

A part is left out (None) where its area has nothing on the person; nothing is invented.
The warehouse part is skipped when no warehouse is at hand (a CLI import while the server
owns the files) and when it fails: a ticket is never refused for want of context.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core.errors import NotFound
from loopwise.ingest.facade import person_by_id
from loopwise.product.facade import person_activity
from loopwise.revenue.facade import person_billing
from loopwise.support.contracts import (
    UNSOLVED,
    ActivityContext,
    RevenueContext,
    TicketContext,
)
from loopwise.support.models import Ticket
from loopwise.warehouse import Warehouse

log = logging.getLogger(__name__)


def gather(
    session: Session,
    warehouse: Warehouse | None,
    project_id: int,
    person_id: str,
    email: str,
    now: datetime,
    *,
    exclude_ticket: int | None = None,
) -> TicketContext:
    name, known_email = "", email
    if person_id:
        try:
            person = person_by_id(session, project_id, person_id)
            name = str(person.properties.get("name") or "")
            known_email = str(person.properties.get("email") or email)
        except NotFound:
            person_id = ""
    return TicketContext(
        person_id=person_id,
        name=name,
        email=known_email,
        revenue=_revenue(session, project_id, person_id, now) if person_id else None,
        activity=_activity(warehouse, session, project_id, person_id, now)
        if person_id and warehouse is not None
        else None,
        open_tickets=_open_tickets(session, project_id, person_id, email, exclude_ticket),
        gathered_at=now.isoformat(),
    )


def _revenue(
    session: Session, project_id: int, person_id: str, now: datetime
) -> RevenueContext | None:
    billing = person_billing(session, project_id, person_id, now)
    if billing is None:
        return None
    return RevenueContext(
        status=billing.status,
        plan=billing.plan,
        mrr_minor=int(billing.mrr_minor),
        currency=billing.currency,
        next_billing=billing.next_billing.isoformat() if billing.next_billing else "",
        payment_failures=billing.payment_failures_30d,
        customer_ids=billing.customer_ids,
    )


def _activity(
    warehouse: Warehouse, session: Session, project_id: int, person_id: str, now: datetime
) -> ActivityContext | None:
    try:
        found = person_activity(warehouse, session, project_id, person_id, now)
    except Exception:  # the warehouse is optional context, never a reason to refuse a ticket
        log.exception("support: reading the requester's activity failed")
        return None
    if found.last_seen is None:
        return None
    return ActivityContext(
        last_seen=found.last_seen.isoformat(),
        events_7d=found.events_7d,
        errors_7d=found.errors_7d,
        recent_errors=tuple(found.recent_errors),
        recent_events=tuple(f"{name} · {at:%Y-%m-%d %H:%M}" for at, name in found.recent_events),
        features_adopted=tuple(found.features_adopted),
        features_total=found.features_total,
    )


def _open_tickets(
    session: Session, project_id: int, person_id: str, email: str, exclude: int | None
) -> tuple[tuple[int, str], ...]:
    query = select(Ticket.number, Ticket.subject).where(Ticket.project_id == project_id)
    if person_id:
        query = query.where(Ticket.person_id == person_id)
    elif email:
        query = query.where(Ticket.requester_email == email)
    else:
        return ()
    if exclude is not None:
        query = query.where(Ticket.id != exclude)
    rows = session.execute(
        query.where(Ticket.status.in_(UNSOLVED)).order_by(Ticket.id.desc()).limit(10)
    ).all()
    return tuple((number, subject) for number, subject in rows)
