"""Shared shaping of query results: limits, Arrow types, the row cap.

Both engines hand back Arrow, but with small differences that would make equal answers
compare unequal: DuckDB marks every column nullable and names list items ``l``; ClickHouse
marks columns ``not null`` and may label timestamps with the query's time zone. Results are
brought to one shape here so callers, and tests comparing engines, see identical tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from loopwise.warehouse.base import QueryResult


@dataclass(frozen=True)
class QueryLimits:
    """The time limit and row cap of one query."""

    timeout_s: float
    max_rows: int

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, not {self.timeout_s}")
        if self.max_rows < 0:
            raise ValueError(f"max_rows must not be negative, not {self.max_rows}")

    def override(self, timeout_s: float | None, max_rows: int | None) -> QueryLimits:
        """These limits with the per-call values, where given."""
        return QueryLimits(
            self.timeout_s if timeout_s is None else timeout_s,
            self.max_rows if max_rows is None else max_rows,
        )


# For a store's own catalogue queries, which a small default row cap must not cut.
METADATA_LIMITS = QueryLimits(timeout_s=60.0, max_rows=100_000)


def capped_result(table: pa.Table, max_rows: int) -> QueryResult:
    """Cut ``table`` at ``max_rows`` and normalise its types; ``truncated`` if rows were cut."""
    truncated = table.num_rows > max_rows
    if truncated:
        table = table.slice(0, max_rows)
    return QueryResult(table=normalise(table), truncated=truncated)


def normalise(table: pa.Table) -> pa.Table:
    """The same Arrow schema for the same answer on every engine."""
    fields = [pa.field(f.name, normal_type(f.type), nullable=True) for f in table.schema]
    schema = pa.schema(fields)
    if schema.equals(table.schema, check_metadata=True):
        return table
    return table.cast(schema)


def normal_type(arrow_type: pa.DataType) -> pa.DataType:
    """Zoned timestamps as µs UTC, plain strings, lists with a standard nullable item."""
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is not None:
        return pa.timestamp("us", tz="UTC")
    if pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type):
        return pa.string()
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return pa.list_(normal_type(arrow_type.value_type))
    return arrow_type
