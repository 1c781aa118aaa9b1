"""Checks shared by every engine on the way in: which table, and rows that fit its schema.

Engines differ in what they do with a bad row (DuckDB rejects a NULL, ClickHouse quietly
stores the column default), so rows are checked here, once, before any engine sees them.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from loopwise.warehouse.base import WarehouseError

TableSpecs = Mapping[str, tuple[pa.Schema, tuple[str, ...]]]


def table_schema(tables: TableSpecs, table: str) -> pa.Schema:
    """The schema of a known table; any other name is refused before it reaches SQL."""
    try:
        return tables[table][0]
    except KeyError:
        known = ", ".join(sorted(tables))
        raise WarehouseError(f"unknown table {table!r}; the warehouse has: {known}") from None


def conform(schema: pa.Schema, data: pa.Table) -> pa.Table:
    """Select and cast ``data`` to ``schema`` (column order, types), refusing what cannot fit.

    Extra columns are an error rather than silently dropped: they usually mean a writer and
    the schema disagree.
    """
    missing = [n for n in schema.names if n not in data.column_names]
    extra = [n for n in data.column_names if n not in schema.names]
    if missing or extra:
        raise WarehouseError(f"rows do not match the table: missing {missing}, unexpected {extra}")
    for field in schema:
        if not field.nullable and data.column(field.name).null_count:
            raise WarehouseError(f"column {field.name!r} has nulls but is not nullable")
    try:
        return data.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise WarehouseError(f"rows do not fit the table schema: {exc}") from exc
