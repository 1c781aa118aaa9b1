"""Odd and hostile input gets a clear 4xx, never a 500; keys never cross projects."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from loopwise.core.roles import Role
from loopwise.web.context import AppContext
from tests.factories import bearer, create_api_key, create_project, create_user, form_token, sign_in


@pytest.mark.parametrize(
    "path",
    [
        "/projects/{id}",
        "/projects/{id}/overview",
        "/projects/{id}/live",
        "/projects/{id}/live/stream",
        "/projects/{id}/settings",
        "/api/projects/{id}/overview",
        "/api/projects/{id}/events/recent",
    ],
)
def test_a_project_key_gets_404_for_every_page_of_another_project(
    client: TestClient, context: AppContext, path: str
) -> None:
    mine, theirs = create_project(context, "A"), create_project(context, "B")
    key = create_api_key(context, mine.id, Role.ADMIN)
    response = client.get(path.format(id=theirs.id), headers=bearer(key))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/audit"), ("GET", "/api/me/tokens"), ("GET", "/account"), ("GET", "/audit")],
)
def test_a_project_key_never_acts_as_a_person(
    client: TestClient, context: AppContext, method: str, path: str
) -> None:
    key = create_api_key(context, create_project(context).id, Role.ADMIN)
    assert client.request(method, path, headers=bearer(key)).status_code == 403


def test_cookie_authenticated_json_writes_need_the_csrf_header(
    client: TestClient, context: AppContext
) -> None:
    owner = create_user(context, Role.OWNER)
    csrf = sign_in(client, owner.email)
    viewer = create_user(context, Role.VIEWER)
    body = {"role": "analyst"}
    assert client.put(f"/api/users/{viewer.id}/role", json=body).status_code == 403
    headers = {"X-CSRF-Token": csrf}
    assert client.put(f"/api/users/{viewer.id}/role", json=body, headers=headers).status_code == 200
    assert client.post("/logout").status_code == 403


def test_overlong_email_on_sign_in_is_just_wrong(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": "x" * 500 + "@example.com",
            "password": "p",
            "csrf_token": form_token(page.text),
        },
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "path",
    ["/projects/99999999999999999999", "/projects/0/live", "/audit?page=0", "/projects/1?days=14"],
)
def test_out_of_range_numbers_are_422(client: TestClient, context: AppContext, path: str) -> None:
    create_project(context)
    sign_in(client, create_user(context, Role.OWNER).email)
    assert client.get(path).status_code == 422


def test_capture_refuses_non_object_properties(client: TestClient, context: AppContext) -> None:
    project = create_project(context)
    body = {"api_key": project.write_key, "event": "x", "distinct_id": "a", "properties": "oops"}
    response = client.post("/capture/", json=body)
    assert response.status_code == 400
    assert "properties must be a JSON object" in response.json()["detail"]


def test_capture_refuses_oversized_bodies(client: TestClient, context: AppContext) -> None:
    response = client.post(
        "/capture/",
        content=b"{}",
        headers={"content-type": "application/json", "content-length": str(50 * 1024 * 1024)},
    )
    assert response.status_code == 413


def test_sign_in_returns_to_the_page_asked_for(client: TestClient, context: AppContext) -> None:
    user = create_user(context, Role.OWNER)
    first = client.get("/audit?action=sign_in.ok&page=1", follow_redirects=False)
    target = first.headers["location"]
    assert target == "/login?next=/audit%3Faction%3Dsign_in.ok%26page%3D1"
    page = client.get(target)
    assert 'name="next" value="/audit?action=sign_in.ok&amp;page=1"' in page.text
    done = client.post(
        "/login",
        data={
            "email": user.email, "password": "correct horse battery",
            "csrf_token": form_token(page.text), "next": "/audit?action=sign_in.ok&page=1",
        },
        follow_redirects=False,
    )  # fmt: skip
    assert done.headers["location"] == "/audit?action=sign_in.ok&page=1"


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_off_site(
    client: TestClient, context: AppContext, target: str
) -> None:
    user = create_user(context, Role.VIEWER)
    page = client.get("/login")
    done = client.post(
        "/login",
        data={
            "email": user.email, "password": "correct horse battery",
            "csrf_token": form_token(page.text), "next": target,
        },
        follow_redirects=False,
    )  # fmt: skip
    assert done.headers["location"] == "/"


def test_htmx_request_without_session_gets_a_fragment_and_redirect(client: TestClient) -> None:
    response = client.get(
        "/audit?action=x", headers={"HX-Request": "true", "HX-Current-URL": "http://t/audit"}
    )
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/login?next=/audit"
    assert "<html" not in response.text
