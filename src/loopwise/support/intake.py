"""Tickets from outside: the REST API's JSON, help-desk webhooks (a generic shape,
Zendesk's ticket and Intercom's conversation notifications) and CSV files, each mapped to
the same ``NewTicket``.

Mappings, written down in docs/support.md:
- Zendesk: ``{"ticket": {…}}`` as its Tickets API shows a ticket (``description`` is the
  first message, ``comments`` the conversation); status ``hold`` is pending; a satisfaction
  score ``good`` is 5 and ``bad`` is 1.
- Intercom: a ``notification_event`` whose ``data.item`` is a conversation; the source
  message is the first message, ``conversation_parts`` of type comment the rest; state
  ``snoozed`` is pending and ``closed`` solved; HTML bodies are reduced to text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from loopwise.core.csvfile import RowError, csv_rows
from loopwise.core.errors import InvalidInput
from loopwise.support.contracts import NewMessage, NewTicket

_TAG = re.compile(r"<br\s*/?>|</p>|<[^>]+>", re.IGNORECASE)
SOURCES = ("generic", "zendesk", "intercom")


def _text(value: Any, field: str, limit: int = 100_000) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(field, "is not text")
    text = str(value)
    if len(text) > limit:
        raise InvalidInput(field, f"is longer than {limit:,} characters")
    return text


def _time(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value < 4_102_444_800:
            raise InvalidInput(field, "is not a time between 1970 and 2100")
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        raise InvalidInput(field, "is not a time (ISO 8601 or Unix seconds)")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(field, f"“{value[:40]}” is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _map(value: Any, field: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(field, "is not an object")
    return value


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(field, "is not a list")
    return value


def _plain(markup: str) -> str:
    return html.unescape(_TAG.sub("\n", markup)).strip()


def _tags(value: Any, field: str) -> tuple[str, ...]:
    return tuple(_text(t, field, 50) for t in _list(value, field))


def from_generic(payload: Mapping[str, Any], source: str = "generic") -> NewTicket:
    """Loopwise's own shape (the REST API's and the generic webhook's)::

    {"id": "ext-1", "subject": "…", "body": "…", "channel": "email",
     "requester": {"email": "…", "name": "…", "user_id": "…"},
     "created_at": "2026-11-02T10:00:00Z", "status": "", "priority": "",
     "category": "", "tags": [], "messages": [{"id", "body", "author_kind",
     "author", "created_at", "public"}], "csat": {"rating": 5, "comment": ""}}
    """
    requester = _map(payload.get("requester"), "requester")
    csat = _map(payload.get("csat"), "csat")
    rating = csat.get("rating")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int)):
        raise InvalidInput("csat.rating", "is a whole number from 1 to 5")
    return NewTicket(
        subject=_text(payload.get("subject"), "subject", 500),
        body=_text(payload.get("body"), "body"),
        requester_email=_text(requester.get("email"), "requester.email", 320),
        requester_name=_text(requester.get("name"), "requester.name", 200),
        requester_user_id=_text(requester.get("user_id"), "requester.user_id", 200),
        channel=_text(payload.get("channel"), "channel", 20) or "email",
        source=source,
        external_id=_text(payload.get("id"), "id", 200),
        created_at=_time(payload.get("created_at"), "created_at"),
        status=_text(payload.get("status"), "status", 10),
        priority=_text(payload.get("priority"), "priority", 10),
        category=_text(payload.get("category"), "category", 50),
        feature=_text(payload.get("feature"), "feature", 100),
        assignee=_text(payload.get("assignee"), "assignee", 320),
        queue=_text(payload.get("queue"), "queue", 100),
        tags=_tags(payload.get("tags"), "tags"),
        csat_rating=rating,
        csat_comment=_text(csat.get("comment"), "csat.comment", 5000),
        messages=tuple(
            _message(m, f"messages.{n}")
            for n, m in enumerate(_list(payload.get("messages"), "messages"), 1)
        ),
        solved_at=_time(payload.get("solved_at"), "solved_at"),
    )


def _message(value: Any, field: str) -> NewMessage:
    item = _map(value, field)
    kind = _text(item.get("author_kind"), f"{field}.author_kind", 10) or "customer"
    public = item.get("public", True)
    return NewMessage(
        body=_text(item.get("body"), f"{field}.body"),
        author_kind=kind,
        author=_text(item.get("author"), f"{field}.author", 320),
        at=_time(item.get("created_at"), f"{field}.created_at"),
        public=public is not False,
        external_id=_text(item.get("id"), f"{field}.id", 200),
    )


ZENDESK_STATUS = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "hold": "pending",
    "solved": "solved",
    "closed": "closed",
}


def from_zendesk(payload: Mapping[str, Any]) -> NewTicket:
    ticket = _map(payload.get("ticket"), "ticket")
    if not ticket:
        raise InvalidInput("ticket", "is required: Zendesk's ticket object")
    requester = _map(ticket.get("requester"), "ticket.requester")
    comments = _list(ticket.get("comments"), "ticket.comments")
    messages = []
    for number, value in enumerate(comments[1:] if comments else [], start=2):
        comment = _map(value, f"ticket.comments.{number}")
        author = _map(comment.get("author"), f"ticket.comments.{number}.author")
        role = _text(author.get("role"), "role", 20)
        messages.append(
            NewMessage(
                body=_text(
                    comment.get("body") or comment.get("plain_body"),
                    f"ticket.comments.{number}.body",
                ),
                author_kind="customer" if role in ("", "end-user") else "agent",
                author=_text(author.get("email") or author.get("name"), "author", 320),
                at=_time(comment.get("created_at"), f"ticket.comments.{number}.created_at"),
                public=comment.get("public", True) is not False,
                external_id=_text(comment.get("id"), f"ticket.comments.{number}.id", 200),
            )
        )
    rating = _map(ticket.get("satisfaction_rating"), "ticket.satisfaction_rating")
    score = {"good": 5, "bad": 1}.get(str(rating.get("score", "")))
    status = ZENDESK_STATUS.get(_text(ticket.get("status"), "ticket.status", 10), "")
    via = _map(ticket.get("via"), "ticket.via")
    channel = {"web": "web", "chat": "chat", "voice": "phone", "api": "api"}.get(
        str(via.get("channel", "")), "email"
    )
    return NewTicket(
        subject=_text(ticket.get("subject"), "ticket.subject", 500),
        body=_text(ticket.get("description"), "ticket.description"),
        requester_email=_text(requester.get("email"), "ticket.requester.email", 320),
        requester_name=_text(requester.get("name"), "ticket.requester.name", 200),
        requester_user_id=_text(requester.get("external_id"), "ticket.requester.external_id", 200),
        channel=channel,
        source="zendesk",
        external_id=_text(ticket.get("id"), "ticket.id", 200),
        created_at=_time(ticket.get("created_at"), "ticket.created_at"),
        status=status,
        priority=_text(ticket.get("priority"), "ticket.priority", 10),
        tags=_tags(ticket.get("tags"), "ticket.tags"),
        csat_rating=score,
        csat_comment=_text(rating.get("comment"), "ticket.satisfaction_rating.comment", 5000),
        messages=tuple(messages),
        solved_at=_time(ticket.get("updated_at"), "ticket.updated_at")
        if status in ("solved", "closed")
        else None,
    )


INTERCOM_STATE = {"open": "open", "snoozed": "pending", "closed": "solved"}


def from_intercom(payload: Mapping[str, Any]) -> NewTicket:
    data = _map(payload.get("data"), "data")
    item = _map(data.get("item"), "data.item")
    if item.get("type") != "conversation":
        raise InvalidInput("data.item.type", "is not a conversation")
    source = _map(item.get("source"), "data.item.source")
    author = _map(source.get("author"), "data.item.source.author")
    parts = _map(item.get("conversation_parts"), "data.item.conversation_parts")
    messages = []
    for number, value in enumerate(_list(parts.get("conversation_parts"), "parts"), 1):
        part = _map(value, f"conversation_parts.{number}")
        body = _text(part.get("body"), f"conversation_parts.{number}.body")
        if part.get("part_type") not in ("comment", "note") or not body.strip():
            continue
        who = _map(part.get("author"), f"conversation_parts.{number}.author")
        messages.append(
            NewMessage(
                body=_plain(body),
                author_kind="customer"
                if who.get("type") in ("user", "lead", "contact")
                else "agent",
                author=_text(who.get("email") or who.get("name"), "author", 320),
                at=_time(part.get("created_at"), f"conversation_parts.{number}.created_at"),
                public=part.get("part_type") == "comment",
                external_id=_text(part.get("id"), f"conversation_parts.{number}.id", 200),
            )
        )
    rating = _map(item.get("conversation_rating"), "data.item.conversation_rating")
    score = rating.get("rating")
    tags = _map(item.get("tags"), "data.item.tags")
    state = INTERCOM_STATE.get(str(item.get("state", "")), "")
    body = _plain(_text(source.get("body"), "data.item.source.body"))
    subject = _plain(_text(source.get("subject"), "data.item.source.subject", 500))
    return NewTicket(
        subject=subject or " ".join(body.split())[:80],
        body=body,
        requester_email=_text(author.get("email"), "data.item.source.author.email", 320),
        requester_name=_text(author.get("name"), "data.item.source.author.name", 200),
        requester_user_id=_text(author.get("external_id") or "", "external_id", 200),
        channel="chat",
        source="intercom",
        external_id=_text(item.get("id"), "data.item.id", 200),
        created_at=_time(item.get("created_at"), "data.item.created_at"),
        status=state if state != "open" else "",
        priority="high" if item.get("priority") == "priority" else "",
        tags=tuple(
            _text(_map(t, "tag").get("name"), "tag", 50)
            for t in _list(tags.get("tags"), "data.item.tags.tags")
        ),
        csat_rating=score if isinstance(score, int) and not isinstance(score, bool) else None,
        csat_comment=_text(rating.get("remark"), "conversation_rating.remark", 5000),
        messages=tuple(messages),
        solved_at=_time(item.get("updated_at"), "data.item.updated_at")
        if state == "solved"
        else None,
    )


def from_source(source: str, payload: Any) -> NewTicket:
    if not isinstance(payload, Mapping):
        raise InvalidInput("body", "is not a JSON object")
    if source == "zendesk":
        return from_zendesk(payload)
    if source == "intercom":
        return from_intercom(payload)
    return from_generic(payload, "generic")


CSV_COLUMNS = (
    "subject",
    "body",
    "requester_email",
    "requester_name",
    "requester_user_id",
    "channel",
    "created_at",
    "status",
    "priority",
    "category",
    "feature",
    "assignee",
    "queue",
    "tags",
    "csat_rating",
    "reply",
    "replied_at",
    "solved_at",
    "id",
)


def from_csv(text: str) -> tuple[list[tuple[int, NewTicket]], list[RowError]]:
    """Every readable row of a ticket CSV (see ``CSV_COLUMNS``; subject and body
    required), and the problems of the others, by line and field; ``ImportRefused`` when
    the file itself is unreadable. ``reply``/``replied_at`` is the agent's answer; ``tags``
    are separated by ``;``."""
    rows = csv_rows(text, ("subject", "body"))
    found, errors = [], []
    for line, row in rows:
        try:
            found.append((line, _csv_ticket(row)))
        except InvalidInput as exc:
            errors.append(RowError(line, exc.field, exc.message))
    return found, errors


def _csv_ticket(row: Mapping[str, str]) -> NewTicket:
    rating = row.get("csat_rating", "")
    if rating and not (rating.isdigit() and 1 <= int(rating) <= 5):
        raise InvalidInput("csat_rating", "is a whole number from 1 to 5")
    messages: tuple[NewMessage, ...] = ()
    if row.get("reply"):
        at = _time(row.get("replied_at"), "replied_at")
        messages = (NewMessage(row["reply"], "agent", row.get("assignee", ""), at),)
    return NewTicket(
        subject=row["subject"],
        body=row["body"],
        requester_email=row.get("requester_email", ""),
        requester_name=row.get("requester_name", ""),
        requester_user_id=row.get("requester_user_id", ""),
        channel=row.get("channel", "") or "email",
        source="csv",
        external_id=row.get("id", ""),
        created_at=_time(row.get("created_at"), "created_at"),
        status=row.get("status", ""),
        priority=row.get("priority", ""),
        category=row.get("category", ""),
        feature=row.get("feature", ""),
        assignee=row.get("assignee", ""),
        queue=row.get("queue", ""),
        tags=tuple(t.strip() for t in row.get("tags", "").split(";") if t.strip()),
        csat_rating=int(rating) if rating else None,
        messages=messages,
        solved_at=_time(row.get("solved_at"), "solved_at"),
    )
