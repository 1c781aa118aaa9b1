"""Who may do what: the role matrix, project isolation, CSRF, sign-in throttling, audit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from loopwise.core.roles import Role
from loopwise.web.context import AppContext
from tests.factories import (
    PASSWORD,
    bearer,
    create_api_key,
    create_project,
    create_token,
    create_user,
    form_token,
    sign_in,
)


def test_api_requires_credentials(client: TestClient) -> None:
    response = client.get("/api/projects")
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


def test_pages_redirect_to_sign_in_and_back(client: TestClient) -> None:
    response = client.get("/people", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/people"


def test_unknown_bearer_token_is_rejected(client: TestClient) -> None:
    response = client.get("/api/projects", headers=bearer("lwp_not-a-real-token"))
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.OWNER, 201),
        (Role.ADMIN, 201),
        (Role.ANALYST, 403),
        (Role.SUPPORT, 403),
        (Role.VIEWER, 403),
    ],
)
def test_only_owners_and_admins_create_api_keys(
    client: TestClient, context: AppContext, role: Role, status: int
) -> None:
    project = create_project(context)
    user = create_user(context, role)
    # Viewers and support cannot hold tokens, so they act through a browser session.
    csrf = sign_in(client, user.email)
    response = client.post(
        f"/api/projects/{project.id}/api-keys",
        json={"name": "export"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == status, response.text


def test_viewer_cannot_create_projects_or_change_roles(
    client: TestClient, context: AppContext
) -> None:
    viewer = create_user(context, Role.VIEWER)
    other = create_user(context, Role.ANALYST)
    csrf = sign_in(client, viewer.email)
    create = client.post("/projects", data={"name": "Mine", "csrf_token": csrf})
    assert create.status_code == 403
    promote = client.post(f"/people/{other.id}/role", data={"role": "admin", "csrf_token": csrf})
    assert promote.status_code == 403
    assert client.get("/api/users", headers={"X-CSRF-Token": csrf}).status_code == 403


def test_support_cannot_create_personal_tokens(client: TestClient, context: AppContext) -> None:
    support = create_user(context, Role.SUPPORT)
    csrf = sign_in(client, support.email)
    response = client.post("/account/tokens", data={"name": "laptop", "csrf_token": csrf})
    assert response.status_code == 403


def test_admin_cannot_make_an_owner(client: TestClient, context: AppContext) -> None:
    admin = create_user(context, Role.ADMIN)
    viewer = create_user(context, Role.VIEWER)
    token = create_token(context, admin.id)
    response = client.put(
        f"/api/users/{viewer.id}/role", json={"role": "owner"}, headers=bearer(token)
    )
    assert response.status_code == 403
    allowed = client.put(
        f"/api/users/{viewer.id}/role", json={"role": "analyst"}, headers=bearer(token)
    )
    assert allowed.json()["role"] == "analyst"


def test_project_key_sees_only_its_project(client: TestClient, context: AppContext) -> None:
    mine = create_project(context, "A")
    theirs = create_project(context, "B")
    key = create_api_key(context, mine.id, Role.ADMIN)
    listed = client.get("/api/projects", headers=bearer(key)).json()
    assert [p["id"] for p in listed] == [mine.id]
    assert client.get(f"/api/projects/{mine.id}", headers=bearer(key)).status_code == 200
    for path in (f"/api/projects/{theirs.id}", f"/api/projects/{theirs.id}/api-keys"):
        response = client.get(path, headers=bearer(key))
        assert response.status_code == 404, path
    # A project key never acts on the instance: no new projects, no people, no audit.
    assert client.post("/api/projects", json={"name": "C"}, headers=bearer(key)).status_code == 403
    assert client.get("/api/users", headers=bearer(key)).status_code == 403


def test_revoked_key_stops_working(client: TestClient, context: AppContext) -> None:
    project = create_project(context)
    owner = create_user(context, Role.OWNER)
    token = create_token(context, owner.id)
    created = client.post(
        f"/api/projects/{project.id}/api-keys", json={"name": "ci"}, headers=bearer(token)
    ).json()
    secret = created["secret"]
    assert client.get("/api/projects", headers=bearer(secret)).status_code == 200
    revoke = client.delete(
        f"/api/projects/{project.id}/api-keys/{created['key']['id']}", headers=bearer(token)
    )
    assert revoke.status_code == 204
    assert client.get("/api/projects", headers=bearer(secret)).status_code == 401


def test_state_changing_form_without_csrf_token_is_rejected(
    client: TestClient, context: AppContext
) -> None:
    owner = create_user(context, Role.OWNER)
    csrf = sign_in(client, owner.email)
    missing = client.post("/projects", data={"name": "No token"})
    assert missing.status_code == 403
    wrong = client.post("/projects", data={"name": "Bad token", "csrf_token": "forged"})
    assert wrong.status_code == 403
    good = client.post(
        "/projects", data={"name": "Good", "csrf_token": csrf}, follow_redirects=False
    )
    assert good.status_code == 303
    names = [p["name"] for p in client.get("/api/projects", headers={"X-CSRF-Token": csrf}).json()]
    assert names == ["Good"]


def test_sign_in_form_needs_its_token(client: TestClient, context: AppContext) -> None:
    owner = create_user(context, Role.OWNER)
    response = client.post("/login", data={"email": owner.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "lw_session" not in client.cookies


def test_sign_in_is_throttled_after_repeated_failures(
    client: TestClient, context: AppContext
) -> None:
    user = create_user(context, Role.ANALYST)
    for _ in range(context.settings.login_max_failures):
        page = client.get("/login")
        failed = client.post(
            "/login",
            data={"email": user.email, "password": "wrong", "csrf_token": form_token(page.text)},
        )
        assert failed.status_code == 401
        assert "Wrong email or password" in failed.text
    page = client.get("/login")
    locked = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": form_token(page.text)},
    )
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.text


def test_sign_out_ends_the_session(client: TestClient, context: AppContext) -> None:
    user = create_user(context, Role.VIEWER)
    csrf = sign_in(client, user.email)
    assert (
        client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    )
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_audit_log_records_sensitive_actions(client: TestClient, context: AppContext) -> None:
    owner = create_user(context, Role.OWNER, "owner@example.com")
    page = client.get("/login")
    client.post(
        "/login",
        data={"email": owner.email, "password": "nope", "csrf_token": form_token(page.text)},
    )
    csrf = sign_in(client, owner.email)
    client.post("/account/tokens", data={"name": "laptop", "csrf_token": csrf})
    analyst = create_user(context, Role.ANALYST)
    client.post(f"/people/{analyst.id}/role", data={"role": "viewer", "csrf_token": csrf})
    entries = client.get("/api/audit", headers={"X-CSRF-Token": csrf}).json()
    actions = [e["action"] for e in entries]
    for expected in ("sign_in.failed", "sign_in.ok", "token.created", "user.role_changed"):
        assert expected in actions
    page = client.get("/audit?action=sign_in.failed")
    assert page.status_code == 200
    assert "owner@example.com" in page.text


def test_audit_page_is_for_admins_only(client: TestClient, context: AppContext) -> None:
    analyst = create_user(context, Role.ANALYST)
    sign_in(client, analyst.email)
    assert client.get("/audit").status_code == 403


def test_active_use_renews_the_session_cookie(client: TestClient, context: AppContext) -> None:
    user = create_user(context, Role.VIEWER)
    sign_in(client, user.email)
    response = client.get("/account")
    cookie = response.headers.get("set-cookie", "")
    assert cookie.startswith("lw_session=")
    assert f"Max-Age={context.settings.session_hours * 3600}" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie


def test_forged_session_cookie_is_refused(client: TestClient) -> None:
    client.cookies.set("lw_session", "made-up-token.signature")
    assert client.get("/account", follow_redirects=False).status_code == 303


def test_people_page_is_for_member_managers(client: TestClient, context: AppContext) -> None:
    sign_in(client, create_user(context, Role.ANALYST).email)
    assert client.get("/people").status_code == 403


def test_only_settings_editors_rename_a_project(client: TestClient, context: AppContext) -> None:
    project = create_project(context, "Before")
    viewer_csrf = sign_in(client, create_user(context, Role.VIEWER).email)
    form = {"name": "After", "timezone": "Europe/Paris", "csrf_token": viewer_csrf}
    assert client.post(f"/projects/{project.id}/settings", data=form).status_code == 403
    admin_csrf = sign_in(client, create_user(context, Role.ADMIN).email)
    bad = client.post(
        f"/projects/{project.id}/settings",
        data={"name": "After", "timezone": "Mars/Base", "csrf_token": admin_csrf},
    )
    assert bad.status_code == 422
    assert "not an IANA time zone" in bad.text
    form["csrf_token"] = admin_csrf
    saved = client.post(f"/projects/{project.id}/settings", data=form)
    assert "Project settings saved" in saved.text
    headers = {"X-CSRF-Token": admin_csrf}
    assert client.get(f"/api/projects/{project.id}", headers=headers).json()["timezone"] == (
        "Europe/Paris"
    )
    updated = [
        e
        for e in client.get("/api/audit", headers=headers).json()
        if e["action"] == "project.updated"
    ]
    assert updated[0]["details"] == {
        "name": ["Before", "After"],
        "timezone": ["UTC", "Europe/Paris"],
    }
