"""Walk every page of an instance loaded with demo data; any server or console error fails."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from loopwise.core import accounts
from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.demo import load_demo
from tests.browser.conftest import LiveServer, Problems
from tests.factories import PASSWORD, TEST_ACTOR


def test_demo_instance_pages_render_without_errors(
    live_server: LiveServer, page: tuple[Page, Problems]
) -> None:
    context = live_server.context
    with transaction(context.sessions) as session:
        accounts.create_user(session, TEST_ACTOR, "owner@example.com", Role.OWNER, PASSWORD)
        project = accounts.create_project(session, TEST_ACTOR, "Demo")
    summary = load_demo(context.warehouse, project.id, users=150, days=30, seed=7)
    assert summary.events > 1000

    tab, problems = page
    tab.goto(live_server.url + "/login")
    tab.get_by_label("Email").fill("owner@example.com")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()

    # The start page is the first project's dashboard; its numbers load after the shell.
    expect(tab.get_by_role("heading", name="Activity per day")).to_be_visible()
    expect(tab.locator(".stat .value").first).not_to_have_text("0")
    expect(tab.locator(".chart[data-drawn] svg").first).to_be_visible()
    for days in ("7 days", "90 days"):
        tab.get_by_role("link", name=days).click()
        expect(tab.get_by_role("heading", name="Top events")).to_be_visible()

    tab.goto(f"{live_server.url}/projects/{project.id}/live")
    expect(tab.locator("#live-list li").first).to_be_visible()
    expect(tab.locator("#live-text")).to_have_text("Live")

    pages = {
        f"/projects/{project.id}/settings": "Demo",
        f"/projects/{project.id}/ingestion": "Ingestion",
        f"/projects/{project.id}/trends?event=$pageview&breakdown=utm_source": "Trends",
        f"/projects/{project.id}/funnels?step=$pageview&step=signed_up&breakdown=utm_source": (
            "Funnels"
        ),
        f"/projects/{project.id}/retention?start=signed_up&breakdown=plan": "Retention",
        f"/projects/{project.id}/engagement?interval=week&days=60": "Engagement",
        f"/projects/{project.id}/paths?event=signed_up&days=30": "Paths",
        f"/projects/{project.id}/paths?steps=pages&days=7": "Paths",
        f"/projects/{project.id}/features": "Features",
        f"/projects/{project.id}/cohorts": "Cohorts",
        f"/projects/{project.id}/revenue": "Revenue",
        f"/projects/{project.id}/alerts": "Alerts",
        "/projects": "Projects",
        "/people": "People & roles",
        "/audit": "Audit log",
        "/account": "Your account",
    }
    for path, heading in pages.items():
        response = tab.goto(live_server.url + path)
        assert response is not None, path
        assert response.status == 200, path
        expect(tab.get_by_role("heading", name=heading, exact=True)).to_be_visible()

    # The default dashboard: every tile loads its numbers.
    tab.goto(f"{live_server.url}/projects/{project.id}/dashboards")
    tab.get_by_role("link", name="Product overview").click()
    expect(tab.locator(".tile .tile-head .muted")).to_have_count(4)
    expect(tab.locator("table.retention")).to_be_visible()

    tab.goto(live_server.url + "/api/docs")
    expect(tab.get_by_role("heading", name=re.compile("^Loopwise"))).to_be_visible()
    assert problems.items == []
