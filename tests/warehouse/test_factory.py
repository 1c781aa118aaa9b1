"""Warehouse URLs pick the engine; bad ones fail with a message that says what is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwise.warehouse import WarehouseError, open_warehouse
from loopwise.warehouse.clickhouse_store import client_arguments


@pytest.mark.parametrize("url", ["postgres://host/db", "sqlite:///x.db", "/tmp/x.duckdb", ""])
def test_an_unknown_scheme_is_refused_with_the_accepted_ones_named(url: str) -> None:
    with pytest.raises(ValueError, match="accepted") as caught:
        open_warehouse(url)

    for scheme in ("duckdb://", "clickhouse://", "clickhouses://", "chdb://"):
        assert scheme in str(caught.value)


@pytest.mark.parametrize(
    "url", ["duckdb://relative/path.duckdb", "duckdb://host/abs.duckdb", "chdb:///:memory:"]
)
def test_a_local_engine_needs_an_absolute_path(url: str) -> None:
    with pytest.raises(ValueError, match=r"path|directory"):
        open_warehouse(url)


def test_an_in_memory_duckdb_store_works_and_uses_the_default_row_cap() -> None:
    store = open_warehouse("duckdb:///:memory:", default_max_rows=2)
    try:
        store.migrate()
        result = store.query("SELECT unnest({xs}) AS x", {"xs": [1, 2, 3]})
    finally:
        store.close()

    assert store.dialect == "duckdb"
    assert result.truncated
    assert result.table.num_rows == 2


@pytest.mark.parametrize("slashes", ["//", "///"])
def test_a_duckdb_file_keeps_its_tables_across_reopening(tmp_path: Path, slashes: str) -> None:
    url = f"duckdb:{slashes}{tmp_path / 'kept.duckdb'}"
    first = open_warehouse(url)
    first.migrate()
    first.close()

    second = open_warehouse(url)
    try:
        names = second.query("SELECT uuid FROM events").table.column_names
    finally:
        second.close()

    assert names == ["uuid"]


def test_a_second_chdb_path_in_one_process_is_refused(chdb_path: str, tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="one database path per process"):
        open_warehouse(f"chdb://{tmp_path / 'other'}?database=x")


def test_a_chdb_database_name_must_be_a_plain_identifier(chdb_path: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        open_warehouse(f"chdb://{chdb_path}?database=x;DROP")


def test_clickhouse_urls_become_client_arguments() -> None:
    assert client_arguments("clickhouses://ana:p%40ss@ch.example:9440/analytics") == {
        "host": "ch.example",
        "port": 9440,
        "username": "ana",
        "password": "p@ss",
        "database": "analytics",
        "secure": True,
    }
    assert client_arguments("clickhouse://ch") == {
        "host": "ch",
        "port": 8123,
        "username": "default",
        "password": "",
        "database": "default",
        "secure": False,
    }


def test_an_unreachable_clickhouse_server_is_a_warehouse_error() -> None:
    with pytest.raises(WarehouseError, match="cannot connect to ClickHouse"):
        open_warehouse("clickhouse://user:secret@127.0.0.1:1/db")
