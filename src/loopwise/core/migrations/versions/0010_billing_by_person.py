"""Billing objects by person: a person's customers (for support's ticket context and the
person page) are found through an index instead of a scan of the project's customers.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_billing_objects_person", "billing_objects", ["project_id", "person_id"])


def downgrade() -> None:
    op.drop_index("ix_billing_objects_person", "billing_objects")
