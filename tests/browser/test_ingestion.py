"""An owner turns on required consent on the Ingestion page and sees drops counted by reason."""

from __future__ import annotations

import posthog
from playwright.sync_api import Page, expect

from loopwise.core import accounts
from loopwise.core.db import transaction
from loopwise.core.roles import Role
from tests.browser.conftest import LiveServer, Problems
from tests.factories import PASSWORD, TEST_ACTOR, create_project


def test_owner_requires_consent_and_sees_dropped_events_by_reason(
    live_server: LiveServer, page: tuple[Page, Problems]
) -> None:
    tab, problems = page
    with transaction(live_server.context.sessions) as session:
        accounts.create_user(session, TEST_ACTOR, "owner@example.com", Role.OWNER, PASSWORD)
    project = create_project(live_server.context, "Recipe Box")
    url = f"{live_server.url}/projects/{project.id}/ingestion"
    tab.goto(f"{live_server.url}/login?next=/projects/{project.id}/ingestion")
    tab.get_by_label("Email").fill("owner@example.com")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", name="Ingestion", exact=True)).to_be_visible()
    expect(tab.get_by_text("Nothing has arrived in the last 48 hours")).to_be_visible()
    expect(tab.get_by_text("No message has been rejected")).to_be_visible()

    tab.get_by_label("Require consent").check()
    tab.get_by_label("IP addresses").select_option("drop")
    tab.get_by_label("Properties never stored").fill("password")
    tab.get_by_role("button", name="Save settings").click()
    expect(tab.get_by_role("status")).to_contain_text("Ingestion settings saved")
    expect(tab.get_by_label("Require consent")).to_be_checked()
    expect(tab.get_by_label("IP addresses")).to_have_value("drop")

    client = posthog.Client(project.write_key, host=live_server.url, sync_mode=True, max_retries=0)
    live_server.context.ingest.policies.forget(project.id)  # type: ignore[union-attr]
    client.capture("recipe_saved", distinct_id="cook-1", properties={"$consent": ["analytics"]})
    client.capture("recipe_saved", distinct_id="cook-2")
    client.capture("recipe_saved", distinct_id="cook-3", properties={"$consent": ["geo"]})
    live_server.context.ingest.wait_flushed()  # type: ignore[union-attr]
    live_server.context.ingest.stats.save(live_server.context.sessions)  # type: ignore[union-attr]

    tab.goto(url)
    totals = tab.locator("#ingest-totals")
    expect(totals.locator('tr[data-key="accepted"] td.num')).to_have_text("1")
    expect(totals.locator('tr[data-key="dropped:consent_missing"]')).to_contain_text(
        "no consent given"
    )
    expect(totals.locator('tr[data-key="dropped:consent_denied"] td.num')).to_have_text("1")
    expect(tab.locator(".chart svg")).to_be_visible()
    assert problems.items == []


def test_a_page_on_another_origin_can_send_events_as_browser_sdks_do(
    live_server: LiveServer, page: tuple[Page, Problems]
) -> None:
    tab, _ = page
    project = create_project(live_server.context, "Shop")
    other_origin = live_server.url.replace("127.0.0.1", "localhost")
    tab.goto(other_origin + "/login")
    answer = tab.evaluate(
        """async ([url, key]) => {
            const sent = await fetch(url + "/e/", {
                method: "POST", headers: {"Content-Type": "application/json"},
                body: JSON.stringify({api_key: key, event: "$pageview", distinct_id: "visitor-1"}),
            });
            return await sent.json();
        }""",
        [live_server.url, project.write_key],
    )
    assert answer == {"status": 1, "accepted": 1}
