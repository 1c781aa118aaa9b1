"""The support area's surface for the web layer, jobs and other areas.

Ticket intake (API, help-desk webhooks, CSV), the agent's work (replies, changes,
suggestions), the ticket card, the inbox, settings and templates, the triage model,
support metrics and the knowledge base. Returns contracts or small dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.csvfile import ImportRefused, RowError
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.core.notify import send_email
from loopwise.core.sealed import seal, unseal
from loopwise.core.security import new_token, same, token_hash
from loopwise.support import config, flow, inbox, kb, replies, similar, tickets
from loopwise.support.contracts import (
    PRIORITIES,
    ROUTINE_INTENTS,
    STATUSES,
    NewMessage,
    NewTicket,
    SimilarTicket,
    Suggestion,
    TicketContext,
)
from loopwise.support.flow import Mailer, Received
from loopwise.support.inbox import InboxPage, InboxQuery
from loopwise.support.intake import from_csv, from_source
from loopwise.support.models import (
    KbArticle,
    ResponseTemplate,
    SupportAction,
    SupportSettings,
    Ticket,
    TicketChange,
    TicketMessage,
    TriageModel,
)
from loopwise.support.signals import TicketSignals, ticket_signals
from loopwise.support.triage.encoders import default_encoder_name
from loopwise.support.triage.service import MIN_LABELS, TrainingOutcome, latest_model, train
from loopwise.warehouse import Warehouse

__all__ = [
    "PRIORITIES",
    "ROUTINE_INTENTS",
    "STATUSES",
    "ImportRefused",
    "InboxPage",
    "InboxQuery",
    "Mailer",
    "NewMessage",
    "NewTicket",
    "Received",
    "RowError",
    "TicketSignals",
    "TrainingOutcome",
    "from_source",
    "ticket_signals",
]


def mailer(smtp_url: str | None, sender: str) -> Mailer | None:
    """A mailer over the instance's SMTP server, or None when none is configured."""
    if not smtp_url:
        return None
    url = smtp_url

    def send(to: str, subject: str, text: str) -> None:
        send_email(url, sender, [to], subject, text)

    return send


def receive_ticket(
    session: Session,
    warehouse: Warehouse | None,
    project_id: int,
    new: NewTicket,
    now: datetime,
    send: Mailer | None = None,
) -> Received:
    return flow.receive(session, warehouse, project_id, new, now, send)


def record_ticket(session: Session, project_id: int, new: NewTicket, now: datetime) -> Received:
    """A ticket from the past (an import or the demo's history): stored with its
    conversation, statuses and labels as given, triaged for its analysis, never answered
    automatically, and without warehouse context (the import may run beside the server)."""
    return flow.receive(session, None, project_id, new, now, None, triage_it=False)


def import_tickets(
    session: Session, actor: Actor, project_id: int, text: str, now: datetime
) -> dict[str, int]:
    """A ticket CSV, all rows or none; the copilot triages but never answers imports."""
    rows, errors = from_csv(text)
    categories = list(config.settings_of(session, project_id).categories)
    for line, new in rows:
        try:
            tickets.check_ticket(new, categories)
        except InvalidInput as exc:
            errors.append(RowError(line, exc.field, exc.message))
    if errors:
        raise ImportRefused(sorted(errors, key=lambda e: e.line)[:200])
    created = sum(record_ticket(session, project_id, new, now).created for _, new in rows)
    audit.record(
        session,
        actor,
        "support.imported",
        f"{created} tickets",
        project_id=project_id,
        rows=len(rows),
        created=created,
    )
    return {"rows": len(rows), "created": created}


def customer_message(
    session: Session, project_id: int, ticket_id: int, message: NewMessage, now: datetime
) -> int:
    return flow.customer_message(session, project_id, ticket_id, message, now).id


reply = flow.reply
reject_suggestion = flow.reject_suggestion
update_ticket = flow.update
ticket_by_number = tickets.by_number
get_ticket = tickets.get


# --- the ticket card -------------------------------------------------------------------


@dataclass(frozen=True)
class CardMessage:
    id: int
    author_kind: str
    author: str
    body: str
    public: bool
    delivery: str
    at: datetime


@dataclass(frozen=True)
class TicketCard:
    ticket: Ticket
    messages: list[CardMessage]
    triage: dict[str, Any]
    context: dict[str, Any] | None
    similar: list[SimilarTicket]
    suggestion: Suggestion
    articles: list[tuple[int, str]]
    actions: list[dict[str, Any]] = field(default_factory=list)


def ticket_card(session: Session, project_id: int, ticket_id: int, agent: str = "") -> TicketCard:
    """Everything an agent needs on one card: the conversation, the triage with its
    confidences, the requester's context (as gathered at triage), similar solved tickets,
    a suggested reply and knowledge-base articles of the same type."""
    ticket = tickets.get(session, project_id, ticket_id)
    rows = tickets.messages(session, ticket.id)
    first = next((m.body for m in rows if m.author_kind == "customer"), "")
    found = similar.similar_tickets(
        session, project_id, f"{ticket.subject}\n{first}", exclude=ticket.id
    )
    stored = ticket.analysis.get("context")
    context = _context(stored) if isinstance(stored, dict) else None
    suggestion = replies.suggest(session, ticket, context, found, agent)
    return TicketCard(
        ticket=ticket,
        messages=[
            CardMessage(m.id, m.author_kind, m.author, m.body, m.public, m.delivery, m.created_at)
            for m in rows
        ],
        triage=dict(ticket.analysis.get("triage") or {}),
        context=stored if isinstance(stored, dict) else None,
        similar=found,
        suggestion=suggestion,
        articles=_articles(session, project_id, f"{ticket.subject}\n{first}", ticket.category),
        actions=_actions(session, ticket.id),
    )


def _context(stored: dict[str, Any]) -> TicketContext:
    from loopwise.support.contracts import RevenueContext

    revenue = stored.get("revenue")
    return TicketContext(
        person_id=str(stored.get("person_id", "")),
        name=str(stored.get("name", "")),
        email=str(stored.get("email", "")),
        revenue=RevenueContext(**{**revenue, "customer_ids": tuple(revenue["customer_ids"])})
        if isinstance(revenue, dict)
        else None,
        activity=None,
        open_tickets=(),
        gathered_at=str(stored.get("gathered_at", "")),
    )


def _articles(session: Session, project_id: int, text: str, category: str) -> list[tuple[int, str]]:
    """Published knowledge-base articles for the ticket: nearest by meaning, then its type."""
    return [(a.id, a.title) for a in kb.suggest_articles(session, project_id, text, category)]


def _actions(session: Session, ticket_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(SupportAction).where(SupportAction.ticket_id == ticket_id).order_by(SupportAction.id)
    ).all()
    return [
        {
            "kind": a.kind,
            "intent": a.intent,
            "outcome": a.outcome,
            "actor": a.actor,
            "confidence": a.confidence,
            "threshold": a.threshold,
            "at": a.at,
            "details": a.details,
        }
        for a in rows
    ]


def inbox_page(session: Session, project_id: int, query: InboxQuery) -> InboxPage:
    return inbox.inbox(session, project_id, query)


saved_views = inbox.views
save_view = inbox.save_view
delete_view = inbox.delete_view


def person_tickets(
    session: Session, project_id: int, person_id: str, limit: int = 20
) -> list[Ticket]:
    """A person's tickets, newest first (for the user-360 page)."""
    return list(
        session.scalars(
            select(Ticket)
            .where(Ticket.project_id == project_id)
            .where(Ticket.person_id == person_id)
            .order_by(Ticket.id.desc())
            .limit(limit)
        )
    )


# --- settings, inbound token, templates --------------------------------------------------


def support_settings(session: Session, project_id: int) -> SupportSettings:
    return config.settings_of(session, project_id)


def set_support_settings(
    session: Session,
    actor: Actor,
    project_id: int,
    *,
    categories: list[str] | None = None,
    features: list[str] | None = None,
    sla: dict[str, Any] | None = None,
    routing: list[dict[str, Any]] | None = None,
    auto_resolution: dict[str, Any] | None = None,
    reply_from: str | None = None,
    report_to: str | None = None,
    vip_mrr_minor: int | None = None,
) -> SupportSettings:
    row = config.settings_of(session, project_id)
    if categories is not None:
        row.categories = config.check_categories(categories)
    if features is not None:
        row.features = [f.strip()[:100] for f in features if f.strip()][:200]
    if sla is not None:
        row.sla = config.check_sla(sla)
    if routing is not None:
        row.routing = config.check_routing(routing, list(row.categories))
    if auto_resolution is not None:
        row.auto_resolution = config.check_auto_resolution(auto_resolution)
    if reply_from is not None:
        row.reply_from = reply_from.strip()[:320]
    if report_to is not None:
        row.report_to = report_to.strip()[:2000]
    if vip_mrr_minor is not None:
        if not 0 <= vip_mrr_minor <= 10**12:
            raise InvalidInput("vip_mrr_minor", "is from 0 to 10^12")
        row.vip_mrr_minor = vip_mrr_minor
    audit.record(
        session,
        actor,
        "support.settings_changed",
        f"project {project_id}",
        project_id=project_id,
        auto_resolution=row.auto_resolution,
    )
    return row


def set_language_model(
    session: Session,
    actor: Actor,
    project_id: int,
    secret_key: str,
    *,
    url: str,
    model: str = "",
    key: str | None = None,
) -> SupportSettings:
    """The OpenAI-compatible endpoint that may rewrite suggested replies (empty URL: off).
    ``key`` None keeps the stored key; it is kept sealed with the instance's secret."""
    url = url.strip()
    if url and (len(url) > 2000 or not url.startswith(("https://", "http://"))):
        raise InvalidInput("llm_url", "is an http(s) address of an OpenAI-compatible API")
    if len(model) > 200:
        raise InvalidInput("llm_model", "is longer than 200 characters")
    if key is not None and len(key) > 1000:
        raise InvalidInput("llm_key", "is longer than 1000 characters")
    row = config.settings_of(session, project_id)
    row.llm_url, row.llm_model = url, model.strip()
    if key is not None:
        row.llm_key_sealed = seal(secret_key, key) if key else ""
    audit.record(
        session,
        actor,
        "support.settings_changed",
        f"project {project_id}",
        project_id=project_id,
        language_model=url or "off",
    )
    return row


def rewrite_draft(
    session: Session, project_id: int, ticket_id: int, draft: str, secret_key: str
) -> str:
    """The draft rewritten by the project's language model; ``InvalidInput`` naming the
    draft when there is no model or it gave no usable answer."""
    row = config.settings_of(session, project_id)
    if not row.llm_url:
        raise InvalidInput("reply", "no language model is configured (Triage & settings)")
    if not draft.strip():
        raise InvalidInput("reply", "is empty: there is nothing to rewrite")
    ticket = tickets.get(session, project_id, ticket_id)
    key = unseal(secret_key, row.llm_key_sealed) if row.llm_key_sealed else ""
    try:
        return replies.rewrite(
            row.llm_url,
            row.llm_model,
            key,
            draft,
            tickets.first_customer_message(session, ticket.id),
        )
    except replies.RewriteFailed as exc:
        raise InvalidInput("reply", f"the language model did not rewrite it: {exc}") from None


def rotate_inbound_token(session: Session, actor: Actor, project_id: int) -> str:
    """A new token for help-desk webhooks (shown once; only its hash is kept)."""
    token = new_token("lwi_")
    config.settings_of(session, project_id).inbound_token_hash = token_hash(token)
    audit.record(
        session, actor, "support.token_rotated", f"project {project_id}", project_id=project_id
    )
    return token


def inbound_token_ok(session: Session, project_id: int, token: str) -> bool:
    row = session.get(SupportSettings, project_id)
    if row is None or not row.inbound_token_hash or not token:
        return False
    return same(row.inbound_token_hash, token_hash(token))


def templates(session: Session, project_id: int) -> list[ResponseTemplate]:
    return list(
        session.scalars(
            select(ResponseTemplate)
            .where(ResponseTemplate.project_id == project_id)
            .order_by(ResponseTemplate.name)
        )
    )


def save_template(
    session: Session, project_id: int, name: str, category: str, body: str, now: datetime
) -> ResponseTemplate:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 200:
        raise InvalidInput("name", "is 1 to 200 characters")
    if not body.strip() or len(body) > 20_000:
        raise InvalidInput("body", "is 1 to 20,000 characters")
    settings = config.settings_of(session, project_id)
    allowed = ["", *settings.categories, *ROUTINE_INTENTS]
    if category not in allowed:
        raise InvalidInput("category", "is an issue type or a routine intent")
    row = session.scalar(
        select(ResponseTemplate)
        .where(ResponseTemplate.project_id == project_id)
        .where(ResponseTemplate.name == name)
    )
    if row is None:
        row = ResponseTemplate(project_id=project_id, name=name)
        session.add(row)
    row.category, row.body, row.updated_at = category, body, now
    session.flush()
    return row


def delete_template(session: Session, project_id: int, template_id: int) -> None:
    row = session.get(ResponseTemplate, template_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"template {template_id}")
    session.delete(row)


# --- the triage model ---------------------------------------------------------------


@dataclass(frozen=True)
class ModelStatus:
    labelled: int
    needed: int
    encoder_available: str
    model_id: int | None
    encoder: str
    trained_at: datetime | None
    labels: int
    evaluation: dict[str, Any]


def model_status(session: Session, project_id: int) -> ModelStatus:
    count = session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.project_id == project_id)
        .where(Ticket.label != "")
    )
    row = latest_model(session, project_id)
    return ModelStatus(
        labelled=int(count or 0),
        needed=MIN_LABELS,
        encoder_available=default_encoder_name(),
        model_id=row.id if row else None,
        encoder=row.encoder if row else "",
        trained_at=row.trained_at if row else None,
        labels=row.labels if row else 0,
        evaluation=dict(row.evaluation) if row else {},
    )


def train_model(session: Session, actor: Actor, project_id: int, now: datetime) -> TrainingOutcome:
    return train(session, actor, project_id, now)


def support_projects(session: Session) -> list[int]:
    """Projects with labelled tickets, for the retraining job."""
    return [
        int(p)
        for p in session.scalars(select(Ticket.project_id).where(Ticket.label != "").distinct())
    ]


def erase_support(session: Session, actor: Actor, project_id: int, reason: str) -> int:
    """Delete every ticket of the project and what hangs off it (the demo's reload)."""
    count = int(
        session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.project_id == project_id)
        )
        or 0
    )
    for table in (SupportAction, TicketChange, TicketMessage, KbArticle, TriageModel):
        session.execute(delete(table).where(table.project_id == project_id))
    session.execute(delete(Ticket).where(Ticket.project_id == project_id))
    row = session.get(SupportSettings, project_id)
    if row is not None:
        row.last_number = 0
    similar.forget(project_id)
    audit.record(
        session,
        actor,
        "support.erased",
        f"project {project_id}",
        project_id=project_id,
        tickets=count,
        reason=reason[:200],
    )
    return count


def ticket_requester(session: Session, project_id: int, number: int) -> str | None:
    """The person who asked ticket ``number`` of the project; None when there is no such
    ticket or its requester is not a known person (for search by ticket number)."""
    if not 1 <= number <= 2**31 - 1:
        return None
    person = session.scalar(
        select(Ticket.person_id)
        .where(Ticket.project_id == project_id)
        .where(Ticket.number == number)
    )
    return str(person) if person else None


# --- one person's tickets and messages to them (the person page) -----------------------------

OPEN_STATUSES = ("new", "open", "pending")


@dataclass(frozen=True)
class TicketBrief:
    id: int
    number: int
    subject: str
    status: str
    priority: str
    category: str
    created_at: datetime
    solved_at: datetime | None


@dataclass(frozen=True)
class PersonSupport:
    """A person's tickets in figures: how many, how many open, how long solving took."""

    total: int
    open: int
    solved: int
    mean_resolution_s: float | None  # created to solved, over their solved tickets
    oldest_open: TicketBrief | None
    latest: tuple[TicketBrief, ...]  # newest first


def _brief(row: Ticket) -> TicketBrief:
    return TicketBrief(row.id, row.number, row.subject, row.status, row.priority, row.category,
                       row.created_at, row.solved_at)  # fmt: skip


def person_support(
    session: Session, project_id: int, person_id: str, *, latest: int = 5
) -> PersonSupport:
    """The figures of a person's tickets (through the person index: a person has few)."""
    rows = [_brief(t) for t in person_tickets(session, project_id, person_id, limit=10_000)]
    solved = [t for t in rows if t.solved_at is not None and t.status in ("solved", "closed")]
    durations = [(t.solved_at - t.created_at).total_seconds() for t in solved if t.solved_at]
    waiting = sorted((t for t in rows if t.status in OPEN_STATUSES), key=lambda t: t.created_at)
    return PersonSupport(
        total=len(rows), open=len(waiting), solved=len(solved),
        mean_resolution_s=sum(durations) / len(durations) if durations else None,
        oldest_open=waiting[0] if waiting else None, latest=tuple(rows[:latest]),
    )  # fmt: skip


def person_ticket_events(
    session: Session, project_id: int, person_id: str, start: datetime, end: datetime
) -> list[TicketBrief]:
    """A person's tickets created or solved in [start, end), newest id first."""
    rows = session.scalars(
        select(Ticket).where(Ticket.project_id == project_id, Ticket.person_id == person_id)
        .where(((Ticket.created_at >= start) & (Ticket.created_at < end))
               | ((Ticket.solved_at >= start) & (Ticket.solved_at < end)))
        .order_by(Ticket.id.desc())
    )  # fmt: skip
    return [_brief(t) for t in rows]


def fill_template(
    session: Session, project_id: int, template_id: int, values: dict[str, str]
) -> tuple[str, str] | None:
    """A response template of the project, by id, as (name, body with its ``{{ variable }}``
    placeholders filled from ``values``); None when the project has no such template."""
    row = session.get(ResponseTemplate, template_id)
    if row is None or row.project_id != project_id:
        return None
    return row.name, replies.fill(row.body, values)


def fill_text(text: str, values: dict[str, str]) -> str:
    """Text with its ``{{ variable }}`` placeholders filled as in response templates
    (unknown or empty ones are left visible)."""
    return replies.fill(text, values)
