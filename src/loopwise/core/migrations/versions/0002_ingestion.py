"""Ingestion tables: persons, distinct ids, person overrides, privacy settings, salts, counts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
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
        "persons",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("is_identified", sa.Boolean(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _project_fk("persons"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
    )
    op.create_index("ix_persons_project_id_created_at", "persons", ["project_id", "created_at"])
    op.create_table(
        "person_distinct_ids",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("distinct_id", sa.String(length=200), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        _project_fk("person_distinct_ids"),
        sa.PrimaryKeyConstraint("project_id", "distinct_id", name=op.f("pk_person_distinct_ids")),
    )
    op.create_index("ix_person_distinct_ids_person_id", "person_distinct_ids", ["person_id"])
    op.create_table(
        "person_overrides",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("old_person_id", sa.String(length=36), nullable=False),
        sa.Column("override_person_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("squashed_at", sa.DateTime(timezone=True), nullable=True),
        _project_fk("person_overrides"),
        sa.PrimaryKeyConstraint("project_id", "old_person_id", name=op.f("pk_person_overrides")),
    )
    op.create_index(
        "ix_person_overrides_override", "person_overrides", ["project_id", "override_person_id"]
    )
    op.create_table(
        "ingest_settings",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("require_consent", sa.Boolean(), nullable=False),
        sa.Column("ip_mode", sa.String(length=16), nullable=False),
        sa.Column("cookieless", sa.Boolean(), nullable=False),
        sa.Column("scrub_pii", sa.Boolean(), nullable=False),
        sa.Column("denylist", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _project_fk("ingest_settings"),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_ingest_settings")),
    )
    op.create_table(
        "cookieless_salts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("salt", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_cookieless_salts")),
    )
    op.create_table(
        "ingest_counts",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        _project_fk("ingest_counts"),
        sa.PrimaryKeyConstraint(
            "project_id", "hour", "outcome", "reason", name=op.f("pk_ingest_counts")
        ),
    )
    op.create_table(
        "ingest_rejections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("field", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        _project_fk("ingest_rejections"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_rejections")),
    )
    op.create_index("ix_ingest_rejections_project_id_at", "ingest_rejections", ["project_id", "at"])


def downgrade() -> None:
    for table in (
        "ingest_rejections",
        "ingest_counts",
        "cookieless_salts",
        "ingest_settings",
        "person_overrides",
        "person_distinct_ids",
        "persons",
    ):
        op.drop_table(table)
