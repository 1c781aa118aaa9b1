"""The one place where DuckDB and ClickHouse SQL differ.

Analytics queries are written once, as SQL text with named placeholders ``{name}``::

    SELECT event, {count} AS n
    FROM events
    WHERE project_id = {project_id} AND timestamp >= {since}
    GROUP BY event

A placeholder is a name in braces with nothing else inside (``[A-Za-z_][A-Za-z0-9_]*``). It is
only recognised outside string literals, quoted identifiers and comments, so DuckDB ``::``
casts, struct literals (``{'a': 1}``), ClickHouse's own ``{name:Type}`` and a literal such as
``'{not_a_param}'`` are left alone. ``Dialect.bind`` turns each placeholder into the engine's
bound-parameter form with a type inferred from the Python value: DuckDB
``CAST($name AS BIGINT)``, ClickHouse ``{name:Int64}``. Values never enter the SQL text.

Accepted values: ``str``, ``bool``, ``int`` (64-bit), ``float``, timezone-aware ``datetime``
(bound as a UTC timestamp with microseconds), ``date``, and lists or tuples of one of those
(bound as an array). Write backslash-free string literals: DuckDB reads a backslash in a
literal as a plain character, ClickHouse as an escape; pass such text as a parameter.

The helper methods return SQL expressions for the constructs that are spelt differently; they
take column expressions (trusted SQL written by developers) and parameter *names* (the values
come through ``bind``), and return results of the same Arrow type on both engines.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import ClassVar, Literal, TypeAlias, get_args

from loopwise.warehouse.base import DialectName, Warehouse

Scalar: TypeAlias = str | bool | int | float | datetime | date
ParamValue: TypeAlias = Scalar | list[Scalar]
TimeUnit = Literal["hour", "day", "week", "month"]

TIME_UNITS: tuple[str, ...] = get_args(TimeUnit)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT64 = (-(2**63), 2**63 - 1)

# Everything a placeholder must not be found inside, then the placeholder itself.
_TOKENS = re.compile(
    r"""
      '(?:[^'\\]|\\.|'')*'                    # string literal
    | "(?:[^"]|"")*"                          # quoted identifier
    | `[^`]*`                                 # ClickHouse back-quoted identifier
    | --[^\n]*                                # line comment
    | /\*.*?\*/                               # block comment
    | \{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}    # placeholder
    """,
    re.VERBOSE | re.DOTALL,
)


class Kind(Enum):
    """The type of a bound value; each dialect names it in its own SQL."""

    STRING = "string"
    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    TIMESTAMP = "timestamp"
    DATE = "date"


@dataclass(frozen=True)
class TypedParam:
    """A parameter value, normalised (UTC datetimes, lists), with its inferred type.

    ``kind`` is the element type for arrays, and ``None`` for an empty array.
    """

    value: ParamValue
    kind: Kind | None
    array: bool


@dataclass(frozen=True)
class BoundQuery:
    """SQL in an engine's own placeholder syntax, and the values it references."""

    sql: str
    params: dict[str, ParamValue]


def quote_ident(name: str) -> str:
    """Quote a table or column name; only plain identifiers are accepted, on both engines."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


def placeholder_names(sql: str) -> list[str]:
    """The placeholder names a query uses, in order of first use."""
    names = (m.group("name") for m in _TOKENS.finditer(sql))
    return list(dict.fromkeys(n for n in names if n is not None))


def type_param(name: str, value: object) -> TypedParam:
    """Infer the SQL type of a Python value, or explain why it cannot be bound."""
    if isinstance(value, list | tuple):
        items = [_scalar(name, v) for v in value]
        kinds = {k for _, k in items}
        if kinds == {Kind.INT, Kind.FLOAT}:
            floats: list[Scalar] = [float(v) for v, _ in items if isinstance(v, int | float)]
            return TypedParam(floats, Kind.FLOAT, array=True)
        if len(kinds) > 1:
            mixed = ", ".join(sorted(k.value for k in kinds))
            raise TypeError(f"parameter {name!r}: list mixes types {mixed}")
        return TypedParam([v for v, _ in items], kinds.pop() if kinds else None, array=True)
    scalar, kind = _scalar(name, value)
    return TypedParam(scalar, kind, array=False)


def _scalar(name: str, value: object) -> tuple[Scalar, Kind]:
    # Order matters: bool is an int, datetime is a date.
    if isinstance(value, str):
        return value, Kind.STRING
    if isinstance(value, bool):
        return value, Kind.BOOL
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise ValueError(f"parameter {name!r}: {value} does not fit in a 64-bit integer")
        return value, Kind.INT
    if isinstance(value, float):
        return value, Kind.FLOAT
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"parameter {name!r}: datetime must be timezone-aware")
        return value.astimezone(UTC), Kind.TIMESTAMP
    if isinstance(value, date):
        return value, Kind.DATE
    raise TypeError(f"parameter {name!r}: cannot bind a {type(value).__name__}")


class Dialect(ABC):
    """How one engine spells placeholders and the constructs that differ."""

    name: ClassVar[DialectName]

    def bind(self, sql: str, params: Mapping[str, object] | None = None) -> BoundQuery:
        """Rewrite ``{name}`` placeholders into bound parameters; values stay out of the text.

        Only the parameters the query uses are returned; a missing one raises ``ValueError``.
        """
        given = params or {}
        typed: dict[str, TypedParam] = {}

        def replace(match: re.Match[str]) -> str:
            name = match.group("name")
            if name is None:
                return match.group(0)
            if name not in given:
                raise ValueError(f"query uses {{{name}}} but no value was given for it")
            if name not in typed:
                typed[name] = type_param(name, given[name])
            return self.placeholder(name, typed[name])

        text = _TOKENS.sub(replace, sql)
        return BoundQuery(text, {name: p.value for name, p in typed.items()})

    @abstractmethod
    def placeholder(self, name: str, param: TypedParam) -> str:
        """The engine's bound-parameter syntax for one typed value."""

    @abstractmethod
    def json_string(self, column: str, key_param: str) -> str:
        """The property named by ``key_param`` when it is a JSON string, else ``''``."""

    @abstractmethod
    def json_number(self, column: str, key_param: str) -> str:
        """The property named by ``key_param`` as a double when it is a JSON number, else NULL."""

    @abstractmethod
    def trunc_time(self, unit: TimeUnit, column: str, tz_param: str) -> str:
        """Start of the hour/day/week (Monday)/month containing ``column``, in ``tz_param``.

        Returns a UTC timestamp (µs): the instant the local period starts.
        """

    @abstractmethod
    def local_date(self, column: str, tz_param: str) -> str:
        """The calendar date of a timestamp in time zone ``tz_param``."""

    @abstractmethod
    def count_rows(self, where: str | None = None) -> str:
        """Row count as a 64-bit signed integer (ClickHouse counts are unsigned).

        ``where`` counts only the rows matching a condition (an aggregate ``FILTER``), so
        one scan can produce several counts.
        """

    @abstractmethod
    def count_distinct(self, expr: str) -> str:
        """Exact number of distinct values, as a 64-bit signed integer."""

    @abstractmethod
    def in_array(self, expr: str, array_param: str) -> str:
        """A condition: ``expr`` is one of the values of the list parameter ``array_param``."""

    @abstractmethod
    def json_has(self, column: str, key_param: str) -> str:
        """A condition: the property named by ``key_param`` is present and not null."""

    @abstractmethod
    def json_object(self, column: str, key_param: str) -> str:
        """The JSON text of the object under ``key_param`` (``'{}'`` when it is missing or
        not an object), for reading nested properties such as ``$set``."""

    @abstractmethod
    def regex_match(self, expr: str, pattern_param: str) -> str:
        """A condition: ``expr`` contains a match of the RE2 pattern ``pattern_param``."""

    @abstractmethod
    def contains_ci(self, expr: str, text_param: str) -> str:
        """A condition: ``expr`` contains the text ``text_param``, ignoring case."""

    @abstractmethod
    def lookup(self, expr: str, keys_param: str, values_param: str) -> str:
        """The value paired with ``expr`` in two parallel list parameters (``expr`` itself
        when it is not among the keys)."""

    @abstractmethod
    def epoch_micros(self, column: str) -> str:
        """A timestamp as microseconds since 1970-01-01 UTC, a 64-bit integer."""

    @abstractmethod
    def int_div(self, expr: str, divisor: int) -> str:
        """Integer division of a non-negative 64-bit integer by a positive constant."""

    @abstractmethod
    def parse_time(self, expr: str) -> str:
        """Text read as a UTC timestamp (ISO dates and times, with or without an offset);
        NULL when it is not one."""

    @abstractmethod
    def quantile(self, expr: str, level: float) -> str:
        """The ``level`` quantile of ``expr``, interpolated linearly between the two
        nearest values (R-7, as spreadsheets' PERCENTILE.INC)."""

    @abstractmethod
    def numbers(self, count: int) -> str:
        """A FROM source: the 64-bit integers from 0 to count - 1 as column ``n``."""

    @abstractmethod
    def hash64(self, expr: str) -> str:
        """A 64-bit hash of ``expr`` (unsigned): fast to sort and compare, but each engine
        computes its own values; use it to group or order, never to store or compare
        across engines."""

    def events_with_persons(self, where: str, *, merged: bool = True) -> str:
        """A FROM source: the events matching ``where`` with ``person_id`` resolved through
        the person override map (merged persons count once). ``where`` refers to event
        columns unqualified, as in any other query over ``events``.

        ``merged=False`` says the project has no override rows (see
        ``has_person_overrides``): the join, ≈15% of a person-counting query, is skipped."""
        if not merged:
            return f"(SELECT * FROM events WHERE {where})"
        return f"""(
            SELECT e.* REPLACE (
                CASE WHEN po.override_person_id IS NULL OR po.override_person_id = ''
                     THEN e.person_id ELSE po.override_person_id END AS person_id
            )
            FROM (SELECT * FROM events WHERE {where}) AS e
            LEFT JOIN person_overrides AS po
              ON po.project_id = e.project_id AND po.old_person_id = e.person_id
        )"""


def _filter(where: str | None) -> str:
    """The standard aggregate ``FILTER`` clause; both engines accept it."""
    return f" FILTER (WHERE {where})" if where else ""


def _check_unit(unit: str) -> None:
    if unit not in TIME_UNITS:
        raise ValueError(f"time unit must be one of {', '.join(TIME_UNITS)}, not {unit!r}")


class DuckDBDialect(Dialect):
    """DuckDB: ``$name`` parameters, ICU time zones, JSON pointers."""

    name = "duckdb"
    TYPES: ClassVar[dict[Kind, str]] = {
        Kind.STRING: "VARCHAR",
        Kind.BOOL: "BOOLEAN",
        Kind.INT: "BIGINT",
        Kind.FLOAT: "DOUBLE",
        Kind.TIMESTAMP: "TIMESTAMPTZ",
        Kind.DATE: "DATE",
    }
    _NUMBER_TYPES = "('BIGINT', 'UBIGINT', 'HUGEINT', 'DOUBLE')"

    def placeholder(self, name: str, param: TypedParam) -> str:
        # The cast fixes the type (a bare Python int binds as INTEGER or BIGINT by size).
        if param.kind is None:
            return f"${name}"
        suffix = "[]" if param.array else ""
        return f"CAST(${name} AS {self.TYPES[param.kind]}{suffix})"

    @staticmethod
    def _pointer(key_param: str) -> str:
        # A JSON pointer (RFC 6901) reaches any key, including ones with '.', '$' or '/'.
        return f"('/' || replace(replace({{{key_param}}}, '~', '~0'), '/', '~1'))"

    def json_string(self, column: str, key_param: str) -> str:
        path = self._pointer(key_param)
        return (
            f"(CASE WHEN json_type({column}, {path}) = 'VARCHAR'"
            f" THEN json_extract_string({column}, {path}) ELSE '' END)"
        )

    def json_number(self, column: str, key_param: str) -> str:
        path = self._pointer(key_param)
        return (
            f"(CASE WHEN json_type({column}, {path}) IN {self._NUMBER_TYPES}"
            f" THEN CAST(json_extract_string({column}, {path}) AS DOUBLE) END)"
        )

    def json_has(self, column: str, key_param: str) -> str:
        path = self._pointer(key_param)
        return f"coalesce(json_type({column}, {path}) NOT IN ('NULL'), false)"

    def json_object(self, column: str, key_param: str) -> str:
        path = self._pointer(key_param)
        return (
            f"(CASE WHEN json_type({column}, {path}) = 'OBJECT'"
            f" THEN CAST(json_extract({column}, {path}) AS VARCHAR) ELSE '{{}}' END)"
        )

    def regex_match(self, expr: str, pattern_param: str) -> str:
        return f"regexp_matches({expr}, {{{pattern_param}}})"

    def contains_ci(self, expr: str, text_param: str) -> str:
        return f"(strpos(lower({expr}), lower({{{text_param}}})) > 0)"

    def trunc_time(self, unit: TimeUnit, column: str, tz_param: str) -> str:
        _check_unit(unit)
        local = f"timezone({{{tz_param}}}, {column})"
        if unit == "hour":
            # Subtract the minutes into the local hour: exact even where an hour repeats.
            return f"({column} - ({local} - date_trunc('hour', {local})))"
        return f"timezone({{{tz_param}}}, date_trunc('{unit}', {local}))"

    def local_date(self, column: str, tz_param: str) -> str:
        return f"CAST(timezone({{{tz_param}}}, {column}) AS DATE)"

    def count_rows(self, where: str | None = None) -> str:
        return f"count(*){_filter(where)}"

    def count_distinct(self, expr: str) -> str:
        return f"count(DISTINCT {expr})"

    def in_array(self, expr: str, array_param: str) -> str:
        return f"list_contains({{{array_param}}}, {expr})"

    def hash64(self, expr: str) -> str:
        return f"hash({expr})"

    def epoch_micros(self, column: str) -> str:
        return f"epoch_us({column})"

    def int_div(self, expr: str, divisor: int) -> str:
        return f"CAST(({expr}) // {int(divisor)} AS BIGINT)"

    def quantile(self, expr: str, level: float) -> str:
        return f"quantile_cont({expr}, {float(level)!r})"

    def parse_time(self, expr: str) -> str:
        return f"TRY_CAST({expr} AS TIMESTAMPTZ)"

    def numbers(self, count: int) -> str:
        return f"(SELECT CAST(range AS BIGINT) AS n FROM range({int(count)}))"

    def lookup(self, expr: str, keys_param: str, values_param: str) -> str:
        position = f"list_position({{{keys_param}}}, {expr})"
        return f"coalesce(list_extract({{{values_param}}}, {position}), {expr})"


class ClickHouseDialect(Dialect):
    """ClickHouse (server and chDB): ``{name:Type}`` parameters, UInt64 counts."""

    name = "clickhouse"
    TYPES: ClassVar[dict[Kind, str]] = {
        Kind.STRING: "String",
        Kind.BOOL: "Bool",
        Kind.INT: "Int64",
        Kind.FLOAT: "Float64",
        Kind.TIMESTAMP: "DateTime64(6, 'UTC')",
        Kind.DATE: "Date32",
    }
    _START_OF = {"day": "toStartOfDay", "week": "toMonday", "month": "toStartOfMonth"}

    def placeholder(self, name: str, param: TypedParam) -> str:
        element = "Nothing" if param.kind is None else self.TYPES[param.kind]
        return f"{{{name}:{f'Array({element})' if param.array else element}}}"

    def json_string(self, column: str, key_param: str) -> str:
        key = f"{{{key_param}}}"
        return f"if(JSONType({column}, {key}) = 'String', JSONExtractString({column}, {key}), '')"

    def json_number(self, column: str, key_param: str) -> str:
        key = f"{{{key_param}}}"
        return (
            f"if(JSONType({column}, {key}) IN ('Int64', 'UInt64', 'Double'),"
            f" JSONExtractFloat({column}, {key}), NULL)"
        )

    def json_has(self, column: str, key_param: str) -> str:
        key = f"{{{key_param}}}"
        return f"(JSONHas({column}, {key}) AND JSONType({column}, {key}) != 'Null')"

    def json_object(self, column: str, key_param: str) -> str:
        key = f"{{{key_param}}}"
        return f"if(JSONType({column}, {key}) = 'Object', JSONExtractRaw({column}, {key}), '{{}}')"

    def regex_match(self, expr: str, pattern_param: str) -> str:
        return f"match({expr}, {{{pattern_param}}})"

    def contains_ci(self, expr: str, text_param: str) -> str:
        return f"(positionCaseInsensitiveUTF8({expr}, {{{text_param}}}) > 0)"

    def trunc_time(self, unit: TimeUnit, column: str, tz_param: str) -> str:
        _check_unit(unit)
        tz = f"{{{tz_param}}}"
        if unit == "hour":
            # toStartOfHour is off by 30 min in zones with half-hour DST (Lord Howe);
            # subtracting the local position within the hour is exact everywhere.
            micros = f"toUnixTimestamp64Micro({column})"
            offset = f"timeZoneOffset(toTimeZone({column}, {tz})) * 1000000"
            into_hour = f"positiveModulo({micros} + {offset}, 3600000000)"
            return f"fromUnixTimestamp64Micro({micros} - {into_hour}, 'UTC')"
        start = f"{self._START_OF[unit]}({column}, {tz})"
        # Needs enable_extended_results_for_datetime_functions=1 (set on every query) so
        # days before 1970 do not clamp; week/month starts are dates, midnight in ``tz``.
        zone = "" if unit == "day" else f", {tz}"
        return f"toTimeZone(toDateTime64({start}, 6{zone}), 'UTC')"

    def local_date(self, column: str, tz_param: str) -> str:
        return f"toDate32({column}, {{{tz_param}}})"

    def count_rows(self, where: str | None = None) -> str:
        return f"toInt64(count(){_filter(where)})"

    def lookup(self, expr: str, keys_param: str, values_param: str) -> str:
        return f"transform({expr}, {{{keys_param}}}, {{{values_param}}}, {expr})"

    def count_distinct(self, expr: str) -> str:
        return f"toInt64(uniqExact({expr}))"

    def hash64(self, expr: str) -> str:
        return f"cityHash64({expr})"

    def epoch_micros(self, column: str) -> str:
        return f"toUnixTimestamp64Micro({column})"

    def quantile(self, expr: str, level: float) -> str:
        return f"quantileExactInclusive({float(level)!r})({expr})"

    def parse_time(self, expr: str) -> str:
        return f"parseDateTime64BestEffortOrNull({expr}, 6, 'UTC')"

    def numbers(self, count: int) -> str:
        return f"(SELECT toInt64(number) AS n FROM numbers({int(count)}))"

    def int_div(self, expr: str, divisor: int) -> str:
        return f"toInt64(intDiv({expr}, {int(divisor)}))"

    def in_array(self, expr: str, array_param: str) -> str:
        return f"({expr} IN {{{array_param}}})"


DUCKDB = DuckDBDialect()
CLICKHOUSE = ClickHouseDialect()
_DIALECTS: dict[str, Dialect] = {"duckdb": DUCKDB, "clickhouse": CLICKHOUSE}


def dialect_for(name: DialectName) -> Dialect:
    """The dialect helpers for a warehouse's ``dialect`` name."""
    return _DIALECTS[name]


def has_person_overrides(warehouse: Warehouse, project_id: int) -> bool:
    """Whether any merged person of the project still needs resolving at query time."""
    found = warehouse.query(
        "SELECT project_id FROM person_overrides WHERE project_id = {p} LIMIT 1",
        {"p": project_id},
        max_rows=1,
    )
    return bool(found.table.num_rows)
