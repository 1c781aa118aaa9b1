"""The command line, run as a user runs it: a separate process, real stores, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from loopwise.core.db import make_engine, session_factory
from loopwise.core.models import AuditEvent
from loopwise.core.settings import load_settings
from loopwise.revenue.models import BillingObject, MetricsDaily
from loopwise.web.app import create_app


def run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loopwise", *args],
        env={**os.environ, "COLUMNS": "200", **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def cli_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {
        "LOOPWISE_DATA_DIR": str(tmp_path / "data"),
        "LOOPWISE_DATABASE_URL": database_url,
    }


def test_projects_create_json_prints_id_name_and_write_key(cli_env: dict[str, str]) -> None:
    result = run(["projects", "create", "Acme", "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"id", "name", "write_key"}
    assert created["name"] == "Acme"
    assert created["write_key"].startswith("lw_")
    listed = json.loads(run(["projects", "list", "--json"], cli_env).stdout)
    assert listed == [created]


def test_users_and_tokens_work_against_the_api(cli_env: dict[str, str], tmp_path: Path) -> None:
    created = run(
        ["users", "create", "Ops@Example.com", "--role", "admin", "--password-stdin", "--json"],
        cli_env,
        stdin="a long enough password\n",
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["email"] == "ops@example.com"
    assert json.loads(created.stdout)["password"] is None
    token = json.loads(run(["tokens", "create", "ops@example.com", "--json"], cli_env).stdout)
    assert token["token"].startswith("lwp_")
    assert run(["users", "set-role", "ops@example.com", "analyst"], cli_env).returncode == 0
    settings = load_settings(
        data_dir=Path(cli_env["LOOPWISE_DATA_DIR"]),
        database_url=cli_env["LOOPWISE_DATABASE_URL"],
        warehouse_url=f"duckdb:///{tmp_path / 'events.duckdb'}",
    )
    with TestClient(create_app(settings)) as client:
        me = client.get("/api/me", headers={"Authorization": f"Bearer {token['token']}"})
    assert me.json()["label"] == "ops@example.com"
    assert me.json()["role"] == "analyst"


def test_generated_password_is_printed(cli_env: dict[str, str]) -> None:
    result = run(["users", "create", "viewer@example.com", "--json"], cli_env)
    assert len(json.loads(result.stdout)["password"]) >= 10


def test_invalid_input_is_one_line_and_exit_1(cli_env: dict[str, str]) -> None:
    result = run(["users", "create", "not-an-email", "--role", "viewer"], cli_env)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "email" in result.stderr
    bad_role = run(["users", "create", "a@example.com", "--role", "boss"], cli_env)
    assert bad_role.returncode == 1
    assert "owner, admin, analyst, support, viewer" in bad_role.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LOOPWISE_DATABASE_URL": "mysql://root@127.0.0.1/x"}, "LOOPWISE_DATABASE_URL: scheme"),
        ({"LOOPWISE_WAREHOUSE_URL": "s3://bucket/x"}, "LOOPWISE_WAREHOUSE_URL: scheme"),
        (
            {"LOOPWISE_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none"},
            "LOOPWISE_DATABASE_URL: cannot connect",
        ),
        ({"LOOPWISE_DATA_DIR": "/proc/loopwise"}, "LOOPWISE_DATA_DIR:"),
    ],
)
def test_misconfigured_start_exits_with_one_clear_line(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    base = {"LOOPWISE_DATA_DIR": str(tmp_path / "data"), "LOOPWISE_PORT": "8999"}
    result = run(["serve"], {**base, **env})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]


def test_help_is_available_everywhere() -> None:
    for args in (
        ["--help"],
        ["users", "--help"],
        ["projects", "create", "--help"],
        ["demo", "--help"],
    ):
        result = run(args, {})
        assert result.returncode == 0
        assert "Usage" in result.stdout


def test_tokens_are_refused_to_roles_that_cannot_hold_them(cli_env: dict[str, str]) -> None:
    run(["users", "create", "help@example.com", "--role", "support"], cli_env)
    result = run(["tokens", "create", "help@example.com", "--json"], cli_env)
    assert result.returncode == 1
    assert "cannot hold API tokens" in result.stderr


def test_jobs_are_listed_and_run_due_twice_runs_once(cli_env: dict[str, str]) -> None:
    listed = {j["job"]: j for j in json.loads(run(["jobs", "list", "--json"], cli_env).stdout)}
    assert listed["revenue.metrics"]["schedule"] == "daily after 02:00 UTC"
    assert listed["alerts.deliver"]["schedule"] == "every minute"
    assert listed["support.retrain"]["schedule"] == "daily after 03:00 UTC"
    first = run(["jobs", "run-due", "--json"], cli_env)
    assert first.returncode == 0, first.stderr
    assert {o["job"]: (o["status"], o["summary"]) for o in json.loads(first.stdout)} == {
        "alerts.deliver": ("ok", "0 sent, 0 to retry, 0 failed"),
        "revenue.metrics": ("ok", "no project has revenue data"),
        "support.retrain": ("ok", "no project had enough new labels"),
        "support.monthly_report": ("ok", "none due"),
        "people.health": ("ok", "no project has persons"),
    }
    second = {
        o["job"]: o["status"]
        for o in json.loads(run(["jobs", "run-due", "--json"], cli_env).stdout)
    }
    assert second["revenue.metrics"] == "skipped"
    unknown = run(["jobs", "run", "nope"], cli_env)
    assert unknown.returncode == 1
    assert "no job named 'nope'" in unknown.stderr


def test_demo_reloads_to_the_same_revenue_and_computes_cac(cli_env: dict[str, str]) -> None:
    args = ["demo", "--users", "60", "--days", "30", "--seed", "7"]

    def counts() -> tuple[int, int, int]:
        engine = make_engine(cli_env["LOOPWISE_DATABASE_URL"])
        try:
            with session_factory(engine)() as session:
                objects = session.scalar(select(func.count()).select_from(BillingObject))
                days = session.scalar(select(func.count(func.distinct(MetricsDaily.day))))
                erased = session.scalar(
                    select(func.count()).select_from(AuditEvent)
                    .where(AuditEvent.action == "revenue.erased")
                )  # fmt: skip
        finally:
            engine.dispose()
        return objects or 0, days or 0, erased or 0

    first = run(args, cli_env)
    assert first.returncode == 0, first.stderr
    loaded = counts()
    assert loaded[0] > 0  # billing objects from the simulated business
    assert loaded[1] >= 30  # a metrics row for each of the demo's days, CAC included
    again = run(args, cli_env)
    assert again.returncode == 0, again.stderr
    # The revenue data was emptied and loaded again: the same objects, not twice as many.
    assert counts() == (loaded[0], loaded[1], 1)
