"""Browser tests: a real server on a loopback port, driven by Debian's Chromium via Playwright.

Playwright never downloads a browser here; it drives ``/usr/bin/chromium``. Without it, CI
fails and a developer machine skips with the reason (``make test`` installs it when it can).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, sync_playwright

from loopwise.core.settings import load_settings
from tests.servers import LiveServer, free_port
from tests.servers import live_server as run_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = load_settings(
        data_dir=tmp_path / "data", port=free_port(), secret_key="browser-test-" + "k" * 40
    )
    with run_server(settings) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing; install Debian's chromium (make test does as root)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@dataclass
class Problems:
    """Everything that went wrong in the page: console errors, page errors, 5xx answers."""

    items: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.items.append(f"console error: {message.text} at {message.location}")

    def response(self, response: Response) -> None:
        if response.status >= 500:
            self.items.append(f"HTTP {response.status} from {response.url}")


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, Problems]]:
    context = browser.new_context(viewport={"width": 1366, "height": 860})
    tab = context.new_page()
    problems = Problems()
    tab.on("console", problems.console)
    tab.on("pageerror", lambda error: problems.items.append(f"page error: {error}"))
    tab.on("response", problems.response)
    tab.set_default_timeout(15_000)
    yield tab, problems
    context.close()
