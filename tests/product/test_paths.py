"""Paths after and before an event, against hand-worked answers, on DuckDB and chDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture
from loopwise.product.contracts import PathPersonsQuery, PathsQuery, PathsResult
from loopwise.product.facade import persons_in, run_query
from loopwise.warehouse import Warehouse

P = 13
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
RANGE = {"date_from": "2026-03-01", "date_to": "2026-03-09"}
JOURNEYS = {
    "ann": ["home", "signup", "create", "create", "share"],
    "ben": ["signup", "create", "export"],
    "cid": ["home", "signup", "home"],
    "dot": ["home", "pricing"],
}


@pytest.fixture
def stored(warehouse: Warehouse) -> Warehouse:
    begin = datetime(2026, 3, 2, 9, tzinfo=UTC)
    events = [
        CaptureEvent(
            event=name, distinct_id=who, timestamp=begin + timedelta(minutes=i),
            properties={"$pathname": f"/{name}"},
        )
        for who, names in JOURNEYS.items()
        for i, name in enumerate(names)
    ]  # fmt: skip
    capture(warehouse, P, events, received_at=NOW)
    return warehouse


def paths(warehouse: Warehouse, **query: Any) -> PathsResult:
    result = run_query(
        warehouse, P, PathsQuery.model_validate({"date_range": RANGE, **query}), "UTC", now=NOW
    )
    assert isinstance(result, PathsResult)
    return result


def test_paths_after_an_event_merge_repeats_and_count_persons_per_link(stored: Warehouse) -> None:
    result = paths(stored, event="signup", depth=3)
    nodes = {(n.step, n.name): (n.persons, n.ended) for n in result.nodes}
    assert nodes == {
        (0, "signup"): (3, 0),
        (1, "create"): (2, 0),  # ann's two creates in a row are one step
        (1, "home"): (1, 1),
        (2, "share"): (1, 1),
        (2, "export"): (1, 1),
    }
    links = {(k.step, k.source, k.target): k.persons for k in result.links}
    assert links == {
        (0, "signup", "create"): 2, (0, "signup", "home"): 1,
        (1, "create", "share"): 1, (1, "create", "export"): 1,
    }  # fmt: skip
    query = PathsQuery.model_validate({"date_range": RANGE, "event": "signup", "depth": 3})
    found = persons_in(
        stored, P, PathPersonsQuery(query=query, step=1, name="create"), "UTC", now=NOW
    )
    assert {p.distinct_id for p in found.persons} == {"ann", "ben"}


def test_a_path_cut_by_the_depth_has_not_ended(stored: Warehouse) -> None:
    result = paths(stored, event="signup", depth=2)
    nodes = {(n.step, n.name): (n.persons, n.ended) for n in result.nodes}
    # ann and ben went on after "create"; cid's path ends at "home".
    assert nodes[(1, "create")] == (2, 0)
    assert nodes[(1, "home")] == (1, 1)


def test_paths_before_an_event_and_pages_and_rare_steps_grouped(stored: Warehouse) -> None:
    before = paths(stored, event="signup", direction="before", depth=2)
    assert {(n.step, n.name): n.persons for n in before.nodes} == {
        (0, "signup"): 3, (1, "home"): 2,
    }  # fmt: skip
    begin = datetime(2026, 3, 2, 9, tzinfo=UTC)
    views = [
        CaptureEvent(
            event="$pageview", distinct_id=who, timestamp=begin + timedelta(minutes=i),
            properties={"$pathname": f"/{name}"},
        )
        for who, names in JOURNEYS.items()
        for i, name in enumerate(names)
    ]  # fmt: skip
    capture(stored, P + 1, views, received_at=NOW)
    query = PathsQuery.model_validate({"date_range": RANGE, "steps": "pages", "depth": 2})
    pages = run_query(stored, P + 1, query, "UTC", now=NOW)
    assert {(n.step, n.name): n.persons for n in pages.nodes} == {  # type: ignore[union-attr]
        (0, "/home"): 3, (0, "/signup"): 1, (1, "/signup"): 2, (1, "/create"): 1,
        (1, "/pricing"): 1,
    }  # fmt: skip
    grouped = paths(stored, depth=2, limit=2)
    assert {(n.step, n.name): n.persons for n in grouped.nodes if n.step == 1} == {
        (1, "signup"): 2, (1, "create"): 1, (1, "$other"): 1,
    }  # fmt: skip
