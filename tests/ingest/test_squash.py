"""Squashing the person override map: old events take the surviving id, answers stay equal."""

from __future__ import annotations

from datetime import timedelta

from loopwise.ingest.jobs import squash_overrides
from tests.ingest.conftest import Ingesting


def send(ingesting: Ingesting, *events: dict) -> None:
    body = {"api_key": ingesting.write_key, "batch": list(events)}
    answer = ingesting.api.post("/batch/", json=body)
    assert answer.status_code == 200, answer.text
    ingesting.flushed()


def test_squash_rewrites_merged_events_and_empties_the_warehouse_map(ingesting: Ingesting) -> None:
    visits = [{"event": "visit", "distinct_id": d} for d in ("device-a", "device-b", "user-1")]
    send(ingesting, *visits)
    alias = {"event": "$create_alias", "distinct_id": "user-1", "properties": {"alias": "device-a"}}
    send(ingesting, alias)
    identify = {"event": "$identify", "distinct_id": "user-1",
                "properties": {"$anon_distinct_id": "device-b"}}  # fmt: skip
    send(ingesting, identify)
    before = {e["distinct_id"]: e["person_id"] for e in ingesting.events()}
    assert len(set(before.values())) == 1
    context = ingesting.server.context
    warehouse = context.warehouse
    overrides = warehouse.query("SELECT count(*) AS n FROM person_overrides").table
    assert overrides.column("n")[0].as_py() == 2

    assert squash_overrides(context.sessions, warehouse, older_than=timedelta(0)) == 2
    assert squash_overrides(context.sessions, warehouse, older_than=timedelta(0)) == 0

    raw = (
        warehouse.query(
            "SELECT DISTINCT person_id FROM events WHERE project_id = {p}",
            {"p": ingesting.project_id},
        )
        .table.column("person_id")
        .to_pylist()
    )
    assert raw == [before["user-1"]]
    assert (
        warehouse.query("SELECT count(*) AS n FROM person_overrides").table.column("n")[0].as_py()
        == 0
    )
    after = {e["distinct_id"]: e["person_id"] for e in ingesting.events()}
    assert after == before
    person = ingesting.person("device-a")
    assert len(person["merged_person_ids"]) == 2  # still findable by their old ids
    old_id = person["merged_person_ids"][0]
    found = ingesting.api.get(f"/api/projects/{ingesting.project_id}/persons/{old_id}").json()
    assert found["id"] == before["user-1"]


def test_the_dashboard_counts_merged_persons_once_before_and_after_squashing(
    ingesting: Ingesting,
) -> None:
    from loopwise.overview.facade import project_overview

    send(
        ingesting,
        {"event": "visit", "distinct_id": "d-1"},
        {"event": "visit", "distinct_id": "u-1"},
    )
    warehouse = ingesting.server.context.warehouse

    def active_people() -> int:
        overview = project_overview(warehouse, ingesting.project_id, days=7)
        return next(h.value for h in overview.headlines if h.label == "Active people")

    assert active_people() == 2
    send(
        ingesting, {"event": "$create_alias", "distinct_id": "u-1", "properties": {"alias": "d-1"}}
    )
    assert active_people() == 1
    squash_overrides(ingesting.server.context.sessions, warehouse, older_than=timedelta(0))
    assert active_people() == 1
