"""Builders for test data; everything goes through the real service functions."""

from __future__ import annotations

import re
import secrets

from fastapi.testclient import TestClient

from loopwise.core import accounts
from loopwise.core.accounts import ProjectInfo, UserInfo
from loopwise.core.audit import Actor
from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.web.context import AppContext

TEST_ACTOR = Actor("test")
PASSWORD = "correct horse battery"


def create_user(context: AppContext, role: Role, email: str | None = None) -> UserInfo:
    address = email or f"{role.value}-{secrets.token_hex(3)}@example.com"
    with transaction(context.sessions) as session:
        return accounts.create_user(session, TEST_ACTOR, address, role, PASSWORD)


def create_project(context: AppContext, name: str = "Acme") -> ProjectInfo:
    with transaction(context.sessions) as session:
        return accounts.create_project(session, TEST_ACTOR, name)


def create_api_key(context: AppContext, project_id: int, role: Role = Role.ANALYST) -> str:
    with transaction(context.sessions) as session:
        return accounts.create_api_key(session, TEST_ACTOR, project_id, "test key", role)[1]


def create_token(context: AppContext, user_id: int) -> str:
    with transaction(context.sessions) as session:
        return accounts.create_token(session, TEST_ACTOR, user_id, "test token")[1]


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through the real form; returns the session's CSRF token for later forms."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": form_token(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return form_token(client.get("/account").text)
