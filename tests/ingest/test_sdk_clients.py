"""The real PostHog and Segment Python SDKs, unchanged but for the host, against a live server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import posthog
import segment.analytics as segment_analytics

from tests.ingest.conftest import Ingesting


def _posthog_client(ingesting: Ingesting) -> posthog.Client:
    return posthog.Client(
        ingesting.write_key,
        host=ingesting.server.url,
        sync_mode=True,
        max_retries=1,
        timeout=10,
        disable_geoip=True,
    )


def test_posthog_client_events_persons_and_merges_read_back(ingesting: Ingesting) -> None:
    client = _posthog_client(ingesting)
    anonymous = f"anon-{uuid.uuid4()}"
    client.capture("$pageview", distinct_id=anonymous, properties={"$current_url": "https://app/x"})
    client.capture(
        "recipe_saved", distinct_id=anonymous, properties={"recipe": "soup"},
    )  # fmt: skip
    client.capture(
        "$identify",
        distinct_id="user-42",
        properties={"$anon_distinct_id": anonymous, "$set": {"plan": "pro", "email": "a@b.co"}},
    )
    client.capture("recipe_cooked", distinct_id="user-42", properties={"minutes": 25})
    client.shutdown()

    events = ingesting.events()
    assert {e["event"] for e in events} == {
        "$pageview",
        "recipe_saved",
        "$identify",
        "recipe_cooked",
    }
    persons = {e["person_id"] for e in events}
    assert len(persons) == 1, "the anonymous events belong to the identified person"
    person = ingesting.person("user-42")
    assert person["id"] in persons
    assert sorted(person["distinct_ids"]) == sorted([anonymous, "user-42"])
    assert person["is_identified"] is True
    assert person["properties"] == {"plan": "pro", "email": "a@b.co"}
    saved = next(e for e in events if e["event"] == "recipe_saved")
    assert saved["properties"]["recipe"] == "soup"
    assert saved["distinct_id"] == anonymous


def test_posthog_merge_of_two_stored_persons_resolves_old_events(ingesting: Ingesting) -> None:
    client = _posthog_client(ingesting)
    client.capture("visit", distinct_id="device-1")
    client.capture("login", distinct_id="user-7")
    client.flush()
    ingesting.flushed()
    before = {e["distinct_id"]: e["person_id"] for e in ingesting.events()}
    assert before["device-1"] != before["user-7"]

    client.alias("device-1", "user-7")  # previous id, then the id it becomes
    client.shutdown()
    after = {e["distinct_id"]: e["person_id"] for e in ingesting.events()}
    assert after["device-1"] == after["user-7"]
    person = ingesting.person("user-7")
    assert person["merged_person_ids"] == [before["device-1"]] or person["merged_person_ids"] == [
        before["user-7"]
    ]
    count = ingesting.api.get(f"/api/projects/{ingesting.project_id}/events/count")
    assert count.json() == {"count": 3}


def test_segment_client_calls_map_onto_events_and_persons(ingesting: Ingesting) -> None:
    client = segment_analytics.Client(ingesting.write_key, host=ingesting.server.url, max_retries=1)
    anonymous = f"seg-anon-{uuid.uuid4()}"
    client.page(anonymous_id=anonymous, name="Pricing", properties={"url": "https://x.io/pricing"})
    client.track(event="Plan Chosen", anonymous_id=anonymous, properties={"plan": "team"})
    client.identify(
        user_id="seg-user-1", traits={"email": "z@x.io", "name": "Zed"}, anonymous_id=anonymous
    )
    client.track(event="Checkout", user_id="seg-user-1", properties={"value": 49.0})
    client.group(user_id="seg-user-1", group_id="acme-inc", traits={"name": "Acme"})
    client.flush()
    client.shutdown()

    events = {e["event"]: e for e in ingesting.events()}
    assert set(events) == {"$pageview", "Plan Chosen", "$identify", "Checkout", "$groupidentify"}
    assert events["$pageview"]["properties"]["$current_url"] == "https://x.io/pricing"
    assert events["$pageview"]["properties"]["name"] == "Pricing"
    assert events["Checkout"]["properties"]["value"] == 49.0
    assert events["$groupidentify"]["properties"]["$group_key"] == "acme-inc"
    assert events["Plan Chosen"]["person_id"] == events["Checkout"]["person_id"]
    person = ingesting.person(anonymous)
    assert sorted(person["distinct_ids"]) == sorted([anonymous, "seg-user-1"])
    assert person["properties"] == {"email": "z@x.io", "name": "Zed"}


def test_client_retries_of_the_same_event_are_stored_once(ingesting: Ingesting) -> None:
    client = _posthog_client(ingesting)
    event_id = str(uuid.uuid4())
    when = datetime.now(UTC) - timedelta(minutes=5)
    for _ in range(3):
        client.capture("paid", distinct_id="u-1", uuid=event_id, timestamp=when)
    client.shutdown()
    events = ingesting.events(event="paid")
    assert [e["uuid"] for e in events] == [event_id]
