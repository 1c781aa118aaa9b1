"""Warehouse fixtures: each test gets a fresh store on DuckDB and on chDB.

DuckDB gets a new file per test. chDB allows one database path per process, so each
pytest(-xdist) worker keeps one path open for the whole session (``chdb_path``) and each
test gets a fresh database inside it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from loopwise.warehouse import Warehouse, open_warehouse
from loopwise.warehouse.chdb_store import open_chdb
from loopwise.warehouse.duckdb_store import DuckDBWarehouse
from loopwise.warehouse.schema import EVENTS

ENGINES = ("duckdb", "chdb")
EVENT_DEFAULTS: dict[str, Any] = {
    "project_id": 1,
    "event": "pageview",
    "distinct_id": "d1",
    "person_id": "p1",
    "timestamp": datetime(2024, 1, 15, 12, 0, tzinfo=UTC),
    "received_at": datetime(2024, 1, 15, 12, 0, 1, tzinfo=UTC),
    "session_id": "",
    "properties": "{}",
    "current_url": "",
    "pathname": "",
    "referrer": "",
    "utm_source": "",
    "utm_medium": "",
    "utm_campaign": "",
    "feature": "",
}

OpenEngine = Callable[..., Warehouse]


def build_events(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Events as Arrow: each row overrides the defaults; uuids are e00000, e00001, …"""
    records = [EVENT_DEFAULTS | {"uuid": f"e{i:05d}"} | dict(row) for i, row in enumerate(rows)]
    return pa.Table.from_pylist(records, schema=EVENTS)


@pytest.fixture
def events() -> Callable[[Iterable[Mapping[str, Any]]], pa.Table]:
    """The ``build_events`` factory, for tests."""
    return build_events


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This worker's one chDB path, held open for the session so tests reuse the session."""
    path = str(tmp_path_factory.mktemp("chdb"))
    anchor = open_chdb(path, "lw_anchor")
    yield path
    anchor.close()


@pytest.fixture
def open_engine(tmp_path: Path, chdb_path: str) -> Iterator[OpenEngine]:
    """Open a store by engine name; ``name`` reopens the same store; all close at teardown."""
    opened: list[Warehouse] = []

    def open_(engine: str, *, name: str | None = None, **options: Any) -> Warehouse:
        name = name or f"lw_test_{uuid.uuid4().hex[:12]}"
        if engine == "duckdb":
            store: Warehouse = DuckDBWarehouse(str(tmp_path / f"{name}.duckdb"), **options)
        else:
            store = open_chdb(chdb_path, name, **options)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()


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
