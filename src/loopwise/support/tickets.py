"""Tickets and their conversation: checking what a source hands over, storing it, and the
status rules every path shares.

Status rules: an agent's public reply answers the ticket (the first one sets
``first_response_at``) and leaves it pending unless the agent chooses another status; a
customer message on a pending ticket makes it open again, on a solved or closed one it
reopens it (counted in ``reopens``). Every status change is kept in ``ticket_changes``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from sqlalchemy import ColumnElement, Subquery, func, select
from sqlalchemy.orm import Session

from loopwise.core.errors import InvalidInput, NotFound
from loopwise.support.contracts import (
    CHANNELS,
    PRIORITIES,
    ROUTINE_INTENTS,
    STATUSES,
    NewMessage,
    NewTicket,
)
from loopwise.support.models import Ticket, TicketChange, TicketMessage

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
MAX_BODY = 100_000
MAX_TAGS = 20


def check_ticket(new: NewTicket, categories: list[str]) -> NewTicket:
    """The ticket with its text trimmed, or ``InvalidInput`` naming the first bad field."""
    subject = " ".join(new.subject.split())
    if not subject:
        raise InvalidInput("subject", "is required")
    if len(subject) > 500:
        raise InvalidInput("subject", "is longer than 500 characters")
    if not new.body.strip():
        raise InvalidInput("body", "is required: the customer's message")
    if len(new.body) > MAX_BODY:
        raise InvalidInput("body", f"is longer than {MAX_BODY:,} characters")
    email = new.requester_email.strip().lower()
    if email and not _EMAIL.match(email):
        raise InvalidInput("requester_email", "is not an e-mail address")
    if not email and not new.requester_user_id.strip():
        raise InvalidInput("requester_email", "is required (or requester_user_id)")
    for field, value, allowed in (
        ("channel", new.channel, CHANNELS),
        ("status", new.status, STATUSES),
        ("priority", new.priority, PRIORITIES),
        ("category", new.category, [*categories, *ROUTINE_INTENTS]),
    ):
        if value and value not in allowed:
            raise InvalidInput(field, f"“{value[:40]}” is not one of: " + ", ".join(allowed))
    if new.csat_rating is not None and not 1 <= new.csat_rating <= 5:
        raise InvalidInput("csat_rating", "is a whole number from 1 to 5")
    if len(new.tags) > MAX_TAGS or any(len(t) > 50 for t in new.tags):
        raise InvalidInput("tags", f"at most {MAX_TAGS} tags of at most 50 characters")
    for number, message in enumerate(new.messages, start=1):
        check_message(message, f"messages.{number}")
    for field, value, limit in (
        ("requester_name", new.requester_name, 200),
        ("requester_user_id", new.requester_user_id, 200),
        ("external_id", new.external_id, 200),
        ("assignee", new.assignee, 320),
        ("queue", new.queue, 100),
        ("feature", new.feature, 100),
    ):
        if len(value) > limit:
            raise InvalidInput(field, f"is longer than {limit} characters")
    return replace(
        new,
        subject=subject,
        requester_email=email,
        tags=tuple(dict.fromkeys(t.strip() for t in new.tags if t.strip())),
    )


def check_message(message: NewMessage, field: str = "body") -> None:
    if not message.body.strip():
        raise InvalidInput(field, "is empty")
    if len(message.body) > MAX_BODY:
        raise InvalidInput(field, f"is longer than {MAX_BODY:,} characters")
    if message.author_kind not in ("customer", "agent", "system"):
        raise InvalidInput(f"{field}.author_kind", "is customer, agent or system")


def by_external_id(
    session: Session, project_id: int, source: str, external_id: str
) -> Ticket | None:
    if not external_id:
        return None
    return session.scalar(
        select(Ticket)
        .where(Ticket.project_id == project_id)
        .where(Ticket.source == source)
        .where(Ticket.external_id == external_id)
    )


def get(session: Session, project_id: int, ticket_id: int) -> Ticket:
    """A ticket of the project by id; ``NotFound`` for another project's."""
    row = session.get(Ticket, ticket_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"ticket {ticket_id}")
    return row


def by_number(session: Session, project_id: int, number: int) -> Ticket:
    row = session.scalar(
        select(Ticket).where(Ticket.project_id == project_id).where(Ticket.number == number)
    )
    if row is None:
        raise NotFound(f"ticket #{number}")
    return row


def messages(session: Session, ticket_id: int) -> list[TicketMessage]:
    return list(
        session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket_id)
            .order_by(TicketMessage.created_at, TicketMessage.id)
        )
    )


def first_customer_messages(*where: ColumnElement[bool]) -> Subquery:
    """Each ticket's first customer message (``ticket_id``, ``message_id``) among the
    messages ``where`` selects: the text triage, similar tickets and drafts read."""
    return (
        select(TicketMessage.ticket_id, func.min(TicketMessage.id).label("message_id"))
        .where(TicketMessage.author_kind == "customer", *where)
        .group_by(TicketMessage.ticket_id)
        .subquery()
    )


def first_customer_message(session: Session, ticket_id: int) -> str:
    body = session.scalar(
        select(TicketMessage.body)
        .where(TicketMessage.ticket_id == ticket_id)
        .where(TicketMessage.author_kind == "customer")
        .order_by(TicketMessage.id)
        .limit(1)
    )
    return body or ""


def change(
    session: Session, ticket: Ticket, field: str, new: str, actor: str, at: datetime
) -> None:
    old = str(getattr(ticket, field) or "")
    if old == new:
        return
    session.add(
        TicketChange(
            ticket_id=ticket.id,
            project_id=ticket.project_id,
            field=field,
            old=old,
            new=new,
            actor=actor[:320],
            at=at,
        )
    )
    setattr(ticket, field, new)
    ticket.updated_at = max(ticket.updated_at, at)


def set_status(session: Session, ticket: Ticket, status: str, actor: str, at: datetime) -> bool:
    """Move the ticket to ``status``; True when that reopened a solved or closed ticket."""
    if status not in STATUSES:
        raise InvalidInput("status", "is one of " + ", ".join(STATUSES))
    if ticket.status == "closed" and status != "closed" and status not in ("open", "new"):
        raise InvalidInput("status", "a closed ticket can only be reopened")
    reopened = ticket.status in ("solved", "closed") and status in ("new", "open")
    if reopened:
        ticket.reopens += 1
    if status == "solved" and ticket.status != "solved":
        ticket.solved_at = at
    elif status == "closed" and ticket.solved_at is None:
        ticket.solved_at = at  # closed without being solved first
    elif status not in ("solved", "closed"):
        ticket.solved_at = None
    change(session, ticket, "status", status, actor, at)
    return reopened


def add_message(
    session: Session,
    ticket: Ticket,
    message: NewMessage,
    at: datetime,
    *,
    status_after: str = "",
) -> tuple[TicketMessage, bool]:
    """Append a message and apply the status rules; returns it and whether it reopened
    the ticket."""
    check_message(message)
    row = TicketMessage(
        ticket_id=ticket.id,
        project_id=ticket.project_id,
        author_kind=message.author_kind,
        author=message.author[:320],
        body=message.body.replace("\r\n", "\n"),
        public=message.public,
        external_id=message.external_id[:200],
        created_at=message.at or at,
    )
    session.add(row)
    when = row.created_at
    actor = message.author or message.author_kind
    reopened = False
    if message.author_kind == "agent" and message.public:
        if ticket.first_response_at is None or when < ticket.first_response_at:
            ticket.first_response_at = when
        reopened = set_status(session, ticket, status_after or "pending", actor, when)
    elif message.author_kind == "customer":
        if ticket.status in ("pending", "solved", "closed"):
            reopened = set_status(session, ticket, "open", actor, when)
    elif status_after:
        reopened = set_status(session, ticket, status_after, actor, when)
    ticket.updated_at = max(ticket.updated_at, when)
    session.flush()
    return row, reopened
