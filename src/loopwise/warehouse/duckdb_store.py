"""DuckDB: the embedded default warehouse (one file, or ``:memory:``).

DuckDB locks its file to one process, so the process owns one connection and each call runs
on its own cursor (a cursor is DuckDB's per-thread connection). A query's time limit is
enforced by interrupting that cursor from a timer thread; the row cap by reading at most
``max_rows + 1`` rows from a streaming Arrow reader. Appends go through Arrow, never
``executemany`` (≈3k rows/s).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa

from loopwise.warehouse.base import DialectName, QueryResult, QueryTimeout, WarehouseError
from loopwise.warehouse.dialect import DUCKDB, quote_ident
from loopwise.warehouse.results import METADATA_LIMITS, QueryLimits, capped_result
from loopwise.warehouse.schema import TABLES, UTC_MICROS, added_hot_columns
from loopwise.warehouse.tables import TableSpecs, conform, table_schema

# Arrow type -> (DuckDB type, default). Defaults are each type's zero, as in ClickHouse, so a
# column added to a table with rows reads the same on both engines.
COLUMN_TYPES: dict[pa.DataType, tuple[str, str]] = {
    pa.string(): ("VARCHAR", "''"),
    pa.int64(): ("BIGINT", "0"),
    pa.int32(): ("INTEGER", "0"),
    pa.float64(): ("DOUBLE", "0"),
    pa.bool_(): ("BOOLEAN", "false"),
    UTC_MICROS: ("TIMESTAMPTZ", "TIMESTAMPTZ '1970-01-01 00:00:00+00'"),
    pa.date32(): ("DATE", "DATE '1970-01-01'"),
}
_BATCH_ROWS = 65_536
_APPEND_VIEW = "_loopwise_append"


def column_sql(field: pa.Field) -> str:
    """One column definition. No NOT NULL: rows are checked before insert (``conform``),
    and the constraint check makes DuckDB appends markedly slower."""
    try:
        sql_type, default = COLUMN_TYPES[field.type]
    except KeyError:
        raise WarehouseError(f"column {field.name!r}: no DuckDB type for {field.type}") from None
    return f"{quote_ident(field.name)} {sql_type} DEFAULT {default}"


def create_table_sql(table: str, schema: pa.Schema) -> str:
    """DDL for a table. DuckDB has no clustered key: rows stay in arrival order, which is
    close to time order, so min/max zone maps on ``timestamp`` prune time ranges."""
    columns = ",\n    ".join(column_sql(f) for f in schema)
    return f"CREATE TABLE IF NOT EXISTS {quote_ident(table)} (\n    {columns}\n)"


class DuckDBWarehouse:
    """A DuckDB database behind the ``Warehouse`` interface; safe to share between threads."""

    def __init__(
        self,
        path: str,
        *,
        default_timeout_s: float = 30.0,
        default_max_rows: int = 100_000,
        tables: TableSpecs = TABLES,
    ) -> None:
        self._limits = QueryLimits(default_timeout_s, default_max_rows)
        self._tables = tables
        self._lock = threading.Lock()
        try:
            self._conn: duckdb.DuckDBPyConnection | None = duckdb.connect(path)
            # Arrow results carry the session time zone; UTC keeps them equal to ClickHouse's.
            self._conn.execute("SET GLOBAL TimeZone = 'UTC'")
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open DuckDB database {path!r}: {exc}") from exc

    @property
    def dialect(self) -> DialectName:
        return "duckdb"

    @property
    def materialized_ctes(self) -> bool:
        return True

    def migrate(self) -> None:
        for table, (schema, _) in self._tables.items():
            self._execute(create_table_sql(table, schema))
            present = set(self._column_names(table))
            added = []
            for field in schema:
                if field.name not in present:
                    alter = f"ALTER TABLE {quote_ident(table)} ADD COLUMN {column_sql(field)}"
                    self._execute(alter)
                    added.append(field.name)
            for column, key in added_hot_columns(table, added).items():
                value = DUCKDB.json_string("properties", "key")
                self.update(table, column, value, "1 = 1", {"key": key})

    def append(self, table: str, data: pa.Table) -> int:
        schema = table_schema(self._tables, table)
        rows = conform(schema, data)
        if rows.num_rows == 0:
            return 0
        columns = ", ".join(quote_ident(n) for n in schema.names)
        insert = (
            f"INSERT INTO {quote_ident(table)} ({columns}) SELECT {columns} FROM {_APPEND_VIEW}"
        )
        with self._cursor() as cur:
            cur.register(_APPEND_VIEW, rows)
            try:
                cur.execute(insert)
            finally:
                cur.unregister(_APPEND_VIEW)
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
        bound = DUCKDB.bind(sql, params)
        with self._cursor() as cur, _Deadline(cur, limits.timeout_s) as deadline:
            try:
                relation = cur.sql(bound.sql, params=bound.params or None)
                table = _read_capped(relation, limits.max_rows)
            except duckdb.InterruptException as exc:
                if deadline.expired:
                    raise QueryTimeout(f"query ran longer than {limits.timeout_s} s") from exc
                raise
        return capped_result(table, limits.max_rows)

    def delete(self, table: str, where: str, params: Mapping[str, Any] | None = None) -> None:
        table_schema(self._tables, table)
        bound = DUCKDB.bind(f"DELETE FROM {quote_ident(table)} WHERE ({where})", params)
        self._execute(bound.sql, bound.params)

    def update(
        self,
        table: str,
        column: str,
        value: str,
        where: str,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        schema = table_schema(self._tables, table)
        if column not in schema.names:
            raise WarehouseError(f"table {table!r} has no column {column!r}")
        sql = f"UPDATE {quote_ident(table)} SET {quote_ident(column)} = {value} WHERE ({where})"
        bound = DUCKDB.bind(sql, params)
        self._execute(bound.sql, bound.params)

    def ping(self) -> None:
        self._execute("SELECT 1")

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is None:
            return
        # A cursor of another thread may still be finishing its call: DuckDB refuses to
        # close the connection under it rather than wait, so wait here (a few seconds).
        for _ in range(100):
            try:
                conn.close()
                return
            except duckdb.Error as exc:
                if "busy" not in str(exc):
                    raise
                time.sleep(0.05)
        conn.close()

    def _column_names(self, table: str) -> list[str]:
        sql = (
            "SELECT column_name FROM duckdb_columns() WHERE table_name = {table}"
            " AND schema_name = current_schema() AND database_name = current_database()"
        )
        result = self._query(sql, {"table": table}, METADATA_LIMITS)
        return [str(name) for name in result.table.column("column_name").to_pylist()]

    def _execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        with self._cursor() as cur:
            cur.execute(sql, params or None)

    def _cursor(self) -> _Cursor:
        with self._lock:
            if self._conn is None:
                raise WarehouseError("the DuckDB warehouse is closed")
            return _Cursor(self._conn.cursor())


class _Cursor:
    """A cursor that closes itself and reports DuckDB errors as ``WarehouseError``."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self._cursor = cursor

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        return self._cursor

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self._cursor.close()
        if isinstance(exc, duckdb.Error):
            raise WarehouseError(f"DuckDB: {exc}") from exc


class _Deadline:
    """Interrupts a cursor's running query once ``timeout_s`` has passed."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, timeout_s: float) -> None:
        self.expired = False
        self._cursor = cursor
        self._timer = threading.Timer(timeout_s, self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        self._cursor.interrupt()

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()


def _read_capped(relation: duckdb.DuckDBPyRelation | None, max_rows: int) -> pa.Table:
    """Stream result batches until more than ``max_rows`` rows are in hand, then stop."""
    if relation is None:  # a statement that returns nothing
        return pa.table({})
    reader = relation.to_arrow_reader(min(max_rows + 1, _BATCH_ROWS))
    batches: list[pa.RecordBatch] = []
    rows = 0
    try:
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if rows > max_rows:
                break
    finally:
        reader.close()
    return pa.Table.from_batches(batches, schema=reader.schema)
