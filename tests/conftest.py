"""Shared fixtures: settings, app databases on SQLite and PostgreSQL, a running app.

Every test that touches the app database runs twice, on SQLite and on PostgreSQL, each in
its own database file or schema. PostgreSQL is expected at 127.0.0.1:5432 (trust auth);
``LOOPWISE_TEST_PG_URL`` points elsewhere. Where it is missing, CI fails and a developer
machine skips with the reason.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from loopwise.core.settings import Settings, load_settings
from loopwise.warehouse import Warehouse, open_warehouse
from loopwise.warehouse.chdb_store import open_chdb
from loopwise.web.app import create_app
from loopwise.web.context import AppContext, open_context

PG_URL = os.environ.get(
    "LOOPWISE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/loopwise_test"
)
IN_CI = os.environ.get("CI") == "true"
# No per-example deadline: speed is measured by benchmarks, never asserted by tests, and a
# loaded CI machine would make a deadline fail at random.
hypothesis.settings.register_profile("loopwise", deadline=None)
hypothesis.settings.load_profile("loopwise")
ENGINES = ("duckdb", "chdb")


def _ensure_pg_database() -> str | None:
    """Create the test database once; return why PostgreSQL is unusable, or None."""
    url = make_url(PG_URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    except Exception as exc:
        return f"PostgreSQL at {url.render_as_string(hide_password=True)} unusable: {exc}"
    finally:
        admin.dispose()
    return None


@pytest.fixture(scope="session")
def pg_available() -> None:
    problem = _ensure_pg_database()
    if problem:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty app database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    request.getfixturevalue("pg_available")
    schema = f"t_{secrets.token_hex(6)}"
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with engine.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        warehouse_url=f"duckdb:///{tmp_path / 'events.duckdb'}",
        secret_key="test-secret-key-" + "x" * 32,
        scheduler="off",
    )


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This worker's one chDB path, held open for the session so tests reuse the session."""
    path = str(tmp_path_factory.mktemp("chdb"))
    anchor = open_chdb(path, "lw_anchor")
    yield path
    anchor.close()


@pytest.fixture(params=ENGINES, ids=ENGINES)
def warehouse(
    request: pytest.FixtureRequest, tmp_path: Path, chdb_path: str
) -> Iterator[Warehouse]:
    """A migrated, empty store, opened through its URL as the application does."""
    if request.param == "duckdb":
        url = f"duckdb://{tmp_path / 'events.duckdb'}"
    else:
        url = f"chdb://{chdb_path}?database=lw_test_{uuid.uuid4().hex[:12]}"
    store = open_warehouse(url)
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def context(settings: Settings) -> Iterator[AppContext]:
    """The stores of one instance, for tests that drive it through ``client``."""
    ctx = open_context(settings)
    yield ctx
    ctx.close()


@pytest.fixture
def client(settings: Settings, context: AppContext) -> Iterator[TestClient]:
    with TestClient(create_app(settings, context), base_url="http://127.0.0.1") as test_client:
        yield test_client
