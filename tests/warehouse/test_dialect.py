"""Placeholders become each engine's bound parameters; the compiled SQL is pinned here."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from loopwise.warehouse import CLICKHOUSE, DUCKDB, Dialect, placeholder_names, quote_ident

TS = datetime(2024, 3, 10, 6, 59, 59, 999_999, tzinfo=UTC)


def trends_sql(d: Dialect) -> str:
    """A typical analytics query, written once."""
    return (
        f"SELECT {d.trunc_time('day', 'timestamp', 'tz')} AS day, {d.count_rows()} AS n"
        " FROM events WHERE project_id = {project} AND timestamp >= {since}"
        f" AND {d.in_array('event', 'events')}"
        " GROUP BY day ORDER BY day"
    )


def test_duckdb_sql_for_a_trends_query_is_stable() -> None:
    bound = DUCKDB.bind(
        trends_sql(DUCKDB), {"tz": "Asia/Kolkata", "project": 1, "since": TS, "events": ["a"]}
    )

    assert bound.sql == (
        "SELECT timezone(CAST($tz AS VARCHAR), date_trunc('day',"
        " timezone(CAST($tz AS VARCHAR), timestamp))) AS day, count(*) AS n"
        " FROM events WHERE project_id = CAST($project AS BIGINT)"
        " AND timestamp >= CAST($since AS TIMESTAMPTZ)"
        " AND list_contains(CAST($events AS VARCHAR[]), event)"
        " GROUP BY day ORDER BY day"
    )
    assert bound.params == {"tz": "Asia/Kolkata", "project": 1, "since": TS, "events": ["a"]}


def test_clickhouse_sql_for_a_trends_query_is_stable() -> None:
    bound = CLICKHOUSE.bind(
        trends_sql(CLICKHOUSE), {"tz": "Asia/Kolkata", "project": 1, "since": TS, "events": ["a"]}
    )

    assert bound.sql == (
        "SELECT toTimeZone(toDateTime64(toStartOfDay(timestamp, {tz:String}), 6), 'UTC') AS day,"
        " toInt64(count()) AS n"
        " FROM events WHERE project_id = {project:Int64}"
        " AND timestamp >= {since:DateTime64(6, 'UTC')}"
        " AND (event IN {events:Array(String)})"
        " GROUP BY day ORDER BY day"
    )


@pytest.mark.parametrize(
    ("value", "duckdb", "clickhouse"),
    [
        ("s", "CAST($p AS VARCHAR)", "{p:String}"),
        (True, "CAST($p AS BOOLEAN)", "{p:Bool}"),
        (7, "CAST($p AS BIGINT)", "{p:Int64}"),
        (0.5, "CAST($p AS DOUBLE)", "{p:Float64}"),
        (TS, "CAST($p AS TIMESTAMPTZ)", "{p:DateTime64(6, 'UTC')}"),
        (date(2024, 1, 1), "CAST($p AS DATE)", "{p:Date32}"),
        (["a"], "CAST($p AS VARCHAR[])", "{p:Array(String)}"),
        ((1, 2.5), "CAST($p AS DOUBLE[])", "{p:Array(Float64)}"),
        ([], "$p", "{p:Array(Nothing)}"),
    ],
)
def test_each_python_type_gets_its_sql_type(value: object, duckdb: str, clickhouse: str) -> None:
    assert DUCKDB.bind("{p}", {"p": value}).sql == duckdb
    assert CLICKHOUSE.bind("{p}", {"p": value}).sql == clickhouse


def test_datetimes_are_bound_in_utc() -> None:
    local = TS.astimezone(timezone(timedelta(hours=-5)))

    bound = CLICKHOUSE.bind("{t}", {"t": local})

    assert bound.params["t"] == TS
    assert bound.params["t"].tzinfo is UTC  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (datetime(2024, 1, 1), ValueError),
        (2**63, ValueError),
        (None, TypeError),
        (b"bytes", TypeError),
        ({"a": 1}, TypeError),
        ([1, "a"], TypeError),
    ],
    ids=["naive-datetime", "int-overflow", "none", "bytes", "dict", "mixed-list"],
)
def test_values_that_cannot_be_bound_safely_are_refused(value: object, error: type) -> None:
    with pytest.raises(error, match="'p'"):
        DUCKDB.bind("SELECT {p}", {"p": value})


def test_only_placeholders_outside_literals_identifiers_and_comments_count() -> None:
    sql = """
        SELECT '{a}', 'it''s {b}', "{c}", `{d}`, x::INTEGER, {'k': 1}, {name:String},
               {e} -- {f}
        /* {g}
           {h} */ , {e}
    """

    assert placeholder_names(sql) == ["e"]
    bound = DUCKDB.bind(sql, {"e": 1, "unused": 2})
    assert bound.sql.count("$e") == 2
    assert bound.params == {"e": 1}


def test_quote_ident_accepts_only_plain_names() -> None:
    assert quote_ident("timestamp") == '"timestamp"'
    with pytest.raises(ValueError, match="identifier"):
        quote_ident('events"; DROP TABLE x; --')
