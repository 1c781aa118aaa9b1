"""The ingestion page: counts by outcome and reason, rejections, and the privacy settings."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from loopwise.core.roles import Role
from loopwise.web.context import AppContext
from tests.factories import bearer, create_project, create_token, create_user, flushed, sign_in


@pytest.fixture
def app(client: TestClient, context: AppContext) -> tuple[TestClient, AppContext]:
    return client, context


def test_page_shows_accepted_dropped_and_rejected_events(
    app: tuple[TestClient, AppContext],
) -> None:
    client, context = app
    project = create_project(context)
    empty = client.get(f"/projects/{project.id}/ingestion", headers=bearer(
        create_token(context, create_user(context, Role.VIEWER).id)))  # fmt: skip
    assert "Nothing has arrived in the last 48 hours" in empty.text
    batch = [{"event": "ok", "distinct_id": "a"}, {"event": ["bad"], "distinct_id": "b"}]
    client.post("/batch/", json={"api_key": project.write_key, "batch": batch})
    flushed(context)
    assert context.ingest is not None
    context.ingest.stats.save(context.sessions)
    token = create_token(context, create_user(context, Role.ANALYST).id)
    report = client.get(f"/api/projects/{project.id}/ingestion", headers=bearer(token)).json()
    assert report["totals"] == {"accepted": 1, "rejected:invalid": 1}
    assert report["rejections"][0]["field"] == "batch[1].event"
    assert report["policy"]["ip_mode"] == "truncate"
    page = client.get(f"/projects/{project.id}/ingestion", headers=bearer(token)).text
    assert "Rejected: malformed message" in page
    assert "batch[1].event" in page
    assert "Owners and admins can change these settings." in page


def test_admins_change_settings_with_errors_next_to_the_field_and_an_audit_entry(
    app: tuple[TestClient, AppContext],
) -> None:
    client, context = app
    project = create_project(context)
    csrf = sign_in(client, create_user(context, Role.ADMIN).email)
    url = f"/projects/{project.id}/ingestion"
    bad = client.post(url, data={"csrf_token": csrf, "ip_mode": "keep", "denylist": "ssn"})
    assert bad.status_code == 422
    assert 'id="e-ip_mode"' in bad.text
    saved = client.post(
        url,
        data={"csrf_token": csrf, "ip_mode": "drop", "require_consent": "true",
              "denylist": "Password\nssn, card_number"},
        follow_redirects=False,
    )  # fmt: skip
    assert saved.status_code == 303
    policy = client.get(f"/api/projects/{project.id}/ingestion").json()["policy"]
    assert policy == {
        "require_consent": True, "ip_mode": "drop", "cookieless": False, "scrub_pii": False,
        "denylist": ["card_number", "password", "ssn"],
    }  # fmt: skip
    audit = client.get("/api/audit").json()
    entry = next(e for e in audit if e["action"] == "ingest.settings_changed")
    assert entry["details"]["ip_mode"] == {"old": "truncate", "new": "drop"}
    no_csrf = client.post(url, data={"ip_mode": "truncate"})
    assert no_csrf.status_code == 403


def test_viewers_cannot_change_settings(app: tuple[TestClient, AppContext]) -> None:
    client, context = app
    project = create_project(context)
    csrf = sign_in(client, create_user(context, Role.VIEWER).email)
    answer = client.post(f"/projects/{project.id}/ingestion", data={"csrf_token": csrf})
    assert answer.status_code == 403
