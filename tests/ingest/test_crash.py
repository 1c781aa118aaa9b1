"""Kill the server with SIGKILL during sustained ingestion: no acknowledged event is lost or
stored twice, even when the SDKs resend what was never acknowledged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.servers import cli_json, eventually, free_port, wait_until_ready

SENDERS = 4
BATCH = 50


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("a") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "loopwise", "serve"], env=env,
            stdout=subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
    try:
        wait_until_ready(f"http://127.0.0.1:{env['LOOPWISE_PORT']}/readyz", seconds=60)
        yield server
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def batch_body(write_key: str, ids: list[str]) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    events = [
        {"event": "tick", "distinct_id": f"user-{i % 7}", "uuid": event_id, "timestamp": now,
         "properties": {"n": i, "$current_url": "https://app.example.com/a"}}
        for i, event_id in enumerate(ids)
    ]  # fmt: skip
    return {"api_key": write_key, "batch": events, "sent_at": now}


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["duckdb", "chdb"])
def test_sigkill_during_ingestion_loses_no_acknowledged_event_and_stores_none_twice(
    tmp_path: Path, engine: str
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "LOOPWISE_DATA_DIR": str(tmp_path / "data"),
        "LOOPWISE_PORT": str(port),
        "LOOPWISE_LOG_LEVEL": "WARNING",
    }
    if engine == "chdb":
        env["LOOPWISE_WAREHOUSE_URL"] = f"chdb://{tmp_path / 'chdb'}?database=crash"
    cli_json(["users", "create", "ops@example.com", "--role", "owner", "--json"], env)
    project = cli_json(["projects", "create", "Shop", "--json"], env)
    token = cli_json(["tokens", "create", "ops@example.com", "--json"], env)["token"]
    base = f"http://127.0.0.1:{port}"
    acknowledged: list[str] = []
    unacknowledged: list[list[str]] = []
    lock, stop = threading.Lock(), threading.Event()

    def send() -> None:
        with httpx.Client(base_url=base, timeout=5) as client:
            while not stop.is_set():
                ids = [str(uuid.uuid4()) for _ in range(BATCH)]
                try:
                    answer = client.post("/batch/", json=batch_body(project["write_key"], ids))
                    ok = answer.status_code == 200
                except httpx.TransportError:
                    ok = False
                with lock:
                    (acknowledged.extend(ids) if ok else unacknowledged.append(ids))
                if not ok:
                    return

    log = tmp_path / "serve.log"
    with serving(env, log) as server:
        senders = [threading.Thread(target=send) for _ in range(SENDERS)]
        for thread in senders:
            thread.start()
        eventually(lambda: len(acknowledged) >= 3000, 30, every=0.05)
        server.send_signal(signal.SIGKILL)
        server.wait()
        stop.set()
        for thread in senders:
            thread.join(timeout=10)
    assert len(acknowledged) >= 3000, "the load never got going"

    with serving(env, log):
        with httpx.Client(base_url=base, timeout=10) as client:
            for ids in unacknowledged:  # what an SDK does with a request that got no answer
                answer = client.post("/batch/", json=batch_body(project["write_key"], ids))
                assert answer.status_code == 200, answer.text
        expected = set(acknowledged) | {i for ids in unacknowledged for i in ids}
        stored = stored_ids(base, project["id"], token, len(expected))

    assert len(stored) == len(set(stored)), "some events were stored twice"
    assert set(stored) == expected
    assert "Traceback" not in log.read_text()


def stored_ids(base: str, project_id: int, token: str, expected: int) -> list[str]:
    """Every stored event id, once the flusher has caught up (or 30 s have passed)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
        url = f"/api/projects/{project_id}/events/count"
        eventually(lambda: api.get(url).json()["count"] >= expected, 30, every=0.2)
        ids: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            page = api.get(f"/api/projects/{project_id}/events", params=params).json()
            ids.extend(event["uuid"] for event in page["events"])
            cursor = page["next_cursor"]
            if cursor is None:
                return ids
