"""Warehouse fixtures: each test gets a fresh store on DuckDB and on chDB.

DuckDB gets a new file per test. chDB allows one database path per process, so each
pytest(-xdist) worker keeps one path open for the whole session (``chdb_path``) and each
test gets a fresh database inside it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from loopwise.warehouse import Warehouse
from loopwise.warehouse.chdb_store import open_chdb
from loopwise.warehouse.duckdb_store import DuckDBWarehouse
from tests.factories import build_events

OpenEngine = Callable[..., Warehouse]


@pytest.fixture
def events() -> Callable[[Iterable[Mapping[str, Any]]], pa.Table]:
    """The ``build_events`` factory, for tests."""
    return build_events


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
