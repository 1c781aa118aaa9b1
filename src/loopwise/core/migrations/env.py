"""Alembic environment: runs against the engine handed over by ``loopwise.core.db.migrate``."""

from __future__ import annotations

from alembic import context

from loopwise.core import models  # noqa: F401  (registers every table on the metadata)
from loopwise.core.db import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
