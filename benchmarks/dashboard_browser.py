"""Time the default "Product overview" dashboard in a real browser on the demo data set.

Usage:
    python benchmarks/demo_and_dashboard.py --users 100000 --days 180 --data /tmp/bench.duckdb
    python benchmarks/dashboard_browser.py --warehouse /tmp/bench.duckdb --runs 10

Starts ``loopwise serve`` on a fresh data directory whose warehouse is the given DuckDB
file (project 1 is the demo's), signs in with Chromium and opens the dashboard; a run
ends when every tile shows its numbers. The first run fills the result cache; the figures
are given with the cache (the usual case: data has not changed) and with ``refresh=1``
(every tile recomputed).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

PASSWORD = "benchmark-password-1"
LOOPWISE = str(Path(sys.executable).parent / "loopwise")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [LOOPWISE, *args],
        env=env, input=stdin, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse", type=Path, default=Path("/tmp/bench.duckdb"))
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="lw-dash-"))
    port = free_port()
    env = {
        **os.environ,
        "LOOPWISE_DATA_DIR": str(data),
        "LOOPWISE_WAREHOUSE_URL": f"duckdb:///{args.warehouse}",
        "LOOPWISE_SECRET_KEY": "benchmark-secret-" + "x" * 32,
    }
    cli(env, "migrate")
    cli(env, "projects", "create", "Demo")
    cli(env, "users", "create", "bench@example.com", "--role", "owner", "--password-stdin",
        stdin=PASSWORD)  # fmt: skip
    server = subprocess.Popen([LOOPWISE, "serve", "--port", str(port)], env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as play:
            browser = play.chromium.launch(executable_path="/usr/bin/chromium")
            page = browser.new_page()
            page.goto(f"{base}/login?next=/projects/1/dashboards")
            page.get_by_label("Email").fill("bench@example.com")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("link", name="Product overview").click()
            page.get_by_role("heading", name="Product overview").wait_for()
            board = page.url.split("?")[0]
            for label, suffix in (("cached", ""), ("recomputed", "?refresh=1")):
                samples = []
                for _ in range(args.runs + 1):
                    started = time.perf_counter()
                    page.goto(board + suffix)
                    try:
                        page.locator(".tile .tile-head .muted").nth(3).wait_for(timeout=60_000)
                    except Exception:
                        page.screenshot(path=str(data / "failed.png"), full_page=True)
                        print(f"the tiles did not load; see {data / 'failed.png'}")
                        raise
                    page.locator(".tile .loading").first.wait_for(state="detached")
                    samples.append((time.perf_counter() - started) * 1000)
                samples = samples[1:]
                p95 = statistics.quantiles(samples, n=20)[18]
                print(f"| {label} | {statistics.median(samples):,.0f} | {p95:,.0f} |")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
