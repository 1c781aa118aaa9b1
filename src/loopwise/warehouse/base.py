"""The analytics-store interface every warehouse engine implements.

Product areas talk to the warehouse only through this interface: they append Arrow tables and
run SQL written once (see ``dialect``) with bound parameters. Engines: DuckDB (embedded
default), ClickHouse server (scale-out) and chDB (ClickHouse in-process, used by the tests to
run the ClickHouse SQL without a server).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import pyarrow as pa

DialectName = Literal["duckdb", "clickhouse"]


class WarehouseError(Exception):
    """A warehouse operation failed; the message says which and why."""


class QueryTimeout(WarehouseError):
    """A query ran longer than its time limit and was stopped."""


@dataclass(frozen=True)
class QueryResult:
    """Rows of a query as Arrow, cut at the row cap.

    ``truncated`` is true when the query produced more rows than ``max_rows``.
    """

    table: pa.Table
    truncated: bool


class Warehouse(Protocol):
    """An analytics store. Implementations are thread-safe."""

    @property
    def dialect(self) -> DialectName: ...

    @property
    def materialized_ctes(self) -> bool:
        """Whether ``WITH name AS MATERIALIZED (subquery)`` computes the subquery once for
        all its uses (DuckDB; ClickHouse from the release with ``enable_materialized_cte``).
        Without it, a subquery used several times is computed at each use."""

    def migrate(self) -> None:
        """Create or upgrade the tables in ``schema.TABLES``; safe to call repeatedly."""

    def append(self, table: str, data: pa.Table) -> int:
        """Append rows (columns as in the table's schema) and return how many were written."""

    def query(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
        max_rows: int | None = None,
    ) -> QueryResult:
        """Run a read query with bound parameters."""

    def delete(self, table: str, where: str, params: Mapping[str, Any] | None = None) -> None:
        """Delete the rows of ``table`` matching the ``where`` predicate (bound parameters)."""

    def update(
        self,
        table: str,
        column: str,
        value: str,
        where: str,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        """Set ``column`` to the SQL expression ``value`` in the rows matching ``where``;
        returns once the change is visible."""

    def ping(self) -> None:
        """Raise ``WarehouseError`` when the store cannot answer."""

    def close(self) -> None:
        """Release files and connections."""
