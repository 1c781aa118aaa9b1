"""Builders for test data; everything goes through the real service functions."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from fastapi.testclient import TestClient

from loopwise.core import accounts
from loopwise.core.accounts import ProjectInfo, UserInfo
from loopwise.core.audit import Actor
from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.warehouse.schema import EVENTS
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


EVENT_DEFAULTS: dict[str, Any] = {
    "project_id": 1,
    "event": "pageview",
    "distinct_id": "d1",
    "person_id": "p1",
    "timestamp": datetime(2024, 1, 15, 12, 0, tzinfo=UTC),
    "received_at": datetime(2024, 1, 15, 12, 0, 1, tzinfo=UTC),
    "session_id": "",
    "properties": "{}",
    "current_url": "",
    "pathname": "",
    "referrer": "",
    "utm_source": "",
    "utm_medium": "",
    "utm_campaign": "",
    "feature": "",
    "browser": "",
    "os": "",
    "device_type": "",
    "country": "",
}


def build_events(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Events as Arrow: each row overrides the defaults; uuids are e00000, e00001, …"""
    records = [EVENT_DEFAULTS | {"uuid": f"e{i:05d}"} | dict(row) for i, row in enumerate(rows)]
    return pa.Table.from_pylist(records, schema=EVENTS)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def flushed(context: AppContext) -> None:
    """Wait until every acknowledged event is in the warehouse (the log flushes in ~0.1 s)."""
    assert context.ingest is not None, "create_app starts the ingestion service"
    assert context.ingest.wait_flushed(30), "the write-ahead log did not flush within 30 s"
