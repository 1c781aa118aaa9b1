"""Everything the ClickHouse server and chDB engines share: DDL, queries, settings, errors.

The two differ only in how bytes reach the engine (HTTP through clickhouse-connect, or the
in-process chDB session), so that part is a small ``ClickHouseTransport`` and the warehouse
logic exists once, here. The tests run it on chDB; the server runs the very same SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import pyarrow as pa

from loopwise.warehouse.base import DialectName, QueryResult, QueryTimeout, WarehouseError
from loopwise.warehouse.dialect import CLICKHOUSE, ParamValue, quote_ident
from loopwise.warehouse.results import METADATA_LIMITS, QueryLimits, capped_result
from loopwise.warehouse.schema import TABLES, UTC_MICROS, added_hot_columns
from loopwise.warehouse.tables import TableSpecs, conform, table_schema

SettingValue = int | float | str
Settings = dict[str, SettingValue]

# Arrow type -> ClickHouse type. Strings are never Nullable (see schema.py); every type
# defaults to its zero, matching the DuckDB DDL.
COLUMN_TYPES: dict[pa.DataType, str] = {
    pa.string(): "String",
    pa.int64(): "Int64",
    pa.int32(): "Int32",
    pa.float64(): "Float64",
    pa.bool_(): "Bool",
    UTC_MICROS: "DateTime64(6, 'UTC')",
    pa.date32(): "Date32",
}

# Applied to every statement, so results do not depend on server or session defaults.
# Extended results keep toStartOfDay/toMonday/... valid before 1970 and return DateTime64.
BASE_SETTINGS: Settings = {
    "enable_extended_results_for_datetime_functions": 1,
    "max_execution_time": 0,
    "max_result_rows": 0,
    "result_overflow_mode": "throw",
}
_TIMEOUT_MARKERS = ("TIMEOUT_EXCEEDED", "Code: 159.")


class ClickHouseTransport(Protocol):
    """How statements reach one ClickHouse engine. Parameters are ``{name:Type}`` values."""

    def command(self, sql: str, params: Mapping[str, ParamValue], settings: Settings) -> None:
        """Run a statement that returns no rows."""

    def select(self, sql: str, params: Mapping[str, ParamValue], settings: Settings) -> pa.Table:
        """Run a query and return its rows as Arrow."""

    def insert(self, table: str, data: pa.Table) -> None:
        """Append Arrow rows whose columns match the table's."""

    def close(self) -> None:
        """Release the connection."""


def column_sql(field: pa.Field) -> str:
    """One column definition, with a DEFAULT so ``ADD COLUMN`` fills existing rows."""
    try:
        sql_type = COLUMN_TYPES[field.type]
    except KeyError:
        raise WarehouseError(f"column {field.name!r}: no ClickHouse type: {field.type}") from None
    default = " DEFAULT ''" if sql_type == "String" else ""
    return f"{quote_ident(field.name)} {sql_type}{default}"


def order_by_sql(schema: pa.Schema, sort_key: tuple[str, ...]) -> str:
    """Sort key with timestamps coarsened to days, then the timestamps themselves.

    ``(project_id, toDate(timestamp), event, timestamp)`` keeps one project's day of one
    event together, which is what trends and funnels read.
    """
    timestamps = [n for n in sort_key if pa.types.is_timestamp(schema.field(n).type)]
    parts = [f"toDate({quote_ident(n)})" if n in timestamps else quote_ident(n) for n in sort_key]
    parts += [quote_ident(n) for n in timestamps]
    return f"({', '.join(parts)})"


def create_table_sql(table: str, schema: pa.Schema, sort_key: tuple[str, ...]) -> str:
    """MergeTree DDL, partitioned by month of the first timestamp in the sort key."""
    columns = ",\n    ".join(column_sql(f) for f in schema)
    timestamps = [n for n in sort_key if pa.types.is_timestamp(schema.field(n).type)]
    partition = f"\nPARTITION BY toYYYYMM({quote_ident(timestamps[0])})" if timestamps else ""
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_ident(table)} (\n    {columns}\n)"
        f"\nENGINE = MergeTree{partition}\nORDER BY {order_by_sql(schema, sort_key)}"
    )


def query_settings(limits: QueryLimits) -> Settings:
    """Time limit and row cap for a read. ``break`` stops at a block boundary after the cap,
    so the engine returns at least ``max_rows + 1`` rows when there are more."""
    return BASE_SETTINGS | {
        "max_execution_time": limits.timeout_s,
        "max_result_rows": limits.max_rows + 1,
        "result_overflow_mode": "break",
    }


def is_timeout(exc: BaseException) -> bool:
    """Whether an engine error is ClickHouse's TIMEOUT_EXCEEDED (code 159)."""
    return any(marker in str(exc) for marker in _TIMEOUT_MARKERS)


class ClickHouseWarehouse:
    """A ClickHouse database (server or chDB) behind the ``Warehouse`` interface."""

    def __init__(
        self,
        transport: ClickHouseTransport,
        *,
        default_timeout_s: float = 30.0,
        default_max_rows: int = 100_000,
        tables: TableSpecs = TABLES,
    ) -> None:
        self._transport = transport
        self._limits = QueryLimits(default_timeout_s, default_max_rows)
        self._tables = tables
        self._features: Settings | None = None

    @property
    def dialect(self) -> DialectName:
        return "clickhouse"

    @property
    def materialized_ctes(self) -> bool:
        return bool(self._optional_settings())

    def _optional_settings(self) -> Settings:
        """Settings this server knows that make queries faster, asked once: today
        ``enable_materialized_cte`` (ClickHouse 25.x and later)."""
        if self._features is None:
            found = self._transport.select(
                "SELECT name FROM system.settings WHERE name = 'enable_materialized_cte'",
                {},
                BASE_SETTINGS,
            )
            self._features = {"enable_materialized_cte": 1} if found.num_rows else {}
        return self._features

    def migrate(self) -> None:
        for table, (schema, sort_key) in self._tables.items():
            self._transport.command(create_table_sql(table, schema, sort_key), {}, BASE_SETTINGS)
            present = set(self._column_names(table))
            added = []
            for field in schema:
                if field.name not in present:
                    alter = f"ALTER TABLE {quote_ident(table)} ADD COLUMN {column_sql(field)}"
                    self._transport.command(alter, {}, BASE_SETTINGS)
                    added.append(field.name)
            for column, key in added_hot_columns(table, added).items():
                value = CLICKHOUSE.json_string("properties", "key")
                self.update(table, column, value, "1 = 1", {"key": key})

    def append(self, table: str, data: pa.Table) -> int:
        rows = conform(table_schema(self._tables, table), data)
        if rows.num_rows:
            self._transport.insert(table, rows)
        return int(rows.num_rows)

    def query(
        self,
        sql: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
        max_rows: int | None = None,
    ) -> QueryResult:
        return self._query(sql, params, self._limits.override(timeout_s, max_rows))

    def _query(
        self, sql: str, params: Mapping[str, Any] | None, limits: QueryLimits
    ) -> QueryResult:
        bound = CLICKHOUSE.bind(sql, params)
        try:
            settings = query_settings(limits) | self._optional_settings()
            table = self._transport.select(bound.sql, bound.params, settings)
        except WarehouseError as exc:
            if is_timeout(exc):
                raise QueryTimeout(f"query ran longer than {limits.timeout_s} s") from exc
            raise
        return capped_result(table, limits.max_rows)

    def delete(self, table: str, where: str, params: Mapping[str, Any] | None = None) -> None:
        """A lightweight DELETE, waited for: the rows are invisible when this returns and
        their bytes are purged at the part's next merge."""
        table_schema(self._tables, table)
        bound = CLICKHOUSE.bind(f"DELETE FROM {quote_ident(table)} WHERE ({where})", params)
        settings = BASE_SETTINGS | {"lightweight_deletes_sync": 2}
        self._transport.command(bound.sql, bound.params, settings)

    def update(
        self,
        table: str,
        column: str,
        value: str,
        where: str,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        """A mutation, waited for on every replica (``mutations_sync=2``); columns of the
        sorting key cannot change."""
        schema = table_schema(self._tables, table)
        if column not in schema.names:
            raise WarehouseError(f"table {table!r} has no column {column!r}")
        sql = (
            f"ALTER TABLE {quote_ident(table)} UPDATE {quote_ident(column)} = {value}"
            f" WHERE ({where})"
        )
        bound = CLICKHOUSE.bind(sql, params)
        self._transport.command(bound.sql, bound.params, BASE_SETTINGS | {"mutations_sync": 2})

    def ping(self) -> None:
        self._transport.select("SELECT 1", {}, BASE_SETTINGS)

    def close(self) -> None:
        self._transport.close()

    def _column_names(self, table: str) -> list[str]:
        sql = (
            "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {table}"
        )
        result = self._query(sql, {"table": table}, METADATA_LIMITS)
        return [str(name) for name in result.table.column("name").to_pylist()]
