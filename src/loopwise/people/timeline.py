"""One person's activity timeline: everything that happened to or with them, from every
area, in one list, newest first.

Sources, each read only when its kinds are asked for:

- product analytics: one ``session`` item per visit (start, length, events, the most
  frequent ones) and one ``error`` item per ``$exception`` event, in one warehouse
  statement (``product.facade.person_sessions``, merged ids included);
- revenue: a ``payment`` item per paid invoice and per failed payment attempt, and a
  ``subscription`` item per MRR movement (new, expansion, contraction, churn,
  reactivation), placed at the start of its day;
- support: a ``ticket`` item when one of their tickets was opened, and one when it was
  solved;
- the team's own actions (``PersonAction``): notes (``note``), e-mails (``email``), and
  tags, the VIP mark, tickets created and billing requests (``action``), including those
  recorded for a person since merged into this one (a refresh moves them over later).

A page covers [end - days, end) with end = ``before`` or now; "load more" asks again with
``before`` = the oldest item's time. A session belongs to the page its first event falls
on, so none is shown twice or cut in two.

**Order.** Newest first; items at the same moment follow the order of ``TIMELINE_KINDS``
(session, error, payment, subscription, ticket, email, note, action), then their title,
then their source's own id, so the same data always gives the same list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core.currency import exponent
from loopwise.core.errors import InvalidInput
from loopwise.ingest.facade import person_by_id
from loopwise.people.contracts import TIMELINE_KINDS, Timeline, TimelineItem
from loopwise.people.models import PersonAction
from loopwise.product.facade import ProductError, ProductSession, person_sessions
from loopwise.revenue.facade import BillingEvent, person_billing_events, revenue_rules
from loopwise.support.facade import TicketBrief, person_ticket_events
from loopwise.warehouse import Warehouse

MAX_DAYS = 366
MOVEMENT_TITLES = {
    "new": "New subscription", "expansion": "Expansion", "contraction": "Contraction",
    "churn": "Churned", "reactivation": "Reactivated",
}  # fmt: skip
ACTION_KIND = {"note": "note", "email": "email"}  # every other PersonAction kind: "action"


def timeline(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    person_id: str,
    now: datetime,
    *,
    days: int = 30,
    before: datetime | None = None,
    kinds: Sequence[str] = TIMELINE_KINDS,
) -> Timeline:
    """The person's timeline over [end - days, end), end = ``before`` or ``now``;
    ``NotFound`` for a person not in the project."""
    person = person_by_id(session, project_id, person_id)
    return build(session, warehouse, project_id, person.id, now, days=days, before=before,
                 kinds=kinds, merged=person.merged_person_ids)  # fmt: skip


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    kinds: tuple[str, ...]


def window(now: datetime, *, days: int, before: datetime | None, kinds: Sequence[str]) -> Window:
    """The checked range and kinds of a page."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput("days", f"is 1 to {MAX_DAYS}")
    for name, moment in (("now", now), ("before", before)):
        if moment is not None and moment.utcoffset() is None:
            raise InvalidInput(name, "must be timezone-aware")
    unknown = [k for k in kinds if k not in TIMELINE_KINDS]
    if unknown:
        allowed = ", ".join(TIMELINE_KINDS)
        raise InvalidInput("kinds", f"{unknown[0][:40]!r} is not one of {allowed}")
    wanted = tuple(k for k in TIMELINE_KINDS if k in kinds)
    end = before or now
    return Window(end - timedelta(days=days), end, wanted)


def build(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    person_id: str,
    now: datetime,
    *,
    days: int = 30,
    before: datetime | None = None,
    kinds: Sequence[str] = TIMELINE_KINDS,
    product: Sequence[ProductSession | ProductError] | None = None,
    merged: Sequence[str] | None = None,
) -> Timeline:
    """The timeline of a person known to be in the project; ``product`` gives the page's
    product sessions and errors when the caller has read them already, ``merged`` the
    person ids merged into them: the team's actions recorded on those are theirs too
    (product items resolve merged ids through the warehouse without it)."""
    w = window(now, days=days, before=before, kinds=kinds)
    items: list[TimelineItem] = []
    if {"session", "error"} & set(w.kinds):
        if product is None:
            product = person_sessions(warehouse, session, project_id, person_id, w.start,
                                      w.end, horizon=now, merged=merged)  # fmt: skip
        items += [_product_item(p) for p in product]
    if {"payment", "subscription"} & set(w.kinds):
        currency = revenue_rules(session, project_id).currency
        events = person_billing_events(session, project_id, person_id, w.start, w.end, now)
        items += [_billing_item(project_id, e, currency) for e in events]
    if "ticket" in w.kinds:
        for ticket in person_ticket_events(session, project_id, person_id, w.start, w.end):
            items += _ticket_items(project_id, ticket, w.start, w.end)
    if {"email", "note", "action"} & set(w.kinds):
        ids = [person_id, *(merged or ())]
        items += _action_items(session, project_id, ids, w.start, w.end)
    kept = [i for i in items if i.kind in w.kinds and w.start <= i.at < w.end]
    return Timeline(tuple(sorted(kept, key=_order)), w.start, w.end, w.kinds)


def _order(item: TimelineItem) -> tuple[float, int, str, str]:
    return (-item.at.timestamp(), TIMELINE_KINDS.index(item.kind), item.title,
            str(item.data.get("id", "")))  # fmt: skip


# --- product -----------------------------------------------------------------------------------


def _product_item(found: ProductSession | ProductError) -> TimelineItem:
    if isinstance(found, ProductError):
        error: dict[str, Any] = {"id": found.session_id, "type": found.kind,
                                 "message": found.message, "place": found.place,
                                 "session_id": found.session_id}  # fmt: skip
        return TimelineItem(found.at, "error", found.text, detail=found.place, data=error)
    top = ", ".join(f"{name} ×{n}" for name, n in found.top_events)  # noqa: RUF001
    noun = "event" if found.events == 1 else "events"
    data: dict[str, Any] = {"id": found.session_id, "session_id": found.session_id,
            "end": found.end.isoformat(), "duration_s": int(found.duration.total_seconds()),
            "events": found.events, "errors": found.errors,
            "top_events": [[name, n] for name, n in found.top_events]}  # fmt: skip
    return TimelineItem(found.start, "session",
                        f"Session of {duration(found.duration)} · {found.events} {noun}",
                        detail=f"Top events: {top}" if top else "", data=data)  # fmt: skip


def duration(length: timedelta) -> str:
    """A session's length in words: "under a minute", "12 min", "1 h 5 min"."""
    minutes = int(length.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


# --- revenue -----------------------------------------------------------------------------------


def money(minor: int | Decimal, currency: str) -> str:
    """An amount in minor units as "USD 1,234.50" (JPY without decimals)."""
    places = exponent(currency)
    value = Decimal(minor).scaleb(-places)
    return f"{currency.upper()} {value:,.{places}f}"


def _billing_item(project_id: int, event: BillingEvent, reporting: str) -> TimelineItem:
    link = f"/projects/{project_id}/revenue/customers/{quote(event.customer_id, safe='')}"
    data: dict[str, Any] = {"id": event.invoice_id or event.movement, "customer_id":
                            event.customer_id, "amount_minor": event.amount_minor}  # fmt: skip
    if event.kind == "payment":
        data |= {"invoice_id": event.invoice_id, "currency": event.currency}
        title = f"Payment of {money(event.amount_minor, event.currency)} received"
        return TimelineItem(event.at, "payment", title, detail=event.invoice_id, link=link,
                            data=data)  # fmt: skip
    if event.kind == "payment_failed":
        data |= {"invoice_id": event.invoice_id, "currency": event.currency, "failed": True,
                 "failure_code": event.failure_code, "attempt": event.attempt}  # fmt: skip
        why = f" ({event.failure_code})" if event.failure_code else ""
        title = f"Payment of {money(event.amount_minor, event.currency)} failed{why}"
        detail = f"Attempt {event.attempt}" if event.attempt else ""
        if event.next_attempt_at is not None:
            detail += ("; next" if detail else "Next") + (
                f" attempt on {event.next_attempt_at:%-d %b %Y}"
            )
        return TimelineItem(event.at, "payment", title, detail=detail, link=link, data=data)
    sign = "\u2212" if event.movement in ("contraction", "churn") else "+"
    data |= {"movement": event.movement, "currency": reporting,
             "mrr_before_minor": event.mrr_before_minor,
             "mrr_after_minor": event.mrr_after_minor}  # fmt: skip
    title = (f"{MOVEMENT_TITLES.get(event.movement, event.movement)}: "
             f"{sign}{money(event.amount_minor, reporting)} MRR")  # fmt: skip
    detail = (f"MRR {money(event.mrr_before_minor, reporting)} → "
              f"{money(event.mrr_after_minor, reporting)}")  # fmt: skip
    return TimelineItem(event.at, "subscription", title, detail=detail, link=link, data=data)


# --- support -----------------------------------------------------------------------------------


def ticket_link(project_id: int, ticket_id: int) -> str:
    return f"/projects/{project_id}/support/tickets/{ticket_id}"


def _ticket_items(
    project_id: int, ticket: TicketBrief, start: datetime, end: datetime
) -> list[TimelineItem]:
    link = ticket_link(project_id, ticket.id)
    data = {"id": ticket.id, "ticket_id": ticket.id, "number": ticket.number,
            "status": ticket.status, "priority": ticket.priority}  # fmt: skip
    found = []
    if start <= ticket.created_at < end:
        found.append(TimelineItem(ticket.created_at, "ticket",
                                  f"Ticket #{ticket.number} opened: {ticket.subject}",
                                  detail=f"Priority {ticket.priority}", link=link,
                                  data=data | {"event": "opened"}))  # fmt: skip
    if ticket.solved_at is not None and start <= ticket.solved_at < end:
        found.append(TimelineItem(ticket.solved_at, "ticket",
                                  f"Ticket #{ticket.number} solved: {ticket.subject}",
                                  link=link, data=data | {"event": "solved"}))  # fmt: skip
    return found


# --- the team's actions ------------------------------------------------------------------------


def _action_items(
    session: Session, project_id: int, person_ids: Sequence[str], start: datetime, end: datetime
) -> list[TimelineItem]:
    rows = session.scalars(
        select(PersonAction)
        .where(PersonAction.project_id == project_id, PersonAction.person_id.in_(person_ids))
        .where(PersonAction.at >= start, PersonAction.at < end)
    )
    return [action_item(project_id, row) for row in rows]


def action_item(project_id: int, row: PersonAction) -> TimelineItem:
    """A team action as a timeline item; its title says what was done."""
    details = dict(row.details or {})
    data = {"id": row.id, "action": row.kind, **details}
    kind = ACTION_KIND.get(row.kind, "action")
    link = ticket_link(project_id, int(details["ticket_id"])) if "ticket_id" in details else ""
    return TimelineItem(row.at, kind, _action_title(row.kind, row.author, details),
                        detail=row.body, link=link, actor=row.author, data=data)  # fmt: skip


def _action_title(kind: str, author: str, details: dict[str, Any]) -> str:
    by = f" by {author}" if author else ""
    if kind == "note":
        return f"Note{by}"
    if kind == "email":
        return f"E-mail sent: {details.get('subject', '')}"
    if kind in ("tag", "untag"):
        return f"{'Tagged' if kind == 'tag' else 'Untagged'} “{details.get('tag', '')}”{by}"
    if kind == "vip":
        return f"Marked as VIP{by}" if details.get("vip") else f"VIP mark removed{by}"
    if kind == "ticket":
        return f"Ticket #{details.get('number', '')} created{by}: {details.get('subject', '')}"
    if kind == "grant":
        return f"Requested {grant_words(details)}{by}"
    return f"{kind}{by}"


def grant_words(details: dict[str, Any]) -> str:
    """A billing request in words: "a complimentary 3 months of Pro", "a credit of USD 20.00"."""
    if details.get("grant") == "credit":
        amount = int(details.get("amount_minor", 0))
        return f"a credit of {money(amount, str(details.get('currency') or 'usd'))}"
    months = int(details.get("months", 0))
    plan = f" of {details['plan']}" if details.get("plan") else ""
    return f"a complimentary {months} month{'s' if months != 1 else ''}{plan}"


def timeline_json(found: Timeline) -> dict[str, Any]:
    """A timeline as the API's JSON (ISO times); ``next_before`` asks for the page before."""
    oldest = found.items[-1].at if found.items else found.start
    return {
        "start": found.start.isoformat(), "end": found.end.isoformat(),
        "kinds": list(found.kinds), "next_before": oldest.isoformat(),
        "items": [
            {"at": i.at.isoformat(), "kind": i.kind, "title": i.title, "detail": i.detail,
             "link": i.link, "actor": i.actor, "data": i.data}
            for i in found.items
        ],
    }  # fmt: skip
