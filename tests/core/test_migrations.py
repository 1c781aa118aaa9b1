"""The app database schema comes from Alembic migrations, identical on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from loopwise.core import models  # noqa: F401
from loopwise.core.db import Base, make_engine, migrate
from loopwise.ingest import models as ingest_models  # noqa: F401
from loopwise.people import models as people_models  # noqa: F401
from loopwise.product import models as product_models  # noqa: F401
from loopwise.revenue import models as revenue_models  # noqa: F401
from loopwise.support import models as support_models  # noqa: F401


def test_migrations_create_every_table_and_match_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        migrate(engine)  # a second run is a no-op
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        assert "alembic_version" in tables
        with engine.connect() as connection:
            drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert drift == []
    finally:
        engine.dispose()
