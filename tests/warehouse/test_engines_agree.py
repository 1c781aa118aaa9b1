"""Property tests: random data gives identical answers on DuckDB and chDB, and the oracle's."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from loopwise.warehouse import Warehouse, dialect_for, open_warehouse

Events = Callable[[Iterable[Mapping[str, Any]]], pa.Table]
EPOCH = datetime(2024, 3, 1, tzinfo=UTC)
PROJECTS = itertools.count(1_000)
TEXT = st.text(st.characters(codec="utf-8"), max_size=12)

event_rows = st.lists(
    st.fixed_dictionaries(
        {
            "event": st.sampled_from(["pageview", "signup", "Ünïcode", "it's", "a\\b", ""]),
            "person_id": st.sampled_from([f"p{i}" for i in range(8)]),
            "timestamp": st.integers(0, 60 * 86_400 * 10**6).map(
                lambda us: EPOCH + timedelta(microseconds=us)
            ),
        }
    ),
    max_size=60,
)


@pytest.fixture(scope="module")
def pair(
    tmp_path_factory: pytest.TempPathFactory, chdb_path: str
) -> Iterator[dict[str, Warehouse]]:
    """One store per engine for the whole module; each example writes its own project."""
    duck_file: Path = tmp_path_factory.mktemp("agree") / "events.duckdb"
    stores = {
        "duckdb": open_warehouse(f"duckdb://{duck_file}"),
        "chdb": open_warehouse(f"chdb://{chdb_path}?database=lw_agree_{uuid.uuid4().hex[:8]}"),
    }
    for store in stores.values():
        store.migrate()
    yield stores
    for store in stores.values():
        store.close()


def counts_by_event(store: Warehouse, project: int) -> list[dict[str, object]]:
    d = dialect_for(store.dialect)
    sql = (
        f"SELECT event, {d.count_rows()} AS n FROM events"
        " WHERE project_id = {project} GROUP BY event ORDER BY event"
    )
    found: list[dict[str, object]] = store.query(sql, {"project": project}).table.to_pylist()
    return found


def persons_per_day(store: Warehouse, project: int, zone: str) -> list[dict[str, object]]:
    d = dialect_for(store.dialect)
    sql = (
        f"SELECT {d.local_date('timestamp', 'tz')} AS day,"
        f" {d.count_distinct('person_id')} AS persons FROM events"
        " WHERE project_id = {project} GROUP BY day ORDER BY day"
    )
    params = {"project": project, "tz": zone}
    found: list[dict[str, object]] = store.query(sql, params).table.to_pylist()
    return found


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=event_rows, zone=st.sampled_from(["America/New_York", "Asia/Kolkata", "UTC"]))
def test_random_batches_give_identical_aggregates(
    pair: dict[str, Warehouse], events: Events, rows: list[dict[str, object]], zone: str
) -> None:
    project = next(PROJECTS)
    batch = events({**row, "project_id": project} for row in rows)
    for store in pair.values():
        assert store.append("events", batch) == len(rows)

    by_event = {name: counts_by_event(store, project) for name, store in pair.items()}
    by_day = {name: persons_per_day(store, project, zone) for name, store in pair.items()}

    expected_events = sorted(Counter(str(r["event"]) for r in rows).items())
    assert (
        by_event["duckdb"] == by_event["chdb"] == [{"event": e, "n": n} for e, n in expected_events]
    )
    days: defaultdict[object, set[object]] = defaultdict(set)
    for r in rows:
        moment = r["timestamp"]
        assert isinstance(moment, datetime)
        days[moment.astimezone(ZoneInfo(zone)).date()].add(r["person_id"])
    assert (
        by_day["duckdb"]
        == by_day["chdb"]
        == [{"day": day, "persons": len(people)} for day, people in sorted(days.items())]
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=TEXT, texts=st.lists(TEXT, max_size=4))
@example(text="\x00\r\n\t\\'\"{x}", texts=["\x00", "\\", "'", "\r\n", "\\'", "]"])
def test_any_text_parameter_comes_back_unchanged(
    pair: dict[str, Warehouse], text: str, texts: list[str]
) -> None:
    for store in pair.values():
        got = store.query("SELECT {t} AS t, {ts} AS ts", {"t": text, "ts": texts}).table
        assert got.to_pylist() == [{"t": text, "ts": texts}]
