"""Revenue tables: billing sources, applied webhook events, billing objects and their
versions, payment failures, revenue settings, marketing spend.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _project_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["project_id"],
        ["projects.id"],
        name=op.f(f"fk_{table}_project_id_projects"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "billing_sources",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("signing_secrets", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _project_fk("billing_sources"),
        sa.PrimaryKeyConstraint("project_id", "kind", name=op.f("pk_billing_sources")),
    )
    op.create_table(
        "billing_source_events",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        _project_fk("billing_source_events"),
        sa.PrimaryKeyConstraint("project_id", "event_id", name=op.f("pk_billing_source_events")),
    )
    op.create_table(
        "billing_objects",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("version_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _project_fk("billing_objects"),
        sa.PrimaryKeyConstraint(
            "project_id", "kind", "external_id", name=op.f("pk_billing_objects")
        ),
    )
    op.create_index("ix_billing_objects_project_kind", "billing_objects", ["project_id", "kind"])
    op.create_index("ix_billing_objects_customer", "billing_objects", ["project_id", "customer_id"])
    op.create_table(
        "billing_payment_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("invoice_id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("attempt_count", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_code", sa.String(length=100), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        _project_fk("billing_payment_failures"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_payment_failures")),
        sa.UniqueConstraint(
            "project_id", "event_id", name=op.f("uq_billing_payment_failures_project_id")
        ),
    )
    op.create_index(
        "ix_billing_payment_failures_customer",
        "billing_payment_failures",
        ["project_id", "customer_id"],
    )
    op.create_table(
        "billing_object_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("version_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _project_fk("billing_object_versions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_object_versions")),
    )
    op.create_index(
        "ix_billing_object_versions_object",
        "billing_object_versions",
        ["project_id", "kind", "external_id"],
    )
    op.create_table(
        "revenue_settings",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("discounts", sa.String(length=20), nullable=False),
        sa.Column("churn_at", sa.String(length=20), nullable=False),
        sa.Column("past_due_days", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=10), nullable=False),
        _project_fk("revenue_settings"),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_revenue_settings")),
    )
    op.create_table(
        "marketing_spend",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("medium", sa.String(length=200), nullable=False),
        sa.Column("campaign", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        _project_fk("marketing_spend"),
        sa.PrimaryKeyConstraint(
            "project_id",
            "day",
            "source",
            "medium",
            "campaign",
            "currency",
            name=op.f("pk_marketing_spend"),
        ),
    )


def downgrade() -> None:
    for table in (
        "marketing_spend", "revenue_settings", "billing_object_versions",
        "billing_payment_failures", "billing_objects", "billing_source_events", "billing_sources",
    ):  # fmt: skip
        op.drop_table(table)
