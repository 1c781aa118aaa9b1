"""Support's JSON API: tickets in (REST, help-desk webhooks, CSV), the agent's work on
them, settings, templates and the triage model. The pages are in ``pages.py``."""

from __future__ import annotations

import json
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput
from loopwise.core.jobs import Job
from loopwise.support import facade
from loopwise.support.facade import ImportRefused, InboxQuery, NewMessage
from loopwise.support.jobs import JOBS
from loopwise.support.web import insights, kb_pages, pages, settings_pages
from loopwise.web.area import Area, NavItem
from loopwise.web.bodies import read_capped
from loopwise.web.deps import (
    ContextDep,
    DbDep,
    Id,
    ProjectDep,
    Reader,
    SettingsEditor,
    SupportAgent,
    WarehouseDep,
    client_ip,
)

router = APIRouter(tags=["support"])
router.include_router(pages.router)
router.include_router(insights.router)
router.include_router(settings_pages.router)
router.include_router(kb_pages.router)
MAX_TICKET = 2_000_000
MAX_IMPORT = 20_000_000


async def _json_body(request: Request, limit: int) -> Any:
    raw = await read_capped(request, limit)
    if raw is None:
        raise InvalidInput("body", f"is larger than {limit // 1_000_000} MB")
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidInput("body", "is not valid JSON") from None


def _received(received: facade.Received) -> dict[str, Any]:
    return {
        "id": received.ticket_id,
        "number": received.number,
        "created": received.created,
        "auto_resolved": received.auto_resolved,
        "triage": received.triage,
    }


@router.post("/api/projects/{project_id}/tickets", status_code=201)
async def create_ticket(
    request: Request,
    project: ProjectDep,
    principal: SupportAgent,
    db: DbDep,
    context: ContextDep,
    warehouse: WarehouseDep,
) -> JSONResponse:
    """A ticket in Loopwise's own shape (see docs/support.md): triaged, routed, and
    answered automatically where an enabled routine intent is confident enough. A repeat
    with the same ``id`` adds only new messages (200 instead of 201)."""
    payload = await _json_body(request, MAX_TICKET)
    new = facade.from_source("generic", payload)
    new = facade.NewTicket(**{**new.__dict__, "source": "api"})
    received = facade.receive_ticket(
        db, warehouse, project.id, new, utcnow(), pages.mailer_of(context, project.id, db)
    )
    db.commit()
    return JSONResponse(_received(received), status_code=201 if received.created else 200)


@router.post("/api/projects/{project_id}/support/inbound/{source}")
async def inbound_webhook(
    request: Request,
    project_id: Id,
    source: str,
    db: DbDep,
    context: ContextDep,
    warehouse: WarehouseDep,
) -> JSONResponse:
    """A help desk's webhook (``generic``, ``zendesk`` or ``intercom``), authenticated by
    the project's inbound token: ``Authorization: Bearer <token>``, or ``?token=`` for
    senders that cannot set headers. 401 without a valid token; 404 for an unknown source."""
    if source not in ("generic", "zendesk", "intercom"):
        return JSONResponse(
            {"error": "source", "message": "is generic, zendesk or intercom"}, status_code=404
        )
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    token = token or request.query_params.get("token", "")
    if not facade.inbound_token_ok(db, project_id, token):
        return JSONResponse(
            {"error": "token", "message": "missing or not this project's inbound token"},
            status_code=401,
        )
    payload = await _json_body(request, MAX_TICKET)
    new = facade.from_source(source, payload)
    received = facade.receive_ticket(
        db, warehouse, project_id, new, utcnow(), pages.mailer_of(context, project_id, db)
    )
    db.commit()
    return JSONResponse(_received(received), status_code=201 if received.created else 200)


@router.post("/api/projects/{project_id}/support/import")
async def import_tickets(
    request: Request, project: ProjectDep, principal: SettingsEditor, db: DbDep
) -> JSONResponse:
    """Tickets as CSV (columns in docs/support.md): all rows or none, each bad line named."""
    raw = await read_capped(request, MAX_IMPORT)
    if raw is None:
        raise InvalidInput("body", "is larger than 20 MB")
    try:
        answer = facade.import_tickets(
            db,
            principal.actor(client_ip(request)),
            project.id,
            raw.decode("utf-8-sig", "replace"),
            utcnow(),
        )
    except ImportRefused as exc:
        db.rollback()
        errors = [{"line": e.line, "field": e.field, "message": e.message} for e in exc.errors]
        return JSONResponse({"error": "import refused", "errors": errors}, status_code=422)
    db.commit()
    return JSONResponse(answer)


@router.get("/api/projects/{project_id}/tickets")
def list_tickets(
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
    page: int = 1,
) -> JSONResponse:
    query = InboxQuery(status, priority, category, queue, assignee, "", search, sort, page)
    found = facade.inbox_page(db, project.id, query)
    return JSONResponse(
        {"total": found.total, "counts": found.counts, "tickets": [r.__dict__ for r in found.rows]}
    )


@router.get("/api/projects/{project_id}/tickets/{ticket_id}")
def ticket_api(
    request: Request, project: ProjectDep, principal: Reader, ticket_id: Id, db: DbDep
) -> JSONResponse:
    """The ticket card: conversation, triage, context, similar tickets, suggested reply."""
    card = facade.ticket_card(db, project.id, ticket_id, principal.label)
    db.commit()  # keeps embeddings computed for the similarity index
    return JSONResponse(pages.card_json(card))


class CustomerMessageIn(BaseModel):
    body: Annotated[str, Field(min_length=1, max_length=100_000)]
    author: Annotated[str, Field(max_length=320)] = ""
    id: Annotated[str, Field(max_length=200)] = ""


@router.post("/api/projects/{project_id}/tickets/{ticket_id}/messages", status_code=201)
def customer_message(
    body: CustomerMessageIn,
    project: ProjectDep,
    principal: SupportAgent,
    ticket_id: Id,
    db: DbDep,
) -> JSONResponse:
    """A customer's further message (reopens a solved ticket)."""
    message = NewMessage(body.body, "customer", body.author, None, True, body.id)
    message_id = facade.customer_message(db, project.id, ticket_id, message, utcnow())
    db.commit()
    return JSONResponse({"id": message_id}, status_code=201)


class ReplyIn(BaseModel):
    body: Annotated[str, Field(min_length=1, max_length=100_000)]
    status: Annotated[str, Field(max_length=10)] = "pending"
    public: bool = True
    suggested: Annotated[str, Field(max_length=100_000)] = ""
    suggestion_source: Annotated[str, Field(max_length=200)] = ""


@router.post("/api/projects/{project_id}/tickets/{ticket_id}/replies", status_code=201)
def reply_api(
    request: Request,
    body: ReplyIn,
    project: ProjectDep,
    principal: SupportAgent,
    ticket_id: Id,
    db: DbDep,
    context: ContextDep,
) -> JSONResponse:
    """An agent's reply, e-mailed to the requester (or an internal note with
    ``public: false``); ``suggested`` is the draft the agent started from, if any."""
    row = facade.reply(
        db,
        principal.actor(client_ip(request)),
        project.id,
        ticket_id,
        body.body,
        utcnow(),
        pages.mailer_of(context, project.id, db),
        status_after=body.status,
        public=body.public,
        suggested=body.suggested,
        suggestion_source=body.suggestion_source,
    )
    db.commit()
    return JSONResponse({"id": row.id, "delivery": row.delivery}, status_code=201)


class TicketChangeIn(BaseModel):
    status: Annotated[str | None, Field(max_length=10)] = None
    category: Annotated[str | None, Field(max_length=50)] = None
    priority: Annotated[str | None, Field(max_length=10)] = None
    feature: Annotated[str | None, Field(max_length=100)] = None
    assignee: Annotated[str | None, Field(max_length=320)] = None
    queue: Annotated[str | None, Field(max_length=100)] = None
    known_issue: Annotated[str | None, Field(max_length=200)] = None


@router.patch("/api/projects/{project_id}/tickets/{ticket_id}")
def change_ticket(
    request: Request,
    body: TicketChangeIn,
    project: ProjectDep,
    principal: SupportAgent,
    ticket_id: Id,
    db: DbDep,
) -> JSONResponse:
    """Change status, type (becomes the training label), priority, feature, assignee,
    queue or known issue."""
    fields = {k: v for k, v in body.model_dump().items() if v is not None}
    ticket = facade.update_ticket(
        db, principal.actor(client_ip(request)), project.id, ticket_id, utcnow(), **fields
    )
    db.commit()
    return JSONResponse(
        {
            "id": ticket.id,
            "status": ticket.status,
            "category": ticket.category,
            "label": ticket.label,
            "priority": ticket.priority,
        }
    )


class SupportSettingsIn(BaseModel):
    categories: list[Annotated[str, Field(max_length=50)]] | None = Field(None, max_length=50)
    features: list[Annotated[str, Field(max_length=100)]] | None = Field(None, max_length=200)
    sla: dict[str, dict[str, int | None]] | None = None
    routing: list[dict[str, str]] | None = Field(None, max_length=100)
    auto_resolution: dict[str, dict[str, Any]] | None = None
    reply_from: Annotated[str | None, Field(max_length=320)] = None
    report_to: Annotated[str | None, Field(max_length=2000)] = None
    vip_mrr_minor: int | None = None


@router.put("/api/projects/{project_id}/support/settings")
def settings_api(
    request: Request,
    body: SupportSettingsIn,
    project: ProjectDep,
    principal: SettingsEditor,
    db: DbDep,
) -> JSONResponse:
    """Issue types, features, SLA targets (minutes), routing rules, auto-resolution per
    routine intent (enabled, threshold, link), reply address and report recipients."""
    row = facade.set_support_settings(
        db, principal.actor(client_ip(request)), project.id, **body.model_dump(exclude_none=True)
    )
    db.commit()
    return JSONResponse(pages.settings_json(row))


class LanguageModelIn(BaseModel):
    url: Annotated[str, Field(max_length=2000)] = ""
    model: Annotated[str, Field(max_length=200)] = ""
    key: Annotated[str | None, Field(max_length=1000)] = None


@router.put("/api/projects/{project_id}/support/language-model")
def language_model_api(
    request: Request,
    body: LanguageModelIn,
    project: ProjectDep,
    principal: SettingsEditor,
    db: DbDep,
    context: ContextDep,
) -> JSONResponse:
    """An OpenAI-compatible endpoint (its base URL, model and key) that may rewrite
    suggested replies; an empty URL turns it off. The key is stored sealed, never shown."""
    row = facade.set_language_model(
        db,
        principal.actor(client_ip(request)),
        project.id,
        context.settings.secret(),
        url=body.url,
        model=body.model,
        key=body.key,
    )
    db.commit()
    return JSONResponse(
        {"url": row.llm_url, "model": row.llm_model, "key_set": bool(row.llm_key_sealed)}
    )


class RewriteIn(BaseModel):
    draft: Annotated[str, Field(max_length=100_000)]


@router.post("/api/projects/{project_id}/tickets/{ticket_id}/rewrite")
def rewrite_api(
    body: RewriteIn,
    project: ProjectDep,
    principal: SupportAgent,
    ticket_id: Id,
    db: DbDep,
    context: ContextDep,
) -> JSONResponse:
    """The draft rewritten by the project's language model (only the draft and the
    customer's first message are sent to it); nothing is stored or sent to the customer."""
    text = facade.rewrite_draft(db, project.id, ticket_id, body.draft, context.settings.secret())
    db.commit()
    return JSONResponse({"text": text})


@router.post("/api/projects/{project_id}/support/inbound-token")
def inbound_token(
    request: Request, project: ProjectDep, principal: SettingsEditor, db: DbDep
) -> JSONResponse:
    """A new inbound webhook token; the old one stops working. Shown once."""
    token = facade.rotate_inbound_token(db, principal.actor(client_ip(request)), project.id)
    db.commit()
    return JSONResponse({"token": token})


@router.post("/api/projects/{project_id}/support/model/train")
def train_api(
    request: Request, project: ProjectDep, principal: SettingsEditor, db: DbDep
) -> JSONResponse:
    """Train the triage model on the project's labelled tickets now."""
    outcome = facade.train_model(db, principal.actor(client_ip(request)), project.id, utcnow())
    db.commit()
    return JSONResponse(
        {
            "model": outcome.model_id,
            "labels": outcome.labels,
            "encoder": outcome.encoder,
            "evaluation": outcome.evaluation,
        }
    )


@router.get("/api/projects/{project_id}/support/model")
def model_api(project: ProjectDep, principal: Reader, db: DbDep) -> JSONResponse:
    status = facade.model_status(db, project.id)
    return JSONResponse(
        {
            **status.__dict__,
            "trained_at": status.trained_at.isoformat() if status.trained_at else None,
        }
    )


area = Area(
    name="support",
    router=router,
    templates=FilePath(__file__).parent / "templates",
    nav=(NavItem("Support", "/support"),),
    jobs=tuple(JOBS),
)

__all__ = ["Job", "area"]
