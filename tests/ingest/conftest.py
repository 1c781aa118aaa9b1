"""Ingestion fixtures: a live server per test on DuckDB or chDB, with a project."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest

from loopwise.core.roles import Role
from loopwise.core.settings import load_settings
from tests.factories import create_project, create_token, create_user
from tests.servers import LiveServer, free_port, live_server


@dataclass
class Ingesting:
    """A running server, one project in it, and an API client that may read it."""

    server: LiveServer
    project_id: int
    write_key: str
    api: httpx.Client

    def flushed(self) -> None:
        assert self.server.ingest.wait_flushed(30), "the log did not flush within 30 s"

    def events(self, **params: object) -> list[dict]:
        self.flushed()
        response = self.api.get(
            f"/api/projects/{self.project_id}/events", params={"limit": 1000, **params}
        )
        assert response.status_code == 200, response.text
        return response.json()["events"]

    def person(self, distinct_id: str) -> dict:
        response = self.api.get(
            f"/api/projects/{self.project_id}/persons", params={"distinct_id": distinct_id}
        )
        assert response.status_code == 200, response.text
        return response.json()[0]


def warehouse_url(engine: str, tmp_path: Path, chdb_path: str) -> str:
    if engine == "duckdb":
        return f"duckdb://{tmp_path / 'events.duckdb'}"
    return f"chdb://{chdb_path}?database=lw_ingest_{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["duckdb", "chdb"])
def ingesting(
    request: pytest.FixtureRequest, tmp_path: Path, chdb_path: str
) -> Iterator[Ingesting]:
    yield from _ingesting(request.param, "wal", tmp_path, chdb_path)


@pytest.fixture(params=["duckdb", "chdb"])
def ingesting_direct(
    request: pytest.FixtureRequest, tmp_path: Path, chdb_path: str
) -> Iterator[Ingesting]:
    """The same, acknowledging after the warehouse write (the ClickHouse-server mode)."""
    yield from _ingesting(request.param, "direct", tmp_path, chdb_path)


def _ingesting(engine: str, mode: str, tmp_path: Path, chdb_path: str) -> Iterator[Ingesting]:
    settings = load_settings(
        data_dir=tmp_path / "data",
        warehouse_url=warehouse_url(engine, tmp_path, chdb_path),
        port=free_port(),
        secret_key="ingest-test-" + "k" * 40,
        ingest_mode=mode,
    )
    with live_server(settings) as server:
        owner = create_user(server.context, Role.OWNER)
        project = create_project(server.context)
        token = create_token(server.context, owner.id)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as api:
            yield Ingesting(server, project.id, project.write_key, api)
