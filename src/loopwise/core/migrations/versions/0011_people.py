"""People (user 360): person summaries, health history, the team's actions on persons,
shared filter presets and settings; revenue's recorded billing requests.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _project_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["project_id"], ["projects.id"], name=op.f(f"fk_{table}_project_id_projects"),
        ondelete="CASCADE",
    )  # fmt: skip


def _search_key() -> sa.types.TypeEngine[str]:
    return sa.String(length=320).with_variant(sa.String(length=320, collation="C"), "postgresql")


def upgrade() -> None:
    now = sa.DateTime(timezone=True)
    op.create_table(
        "billing_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", now, nullable=False),
        _project_fk("billing_requests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_requests")),
    )
    op.create_index("ix_billing_requests_person", "billing_requests", ["project_id", "person_id"])
    op.create_table(
        "people_filter_presets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("created_at", now, nullable=False),
        _project_fk("people_filter_presets"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_filter_presets")),
        sa.UniqueConstraint("project_id", "name", name="uq_people_presets_name"),
    )
    op.create_table(
        "people_settings",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("healthy_from", sa.Integer(), nullable=False),
        sa.Column("at_risk_from", sa.Integer(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("vip_mrr_minor", sa.BigInteger(), nullable=False),
        sa.Column("account_property", sa.String(length=200), nullable=False),
        sa.Column("mail_from", sa.String(length=320), nullable=False),
        sa.Column("updated_at", now, nullable=False),
        _project_fk("people_settings"),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_people_settings")),
    )
    op.create_table(
        "person_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", now, nullable=False),
        sa.Column("author", sa.String(length=320), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        _project_fk("person_actions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_actions")),
    )
    op.create_index("ix_person_actions_person", "person_actions", ["project_id", "person_id", "at"])
    op.create_table(
        "person_health_history",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("band", sa.String(length=10), nullable=False),
        _project_fk("person_health_history"),
        sa.PrimaryKeyConstraint(
            "project_id", "person_id", "day", name=op.f("pk_person_health_history")
        ),
    )
    counts = (
        "active_days", "active_days_28d", "events_7d", "sessions_30d", "errors_7d",
        "core_adopted", "core_total",
    )  # fmt: skip
    billing_counts = ("payment_failures_30d", "open_failures", "downgrades_30d", "upgrades_30d")
    support_counts = ("open_tickets", "tickets_30d", "negative_tickets_30d")
    op.create_table(
        "person_summaries",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("email", _search_key(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_key", _search_key(), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("created_at", now, nullable=True),
        sa.Column("first_seen", now, nullable=True),
        sa.Column("last_seen", now, nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in counts),
        sa.Column("weekly_baseline", sa.Float(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("customer_ids", sa.JSON(), nullable=False),
        sa.Column("billing_status", sa.String(length=20), nullable=False),
        sa.Column("plan", sa.String(length=200), nullable=False),
        sa.Column("mrr_minor", sa.BigInteger(), nullable=False),
        sa.Column("churned_on", sa.Date(), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in billing_counts),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in support_counts),
        sa.Column("health", sa.Integer(), nullable=True),
        sa.Column("band", sa.String(length=10), nullable=False),
        sa.Column("health_detail", sa.JSON(), nullable=False),
        sa.Column("computed_at", now, nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("vip", sa.Boolean(), nullable=False),
        _project_fk("person_summaries"),
        sa.PrimaryKeyConstraint("project_id", "person_id", name=op.f("pk_person_summaries")),
    )
    for name, column in (
        ("account", "account"), ("email", "email"), ("health", "health"),
        ("last_seen", "last_seen"), ("mrr", "mrr_minor"), ("name", "name_key"),
    ):  # fmt: skip
        op.create_index(f"ix_person_summaries_{name}", "person_summaries", ["project_id", column])


def downgrade() -> None:
    for table in (
        "person_summaries", "person_health_history", "person_actions", "people_settings",
        "people_filter_presets", "billing_requests",
    ):  # fmt: skip
        op.drop_table(table)
