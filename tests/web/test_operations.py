"""Operations: health and readiness, structured logs, security headers, API docs offline."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from loopwise.core.logging import JsonFormatter
from loopwise.web.context import AppContext


def test_healthz_and_readyz_report_both_stores(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "warehouse": "ok"}}


def test_readyz_says_unavailable_when_the_warehouse_is_gone(
    client: TestClient, context: AppContext
) -> None:
    context.warehouse.close()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["warehouse"].startswith("error")


def test_responses_carry_security_headers(client: TestClient) -> None:
    response = client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_api_docs_use_vendored_assets_only(client: TestClient) -> None:
    html = client.get("/api/docs").text
    assert "/static/vendor/swagger-ui-bundle.js" in html
    assert "cdn." not in html
    assert client.get("/static/vendor/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/api/openapi.json").json()
    assert "/api/projects" in spec["paths"]


def test_unknown_page_is_a_friendly_404(client: TestClient) -> None:
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/api/no/such").json() == {"detail": "There is no page at this address."}


def test_json_log_lines_carry_structured_fields() -> None:
    record = logging.LogRecord("loopwise.web", logging.INFO, __file__, 1, "request", None, None)
    record.status = 200
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "request"
    assert line["status"] == 200
    assert line["level"] == "info"


@pytest.mark.parametrize("path", ["/projects/999", "/projects/999/live", "/projects/999/settings"])
def test_missing_project_pages_answer_404_not_500(
    client: TestClient, context: AppContext, path: str
) -> None:
    from loopwise.core.roles import Role
    from tests.factories import create_user, sign_in

    sign_in(client, create_user(context, Role.VIEWER).email)
    assert client.get(path).status_code == 404
