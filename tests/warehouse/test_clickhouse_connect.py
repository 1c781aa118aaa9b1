"""The ClickHouse-server engine, driven through clickhouse-connect's in-process chDB backend.

There is no ClickHouse server here, but clickhouse-connect can run its client (parameter
binding, settings, Arrow insert and query) against chDB. That exercises everything in
``clickhouse_store`` except the HTTP wire itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import clickhouse_connect
import pyarrow as pa
import pytest

from loopwise.warehouse import QueryTimeout, Warehouse
from loopwise.warehouse.chdb_store import open_chdb
from loopwise.warehouse.clickhouse_common import ClickHouseWarehouse
from loopwise.warehouse.clickhouse_store import HttpTransport
from loopwise.warehouse.schema import EVENTS

Events = Callable[[Iterable[Mapping[str, Any]]], pa.Table]
TS = datetime(2024, 3, 10, 6, 59, 59, 999_999, tzinfo=UTC)


@pytest.fixture
def server_engine(chdb_path: str) -> Iterator[Warehouse]:
    database = f"lw_cc_{uuid.uuid4().hex[:12]}"
    creator = open_chdb(chdb_path, database)  # clickhouse-connect needs the database to exist
    client = clickhouse_connect.get_client(interface="chdb", path=chdb_path, database=database)
    store = ClickHouseWarehouse(HttpTransport(client))
    store.migrate()
    store.migrate()
    yield store
    store.close()
    creator.close()


def test_rows_appended_through_the_client_read_back_equal(
    server_engine: Warehouse, events: Events
) -> None:
    batch = events([{"timestamp": TS, "event": "it's \\ \t 🚀"}, {"project_id": 2**40}])

    assert server_engine.append("events", batch) == 2

    table = server_engine.query("SELECT * FROM events ORDER BY uuid").table
    assert [f.type for f in table.schema] == [f.type for f in EVENTS]
    assert table.to_pylist() == batch.to_pylist()


def test_the_client_binds_every_parameter_type(server_engine: Warehouse) -> None:
    params = {
        "s": "x'; DROP TABLE events; --\\",
        "i": -(2**62),
        "f": 0.1,
        "b": False,
        "ts": TS,
        "d": date(2024, 2, 29),
        "ls": ["it's", "\\"],
        "lts": [TS],
        "empty": [],
    }
    select = ", ".join(f"{{{name}}} AS {name}" for name in params)

    assert server_engine.query(f"SELECT {select}", params).table.to_pylist() == [params]


def test_the_client_maps_limits_and_deletes(server_engine: Warehouse, events: Events) -> None:
    server_engine.append("events", events({"event": f"n{i:03d}"} for i in range(20)))

    capped = server_engine.query("SELECT event FROM events ORDER BY event", max_rows=5)
    server_engine.delete("events", "event < {cut}", {"cut": "n010"})
    with pytest.raises(QueryTimeout):
        server_engine.query(
            "SELECT count() FROM numbers(30000) a, numbers(30000) b WHERE a.number * b.number = 1",
            timeout_s=0.1,
        )

    assert capped.truncated
    assert capped.table.column("event").to_pylist() == ["n000", "n001", "n002", "n003", "n004"]
    remaining = server_engine.query("SELECT event FROM events ORDER BY event").table
    assert remaining.column("event").to_pylist() == [f"n{i:03d}" for i in range(10, 20)]
