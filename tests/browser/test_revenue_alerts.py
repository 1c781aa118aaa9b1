"""A founder imports subscription history, computes acquisition figures, and sets up where
alerts go, with a mistake shown next to its field on the way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from loopwise.core import accounts
from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.revenue.facade import import_spend
from tests.browser.conftest import LiveServer, Problems
from tests.factories import PASSWORD, TEST_ACTOR, create_project


def test_import_compute_acquisition_and_add_an_alert_channel(
    live_server: LiveServer, page: tuple[Page, Problems], tmp_path: Path
) -> None:
    tab, problems = page
    with transaction(live_server.context.sessions) as session:
        accounts.create_user(session, TEST_ACTOR, "founder@example.com", Role.ADMIN, PASSWORD)
    project = create_project(live_server.context, "Recipes")
    recent = (datetime.now(UTC) - timedelta(days=5)).date()
    with transaction(live_server.context.sessions) as session:
        import_spend(session, TEST_ACTOR, project.id,
                     f"date,source,amount,currency\n{recent},google,240,usd\n")  # fmt: skip
    history = tmp_path / "subscriptions.csv"
    history.write_text(
        "subscription_id,customer_id,effective_at,status,amount,currency,interval,quantity\n"
        f"sub_1,cus_1,{recent},active,2000,usd,year,4\n"
        f"sub_2,cus_2,{recent},active,50,usd,month,1\n"
    )

    tab.goto(f"{live_server.url}/login?next=/projects/{project.id}/revenue")
    tab.get_by_label("Email").fill("founder@example.com")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", name="Revenue", exact=True)).to_be_visible()
    expect(tab.get_by_text("No subscriptions yet")).to_be_visible()

    tab.get_by_label("CSV file").set_input_files(str(history))
    tab.get_by_role("button", name="Import").click()
    # $2,000 a year for 4 seats is $666.67 a month, plus $50.
    expect(tab.locator(".stat .value").first).to_have_text("716.67")
    expect(tab.locator(".chart svg").first).to_be_visible()

    expect(tab.get_by_text("No acquisition figures yet")).to_be_visible()
    tab.get_by_role("button", name="Compute now").click()
    rows = tab.locator("#channels tbody tr")
    expect(rows).to_have_count(2)  # google, where the money went, and (direct), who came
    expect(rows.nth(0)).to_contain_text("google")
    expect(rows.nth(1)).to_contain_text("(direct)")
    expect(rows.nth(1).locator("td.num").nth(1)).to_have_text("2")

    tab.get_by_role("link", name="Alerts").click()
    expect(tab.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    expect(tab.get_by_text("No alerts yet")).to_be_visible()
    expect(tab.get_by_text("CAC anomaly")).to_be_visible()
    tab.get_by_label("Name", exact=True).fill("Ops hook")
    tab.get_by_label("Kind").select_option("webhook")
    tab.get_by_label("Addresses or URL").fill("not a url")
    tab.get_by_role("button", name="Add channel").click()
    expect(tab.locator("#e-target")).to_have_text("is an http:// or https:// URL")
    expect(tab.get_by_label("Name", exact=True)).to_have_value("Ops hook")
    tab.get_by_label("Addresses or URL").fill("https://hooks.example.com/loopwise")
    tab.get_by_role("button", name="Add channel").click()
    expect(tab.locator("#notice")).to_contain_text("signing secret (shown once): whsec_")
    expect(tab.locator("#channels tbody tr")).to_have_count(1)
    # The refused form answers 422 on purpose (Chromium logs that); nothing else went wrong.
    assert [p for p in problems.items if "status of 422" not in p] == []
