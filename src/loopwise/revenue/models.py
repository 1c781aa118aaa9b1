"""Tables owned by revenue (private to this area): the canonical billing objects, the
billing sources' settings, and the ledger of webhook events already applied.

Every canonical row keeps the source's object as received (``data``) beside the typed
columns the metrics read, and ``version_at``: the creation time of the source event that
last wrote it, so an older event delivered late never overwrites a newer state.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from loopwise.core.db import Base, UTCDateTime, utcnow


class BillingSource(Base):
    """A project's connection to a billing system (today: Stripe webhooks)."""

    __tablename__ = "billing_sources"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    # The webhook signing secrets (several while one is being rotated), sealed.
    signing_secrets: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SourceEvent(Base):
    """A webhook event already applied (deliveries are at least once)."""

    __tablename__ = "billing_source_events"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(40))  # applied, stale, ignored


class BillingObject(Base):
    """One billing object of a source (customer, subscription, invoice, charge, refund,
    credit note), its latest known state."""

    __tablename__ = "billing_objects"
    __table_args__ = (
        Index("ix_billing_objects_project_kind", "project_id", "kind"),
        Index("ix_billing_objects_customer", "project_id", "customer_id"),
        Index("ix_billing_objects_person", "project_id", "person_id"),
    )

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(100), default="")
    # For customers: the person they are (external user id, else e-mail), when known.
    person_id: Mapped[str] = mapped_column(String(36), default="")
    status: Mapped[str] = mapped_column(String(40), default="")
    currency: Mapped[str] = mapped_column(String(10), default="")
    # The amount that matters for the kind, in the currency's minor unit (cents):
    # invoices: amount due; charges: amount; refunds and credit notes: amount.
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    deleted: Mapped[bool] = mapped_column(default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    version_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PaymentFailure(Base):
    """A failed attempt to collect an invoice, with what the source said about it."""

    __tablename__ = "billing_payment_failures"
    __table_args__ = (
        Index("ix_billing_payment_failures_customer", "project_id", "customer_id"),
        UniqueConstraint("project_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(100))
    invoice_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str] = mapped_column(String(100))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(10))
    attempt_count: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failure_code: Mapped[str] = mapped_column(String(100), default="")
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BillingObjectVersion(Base):
    """Every state a billing object was seen in, for history (subscriptions' MRR over
    time is computed from these)."""

    __tablename__ = "billing_object_versions"
    __table_args__ = (
        Index("ix_billing_object_versions_object", "project_id", "kind", "external_id"),
        Index("ix_billing_object_versions_customer", "project_id", "customer_id"),
        Index("ix_billing_object_versions_latest", "project_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    external_id: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str] = mapped_column(String(100), default="")
    event_id: Mapped[str] = mapped_column(String(100))
    version_at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class RevenueSettings(Base):
    """A project's revenue conventions (``mrr.Conventions``); a missing row means the
    defaults."""

    __tablename__ = "revenue_settings"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    discounts: Mapped[str] = mapped_column(String(20), default="all")
    churn_at: Mapped[str] = mapped_column(String(20), default="end")
    past_due_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    currency: Mapped[str] = mapped_column(String(10), default="usd")
    # Gross margin in percent (LTV and CAC payback use it); 100 counts revenue as profit.
    gross_margin: Mapped[int] = mapped_column(Integer, default=100)
    attribution: Mapped[str] = mapped_column(String(20), default="first_touch")
    lookback_days: Mapped[int] = mapped_column(Integer, default=90)


class MarketingSpend(Base):
    """Money spent on a channel on a day (one row per day, channel and currency)."""

    __tablename__ = "marketing_spend"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    medium: Mapped[str] = mapped_column(String(200), primary_key=True)
    campaign: Mapped[str] = mapped_column(String(200), primary_key=True)
    currency: Mapped[str] = mapped_column(String(10), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units


class MetricsDaily(Base):
    """The nightly job's output: per day, per acquisition channel, what was spent and who
    was won; the row with ``channel = ""`` holds the day's totals (MRR, customers, LTV).
    Rewritten whole for a range by each run, so running it twice changes nothing."""

    __tablename__ = "revenue_metrics_daily"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(200), primary_key=True)
    currency: Mapped[str] = mapped_column(String(10))
    spend: Mapped[int] = mapped_column(BigInteger, default=0)  # minor units
    new_customers: Mapped[int] = mapped_column(Integer, default=0)
    new_mrr: Mapped[Decimal] = mapped_column(Numeric(20, 2), default=0)  # minor units
    # The day's totals (channel ""), as at the day's end:
    mrr: Mapped[Decimal | None] = mapped_column(Numeric(20, 2), nullable=True)
    customers: Mapped[int | None] = mapped_column(Integer, nullable=True)
    churned_customers: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ltv: Mapped[Decimal | None] = mapped_column(Numeric(20, 2), nullable=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Backfill(Base):
    """How far a backfill from a billing system's API has got, per resource, so a stopped
    run resumes where it was."""

    __tablename__ = "billing_backfills"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    resource: Mapped[str] = mapped_column(String(40), primary_key=True)
    cursor: Mapped[str] = mapped_column(String(255), default="")  # the last object id done
    seen: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Movement(Base):
    """One customer's MRR movement on a day: the MRR engine's ledger, stored so pages read
    it instead of recomputing it, and so every figure can be traced to its customer,
    subscriptions and rule."""

    __tablename__ = "revenue_movements"
    __table_args__ = (
        Index("ix_revenue_movements_day", "project_id", "day"),
        Index("ix_revenue_movements_customer", "project_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(String(100))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))  # new, expansion, contraction, churn, …
    before: Mapped[Decimal] = mapped_column(Numeric(20, 2))  # minor units
    after: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    # The part of after - before due to exchange rates alone (kind "fx" when all of it).
    fx: Mapped[Decimal] = mapped_column(Numeric(20, 2), default=0)
    # +1 when the customer starts paying, -1 when they stop, else 0 (customer counts).
    paying_delta: Mapped[int] = mapped_column(Integer)
    subscriptions: Mapped[list[str]] = mapped_column(JSON, default=list)


class LedgerCustomer(Base):
    """A customer's MRR now and the next moment it may change without a new event."""

    __tablename__ = "revenue_ledger_customers"
    __table_args__ = (Index("ix_revenue_ledger_customers_next", "project_id", "next_change_at"),)

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    customer_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    mrr: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    next_change_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LedgerState(Base):
    """How current a project's stored ledger is: the conventions and time zone it was
    computed under, and the last subscription version it has seen."""

    __tablename__ = "revenue_ledgers"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    rules_key: Mapped[str] = mapped_column(String(200))
    last_version_id: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FxRate(Base):
    """An exchange rate: reporting-currency units per unit of ``currency`` from ``day``
    (until the next rate for that currency)."""

    __tablename__ = "revenue_fx_rates"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(10), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 12))


class BillingRequest(Base):
    """A complimentary subscription or credit someone asked for (from the person page),
    recorded for whoever runs billing; nothing is written to the billing system."""

    __tablename__ = "billing_requests"
    __table_args__ = (Index("ix_billing_requests_person", "project_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    person_id: Mapped[str] = mapped_column(String(36))
    customer_id: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(20))  # complimentary, credit
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # credit amount
    currency: Mapped[str] = mapped_column(String(10), default="")
    months: Mapped[int] = mapped_column(Integer, default=0)  # complimentary months
    plan: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="requested")
    requested_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
