"""The stored MRR ledger: movements, each customer's current MRR and next change, how
current the ledger is, and exchange rates.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
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
    with op.batch_alter_table("billing_object_versions") as batch:
        batch.add_column(
            sa.Column("customer_id", sa.String(length=100), nullable=False, server_default="")
        )
    _fill_customers()
    op.create_index(
        "ix_billing_object_versions_customer",
        "billing_object_versions",
        ["project_id", "customer_id"],
    )
    op.create_index(
        "ix_billing_object_versions_latest", "billing_object_versions", ["project_id", "kind", "id"]
    )
    op.create_table(
        "revenue_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("before", sa.Numeric(20, 2), nullable=False),
        sa.Column("after", sa.Numeric(20, 2), nullable=False),
        sa.Column("fx", sa.Numeric(20, 2), nullable=False),
        sa.Column("paying_delta", sa.Integer(), nullable=False),
        sa.Column("subscriptions", sa.JSON(), nullable=False),
        _project_fk("revenue_movements"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revenue_movements")),
    )
    op.create_index("ix_revenue_movements_day", "revenue_movements", ["project_id", "day"])
    op.create_index(
        "ix_revenue_movements_customer", "revenue_movements", ["project_id", "customer_id"]
    )
    op.create_table(
        "revenue_ledger_customers",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(length=100), nullable=False),
        sa.Column("mrr", sa.Numeric(20, 2), nullable=False),
        sa.Column("next_change_at", sa.DateTime(timezone=True), nullable=True),
        _project_fk("revenue_ledger_customers"),
        sa.PrimaryKeyConstraint(
            "project_id", "customer_id", name=op.f("pk_revenue_ledger_customers")
        ),
    )
    op.create_index(
        "ix_revenue_ledger_customers_next",
        "revenue_ledger_customers",
        ["project_id", "next_change_at"],
    )
    op.create_table(
        "revenue_fx_rates",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=10), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rate", sa.Numeric(24, 12), nullable=False),
        _project_fk("revenue_fx_rates"),
        sa.PrimaryKeyConstraint("project_id", "currency", "day", name=op.f("pk_revenue_fx_rates")),
    )
    op.create_table(
        "revenue_ledgers",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("rules_key", sa.String(length=200), nullable=False),
        sa.Column("last_version_id", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        _project_fk("revenue_ledgers"),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_revenue_ledgers")),
    )


def _fill_customers() -> None:
    """Versions stored before this revision: their customer, from the object's JSON."""
    bind = op.get_bind()
    versions = sa.table(
        "billing_object_versions",
        sa.column("id", sa.Integer()),
        sa.column("data", sa.JSON()),
        sa.column("customer_id", sa.String()),
    )
    rows = bind.execute(sa.select(versions.c.id, versions.c.data)).all()
    for version_id, data in rows:
        customer = data.get("customer") if isinstance(data, dict) else None
        if isinstance(customer, dict):
            customer = customer.get("id")
        if customer:
            bind.execute(
                sa.update(versions)
                .where(versions.c.id == version_id)
                .values(customer_id=str(customer)[:100])
            )


def downgrade() -> None:
    for table in (
        "revenue_ledgers", "revenue_fx_rates", "revenue_ledger_customers", "revenue_movements",
    ):  # fmt: skip
        op.drop_table(table)
    op.drop_index("ix_billing_object_versions_latest", "billing_object_versions")
    op.drop_index("ix_billing_object_versions_customer", "billing_object_versions")
    with op.batch_alter_table("billing_object_versions") as batch:
        batch.drop_column("customer_id")
