"""Tables owned by support (private to this area): tickets, their messages and history,
the triage models, response templates, knowledge-base articles, the log of automatic
actions and suggestion feedback, saved inbox views and the project's support settings.

A ticket keeps its latest triage (``analysis``: every field with its confidence, and the
context gathered for it) beside the typed columns the inbox filters and the metrics read.
``label`` is the category an agent confirmed or corrected: the training data of the
project's triage model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from loopwise.core.db import Base, UTCDateTime, utcnow


class SupportSettings(Base):
    """A project's support configuration; one row, created with defaults on first use."""

    __tablename__ = "support_settings"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    # {"urgent": {"first_response": 60, "resolution": 480}, …} in minutes.
    sla: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # [{"category": "billing", "priority": "", "queue": "billing", "assignee": ""}, …]
    routing: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # {"invoice_request": {"enabled": true, "threshold": 0.9}, …}
    auto_resolution: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Inbound help-desk webhooks authenticate with this token (stored as a hash).
    inbound_token_hash: Mapped[str] = mapped_column(String(128), default="")
    reply_from: Mapped[str] = mapped_column(String(320), default="")
    llm_url: Mapped[str] = mapped_column(String(2000), default="")
    llm_model: Mapped[str] = mapped_column(String(200), default="")
    llm_key_sealed: Mapped[str] = mapped_column(String(2000), default="")
    # Requesters paying at least this MRR (minor units) are high-value: triage raises the
    # priority of their tickets by one step.
    vip_mrr_minor: Mapped[int] = mapped_column(Integer, default=50_000)
    # Where the monthly top-issues report goes (comma-separated e-mail addresses).
    report_to: Mapped[str] = mapped_column(String(2000), default="")
    report_sent_month: Mapped[str] = mapped_column(String(7), default="")  # "2026-10"
    # Ticket numbers are per project: the last one handed out.
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("project_id", "number"),
        Index("ix_tickets_project_status", "project_id", "status"),
        Index("ix_tickets_project_created", "project_id", "created_at"),
        Index("ix_tickets_person", "project_id", "person_id"),
        Index("ix_tickets_source", "project_id", "source", "external_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))  # api, agent, csv, generic, zendesk, …
    external_id: Mapped[str] = mapped_column(String(200), default="")
    requester_email: Mapped[str] = mapped_column(String(320), default="")
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    requester_user_id: Mapped[str] = mapped_column(String(200), default="")
    person_id: Mapped[str] = mapped_column(String(36), default="")
    subject: Mapped[str] = mapped_column(String(500))
    channel: Mapped[str] = mapped_column(String(20), default="email")
    status: Mapped[str] = mapped_column(String(10), default="new")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    category: Mapped[str] = mapped_column(String(50), default="")
    # The category an agent confirmed or set: the triage model's training label.
    label: Mapped[str] = mapped_column(String(50), default="")
    feature: Mapped[str] = mapped_column(String(100), default="")
    sentiment: Mapped[str] = mapped_column(String(10), default="")
    language: Mapped[str] = mapped_column(String(10), default="")
    queue: Mapped[str] = mapped_column(String(100), default="")
    assignee: Mapped[str] = mapped_column(String(320), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    known_issue: Mapped[str] = mapped_column(String(200), default="")
    csat_rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    csat_comment: Mapped[str] = mapped_column(Text, default="")
    analysis: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolution_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reopens: Mapped[int] = mapped_column(Integer, default=0)
    auto_resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    # The ticket's text as a sentence embedding (float32), for similar tickets; empty until
    # computed, and only where the embedding model is installed.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class TicketMessage(Base):
    __tablename__ = "ticket_messages"
    __table_args__ = (Index("ix_ticket_messages_ticket", "ticket_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    author_kind: Mapped[str] = mapped_column(String(10))  # customer, agent, system
    author: Mapped[str] = mapped_column(String(320), default="")
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=True)  # False: an internal note
    external_id: Mapped[str] = mapped_column(String(200), default="")
    delivery: Mapped[str] = mapped_column(String(200), default="")  # sent, failed: …
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketChange(Base):
    """A ticket's history: every status (and assignment) change, for wait times, reopen
    counts and the review of automatic actions."""

    __tablename__ = "ticket_changes"
    __table_args__ = (Index("ix_ticket_changes_ticket", "ticket_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(20))
    old: Mapped[str] = mapped_column(String(320), default="")
    new: Mapped[str] = mapped_column(String(320), default="")
    actor: Mapped[str] = mapped_column(String(320), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TriageModel(Base):
    """A trained triage classifier (a safe array format, never a pickle) and its
    evaluation on a held-out split."""

    __tablename__ = "triage_models"
    __table_args__ = (Index("ix_triage_models_project", "project_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    encoder: Mapped[str] = mapped_column(String(20))
    labels: Mapped[int] = mapped_column(Integer)  # labelled tickets it learnt from
    blob: Mapped[bytes] = mapped_column(LargeBinary)
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResponseTemplate(Base):
    __tablename__ = "response_templates"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(50), default="")
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KbArticle(Base):
    __tablename__ = "kb_articles"
    __table_args__ = (Index("ix_kb_articles_project", "project_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)  # markdown
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft, published
    category: Mapped[str] = mapped_column(String(50), default="")
    source_tickets: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SupportAction(Base):
    """What the copilot did or proposed on a ticket: an auto-resolution (with the intent,
    confidence and threshold that fired it) or a suggested reply and the agent's verdict
    (accepted, edited, rejected)."""

    __tablename__ = "support_actions"
    __table_args__ = (Index("ix_support_actions_project", "project_id", "kind", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # auto_resolution, suggestion
    intent: Mapped[str] = mapped_column(String(50), default="")
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    threshold: Mapped[float] = mapped_column(Float, default=0.0)
    outcome: Mapped[str] = mapped_column(String(20))  # resolved, reopened, accepted, …
    proposed: Mapped[str] = mapped_column(Text, default="")
    sent: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(320), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboxView(Base):
    """A saved inbox filter, shared in the project."""

    __tablename__ = "support_views"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(320), default="")
