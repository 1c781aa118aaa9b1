"""Scheduled jobs' runs and locks; the nightly revenue metrics; LTV and attribution
settings.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=20), nullable=False),
        sa.Column("last_summary", sa.String(length=1000), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_runs")),
    )
    op.create_table(
        "revenue_metrics_daily",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("spend", sa.BigInteger(), nullable=False),
        sa.Column("new_customers", sa.Integer(), nullable=False),
        sa.Column("new_mrr", sa.Numeric(20, 2), nullable=False),
        sa.Column("mrr", sa.Numeric(20, 2), nullable=True),
        sa.Column("customers", sa.Integer(), nullable=True),
        sa.Column("churned_customers", sa.Integer(), nullable=True),
        sa.Column("ltv", sa.Numeric(20, 2), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_revenue_metrics_daily_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "project_id", "day", "channel", name=op.f("pk_revenue_metrics_daily")
        ),
    )
    with op.batch_alter_table("revenue_settings") as batch:
        batch.add_column(
            sa.Column("gross_margin", sa.Integer(), nullable=False, server_default="100")
        )
        batch.add_column(
            sa.Column("attribution", sa.String(length=20), nullable=False,
                      server_default="first_touch")
        )  # fmt: skip
        batch.add_column(
            sa.Column("lookback_days", sa.Integer(), nullable=False, server_default="90")
        )


def downgrade() -> None:
    with op.batch_alter_table("revenue_settings") as batch:
        batch.drop_column("lookback_days")
        batch.drop_column("attribution")
        batch.drop_column("gross_margin")
    op.drop_table("revenue_metrics_daily")
    op.drop_table("job_runs")
