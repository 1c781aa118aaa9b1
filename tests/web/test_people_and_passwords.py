"""Taking access away and changing passwords end sessions and tokens at once."""

from __future__ import annotations

from fastapi.testclient import TestClient

from loopwise.core.roles import Role
from loopwise.web.context import AppContext
from tests.factories import PASSWORD, bearer, create_token, create_user, form_token, sign_in


def test_deactivating_someone_ends_their_sessions_and_tokens(
    client: TestClient, context: AppContext
) -> None:
    from fastapi.testclient import TestClient as Browser

    leaver = create_user(context, Role.ANALYST)
    token = create_token(context, leaver.id)
    with Browser(client.app, base_url="http://127.0.0.1") as leaver_browser:
        sign_in(leaver_browser, leaver.email)
        admin = create_user(context, Role.ADMIN)
        csrf = sign_in(client, admin.email)
        done = client.post(
            f"/people/{leaver.id}/active", data={"active": "false", "csrf_token": csrf}
        )
        assert done.status_code == 200
        assert "deactivated" in done.text
        assert leaver_browser.get("/account", follow_redirects=False).status_code == 303
    assert client.get("/api/me", headers=bearer(token)).status_code == 401
    page = client.get("/login")
    again = client.post(
        "/login",
        data={"email": leaver.email, "password": PASSWORD, "csrf_token": form_token(page.text)},
    )
    assert again.status_code == 401
    actions = [e["action"] for e in client.get("/api/audit", headers={"X-CSRF-Token": csrf}).json()]
    assert "user.deactivated" in actions


def test_the_last_owner_cannot_be_deactivated_or_demoted(
    client: TestClient, context: AppContext
) -> None:
    owner = create_user(context, Role.OWNER)
    token = create_token(context, owner.id)
    demote = client.put(
        f"/api/users/{owner.id}/role", json={"role": "admin"}, headers=bearer(token)
    )
    assert demote.status_code == 422
    assert "last owner" in demote.json()["detail"]
    second = create_user(context, Role.OWNER)
    other_token = create_token(context, second.id)
    gone = client.put(
        f"/api/users/{owner.id}/active", json={"active": False}, headers=bearer(other_token)
    )
    assert gone.json()["is_active"] is False
    last = client.put(
        f"/api/users/{second.id}/active", json={"active": False}, headers=bearer(other_token)
    )
    assert last.status_code == 422


def test_an_admin_cannot_deactivate_an_owner(client: TestClient, context: AppContext) -> None:
    owner = create_user(context, Role.OWNER)
    admin_token = create_token(context, create_user(context, Role.ADMIN).id)
    response = client.put(
        f"/api/users/{owner.id}/active", json={"active": False}, headers=bearer(admin_token)
    )
    assert response.status_code == 403


def test_changing_password_checks_the_current_one_and_signs_out_elsewhere(
    client: TestClient, context: AppContext
) -> None:
    from fastapi.testclient import TestClient as Browser

    user = create_user(context, Role.VIEWER)
    with Browser(client.app, base_url="http://127.0.0.1") as other_device:
        sign_in(other_device, user.email)
        csrf = sign_in(client, user.email)
        wrong = client.post(
            "/account/password",
            data={
                "current_password": "nope",
                "new_password": "a brand new secret",
                "csrf_token": csrf,
            },
        )
        assert wrong.status_code == 422
        assert "is not your current password" in wrong.text
        short = client.post(
            "/account/password",
            data={"current_password": PASSWORD, "new_password": "short", "csrf_token": csrf},
        )
        assert short.status_code == 422
        assert "at least 10 characters" in short.text
        ok = client.post(
            "/account/password",
            data={
                "current_password": PASSWORD,
                "new_password": "a brand new secret",
                "csrf_token": csrf,
            },
        )
        assert "Your password is changed" in ok.text
        assert ok.headers["cache-control"] == "no-store"
        assert client.get("/account").status_code == 200
        assert other_device.get("/account", follow_redirects=False).status_code == 303
    sign_in(client, user.email, "a brand new secret")


def test_creating_an_account_the_caller_cannot_grant_is_forbidden(
    client: TestClient, context: AppContext
) -> None:
    admin_token = create_token(context, create_user(context, Role.ADMIN).id)
    response = client.post(
        "/api/users",
        json={"email": "boss@example.com", "role": "owner"},
        headers=bearer(admin_token),
    )
    assert response.status_code == 403
    assert "an admin cannot create an owner" in response.json()["detail"]


def test_duplicate_email_is_a_field_error(client: TestClient, context: AppContext) -> None:
    admin_token = create_token(context, create_user(context, Role.ADMIN).id)
    body = {"email": "Same@Example.com", "role": "viewer"}
    assert client.post("/api/users", json=body, headers=bearer(admin_token)).status_code == 201
    again = client.post("/api/users", json=body, headers=bearer(admin_token))
    assert again.status_code == 422
    assert again.json() == {"detail": "same@example.com already has an account", "field": "email"}
