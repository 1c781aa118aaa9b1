"""A product lead charts a trend, breaks it down, and gets an error next to the field."""

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


def test_trend_with_breakdown_and_a_field_error(
    live_server: LiveServer, page: tuple[Page, Problems]
) -> None:
    tab, problems = page
    with transaction(live_server.context.sessions) as session:
        accounts.create_user(session, TEST_ACTOR, "lead@example.com", Role.ANALYST, PASSWORD)
    project = create_project(live_server.context, "Recipes")
    now = datetime.now(UTC)
    plans = ["pro", "pro", "free"]
    events = [
        CaptureEvent(
            event="recipe_saved",
            distinct_id=f"cook-{i}",
            timestamp=now - timedelta(days=i),
            properties={"plan": plan},
        )
        for i, plan in enumerate(plans)
    ]
    capture(live_server.context.warehouse, project.id, events)

    tab.goto(f"{live_server.url}/login?next=/projects/{project.id}/trends")
    tab.get_by_label("Email").fill("lead@example.com")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", name="Trends", exact=True)).to_be_visible()

    tab.get_by_label("Event", exact=True).fill("recipe_saved")
    tab.get_by_label("Measure").select_option("unique_persons")
    tab.get_by_label("Break down by property").fill("plan")
    tab.get_by_role("button", name="Show").click()
    expect(tab.locator(".chart svg")).to_be_visible()
    rows = tab.locator("#trend-totals-wrap tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("pro")
    expect(rows.nth(0).locator("td.num")).to_have_text("2")
    expect(rows.nth(1).locator("td.num")).to_have_text("1")

    # A click on the last point of the "pro" line opens today's pro persons.
    with tab.expect_navigation():
        tab.evaluate(
            """() => {
                const el = document.querySelector('#trend-totals-wrap .chart');
                const chart = window.echarts.getInstanceByDom(el);
                const last = chart.getOption().xAxis[0].data.length - 1;
                chart.trigger('click', {seriesIndex: 0, dataIndex: last});
            }"""
        )
    expect(tab.get_by_role("heading", name="Who is behind it")).to_be_visible()
    expect(tab.locator("#trend-persons tbody tr")).to_have_count(1)
    expect(tab.locator("#trend-persons")).to_contain_text("cook-0")
    tab.go_back()

    rows = tab.locator("#trend-totals-wrap tbody tr")
    rows.nth(0).get_by_role("link", name="Persons").click()
    expect(tab.get_by_role("heading", name="Who is behind it")).to_be_visible()
    persons = tab.locator("#trend-persons tbody tr")
    expect(persons).to_have_count(2)
    expect(tab.locator("#trend-persons")).to_contain_text("cook-0")
    with tab.expect_download() as download:
        tab.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "persons.csv"
    tab.go_back()

    tab.get_by_label("Compare with the previous period").check()
    tab.get_by_role("button", name="Show").click()
    expect(tab.locator("#trend-totals-wrap tbody tr")).to_have_count(4)
    expect(tab.locator("#trend-totals-wrap")).to_contain_text("previous period")

    tab.get_by_label("Measure").select_option("sum")
    tab.get_by_role("button", name="Show").click()
    expect(tab.locator("#e-math_property")).to_contain_text("needs math_property")
    expect(tab.get_by_label("Event", exact=True)).to_have_value("recipe_saved")
    assert [p for p in problems.items if "HTTP 5" in p] == []
