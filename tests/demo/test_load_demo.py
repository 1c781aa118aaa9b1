"""``load_demo``: reproducible, complete, streamed through the capture facade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loopwise.core.errors import InvalidInput
from loopwise.demo import load_demo
from loopwise.demo.contracts import DemoTarget
from loopwise.demo.facade import run_generators
from loopwise.demo.generators import GENERATORS
from loopwise.demo.population import Business
from loopwise.demo.product_events import person_events
from loopwise.ingest.facade import events_to_arrow
from loopwise.warehouse import open_warehouse
from loopwise.warehouse.schema import EVENTS
from tests.demo.conftest import END, LoadedDemo, load


def test_the_same_seed_gives_identical_events() -> None:
    first, second = load(users=120, days=30, seed=5), load(users=120, days=30, seed=5)
    assert first.table.num_rows > 1000
    assert first.table.equals(second.table)


def test_a_different_seed_gives_different_events() -> None:
    first, other = load(users=120, days=30, seed=5), load(users=120, days=30, seed=6)
    assert not first.table.equals(other.table)
    emails = {p.email for p in first.business.people}
    assert emails != {p.email for p in other.business.people}


def test_batching_does_not_change_the_events() -> None:
    business = Business.build(users=80, days=30, seed=3, end=END)
    tables = []
    for batch_size in (50_000, 777):
        store = open_warehouse("duckdb:///:memory:")
        store.migrate()
        run_generators(business, DemoTarget(store, 1, END), GENERATORS, batch_size=batch_size)
        tables.append(store.query("SELECT * FROM events ORDER BY uuid", max_rows=10**7).table)
        store.close()
    assert tables[0].equals(tables[1])


def test_the_same_seed_gives_the_same_population() -> None:
    first = Business.build(users=50, days=20, seed=9, end=END)
    assert first == Business.build(users=50, days=20, seed=9, end=END)


def test_more_users_give_more_events() -> None:
    small, large = load(users=60, days=30, seed=4), load(users=240, days=30, seed=4)
    assert large.summary.events > 2.5 * small.summary.events


def test_the_summary_matches_what_was_stored(demo: LoadedDemo) -> None:
    timestamps = demo.table.column("timestamp")
    assert demo.summary.persons == 500
    assert demo.summary.events == demo.table.num_rows
    assert demo.summary.first_timestamp == min(timestamps.to_pylist())
    assert demo.summary.last_timestamp == max(timestamps.to_pylist())
    assert demo.summary.elapsed_seconds > 0


def test_all_timestamps_lie_inside_the_period(demo: LoadedDemo) -> None:
    frame = demo.frame
    assert frame["timestamp"].min() >= END - timedelta(days=120)  # type: ignore[operator]
    assert frame["timestamp"].max() <= END  # type: ignore[operator]
    assert (frame["received_at"] == END).all()


def test_generated_events_match_the_events_schema() -> None:
    business = Business.build(users=40, days=30, seed=2, end=END)
    events = [e for person in business.people for e in person_events(business, person)]
    table = events_to_arrow(1, events, END)
    assert table.schema.equals(EVENTS)
    assert table.num_rows == len(events) > 500
    assert all(column.null_count == 0 for column in table.columns)


def test_progress_is_reported_up_to_every_person() -> None:
    calls: list[tuple[int, int]] = []
    store = open_warehouse("duckdb:///:memory:")
    store.migrate()
    load_demo(store, 1, users=250, days=14, end=END, progress=lambda d, t: calls.append((d, t)))
    store.close()
    assert calls[0] == (0, 250)
    assert calls[-1] == (250, 250)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_the_default_end_is_the_current_hour() -> None:
    store = open_warehouse("duckdb:///:memory:")
    store.migrate()
    before = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    summary = load_demo(store, 1, users=20, days=7)
    store.close()
    assert summary.last_timestamp is not None
    assert summary.last_timestamp <= datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert summary.last_timestamp > before - timedelta(days=7)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"users": 0}, "users"),
        ({"days": 0}, "days"),
        ({"end": datetime(2026, 1, 1)}, "end"),
    ],
)
def test_impossible_arguments_are_refused(options: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"users": 10, "days": 7, "seed": 1, "end": END} | options
    with pytest.raises(InvalidInput) as caught:
        Business.build(**arguments)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_emails_are_unique_and_never_reach_a_real_domain(demo: LoadedDemo) -> None:
    emails = [person.email for person in demo.business.people]
    assert len(set(emails)) == len(emails)
    assert all(email.endswith(".example") for email in emails)
