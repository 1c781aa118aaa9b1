"""A real Loopwise server on a loopback port, for tests that drive it over HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import uvicorn

from loopwise.core.settings import Settings
from loopwise.web.app import create_app
from loopwise.web.context import AppContext, open_context


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    context: AppContext

    @property
    def ingest(self):  # type: ignore[no-untyped-def]
        assert self.context.ingest is not None
        return self.context.ingest


@contextmanager
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """Serve ``settings`` (whose ``port`` must be free) until the block ends."""
    context = open_context(settings)
    config = uvicorn.Config(
        create_app(settings, context), host="127.0.0.1", port=settings.port, log_config=None,
        timeout_graceful_shutdown=2, lifespan="on",
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{settings.port}", context)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def cli_json(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``loopwise <args>`` in a subprocess and parse its ``--json`` output."""
    done = subprocess.run(
        [sys.executable, "-m", "loopwise", *args], env=env, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def wait_until_ready(url: str, seconds: float) -> None:
    """Poll the readiness endpoint (the server needs a moment to migrate and bind)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} was not ready within {seconds} s")
