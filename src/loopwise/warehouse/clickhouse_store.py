"""ClickHouse server over HTTP(S) with clickhouse-connect: the scale-out warehouse.

All SQL lives in ``clickhouse_common`` and is exercised on chDB by the tests; this module only
moves it over the wire. The client is shared between threads, so it is created without a
ClickHouse session id (a session cannot run two queries at once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import clickhouse_connect
import pyarrow as pa
from clickhouse_connect.driver.exceptions import ClickHouseError

from loopwise.warehouse.base import WarehouseError
from loopwise.warehouse.clickhouse_common import ClickHouseWarehouse, Settings
from loopwise.warehouse.dialect import ParamValue
from loopwise.warehouse.schema import TABLES
from loopwise.warehouse.tables import TableSpecs

_DEFAULT_PORTS = {"clickhouse": 8123, "clickhouses": 8443}


ASYNC_INSERT = {"async_insert": 1, "wait_for_async_insert": 1}


class HttpTransport:
    """Statements to a ClickHouse server through one thread-safe clickhouse-connect client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def command(self, sql: str, params: Mapping[str, ParamValue], settings: Settings) -> None:
        try:
            self._client.command(sql, parameters=dict(params), settings=settings)
        except ClickHouseError as exc:
            raise WarehouseError(f"ClickHouse: {exc}") from exc

    def select(self, sql: str, params: Mapping[str, ParamValue], settings: Settings) -> pa.Table:
        try:
            table = self._client.query_arrow(sql, parameters=dict(params), settings=settings)
        except ClickHouseError as exc:
            raise WarehouseError(f"ClickHouse: {exc}") from exc
        if not isinstance(table, pa.Table):
            raise WarehouseError(f"ClickHouse returned {type(table).__name__}, not an Arrow table")
        return table

    def insert(self, table: str, data: pa.Table) -> None:
        """An asynchronous insert that waits until ClickHouse has written it: the server
        batches small inserts from many nodes into few parts, and the caller still only
        returns once the rows are durable."""
        try:
            self._client.insert_arrow(table, data, settings=ASYNC_INSERT)
        except ClickHouseError as exc:
            raise WarehouseError(f"ClickHouse: {exc}") from exc

    def close(self) -> None:
        self._client.close()


def client_arguments(url: str) -> dict[str, Any]:
    """clickhouse-connect arguments from ``clickhouse[s]://user:pass@host:port/database``."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS:
        raise ValueError(f"not a ClickHouse URL: {parts.scheme}://…")
    return {
        "host": parts.hostname or "localhost",
        "port": parts.port or _DEFAULT_PORTS[parts.scheme],
        "username": unquote(parts.username) if parts.username else "default",
        "password": unquote(parts.password) if parts.password else "",
        "database": unquote(parts.path.lstrip("/")) or "default",
        "secure": parts.scheme == "clickhouses",
    }


def open_clickhouse(
    url: str,
    *,
    default_timeout_s: float = 30.0,
    default_max_rows: int = 100_000,
    tables: TableSpecs = TABLES,
) -> ClickHouseWarehouse:
    """A warehouse on a ClickHouse server; its database must exist.

    The HTTP read timeout is kept above the query time limit, so the server's
    TIMEOUT_EXCEEDED (mapped to ``QueryTimeout``) arrives before the socket gives up.
    """
    try:
        client = clickhouse_connect.get_client(
            **client_arguments(url),
            autogenerate_session_id=False,
            send_receive_timeout=max(300, int(default_timeout_s) + 30),
        )
    except ClickHouseError as exc:
        raise WarehouseError(f"cannot connect to ClickHouse: {exc}") from exc
    return ClickHouseWarehouse(
        HttpTransport(client),
        default_timeout_s=default_timeout_s,
        default_max_rows=default_max_rows,
        tables=tables,
    )
