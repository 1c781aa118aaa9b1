"""Tables owned by the people area (private to it).

``person_summaries`` is the area's read model: one row per person with what search,
filters, the list and health need (identity fields copied from ingestion, activity,
billing and support signals, the health score and its parts), refreshed by the daily job
and on demand. Tags and the VIP mark are the team's own and are never overwritten by a
refresh. ``person_actions`` holds what the team did from the person page or a bulk
action (notes, e-mails, tags, VIP, tickets, billing requests): the timeline reads it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from loopwise.core.db import Base, UTCDateTime, utcnow

# Prefix search compares ranges of these keys (``key >= q AND key < q_next``): PostgreSQL
# must order them by code point, as SQLite does, for its index to answer that.
SearchKey = String(320).with_variant(String(320, collation="C"), "postgresql")


class PersonSummary(Base):
    """One person as the people area sees them; ``computed_at`` is the last refresh."""

    __tablename__ = "person_summaries"
    __table_args__ = (
        Index("ix_person_summaries_email", "project_id", "email"),
        Index("ix_person_summaries_name", "project_id", "name_key"),
        Index("ix_person_summaries_health", "project_id", "health"),
        Index("ix_person_summaries_last_seen", "project_id", "last_seen"),
        Index("ix_person_summaries_mrr", "project_id", "mrr_minor"),
        Index("ix_person_summaries_account", "project_id", "account"),
    )

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Identity, copied from the person's properties (lower-cased e-mail; name as given and
    # lower-cased for prefix search), the account they belong to, and when they appeared.
    email: Mapped[str] = mapped_column(SearchKey, default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    name_key: Mapped[str] = mapped_column(SearchKey, default="")
    account: Mapped[str] = mapped_column(String(200), default="")
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Product activity (merged ids included).
    first_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    active_days: Mapped[int] = mapped_column(Integer, default=0)  # distinct days with events
    active_days_28d: Mapped[int] = mapped_column(Integer, default=0)
    events_7d: Mapped[int] = mapped_column(Integer, default=0)
    weekly_baseline: Mapped[float] = mapped_column(Float, default=0.0)  # mean of the 4 weeks before
    sessions_30d: Mapped[int] = mapped_column(Integer, default=0)
    errors_7d: Mapped[int] = mapped_column(Integer, default=0)
    core_adopted: Mapped[int] = mapped_column(Integer, default=0)
    core_total: Mapped[int] = mapped_column(Integer, default=0)
    features: Mapped[list[str]] = mapped_column(JSON, default=list)  # used in 30 days
    # Billing (through revenue's facade), minor units of the project's currency.
    customer_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    billing_status: Mapped[str] = mapped_column(String(20), default="")
    plan: Mapped[str] = mapped_column(String(200), default="")
    mrr_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    churned_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    payment_failures_30d: Mapped[int] = mapped_column(Integer, default=0)
    open_failures: Mapped[int] = mapped_column(Integer, default=0)
    downgrades_30d: Mapped[int] = mapped_column(Integer, default=0)
    upgrades_30d: Mapped[int] = mapped_column(Integer, default=0)
    # Support (through support's facade).
    open_tickets: Mapped[int] = mapped_column(Integer, default=0)
    tickets_30d: Mapped[int] = mapped_column(Integer, default=0)
    negative_tickets_30d: Mapped[int] = mapped_column(Integer, default=0)
    # Health: 0-100, its band, its parts and reasons (contracts.Health as JSON).
    health: Mapped[int | None] = mapped_column(Integer, nullable=True)
    band: Mapped[str] = mapped_column(String(10), default="")
    health_detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The team's own marks.
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    vip: Mapped[bool] = mapped_column(Boolean, default=False)


class HealthPoint(Base):
    """A person's health score from a day on; a point is written only when it changed."""

    __tablename__ = "person_health_history"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(10))


class PersonAction(Base):
    """Something the team did to or about a person: a note, an e-mail, a tag, the VIP
    mark, a ticket created, a billing request; shown on the person's timeline."""

    __tablename__ = "person_actions"
    __table_args__ = (Index("ix_person_actions_person", "project_id", "person_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    person_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))  # contracts.ACTION_KINDS
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author: Mapped[str] = mapped_column(String(320), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FilterPreset(Base):
    """A saved filter of the people list, shared by everyone in the project."""

    __tablename__ = "people_filter_presets"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_people_presets_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # contracts.FilterSpec as JSON
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PeopleSettings(Base):
    """A project's health bands, component weights, VIP threshold and account property;
    a missing row means the defaults (``contracts.PeopleConfig``)."""

    __tablename__ = "people_settings"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    healthy_from: Mapped[int] = mapped_column(Integer, default=70)
    at_risk_from: Mapped[int] = mapped_column(Integer, default=40)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    vip_mrr_minor: Mapped[int] = mapped_column(BigInteger, default=50_000)
    account_property: Mapped[str] = mapped_column(String(200), default="company")
    # What an e-mail from the people area is sent from ("" = the instance's smtp_from).
    mail_from: Mapped[str] = mapped_column(String(320), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
