"""Wire details of the SDK formats: compression, forms, clock skew, keys, limits, config."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from loopwise.web.context import AppContext
from tests.factories import create_project, flushed

App = tuple[TestClient, AppContext, int, str]


@pytest.fixture
def app(client: TestClient, context: AppContext) -> App:
    project = create_project(context)
    return client, context, project.id, project.write_key


def rows(context: AppContext, project_id: int) -> list[dict]:
    flushed(context)
    return context.warehouse.query(
        "SELECT event, distinct_id, timestamp, properties FROM events WHERE project_id = {p}"
        " ORDER BY event",
        {"p": project_id},
    ).table.to_pylist()


def test_gzip_is_detected_by_magic_bytes_whatever_the_headers_say(app: App) -> None:
    client, context, project_id, key = app
    body = gzip.compress(
        json.dumps({"api_key": key, "event": "zipped", "distinct_id": "a"}).encode()
    )
    answer = client.post(
        "/e/?compression=gzip-js", content=body, headers={"content-type": "text/plain"}
    )
    assert answer.json() == {"status": 1, "accepted": 1}
    assert [r["event"] for r in rows(context, project_id)] == ["zipped"]


def test_posthog_js_form_posts_with_base64_data(app: App) -> None:
    client, context, project_id, key = app
    events = [{"event": "$pageview", "properties": {"distinct_id": "d1", "token": key}}]
    data = base64.b64encode(json.dumps(events).encode()).decode()
    answer = client.post(
        "/e/?compression=base64",
        content=f"data={quote(data)}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.json()["accepted"] == 1
    [row] = rows(context, project_id)
    assert row["distinct_id"] == "d1"
    assert "token" not in json.loads(row["properties"])


def test_clock_skew_is_corrected_with_sent_at(app: App) -> None:
    client, context, project_id, key = app
    skewed_clock = datetime.now(UTC) + timedelta(hours=3)  # the device is 3 h ahead
    event = {"event": "skewed", "distinct_id": "a",
             "timestamp": (skewed_clock - timedelta(minutes=10)).isoformat()}  # fmt: skip
    client.post(
        "/batch/", json={"api_key": key, "batch": [event], "sent_at": skewed_clock.isoformat()}
    )
    [row] = rows(context, project_id)
    assert abs(row["timestamp"] - (datetime.now(UTC) - timedelta(minutes=10))) < timedelta(
        seconds=30
    )


def test_future_times_are_clamped_and_flagged(app: App) -> None:
    client, context, project_id, key = app
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    client.post(
        "/capture/", json={"api_key": key, "event": "f", "distinct_id": "a", "timestamp": future}
    )
    [row] = rows(context, project_id)
    assert row["timestamp"] < datetime.now(UTC) + timedelta(seconds=5)
    assert json.loads(row["properties"])["$timestamp_clamped_from"] == future.replace(
        "+00:00", "+00:00"
    )


def test_segment_key_from_basic_auth_and_message_ids_dedupe(app: App) -> None:
    client, context, project_id, key = app
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    message = {"type": "track", "event": "Paid", "userId": "u1", "messageId": "ajs-next-123"}
    for _ in range(2):
        answer = client.post(
            "/v1/batch", json={"batch": [message]}, headers={"authorization": auth}
        )
        assert answer.json() == {"success": True, "accepted": 1}
    assert [r["event"] for r in rows(context, project_id)] == ["Paid"]


def test_a_wrong_key_gets_401_with_the_reason(app: App) -> None:
    client, _, _, _ = app
    answer = client.post("/v1/track", json={"writeKey": "lw_nope", "event": "x", "userId": "u"})
    assert answer.status_code == 401
    assert answer.json() == {
        "success": False, "field": "writeKey",
        "detail": "writeKey is missing or is not the write key of any project",
    }  # fmt: skip


def test_flags_and_remote_config_answer_empty(app: App) -> None:
    client, _, _, key = app
    flags = client.post("/flags/?v=4", json={"api_key": key, "distinct_id": "a"}).json()
    assert flags["flags"] == {}
    assert flags["featureFlags"] == {}
    assert client.get(f"/array/{key}/config").json()["hasFeatureFlags"] is False
    assert client.get(f"/array/{key}/config.js").status_code == 200


def test_browser_sdks_may_post_from_another_origin(app: App) -> None:
    client, _, _, key = app
    origin = {"Origin": "https://shop.example.com"}
    preflight = client.options(
        "/e/", headers={**origin, "Access-Control-Request-Method": "POST",
                        "Access-Control-Request-Headers": "content-type"},
    )  # fmt: skip
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    answer = client.post(
        "/v1/track", json={"writeKey": key, "event": "x", "userId": "u"}, headers=origin
    )
    assert answer.headers["access-control-allow-origin"] == "*"
    refused = client.post(
        "/e/", json={"api_key": "lw_nope", "event": "x", "distinct_id": "a"}, headers=origin
    )
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "*"
    api = client.get("/api/projects/1/events", headers=origin)
    assert "access-control-allow-origin" not in api.headers  # the read API stays same-origin


def test_analytics_js_short_paths_and_settings(app: App) -> None:
    client, context, project_id, key = app
    settings = client.get(f"/v1/projects/{key}/settings").json()
    assert settings["integrations"]["Segment.io"]["apiHost"] == "127.0.0.1:8000/v1"
    assert settings["integrations"]["Segment.io"]["protocol"] == "http"
    message = {
        "type": "track", "event": "Clicked", "anonymousId": "a1", "writeKey": key,
        "messageId": "ajs-next-1732262400000-abc", "properties": {"button": "buy"},
        "context": {"page": {"url": "https://shop.example.com/p/1", "path": "/p/1"},
                    "library": {"name": "analytics.js", "version": "next-1.70.0"}},
        "timestamp": "2026-11-22T10:00:00.000Z", "sentAt": "2026-11-22T10:00:00.100Z",
    }  # fmt: skip
    answer = client.post(
        "/v1/t", content=json.dumps(message), headers={"content-type": "text/plain"}
    )
    assert answer.json() == {"success": True, "accepted": 1}
    batch = {
        "batch": [{**message, "type": "page", "messageId": "ajs-2", "name": "Home"}],
        "writeKey": key,
    }
    assert client.post("/v1/b", json=batch).json()["accepted"] == 1
    stored = {r["event"]: json.loads(r["properties"]) for r in rows(context, project_id)}
    assert stored["Clicked"]["$current_url"] == "https://shop.example.com/p/1"
    assert stored["Clicked"]["$lib"] == "analytics.js"
    assert stored["$pageview"]["name"] == "Home"
