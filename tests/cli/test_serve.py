"""``loopwise serve`` as an operator runs it: starts, answers, and drains on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx

from tests.servers import cli_json, free_port, wait_until_ready


def test_serve_drains_quickly_on_sigterm_with_a_live_stream_open(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "LOOPWISE_DATA_DIR": str(tmp_path / "data"), "LOOPWISE_PORT": str(port)}
    cli_json(["users", "create", "ops@example.com", "--role", "owner", "--json"], env)
    project = cli_json(["projects", "create", "Shop", "--json"], env)
    token = cli_json(["tokens", "create", "ops@example.com", "--json"], env)["token"]
    log_file = tmp_path / "serve.log"
    with log_file.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "loopwise", "serve"], env=env,
            stdout=subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{base}/readyz", seconds=60)
        opened = threading.Event()

        def watch() -> None:
            headers = {"Authorization": f"Bearer {token}"}
            url = f"{base}/projects/{project['id']}/live/stream"
            try:
                with httpx.stream("GET", url, headers=headers, timeout=30) as stream:
                    for _ in stream.iter_lines():
                        opened.set()
            except httpx.TransportError:
                pass

        threading.Thread(target=watch, daemon=True).start()
        assert opened.wait(15), "the live stream did not open"
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    log = log_file.read_text()
    # uvicorn re-raises the signal once it has shut down cleanly, as a process should.
    assert code in (0, -signal.SIGTERM)
    assert elapsed < 8, f"shutdown took {elapsed:.1f} s"
    assert "shutting down: closing stores" in log
