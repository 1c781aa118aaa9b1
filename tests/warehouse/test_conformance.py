"""The same SQL gives the same, known answers on DuckDB and on chDB (ClickHouse)."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest

from loopwise.warehouse import Warehouse, WarehouseError, dialect_for
from loopwise.warehouse.schema import EVENTS, TABLES

Events = Callable[[Iterable[Mapping[str, Any]]], pa.Table]
TS = datetime(2024, 3, 10, 6, 59, 59, 999_999, tzinfo=UTC)


def rows(
    store: Warehouse, sql: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = store.query(sql, params).table.to_pylist()
    return found


def types(table: pa.Table) -> list[pa.DataType]:
    return [f.type for f in table.schema]


def test_migrate_twice_keeps_rows_and_the_schema(warehouse: Warehouse, events: Events) -> None:
    warehouse.append("events", events([{}]))
    warehouse.migrate()
    warehouse.migrate()

    table = warehouse.query("SELECT * FROM events").table
    assert table.num_rows == 1
    assert table.column_names == EVENTS.names
    assert types(table) == [f.type for f in EVENTS]


@pytest.mark.parametrize("engine", ["duckdb", "chdb"])
def test_migrate_adds_columns_an_older_table_lacks(
    open_engine: Callable[..., Warehouse], events: Events, engine: str
) -> None:
    added = ("feature", "utm_campaign", "browser", "os")
    old_schema = pa.schema([f for f in EVENTS if f.name not in added])
    old = open_engine(
        engine, name="lw_upgrade", tables={"events": (old_schema, TABLES["events"][1])}
    )
    old.migrate()
    properties = '{"$browser": "Firefox", "$os": 3, "$feature": "export"}'
    old.append(
        "events", events([{"event": "kept", "properties": properties}]).select(old_schema.names)
    )
    old.close()

    new = open_engine(engine, name="lw_upgrade")
    new.migrate()

    # Hot columns added later are filled from the properties (text values only).
    assert rows(new, "SELECT event, feature, utm_campaign, browser, os FROM events") == [
        {"event": "kept", "feature": "export", "utm_campaign": "", "browser": "Firefox", "os": ""}
    ]


def test_append_returns_the_count_and_rows_read_back_equal(
    warehouse: Warehouse, events: Events
) -> None:
    batch = events(
        [
            {"timestamp": TS, "received_at": TS + timedelta(microseconds=1), "event": "$pageview"},
            {"timestamp": datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=UTC), "project_id": 2**40},
            {
                "event": "naïve 🚀 \"quoted\" 'single' \\ back\ttab\nline",
                "properties": '{"a": [1]}',
            },
            {"person_id": "", "distinct_id": "", "current_url": "https://x.io/?q=1&r=2"},
        ]
    )

    assert warehouse.append("events", batch) == 4

    table = warehouse.query("SELECT * FROM events ORDER BY uuid").table
    assert types(table) == [f.type for f in EVENTS]
    assert table.to_pylist() == batch.to_pylist()


def test_append_of_no_rows_writes_nothing(warehouse: Warehouse, events: Events) -> None:
    assert warehouse.append("events", events([])) == 0
    assert rows(warehouse, "SELECT uuid FROM events") == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["feature"]), "missing"),
        (lambda t: t.append_column("extra", pa.array(["x"])), "unexpected"),
        (lambda t: t.set_column(2, "event", pa.array([None], pa.string())), "nulls"),
    ],
    ids=["missing-column", "extra-column", "null-in-string"],
)
def test_append_refuses_rows_that_do_not_fit(
    warehouse: Warehouse, events: Events, change: Callable[[pa.Table], pa.Table], message: str
) -> None:
    with pytest.raises(WarehouseError, match=message):
        warehouse.append("events", change(events([{}])))


def test_unknown_tables_are_refused_before_reaching_sql(
    warehouse: Warehouse, events: Events
) -> None:
    with pytest.raises(WarehouseError, match="unknown table"):
        warehouse.append("events; DROP TABLE events", events([{}]))
    with pytest.raises(WarehouseError, match="unknown table"):
        warehouse.delete("persons", "1 = 1")


def test_parameters_of_each_type_come_back_with_the_same_value_and_type(
    warehouse: Warehouse,
) -> None:
    kolkata = timezone(timedelta(hours=5, minutes=30))
    params = {
        "s": "a'b\"c\\d\te\nf 🚀",
        "i": -(2**62),
        "f": 0.1,
        "b": True,
        "ts": TS,
        "ts_local": datetime(2024, 3, 10, 12, 29, 59, 999_999, tzinfo=kolkata),
        "d": date(2024, 2, 29),
        "ls": ["x", "it's", ""],
        "li": (1, 2, 3),
        "lf": [1, 2.5],
        "lts": [TS],
        "ld": [date(2024, 1, 1)],
    }
    select = ", ".join(f"{{{name}}} AS {name}" for name in params)

    table = warehouse.query(f"SELECT {select}", params).table

    assert table.to_pylist() == [params | {"ts_local": TS, "li": [1, 2, 3], "lf": [1.0, 2.5]}]
    assert types(table) == [
        pa.string(),
        pa.int64(),
        pa.float64(),
        pa.bool_(),
        pa.timestamp("us", tz="UTC"),
        pa.timestamp("us", tz="UTC"),
        pa.date32(),
        pa.list_(pa.string()),
        pa.list_(pa.int64()),
        pa.list_(pa.float64()),
        pa.list_(pa.timestamp("us", tz="UTC")),
        pa.list_(pa.date32()),
    ]


def test_parameters_select_rows_by_value_time_and_list(
    warehouse: Warehouse, events: Events
) -> None:
    d = dialect_for(warehouse.dialect)
    warehouse.append(
        "events",
        events(
            [
                {"event": "signup", "timestamp": TS},
                {"event": "signup", "timestamp": TS - timedelta(microseconds=1)},
                {"event": "login", "timestamp": TS},
                {"event": "signup", "timestamp": TS, "project_id": 2},
                {"event": "other", "timestamp": TS},
            ]
        ),
    )
    sql = (
        "SELECT uuid FROM events WHERE project_id = {project} AND timestamp >= {since}"
        f" AND {d.in_array('event', 'names')} ORDER BY uuid"
    )

    found = rows(warehouse, sql, {"project": 1, "since": TS, "names": ["signup", "login"]})
    nothing = rows(warehouse, sql, {"project": 1, "since": TS, "names": []})

    assert found == [{"uuid": "e00000"}, {"uuid": "e00002"}]
    assert nothing == []


def test_a_hostile_string_parameter_is_only_data(warehouse: Warehouse, events: Events) -> None:
    hostile = "x'; DROP TABLE events; --"
    warehouse.append("events", events([{"event": hostile}, {"event": "x"}]))

    matched = rows(warehouse, "SELECT uuid, {v} AS v FROM events WHERE event = {v}", {"v": hostile})

    assert matched == [{"uuid": "e00000", "v": hostile}]
    assert len(rows(warehouse, "SELECT uuid FROM events")) == 2


def test_braces_inside_literals_and_comments_are_not_placeholders(warehouse: Warehouse) -> None:
    sql = "SELECT '{x}' AS literal, {x} AS bound -- {not_given}\n/* {also_not} */"

    assert rows(warehouse, sql, {"x": "value"}) == [{"literal": "{x}", "bound": "value"}]


def test_a_missing_parameter_is_reported_by_name(warehouse: Warehouse) -> None:
    with pytest.raises(ValueError, match=r"\{project\}"):
        warehouse.query("SELECT {project} AS p", {"other": 1})


PROPERTIES = {
    "s": "text",
    "n": 42,
    "x": -1.5e-3,
    "numeric_text": "12",
    "t": True,
    "nil": None,
    "obj": {"a": 1},
    "$current_url": "https://x.io/a",
    "a.b": "dot",
    "a/b": "slash",
    "a~b": "tilde",
    'quote"d': "q",
    "ünï": "ok",
}
JSON_EXPECTED = {
    # key: (as string, as number)
    "s": ("text", None),
    "n": ("", 42.0),
    "x": ("", -1.5e-3),
    "numeric_text": ("12", None),
    "t": ("", None),
    "nil": ("", None),
    "obj": ("", None),
    "missing": ("", None),
    "$current_url": ("https://x.io/a", None),
    "a.b": ("dot", None),
    "a/b": ("slash", None),
    "a~b": ("tilde", None),
    'quote"d': ("q", None),
    "ünï": ("ok", None),
}


@pytest.mark.parametrize("key", list(JSON_EXPECTED))
def test_json_properties_extract_strings_and_numbers_alike(
    warehouse: Warehouse, events: Events, key: str
) -> None:
    d = dialect_for(warehouse.dialect)
    warehouse.append("events", events([{"properties": json.dumps(PROPERTIES)}]))
    sql = (
        f"SELECT {d.json_string('properties', 'key')} AS text,"
        f" {d.json_number('properties', 'key')} AS number FROM events"
    )

    table = warehouse.query(sql, {"key": key}).table

    assert types(table) == [pa.string(), pa.float64()]
    assert table.to_pylist() == [dict(zip(["text", "number"], JSON_EXPECTED[key], strict=True))]


def test_count_distinct_is_exact(warehouse: Warehouse, events: Events) -> None:
    d = dialect_for(warehouse.dialect)
    warehouse.append("events", events({"person_id": f"p{i % 4_321}"} for i in range(20_000)))
    sql = f"SELECT {d.count_rows()} AS n, {d.count_distinct('person_id')} AS persons FROM events"

    table = warehouse.query(sql).table

    assert types(table) == [pa.int64(), pa.int64()]
    assert table.to_pylist() == [{"n": 20_000, "persons": 4_321}]


def test_delete_removes_exactly_the_matching_rows(warehouse: Warehouse, events: Events) -> None:
    warehouse.append(
        "events",
        events(
            [
                {"person_id": "gone", "project_id": 1},
                {"person_id": "gone", "project_id": 2},
                {"person_id": "stays", "project_id": 1},
                {"person_id": "gone", "project_id": 1},
            ]
        ),
    )

    warehouse.delete(
        "events",
        "person_id = {person} AND project_id = {project}",
        {"person": "gone", "project": 1},
    )

    assert rows(warehouse, "SELECT uuid FROM events ORDER BY uuid") == [
        {"uuid": "e00001"},
        {"uuid": "e00002"},
    ]


def test_the_row_cap_truncates_and_says_so(warehouse: Warehouse, events: Events) -> None:
    warehouse.append("events", events({"event": f"n{i:04d}"} for i in range(250)))
    sql = "SELECT event FROM events ORDER BY event"

    capped = warehouse.query(sql, max_rows=100)
    exact = warehouse.query(sql, max_rows=250)

    assert capped.truncated
    assert capped.table.column("event").to_pylist() == [f"n{i:04d}" for i in range(100)]
    assert not exact.truncated
    assert exact.table.num_rows == 250


def test_an_empty_result_keeps_its_columns(warehouse: Warehouse) -> None:
    result = warehouse.query("SELECT uuid, timestamp FROM events WHERE project_id = {p}", {"p": 9})

    assert not result.truncated
    assert result.table.column_names == ["uuid", "timestamp"]
    assert types(result.table) == [pa.string(), pa.timestamp("us", tz="UTC")]


def test_engine_errors_become_warehouse_errors(warehouse: Warehouse) -> None:
    with pytest.raises(WarehouseError):
        warehouse.query("SELECT no_such_column FROM events")
    assert rows(warehouse, "SELECT {n} AS n", {"n": 1}) == [{"n": 1}]


def test_concurrent_queries_and_appends_from_threads_all_succeed(
    warehouse: Warehouse, events: Events
) -> None:
    d = dialect_for(warehouse.dialect)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for round_ in range(5):
                batch = events({"project_id": worker, "event": f"r{round_}"} for _ in range(10))
                warehouse.append("events", batch)
                counted = rows(
                    warehouse,
                    f"SELECT {d.count_rows()} AS n FROM events WHERE project_id = {{p}}",
                    {"p": worker},
                )
                assert counted == [{"n": 10 * (round_ + 1)}]
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert rows(warehouse, f"SELECT {d.count_rows()} AS n FROM events") == [{"n": 300}]


def test_ping_answers_and_a_closed_store_refuses_work(warehouse: Warehouse) -> None:
    warehouse.ping()
    warehouse.close()

    with pytest.raises(WarehouseError, match="closed"):
        warehouse.query("SELECT 1 AS one")
    warehouse.close()  # closing twice is harmless


def test_float_parameters_keep_every_bit(warehouse: Warehouse) -> None:
    values = {"a": 1 / 3, "b": 1e300, "c": -2.5e-310, "d": math.pi}

    got = rows(warehouse, "SELECT {a} AS a, {b} AS b, {c} AS c, {d} AS d", values)

    assert got == [values]
