"""An owner manages people on the People & roles page: add, change role, deactivate."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from loopwise.core import accounts
from loopwise.core.db import transaction
from loopwise.core.roles import Role
from tests.browser.conftest import LiveServer, Problems
from tests.factories import PASSWORD, TEST_ACTOR


def test_owner_adds_promotes_and_deactivates_a_person(
    live_server: LiveServer, page: tuple[Page, Problems]
) -> None:
    tab, problems = page
    with transaction(live_server.context.sessions) as session:
        accounts.create_user(session, TEST_ACTOR, "owner@example.com", Role.OWNER, PASSWORD)
    tab.on("dialog", lambda dialog: dialog.accept())
    tab.goto(live_server.url + "/login?next=/people")
    tab.get_by_label("Email").fill("owner@example.com")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", name="People & roles")).to_be_visible()

    tab.get_by_label("Email").fill("ana@localhost")  # the browser accepts it; the server does not
    tab.get_by_role("button", name="Add person").click()
    expect(tab.locator("#e-email")).to_contain_text("is not an email address")

    tab.get_by_label("Email").fill("ana@example.com")
    tab.get_by_label("Role", exact=True).select_option("viewer")
    tab.get_by_role("button", name="Add person").click()
    expect(tab.get_by_role("status")).to_contain_text("ana@example.com can now sign in")

    row = tab.get_by_role("row").filter(has_text="ana@example.com")
    row.get_by_label("Role of ana@example.com").select_option("analyst")
    row.get_by_role("button", name="Save").click()
    row = tab.get_by_role("row").filter(has_text="ana@example.com")
    expect(row.get_by_label("Role of ana@example.com")).to_have_value("analyst")

    row.get_by_role("button", name="Deactivate").click()
    row = tab.get_by_role("row").filter(has_text="ana@example.com")
    expect(row).to_contain_text("deactivated")
    expect(row.get_by_role("button", name="Reactivate")).to_be_visible()

    tab.goto(live_server.url + "/audit")
    expect(tab.get_by_role("cell", name="user.deactivated")).to_be_visible()
    # The invalid email was answered 422 on purpose (Chromium logs that); nothing else failed.
    unexpected = [p for p in problems.items if "status of 422" not in p]
    assert unexpected == []
