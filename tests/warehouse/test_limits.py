"""Every query has a time limit and a row cap, from the call or from the store's defaults."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from loopwise.warehouse import QueryTimeout, Warehouse

# A cross join that runs ≈ 3-9 s uninterrupted on this machine, so a broken timeout still
# ends the test on its own.
SLOW_SQL = {
    "duckdb": (
        "SELECT count(*) AS n FROM range(20000) a(x), range(20000) b(y) WHERE (x * y) % 7 = 3"
    ),
    "clickhouse": (
        "SELECT count() AS n FROM numbers(30000) a, numbers(30000) b"
        " WHERE (a.number * b.number) % 7 = 3"
    ),
}


def test_a_slow_query_is_stopped_at_its_time_limit(warehouse: Warehouse) -> None:
    started = time.monotonic()

    with pytest.raises(QueryTimeout):
        warehouse.query(SLOW_SQL[warehouse.dialect], timeout_s=0.2)

    assert time.monotonic() - started < 2.0


def test_the_store_answers_correctly_after_a_timeout(warehouse: Warehouse) -> None:
    with pytest.raises(QueryTimeout):
        warehouse.query(SLOW_SQL[warehouse.dialect], timeout_s=0.1)

    assert warehouse.query("SELECT {x} AS x", {"x": "after"}).table.to_pylist() == [{"x": "after"}]


@pytest.mark.parametrize("engine", ["duckdb", "chdb"])
def test_store_defaults_apply_when_a_query_gives_no_limits(
    open_engine: Callable[..., Warehouse], engine: str
) -> None:
    store = open_engine(engine, default_timeout_s=0.2, default_max_rows=3)
    store.migrate()

    capped = store.query(
        "SELECT x FROM (SELECT unnest({xs}) AS x) ORDER BY x", {"xs": list(range(10))}
    )
    with pytest.raises(QueryTimeout):
        store.query(SLOW_SQL[store.dialect])

    assert capped.truncated
    assert capped.table.column("x").to_pylist() == [0, 1, 2]


@pytest.mark.parametrize(("timeout_s", "max_rows"), [(0, 10), (-1.0, 10), (1.0, -1)])
def test_nonsense_limits_are_refused(warehouse: Warehouse, timeout_s: float, max_rows: int) -> None:
    with pytest.raises(ValueError, match="must"):
        warehouse.query("SELECT 1 AS one", timeout_s=timeout_s, max_rows=max_rows)
