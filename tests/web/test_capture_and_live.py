"""The capture endpoint and the live feed behind the Live events page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from loopwise.core.roles import Role
from loopwise.web.context import AppContext
from tests.factories import bearer, create_project, create_token, create_user, flushed


def test_captured_events_show_in_the_recent_feed(client: TestClient, context: AppContext) -> None:
    project = create_project(context)
    body = {
        "api_key": project.write_key,
        "batch": [
            {"event": "signed_up", "distinct_id": "u1", "timestamp": "2026-11-20T10:00:00Z",
             "properties": {"plan": "pro", "$current_url": "https://app.example.com/welcome"}},
            {"event": "$pageview", "properties": {"distinct_id": "u2"}},
        ],
    }  # fmt: skip
    assert client.post("/capture/", json=body).json() == {"status": 1, "accepted": 2}
    flushed(context)
    token = create_token(context, create_user(context, Role.VIEWER).id)
    # Viewers cannot hold tokens in the UI, but a token made by an operator still only reads.
    recent = client.get(
        f"/api/projects/{project.id}/events/recent",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert {e["event"] for e in recent} == {"signed_up", "$pageview"}
    signed = next(e for e in recent if e["event"] == "signed_up")
    assert signed["distinct_id"] == "u1"
    assert signed["current_url"] == "https://app.example.com/welcome"
    assert signed["properties"]["plan"] == "pro"


def test_capture_rejects_a_wrong_write_key(client: TestClient) -> None:
    response = client.post(
        "/capture/", json={"api_key": "lw_nope", "event": "x", "distinct_id": "a"}
    )
    assert response.status_code == 401
    assert response.json()["field"] == "api_key"


def stored(context: AppContext, project_id: int) -> int:
    flushed(context)
    return int(
        context.warehouse.query(
            "SELECT count(*) AS n FROM events WHERE project_id = {p}", {"p": project_id}
        ).table.to_pylist()[0]["n"]
    )


def test_capture_keeps_the_good_events_and_names_the_bad_field(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    body = {
        "api_key": project.write_key,
        "batch": [
            {"event": "ok", "distinct_id": "a"},
            {"event": "", "distinct_id": "b"},
        ],
    }
    response = client.post("/capture/", json=body)
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    [rejected] = response.json()["rejected"]
    assert rejected["field"] == "batch[1].event"
    assert "must be 1 to 200 characters" in rejected["detail"]
    assert stored(context, project.id) == 1


def test_capture_refuses_a_batch_with_no_valid_event_and_stores_nothing(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    body = {"api_key": project.write_key, "batch": [{"event": "x"}, {"distinct_id": "b"}]}
    response = client.post("/capture/", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == "batch[0].distinct_id"
    assert stored(context, project.id) == 0


def test_capture_rejects_non_json(client: TestClient) -> None:
    response = client.post(
        "/capture/", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "body"


def test_live_stream_sends_new_events(client: TestClient, context: AppContext) -> None:
    from tests.factories import sign_in

    project = create_project(context)
    sign_in(client, create_user(context, Role.VIEWER).email)
    client.post(
        "/capture/",
        json={"api_key": project.write_key, "event": "recipe_saved", "distinct_id": "cook"},
    )
    with client.stream(
        "GET", f"/projects/{project.id}/live/stream?after=2000-01-01T00:00:00%2B00:00"
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = []
        for line in stream.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    assert "event: events" in lines
    assert "recipe_saved" in lines[-1]


def test_one_batch_shows_latest_first_and_the_stream_does_not_repeat_it(
    client: TestClient, context: AppContext
) -> None:
    import re

    project = create_project(context)
    batch = [
        {"event": name, "distinct_id": "cook", "timestamp": f"2026-11-20T10:0{minute}:00Z"}
        for minute, name in enumerate(["first", "second", "third"])
    ]
    client.post("/capture/", json={"api_key": project.write_key, "batch": batch})
    flushed(context)
    token = create_token(context, create_user(context, Role.ANALYST).id)
    recent = client.get(f"/api/projects/{project.id}/events/recent", headers=bearer(token))
    assert [e["event"] for e in recent.json()] == ["third", "second", "first"]
    page = client.get(f"/projects/{project.id}/live", headers=bearer(token)).text
    after = re.search(r'data-after="([^"]+)"', page)
    assert after is not None
    url = f"/projects/{project.id}/live/stream"
    with client.stream("GET", url, headers={**bearer(token), "Last-Event-ID": after.group(1)}) as s:
        lines = []
        for line in s.iter_lines():
            lines.append(line)
            if line.startswith(": keep-alive") or line.startswith("data:"):
                break
    assert lines[-1] == ": keep-alive"
