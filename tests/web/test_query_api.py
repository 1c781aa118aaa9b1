"""The query API: a typed query in, a result out; bad queries name the field; tenants stay apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from loopwise.core.roles import Role
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture
from loopwise.web.context import AppContext
from tests.factories import bearer, create_project, create_token, create_user


def test_trends_through_the_api(client: TestClient, context: AppContext) -> None:
    project = create_project(context)
    other = create_project(context, "Other")
    now = datetime.now(UTC)
    events = [
        CaptureEvent(event="signup", distinct_id=f"u{i}", timestamp=now - timedelta(hours=i))
        for i in range(3)
    ]
    capture(context.warehouse, project.id, events)
    token = create_token(context, create_user(context, Role.VIEWER).id)
    body = {"kind": "trends", "series": [{"event": "signup", "math": "unique_persons"}],
            "date_range": {"last_days": 2}}  # fmt: skip
    answer = client.post(f"/api/projects/{project.id}/query", json=body, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["kind"] == "trends"
    assert len(result["buckets"]) == 2
    assert result["lines"][0]["total"] == 3
    assert result["query"]["interval"] == "day"
    elsewhere = client.post(f"/api/projects/{other.id}/query", json=body, headers=bearer(token))
    assert elsewhere.json()["lines"][0]["total"] == 0

    bad = {**body, "date_range": {"date_from": "2026-03-02", "date_to": "2026-03-01"}}
    refused = client.post(f"/api/projects/{project.id}/query", json=bad, headers=bearer(token))
    assert refused.status_code == 422
    assert "date_to is before date_from" in refused.text
    zone = {**body, "date_range": {"last_days": 2, "timezone": "Mars/Olympus"}}
    refused = client.post(f"/api/projects/{project.id}/query", json=zone, headers=bearer(token))
    assert refused.status_code == 422
    assert "date_range.timezone" in refused.text
    assert client.post(f"/api/projects/{project.id}/query", json=body).status_code == 401

    drill = {"query": body, "limit": 2}
    url = f"/api/projects/{project.id}/query/persons"
    page = client.post(url, json=drill, headers=bearer(token)).json()
    assert len(page["persons"]) == 2
    assert page["has_more"] is True
    exported = client.post(
        url, json={**drill, "limit": 10}, headers={**bearer(token), "Accept": "text/csv"}
    )
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.strip().splitlines()
    assert lines[0] == "person_id,distinct_id,events,last_seen"
    assert sorted(line.split(",")[1] for line in lines[1:]) == ["u0", "u1", "u2"]
