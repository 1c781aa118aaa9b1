"""The warehouse: where events live and analytics queries run.

This area owns the analytics-store interface (``Warehouse``), its three engines (DuckDB, the
embedded default; a ClickHouse server at scale; chDB, ClickHouse in-process, for tests), the
warehouse tables (``schema``) and the dialect module, the one place where DuckDB and
ClickHouse SQL differ. Queries are written once with ``{name}`` placeholders and bound
parameters; see ``dialect``.

It does not own what the events mean: ingestion writes them, product areas query them.
Nothing here knows about projects, persons or metrics beyond the table columns.
"""

from loopwise.warehouse.base import (
    DialectName,
    QueryResult,
    QueryTimeout,
    Warehouse,
    WarehouseError,
)
from loopwise.warehouse.dialect import (
    CLICKHOUSE,
    DUCKDB,
    BoundQuery,
    Dialect,
    TimeUnit,
    dialect_for,
    placeholder_names,
    quote_ident,
)
from loopwise.warehouse.factory import ACCEPTED_URLS, open_warehouse

__all__ = [
    "ACCEPTED_URLS",
    "CLICKHOUSE",
    "DUCKDB",
    "BoundQuery",
    "Dialect",
    "DialectName",
    "QueryResult",
    "QueryTimeout",
    "TimeUnit",
    "Warehouse",
    "WarehouseError",
    "dialect_for",
    "open_warehouse",
    "placeholder_names",
    "quote_ident",
]
