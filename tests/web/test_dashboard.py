"""The dashboard page: a shell that loads its numbers, the partial, and its JSON twin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from loopwise.core.roles import Role
from loopwise.web.context import AppContext
from tests.factories import create_project, create_user, sign_in


def capture(client: TestClient, write_key: str, event: str, who: str, at: datetime) -> None:
    body = {"api_key": write_key, "event": event, "distinct_id": who, "timestamp": at.isoformat()}
    assert client.post("/capture/", json=body).json() == {"status": 1, "accepted": 1}
    assert client.app.state.context.ingest.wait_flushed()  # type: ignore[attr-defined]


def test_dashboard_shows_falls_as_a_down_arrow_with_a_positive_number(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    now = datetime.now(UTC)
    for who in ("a", "b"):
        capture(client, project.write_key, "recipe_saved", who, now - timedelta(days=10))
    capture(client, project.write_key, "recipe_saved", "a", now - timedelta(hours=1))
    sign_in(client, create_user(context, Role.VIEWER).email)
    shell = client.get(f"/projects/{project.id}?days=7")
    assert f'hx-get="/projects/{project.id}/overview?days=7"' in shell.text
    assert "Loading the numbers" in shell.text
    partial = client.get(f"/projects/{project.id}/overview?days=7").text
    assert "▼ 50.0% vs previous 7 days" in partial
    assert "-50.0" not in partial
    assert "<html" not in partial
    numbers = client.get(f"/api/projects/{project.id}/overview?days=7").json()
    events = next(h for h in numbers["headlines"] if h["label"] == "Events")
    assert (events["value"], events["previous"]) == (1, 2)


def test_an_empty_project_dashboard_says_what_to_do(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    sign_in(client, create_user(context, Role.VIEWER).email)
    partial = client.get(f"/projects/{project.id}/overview").text
    assert "No events in the last 30 days" in partial
    assert f"/projects/{project.id}/settings" in partial


def test_numbers_are_cached_until_refreshed(client: TestClient, context: AppContext) -> None:
    project = create_project(context)
    now = datetime.now(UTC)
    capture(client, project.write_key, "recipe_saved", "a", now - timedelta(hours=2))
    sign_in(client, create_user(context, Role.VIEWER).email)
    url = f"/api/projects/{project.id}/overview?days=7"
    first = client.get(url).json()
    capture(client, project.write_key, "recipe_saved", "b", now - timedelta(hours=1))
    cached = client.get(url).json()
    assert cached == first
    fresh = client.get(url + "&refresh=true").json()
    assert fresh["headlines"][0]["value"] == 2
    assert fresh["computed_at"] > first["computed_at"]
