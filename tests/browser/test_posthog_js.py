"""posthog-js, unmodified but for its host, in Chromium on a shop's own origin."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import Page

from loopwise.core.roles import Role
from tests.browser.conftest import LiveServer, Problems
from tests.factories import create_project, create_token, create_user
from tests.servers import eventually, free_port

POSTHOG_JS = Path(__file__).parent / "sdk" / ".cache" / "posthog-js-1.449.2.js"
SHOP_PAGE = """<!doctype html><html><head><title>Shop</title><link rel="icon" href="data:,">
<script src="/posthog-js-1.449.2.js"></script></head><body><h1>Shop</h1></body></html>"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[str]:
    """The customer's own site: another origin (localhost, another port) serving posthog-js."""
    (tmp_path / "index.html").write_text(SHOP_PAGE)
    if not POSTHOG_JS.exists():
        reason = f"{POSTHOG_JS} is missing; scripts/browser-sdks.sh fetches it (make test runs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    (tmp_path / POSTHOG_JS.name).write_bytes(POSTHOG_JS.read_bytes())
    port = free_port()
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{port}/"
    server.shutdown()
    server.server_close()


def test_posthog_js_on_another_site_sends_events_that_read_back(
    live_server: LiveServer, page: tuple[Page, Problems], shop: str
) -> None:
    tab, problems = page
    project = create_project(live_server.context, "Shop")
    token = create_token(live_server.context, create_user(live_server.context, Role.OWNER).id)

    tab.goto(shop)
    tab.evaluate(
        """([key, host]) => {
            posthog.init(key, {api_host: host, autocapture: false, persistence: "memory",
                               disable_session_recording: true, request_batching: false,
                               opt_out_useragent_filter: true});  // headless looks like a bot
            posthog.capture("recipe_saved", {cuisine: "thai"});
            posthog.identify("user-9", {plan: "pro"});
        }""",
        [project.write_key, live_server.url],
    )
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{live_server.url}/api/projects/{project.id}/events"
    wanted = {"$pageview", "recipe_saved", "$identify"}

    def arrived() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = httpx.get(url, headers=headers).json()["events"]
        return events if wanted <= {e["event"] for e in events} else []

    events = eventually(arrived, 15, every=0.3)
    assert wanted <= {e["event"] for e in events}
    saved = next(e for e in events if e["event"] == "recipe_saved")
    assert saved["properties"]["cuisine"] == "thai"
    assert saved["properties"]["$current_url"] == shop
    assert "$raw_user_agent" not in saved["properties"]
    assert len({e["person_id"] for e in events}) == 1  # the anonymous visit joined user-9
    person = httpx.get(
        f"{live_server.url}/api/projects/{project.id}/persons",
        params={"distinct_id": "user-9"}, headers=headers,
    ).json()[0]  # fmt: skip
    assert person["properties"]["plan"] == "pro"
    assert person["is_identified"] is True
    assert problems.items == []  # no failed request, no console error from the SDK
