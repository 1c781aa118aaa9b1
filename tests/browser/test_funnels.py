"""A product lead builds a funnel, saves it to a new dashboard, and opens the persons who
dropped off at a step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from loopwise.core import accounts
from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture
from tests.browser.conftest import LiveServer, Problems
from tests.factories import PASSWORD, TEST_ACTOR, create_project


def test_build_a_funnel_save_it_to_a_dashboard_and_drill_into_drop_offs(
    live_server: LiveServer, page: tuple[Page, Problems], tmp_path
) -> None:
    tab, problems = page
    with transaction(live_server.context.sessions) as session:
        accounts.create_user(session, TEST_ACTOR, "lead@example.com", Role.ANALYST, PASSWORD)
    project = create_project(live_server.context, "Recipes")
    start = datetime.now(UTC) - timedelta(days=3)
    events = []
    for i in range(6):  # six sign up, four create a recipe, one shares it
        events.append(CaptureEvent(event="signed_up", distinct_id=f"cook-{i}", timestamp=start))
        if i < 4:
            made = start + timedelta(minutes=10 * (i + 1))
            events.append(
                CaptureEvent(event="recipe_created", distinct_id=f"cook-{i}", timestamp=made)
            )
    shared = start + timedelta(hours=2)
    events.append(CaptureEvent(event="recipe_shared", distinct_id="cook-0", timestamp=shared))
    capture(live_server.context.warehouse, project.id, events)

    tab.goto(f"{live_server.url}/login?next=/projects/{project.id}/funnels")
    tab.get_by_label("Email").fill("lead@example.com")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", name="Funnels", exact=True)).to_be_visible()
    expect(tab.get_by_text("Pick at least two steps")).to_be_visible()

    tab.get_by_label("Step 1", exact=True).fill("signed_up")
    tab.get_by_label("Step 2", exact=True).fill("recipe_created")
    tab.get_by_label("Step 3", exact=True).fill("recipe_shared")
    tab.get_by_role("button", name="Show funnel").click()
    expect(tab.locator(".chart svg").first).to_be_visible()
    steps = tab.locator("table.funnel-steps tbody tr")
    expect(steps).to_have_count(3)
    expect(steps.nth(1).locator("td.num").first).to_have_text("4")
    expect(steps.nth(2).locator("td.num").first).to_have_text("1")

    tab.get_by_text("Save as insight").click()
    tab.get_by_label("Insight name").fill("Recipe activation")
    tab.get_by_label("Add to dashboard").select_option("new")
    tab.get_by_label("New dashboard name").fill("Growth")
    tab.get_by_role("button", name="Save", exact=True).click()
    expect(tab.get_by_role("heading", name="Growth")).to_be_visible()
    tile = tab.locator(".tile").first
    expect(tile.get_by_role("link", name="Recipe activation")).to_be_visible()
    expect(tile.locator("table.funnel-steps tbody tr")).to_have_count(3)
    tab.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    tile.locator("a.dropoff").first.click()  # reached step 1, never step 2
    expect(tab.get_by_role("heading", name="Who is behind it")).to_be_visible()
    persons = tab.locator("#funnel-persons tbody tr")
    expect(persons).to_have_count(2)
    expect(tab.locator("#funnel-persons")).to_contain_text("cook-4")
    expect(tab.locator("#funnel-persons")).to_contain_text("cook-5")
    expect(tab.locator("#funnel-persons")).not_to_contain_text("cook-0")
    assert [p for p in problems.items if "HTTP 5" in p] == []
