"""A new owner signs in, creates a project, reads its write key and watches events arrive."""

from __future__ import annotations

import re

import posthog
from playwright.sync_api import Page, expect

from loopwise.core import accounts
from loopwise.core.db import transaction
from loopwise.core.roles import Role
from tests.browser.conftest import LiveServer, Problems
from tests.factories import PASSWORD, TEST_ACTOR


def test_sign_in_create_project_read_write_key_and_see_live_events(
    live_server: LiveServer, page: tuple[Page, Problems]
) -> None:
    tab, problems = page
    with transaction(live_server.context.sessions) as session:
        accounts.create_user(session, TEST_ACTOR, "founder@example.com", Role.OWNER, PASSWORD)

    tab.goto(live_server.url + "/")
    expect(tab).to_have_url(re.compile(r"/login$"))
    tab.get_by_label("Email").fill("founder@example.com")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", name="Welcome to Loopwise")).to_be_visible()

    tab.get_by_role("link", name="Create your first project").click()
    tab.get_by_label("Name").fill("Recipe Box")
    tab.get_by_role("button", name="Create project").click()
    expect(tab.get_by_role("heading", name="Recipe Box")).to_be_visible()

    write_key = tab.locator("#write-key").inner_text().strip()
    assert re.fullmatch(r"lw_[A-Za-z0-9_-]{32}", write_key)
    expect(tab.locator("#snippet-curl")).to_contain_text(write_key)

    tab.get_by_label("Main navigation").get_by_role("link", name="Live events").click()
    expect(tab.get_by_role("heading", name="Live events")).to_be_visible()
    expect(tab.get_by_text("Waiting for the first event")).to_be_visible()
    expect(tab.locator("#live-text")).to_have_text("Live")

    # The real posthog-python SDK, pointed at this server: the event shows within 2 s.
    client = posthog.Client(write_key, host=live_server.url, sync_mode=True, max_retries=0)
    client.capture("recipe_saved", distinct_id="cook-42", properties={"cuisine": "thai"})
    expect(tab.locator("#live-list li").first).to_contain_text("recipe_saved", timeout=2_000)
    expect(tab.locator("#live-list li").first).to_contain_text("cuisine=thai")
    expect(tab.get_by_text("Waiting for the first event")).to_be_hidden()
    assert problems.items == []


def test_field_errors_show_next_to_the_field(
    live_server: LiveServer, page: tuple[Page, Problems]
) -> None:
    tab, problems = page
    with transaction(live_server.context.sessions) as session:
        accounts.create_user(session, TEST_ACTOR, "admin@example.com", Role.ADMIN, PASSWORD)
    tab.goto(live_server.url + "/login")
    tab.get_by_label("Email").fill("admin@example.com")
    tab.get_by_label("Password").fill("not the password")
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("alert")).to_have_text("Wrong email or password.")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.goto(live_server.url + "/projects")
    tab.get_by_label("Name").fill("Zoned")
    tab.get_by_label("Time zone").fill("Mars/Olympus")
    tab.get_by_role("button", name="Create project").click()
    expect(tab.locator("#e-timezone")).to_contain_text("not an IANA time zone")
    expect(tab.get_by_label("Name")).to_have_value("Zoned")
    assert [p for p in problems.items if "HTTP 5" in p] == []
