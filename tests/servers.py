"""A real Loopwise server on a loopback port, for tests that drive it over HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2 as httpx
import uvicorn
from aiosmtpd.controller import Controller

from loopwise.core.settings import Settings
from loopwise.web.app import create_app
from loopwise.web.context import AppContext, open_context

T = TypeVar("T")


def eventually(check: Callable[[], T], seconds: float, every: float = 0.1) -> T:
    """Call ``check`` until it returns something truthy or ``seconds`` pass; return its last
    answer. For waiting on what happens in another thread or process (a server starting, the
    flusher catching up); the caller asserts on the answer, so nothing here measures time."""
    deadline = time.monotonic() + seconds
    while True:
        answer = check()
        if answer or time.monotonic() >= deadline:
            return answer
        time.sleep(every)


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
    if not eventually(lambda: server.started or not thread.is_alive(), 20, every=0.05):
        raise RuntimeError("test server did not start")
    if not server.started:
        raise RuntimeError("test server stopped while starting")
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

    def ready() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    if not eventually(ready, seconds, every=0.2):
        raise AssertionError(f"{url} was not ready within {seconds} s")


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A loopback HTTP server that records each POST and answers the next status from
    ``statuses`` (the last one repeats) with ``answer`` as the body: a webhook endpoint
    that can fail on purpose, or a stub of another service's API."""

    def __init__(self, statuses: list[int] | None = None, answer: bytes = b"") -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[Received] = []
        self.statuses = list(statuses or [200])
        self.answer = answer
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                outer.requests.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = outer.statuses.pop(0) if len(outer.statuses) > 1 else outer.statuses[0]
                self.send_response(status)
                self.send_header("content-length", str(len(outer.answer)))
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(outer.answer)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class Inbox:
    """What a local SMTP server received: each message's raw bytes."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[str, Inbox]]:
    """A real SMTP server on loopback: its ``smtp://`` URL and its inbox."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()
