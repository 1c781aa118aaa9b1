"""Support pages: the inbox, the ticket card, a new ticket, and the forms agents post."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from loopwise.core.accounts import ProjectInfo
from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput
from loopwise.core.roles import Permission
from loopwise.support import facade
from loopwise.support.facade import InboxQuery, NewTicket, TicketCard
from loopwise.support.models import SupportSettings
from loopwise.web.context import AppContext
from loopwise.web.deps import (
    ContextDep,
    DbDep,
    Id,
    ProjectDep,
    Reader,
    SupportAgent,
    WarehouseDep,
    client_ip,
)
from loopwise.web.render import render, see_other

router = APIRouter()
Text = Annotated[str, Form(max_length=100_000)]
Short = Annotated[str, Form(max_length=320)]


def card_json(card: TicketCard) -> dict[str, Any]:
    t = card.ticket
    return {
        "id": t.id,
        "number": t.number,
        "subject": t.subject,
        "status": t.status,
        "priority": t.priority,
        "category": t.category,
        "label": t.label,
        "feature": t.feature,
        "sentiment": t.sentiment,
        "language": t.language,
        "queue": t.queue,
        "assignee": t.assignee,
        "tags": t.tags,
        "requester": {
            "email": t.requester_email,
            "name": t.requester_name,
            "user_id": t.requester_user_id,
            "person_id": t.person_id,
        },
        "created_at": t.created_at.isoformat(),
        "first_response_at": t.first_response_at.isoformat() if t.first_response_at else None,
        "solved_at": t.solved_at.isoformat() if t.solved_at else None,
        "first_response_due": t.first_response_due.isoformat() if t.first_response_due else None,
        "resolution_due": t.resolution_due.isoformat() if t.resolution_due else None,
        "auto_resolved": t.auto_resolved,
        "reopens": t.reopens,
        "triage": card.triage,
        "context": card.context,
        "auto_resolution": t.analysis.get("auto_resolution"),
        "messages": [
            {
                "id": m.id,
                "author_kind": m.author_kind,
                "author": m.author,
                "body": m.body,
                "public": m.public,
                "delivery": m.delivery,
                "at": m.at.isoformat(),
            }
            for m in card.messages
        ],
        "similar": [s.__dict__ for s in card.similar],
        "suggestion": {"text": card.suggestion.text, "source": card.suggestion.source},
        "articles": [{"id": i, "title": title} for i, title in card.articles],
    }


def settings_json(row: SupportSettings) -> dict[str, Any]:
    return {
        "categories": row.categories,
        "features": row.features,
        "sla": row.sla,
        "routing": row.routing,
        "auto_resolution": row.auto_resolution,
        "reply_from": row.reply_from,
        "report_to": row.report_to,
        "vip_mrr_minor": row.vip_mrr_minor,
        "inbound_token_set": bool(row.inbound_token_hash),
    }


def mailer_of(context: AppContext, project_id: int, db: Session) -> facade.Mailer | None:
    """The instance's SMTP server, sending from the project's reply address."""
    smtp = context.settings.smtp_url
    sender = facade.support_settings(db, project_id).reply_from or context.settings.smtp_from
    return facade.mailer(smtp.get_secret_value() if smtp else None, sender)


@router.get("/projects/{project_id}/support", response_class=HTMLResponse, include_in_schema=False)
def inbox_page(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    status: str = "unsolved",
    priority: str = "",
    category: str = "",
    queue: str = "",
    assignee: str = "",
    search: str = "",
    sort: str = "newest",
    page: str = "1",
) -> Response:
    form = {
        "status": status,
        "priority": priority,
        "category": category,
        "queue": queue,
        "assignee": assignee,
        "search": search,
        "sort": sort,
    }
    return _inbox(request, project, principal, db, form, page, {})


def _inbox(
    request: Request,
    project: ProjectInfo,
    principal: Any,
    db: Session,
    form: dict[str, str],
    page: str,
    errors: dict[str, str],
) -> Response:
    found = None
    try:
        if not (page.isascii() and page.isdigit()):
            raise InvalidInput("page", "is a whole number")
        query = InboxQuery(
            form["status"], form["priority"], form["category"], form["queue"],
            form["assignee"], "", form["search"].strip(), form["sort"], int(page),
        )  # fmt: skip
        found = facade.inbox_page(db, project.id, query)
    except InvalidInput as exc:
        errors = {**errors, exc.field: exc.message}
    settings = facade.support_settings(db, project.id)
    db.commit()
    values = {
        "project": project,
        "p": found,
        "form": form,
        "errors": errors,
        "categories": settings.categories,
        "views": facade.saved_views(db, project.id),
        "can_work": principal.can(Permission.WORK_TICKETS),
    }
    return render(request, "support/inbox.html", values, 200 if not errors else 422)


@router.post("/projects/{project_id}/support/views", include_in_schema=False)
def save_view(
    request: Request,
    project: ProjectDep,
    principal: SupportAgent,
    db: DbDep,
    name: Annotated[str, Form(max_length=100)] = "",
    status: Short = "unsolved",
    priority: Short = "",
    category: Short = "",
    queue: Short = "",
    assignee: Short = "",
    search: Short = "",
    sort: Short = "newest",
) -> Response:
    query = InboxQuery(status, priority, category, queue, assignee, "", search, sort)
    try:
        facade.save_view(db, project.id, name, query, principal.label)
    except InvalidInput as exc:
        db.rollback()
        form = {"status": status, "priority": priority, "category": category, "queue": queue,
                "assignee": assignee, "search": search, "sort": sort}  # fmt: skip
        return _inbox(request, project, principal, db, form, "1", {"view_name": exc.message})
    db.commit()
    return see_other(f"/projects/{project.id}/support?" + urlencode(query.as_dict()))


@router.post("/projects/{project_id}/support/views/{view_id}/delete", include_in_schema=False)
def delete_view(project: ProjectDep, principal: SupportAgent, view_id: Id, db: DbDep) -> Response:
    facade.delete_view(db, project.id, view_id)
    db.commit()
    return see_other(f"/projects/{project.id}/support")


@router.get(
    "/projects/{project_id}/support/new", response_class=HTMLResponse, include_in_schema=False
)
def new_ticket_page(request: Request, project: ProjectDep, principal: SupportAgent) -> Response:
    return render(request, "support/new.html", {"project": project, "form": {}, "errors": {}})


@router.post("/projects/{project_id}/support/new", include_in_schema=False)
def new_ticket_form(
    request: Request,
    project: ProjectDep,
    principal: SupportAgent,
    db: DbDep,
    context: ContextDep,
    warehouse: WarehouseDep,
    subject: Annotated[str, Form(max_length=500)] = "",
    body: Text = "",
    requester_email: Short = "",
    requester_name: Short = "",
    channel: Short = "email",
) -> Response:
    new = NewTicket(
        subject=subject,
        body=body,
        requester_email=requester_email,
        requester_name=requester_name,
        channel=channel,
        source="agent",
    )
    try:
        received = facade.receive_ticket(
            db, warehouse, project.id, new, utcnow(), mailer_of(context, project.id, db)
        )
    except InvalidInput as exc:
        db.rollback()
        form = {
            "subject": subject,
            "body": body,
            "requester_email": requester_email,
            "requester_name": requester_name,
            "channel": channel,
        }
        values = {"project": project, "form": form, "errors": {exc.field: exc.message}}
        return render(request, "support/new.html", values, 422)
    db.commit()
    return see_other(f"/projects/{project.id}/support/tickets/{received.ticket_id}")


def _card_page(
    request: Request,
    project: ProjectInfo,
    db: Session,
    ticket_id: int,
    principal: Any,
    errors: dict[str, str],
    status: int = 200,
    draft: str | None = None,
) -> Response:
    card = facade.ticket_card(db, project.id, ticket_id, principal.label)
    settings = facade.support_settings(db, project.id)
    db.commit()
    values = {
        "project": project,
        "c": card,
        "t": card.ticket,
        "errors": errors,
        "categories": settings.categories,
        "intents": list(facade.ROUTINE_INTENTS),
        "priorities": facade.PRIORITIES,
        "statuses": facade.STATUSES,
        "draft": card.suggestion.text if draft is None else draft,
        "can_work": principal.can(Permission.WORK_TICKETS),
        "llm": bool(settings.llm_url),
    }
    return render(request, "support/ticket.html", values, status)


@router.get(
    "/projects/{project_id}/support/tickets/{ticket_id}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def ticket_page(
    request: Request, project: ProjectDep, principal: Reader, ticket_id: Id, db: DbDep
) -> Response:
    return _card_page(request, project, db, ticket_id, principal, {})


@router.post("/projects/{project_id}/support/tickets/{ticket_id}/reply", include_in_schema=False)
def reply_form(
    request: Request,
    project: ProjectDep,
    principal: SupportAgent,
    ticket_id: Id,
    db: DbDep,
    context: ContextDep,
    body: Text = "",
    suggested: Text = "",
    suggestion_source: Short = "",
    status: Annotated[str, Form(max_length=10)] = "pending",
    note: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    try:
        facade.reply(
            db,
            principal.actor(client_ip(request)),
            project.id,
            ticket_id,
            body,
            utcnow(),
            mailer_of(context, project.id, db),
            status_after=status,
            public=not note,
            suggested=suggested,
            suggestion_source=suggestion_source,
        )
    except InvalidInput as exc:
        db.rollback()
        return _card_page(
            request, project, db, ticket_id, principal, {"reply": exc.message}, 422, draft=body
        )
    db.commit()
    return see_other(f"/projects/{project.id}/support/tickets/{ticket_id}#conversation")


@router.post("/projects/{project_id}/support/tickets/{ticket_id}/rewrite", include_in_schema=False)
def rewrite_form(
    request: Request,
    project: ProjectDep,
    principal: SupportAgent,
    ticket_id: Id,
    db: DbDep,
    context: ContextDep,
    body: Text = "",
) -> Response:
    """The card again, its reply box holding the language model's rewrite of the draft."""
    try:
        text = facade.rewrite_draft(db, project.id, ticket_id, body, context.settings.secret())
    except InvalidInput as exc:
        db.rollback()
        return _card_page(
            request, project, db, ticket_id, principal, {"reply": exc.message}, 422, draft=body
        )
    return _card_page(request, project, db, ticket_id, principal, {}, draft=text)


@router.post("/projects/{project_id}/support/tickets/{ticket_id}/dismiss", include_in_schema=False)
def dismiss_form(
    request: Request,
    project: ProjectDep,
    principal: SupportAgent,
    ticket_id: Id,
    db: DbDep,
    suggested: Text = "",
    suggestion_source: Short = "",
) -> Response:
    facade.reject_suggestion(
        db,
        principal.actor(client_ip(request)),
        project.id,
        ticket_id,
        suggested,
        suggestion_source,
        utcnow(),
    )
    db.commit()
    return see_other(f"/projects/{project.id}/support/tickets/{ticket_id}")


@router.post("/projects/{project_id}/support/tickets/{ticket_id}/change", include_in_schema=False)
def change_form(
    request: Request,
    project: ProjectDep,
    principal: SupportAgent,
    ticket_id: Id,
    db: DbDep,
    status: Short = "",
    category: Short = "",
    priority: Short = "",
    assignee: Short = "",
    queue: Short = "",
    known_issue: Short = "",
    escalate: Short = "",
) -> Response:
    fields = {
        k: v
        for k, v in (
            ("status", status),
            ("category", category),
            ("priority", priority),
            ("assignee", assignee),
            ("queue", queue),
            ("known_issue", known_issue),
        )
        if v
    }
    if escalate:
        fields |= {"priority": "urgent", "queue": "escalations"}
    try:
        facade.update_ticket(
            db, principal.actor(client_ip(request)), project.id, ticket_id, utcnow(), **fields
        )
    except InvalidInput as exc:
        db.rollback()
        return _card_page(request, project, db, ticket_id, principal, {exc.field: exc.message}, 422)
    db.commit()
    return see_other(f"/projects/{project.id}/support/tickets/{ticket_id}")
