"""A ticket's way through the copilot: received → linked to its person → context gathered
→ triaged → routed → (maybe) resolved automatically; then agents' replies and changes,
with suggestion verdicts, corrections as labels and reopened auto-resolutions counted.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.errors import InvalidInput
from loopwise.core.notify import DeliveryError
from loopwise.ingest.facade import find_person
from loopwise.support import autoresolve, config, context, replies, similar, tickets
from loopwise.support.contracts import (
    PRIORITIES,
    NewMessage,
    NewTicket,
    TicketContext,
    Triage,
    category_of,
)
from loopwise.support.models import SupportAction, SupportSettings, Ticket, TicketMessage
from loopwise.support.triage.service import ticket_text, triage
from loopwise.warehouse import Warehouse

# Sends one e-mail (to, subject, text); raises DeliveryError when it was not taken.
Mailer = Callable[[str, str, str], None]
COPILOT = "Loopwise copilot"


@dataclass(frozen=True)
class Received:
    ticket_id: int
    number: int
    created: bool  # False: a repeat delivery of a ticket already stored
    auto_resolved: bool
    triage: dict[str, object]


def receive(
    session: Session,
    warehouse: Warehouse | None,
    project_id: int,
    new: NewTicket,
    now: datetime,
    mailer: Mailer | None = None,
    *,
    triage_it: bool = True,
) -> Received:
    """Store a ticket from any source and run the copilot on it. A repeat of a ticket
    already received from the same source (same external id) only adds the messages it
    does not have yet."""
    settings = config.settings_of(session, project_id)
    new = tickets.check_ticket(new, list(settings.categories))
    existing = tickets.by_external_id(session, project_id, new.source, new.external_id)
    if existing is not None:
        _add_new_messages(session, existing, new.messages, now)
        return Received(
            existing.id,
            existing.number,
            False,
            existing.auto_resolved,
            dict(existing.analysis.get("triage") or {}),
        )
    ticket = _insert(session, project_id, settings, new, now)
    found = context.gather(
        session,
        warehouse,
        project_id,
        ticket.person_id,
        ticket.requester_email,
        now,
        exclude_ticket=ticket.id,
    )
    result = triage(session, settings, ticket_text(new.subject, new.body), found)
    _apply_triage(ticket, settings, new, result, found, now)
    session.flush()
    fired = False
    if triage_it and ticket.status == "new":
        fired = _auto_resolve(session, ticket, settings, result, found, mailer, now)
    return Received(ticket.id, ticket.number, True, fired, result.as_json())


def _insert(
    session: Session, project_id: int, settings: SupportSettings, new: NewTicket, now: datetime
) -> Ticket:
    created = new.created_at or now
    person = find_person(
        session,
        project_id,
        user_id=new.requester_user_id or None,
        email=new.requester_email or None,
    )
    ticket = Ticket(
        project_id=project_id,
        number=config.next_number(session, project_id),
        source=new.source,
        external_id=new.external_id,
        requester_email=new.requester_email,
        requester_name=new.requester_name.strip(),
        requester_user_id=new.requester_user_id,
        person_id=person or "",
        subject=new.subject,
        channel=new.channel or "email",
        status="",
        priority=new.priority or "normal",
        category=category_of(new.category),
        label=new.category,
        feature=new.feature,
        assignee=new.assignee,
        queue=new.queue,
        tags=list(new.tags),
        csat_rating=new.csat_rating,
        csat_comment=new.csat_comment,
        analysis={},
        created_at=created,
        updated_at=created,
        reopens=0,
        auto_resolved=False,
    )
    session.add(ticket)
    session.flush()
    tickets.change(session, ticket, "status", "new", new.source, created)
    first = NewMessage(new.body, "customer", new.requester_email or new.requester_user_id, created)
    tickets.add_message(session, ticket, first, created)
    for message in sorted(new.messages, key=lambda m: m.at or created):
        tickets.add_message(session, ticket, message, message.at or created)
    if new.status and new.status != ticket.status:
        tickets.set_status(
            session, ticket, new.status, new.source, new.solved_at or ticket.updated_at
        )
    return ticket


def _add_new_messages(
    session: Session, ticket: Ticket, messages: tuple[NewMessage, ...], now: datetime
) -> None:
    known = set(
        session.scalars(
            select(TicketMessage.external_id)
            .where(TicketMessage.ticket_id == ticket.id)
            .where(TicketMessage.external_id != "")
        )
    )
    for message in messages:
        if message.external_id and message.external_id in known:
            continue
        _, reopened = tickets.add_message(session, ticket, message, message.at or now)
        if reopened:
            _count_miss(session, ticket, message.author or "customer", now)


def _apply_triage(
    ticket: Ticket,
    settings: SupportSettings,
    new: NewTicket,
    result: Triage,
    found: TicketContext,
    now: datetime,
) -> None:
    if not new.category:
        ticket.category = result.category.value
    if not new.priority:
        ticket.priority = result.priority.value
    if not new.feature:
        ticket.feature = result.feature.value
    ticket.sentiment = result.sentiment.value
    ticket.language = result.language.value
    ticket.first_response_due, ticket.resolution_due = config.due_times(
        settings, ticket.priority, ticket.created_at
    )
    route = config.route(settings, ticket.category, ticket.priority, ticket.feature)
    if not ticket.queue:
        ticket.queue = route.queue
    if not ticket.assignee:
        ticket.assignee = route.assignee
    revenue = found.revenue
    ticket.analysis = {
        "triage": result.as_json(),
        "context": found.as_json(),
        "routing_rule": route.rule,
        "mrr_minor": revenue.mrr_minor if revenue else 0,
        "currency": revenue.currency if revenue else "",
        "analysed_at": now.isoformat(),
    }


def _auto_resolve(
    session: Session,
    ticket: Ticket,
    settings: SupportSettings,
    result: Triage,
    found: TicketContext,
    mailer: Mailer | None,
    now: datetime,
) -> bool:
    decision = autoresolve.decide(settings, result)
    if decision is None:
        return False
    record = {
        "intent": decision.intent,
        "confidence": round(decision.confidence, 4),
        "threshold": decision.threshold,
        "fired": False,
        "reason": decision.reason,
    }
    ticket.analysis = {**ticket.analysis, "auto_resolution": record}
    if not decision.fire:
        return False
    link = autoresolve.link_of(settings, decision.intent)
    handled = autoresolve.HANDLERS[decision.intent](
        autoresolve.HandlerInput(ticket, found, settings, link)
    )
    template = replies.template_for(session, ticket.project_id, decision.intent, "")
    problem = (
        handled.detail
        if not handled.ok
        else "no response template for this intent"
        if template is None
        else "no SMTP server is configured"
        if mailer is None or not ticket.requester_email
        else ""
    )
    text = ""
    if not problem and template is not None and mailer is not None:
        text = replies.fill(template.body, replies.variables(ticket, found) | handled.values)
        try:
            mailer(ticket.requester_email, _reply_subject(ticket), text)
        except DeliveryError as exc:
            problem = f"the reply was not sent: {exc}"
    action = SupportAction(
        project_id=ticket.project_id,
        ticket_id=ticket.id,
        kind="auto_resolution",
        intent=decision.intent,
        confidence=decision.confidence,
        threshold=decision.threshold,
        outcome="declined" if problem else "resolved",
        proposed=text,
        sent="" if problem else text,
        actor=COPILOT,
        details={"handler": handled.detail, "problem": problem},
        at=now,
    )
    session.add(action)
    ticket.analysis = {
        **ticket.analysis,
        "auto_resolution": record | {"fired": not problem, "reason": problem or handled.detail},
    }
    if problem:
        return False
    sent, _ = tickets.add_message(
        session, ticket, NewMessage(text, "agent", COPILOT, now), now, status_after="solved"
    )
    sent.delivery = "sent"
    ticket.auto_resolved = True
    audit.record(
        session,
        Actor(COPILOT),
        "support.auto_resolved",
        f"ticket #{ticket.number}",
        project_id=ticket.project_id,
        intent=decision.intent,
        confidence=round(decision.confidence, 4),
        threshold=decision.threshold,
    )
    return True


def _reply_subject(ticket: Ticket) -> str:
    return f"Re: [#{ticket.number}] {ticket.subject}"[:300]


def _count_miss(session: Session, ticket: Ticket, actor: str, now: datetime) -> None:
    """A reopened auto-resolution is a miss: its log entry says so."""
    if not ticket.auto_resolved:
        return
    action = session.scalar(
        select(SupportAction)
        .where(SupportAction.ticket_id == ticket.id)
        .where(SupportAction.kind == "auto_resolution")
        .where(SupportAction.outcome == "resolved")
        .order_by(SupportAction.id.desc())
        .limit(1)
    )
    if action is not None:
        action.outcome = "reopened"
        action.details = {
            **action.details,
            "reopened_by": actor[:320],
            "reopened_at": now.isoformat(),
        }


def customer_message(
    session: Session, project_id: int, ticket_id: int, message: NewMessage, now: datetime
) -> TicketMessage:
    ticket = tickets.get(session, project_id, ticket_id)
    row, reopened = tickets.add_message(session, ticket, message, message.at or now)
    if reopened:
        _count_miss(session, ticket, message.author or "customer", now)
    return row


def verdict(suggested: str, sent: str) -> str:
    """How the agent used a suggestion: accepted as is, edited, or rejected (rewritten)."""
    a, b = " ".join(suggested.split()), " ".join(sent.split())
    if a == b:
        return "accepted"
    return "edited" if difflib.SequenceMatcher(None, a, b).ratio() >= 0.5 else "rejected"


def reply(
    session: Session,
    actor: Actor,
    project_id: int,
    ticket_id: int,
    body: str,
    now: datetime,
    mailer: Mailer | None,
    *,
    status_after: str = "pending",
    public: bool = True,
    suggested: str = "",
    suggestion_source: str = "",
) -> TicketMessage:
    """An agent's reply (or internal note), sent by e-mail to the requester when public.
    With ``suggested``, the agent's use of the suggestion is recorded."""
    body = body.replace("\r\n", "\n")  # browsers send a textarea's lines with CRLF
    ticket = tickets.get(session, project_id, ticket_id)
    message = NewMessage(body, "agent", actor.label, now, public)
    tickets.check_message(message)
    delivery = ""
    if public:
        delivery = _send(mailer, ticket, body)
    row, _ = tickets.add_message(
        session, ticket, message, now, status_after=status_after if public else ""
    )
    row.delivery = delivery
    if ticket.status == "solved":
        confirm_label(ticket)
    if suggested.strip() and public:
        session.add(
            SupportAction(
                project_id=project_id,
                ticket_id=ticket.id,
                kind="suggestion",
                outcome=verdict(suggested, body),
                proposed=suggested,
                sent=body,
                actor=actor.label[:320],
                details={"source": suggestion_source[:200]},
                at=now,
            )
        )
    return row


def _send(mailer: Mailer | None, ticket: Ticket, body: str) -> str:
    if not ticket.requester_email:
        return "not sent: the requester has no e-mail address"
    if mailer is None:
        return "not sent: no SMTP server is configured"
    try:
        mailer(ticket.requester_email, _reply_subject(ticket), body)
    except DeliveryError as exc:
        return f"failed: {exc}"[:200]
    return "sent"


def reject_suggestion(
    session: Session,
    actor: Actor,
    project_id: int,
    ticket_id: int,
    suggested: str,
    source: str,
    now: datetime,
) -> None:
    ticket = tickets.get(session, project_id, ticket_id)
    session.add(
        SupportAction(
            project_id=project_id,
            ticket_id=ticket.id,
            kind="suggestion",
            outcome="rejected",
            proposed=suggested,
            actor=actor.label[:320],
            details={"source": source[:200]},
            at=now,
        )
    )


def update(
    session: Session,
    actor: Actor,
    project_id: int,
    ticket_id: int,
    now: datetime,
    **fields: str,
) -> Ticket:
    """Change a ticket's status, type, priority, feature, assignee, queue or known issue.
    A type set by an agent becomes the ticket's training label."""
    ticket = tickets.get(session, project_id, ticket_id)
    settings = config.settings_of(session, project_id)
    who = actor.label
    for name, value in fields.items():
        value = value.strip()
        if name == "status":
            if tickets.set_status(session, ticket, value, who, now):
                _count_miss(session, ticket, who, now)
            if value == "solved":
                confirm_label(ticket)
        elif name == "category":
            allowed = [*settings.categories, *autoresolve.HANDLERS]
            if value not in allowed:
                raise InvalidInput("category", "is one of " + ", ".join(allowed))
            tickets.change(session, ticket, "category", category_of(value), who, now)
            ticket.label = value
        elif name == "priority":
            if value not in PRIORITIES:
                raise InvalidInput("priority", "is one of " + ", ".join(PRIORITIES))
            tickets.change(session, ticket, "priority", value, who, now)
        elif name in ("assignee", "queue", "feature", "known_issue"):
            if len(value) > 200:
                raise InvalidInput(name, "is longer than 200 characters")
            tickets.change(session, ticket, name, value, who, now)
        else:
            raise InvalidInput(name, "cannot be changed")
    similar.forget(project_id)
    return ticket


def confirm_label(ticket: Ticket) -> None:
    """Solving a ticket without correcting its type confirms the type as a label."""
    if not ticket.label and ticket.category:
        ticket.label = ticket.category
