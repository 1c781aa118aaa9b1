"""A founder checks who is behind on paying, narrows the dates, finds the customer on the
Customers page and opens their MRR ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from loopwise.core import accounts
from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.revenue.facade import import_subscriptions
from tests.browser.conftest import Problems
from tests.factories import PASSWORD, TEST_ACTOR, create_project
from tests.revenue.pages_book import build_book
from tests.servers import LiveServer


def test_payment_health_then_customers_then_the_customer(
    live_server: LiveServer, page: tuple[Page, Problems]
) -> None:
    tab, problems = page
    with transaction(live_server.context.sessions) as session:
        accounts.create_user(session, TEST_ACTOR, "founder@example.com", Role.ADMIN, PASSWORD)
    project = create_project(live_server.context, "Recipes")
    now = datetime.now(UTC)
    with transaction(live_server.context.sessions) as session:
        build_book(session, project.id, now)

    tab.goto(f"{live_server.url}/login?next=/projects/{project.id}/revenue/payments")
    tab.get_by_label("Email").fill("founder@example.com")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", name="Payment health", exact=True)).to_be_visible()
    health = tab.locator("#health .stat .value")
    expect(health.nth(0)).to_have_text("4")  # failed attempts in the last 90 days
    expect(health.nth(1)).to_have_text("33%")  # 1 of 3 failed invoices paid since
    expect(health.nth(3)).to_have_text("200.00")  # cus_f's MRR, at risk
    expect(tab.locator(".chart svg").first).to_be_visible()
    behind = tab.locator("#past-due tbody tr")
    expect(behind).to_have_count(1)
    expect(behind.first).to_contain_text("cus_f")
    expect(behind.first).to_contain_text("insufficient_funds")

    tab.get_by_label("Failures from").fill((now - timedelta(days=15)).date().isoformat())
    tab.get_by_role("button", name="Show").click()
    expect(health.nth(0)).to_have_text("3")  # in_g1's failure (T-20) is now outside
    expect(tab.locator("#codes tbody tr")).to_have_count(2)

    tabs = tab.get_by_role("navigation", name="Revenue pages")
    tabs.get_by_role("link", name="Customers").click()
    expect(tab.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    expect(tab.locator("#customers tbody tr")).to_have_count(9)
    tab.get_by_label("Search").fill("fay")
    tab.get_by_role("button", name="Show").click()
    rows = tab.locator("#customers tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("past due")
    expect(rows.first).to_contain_text("200.00")
    expect(tab.get_by_label("Search")).to_have_value("fay")
    rows.first.get_by_role("link", name="cus_f").click()
    expect(tab.get_by_role("heading", name="Customer cus_f")).to_be_visible()
    expect(tab.locator("#ledger tbody tr")).to_have_count(1)  # new, $200
    assert problems.items == []


def test_the_forecast_with_a_what_if_and_a_field_error(
    live_server: LiveServer, page: tuple[Page, Problems]
) -> None:
    tab, problems = page
    with transaction(live_server.context.sessions) as session:
        accounts.create_user(session, TEST_ACTOR, "cfo@example.com", Role.ADMIN, PASSWORD)
    project = create_project(live_server.context, "Recipes")
    first = (datetime.now(UTC).replace(day=1) - timedelta(days=100)).date()
    rows = "".join(
        f"s{n},c{n},{first + timedelta(days=20 * n)},active,100,usd,month\n" for n in range(5)
    )
    with transaction(live_server.context.sessions) as session:
        import_subscriptions(session, TEST_ACTOR, project.id,
                             "subscription_id,customer_id,effective_at,status,amount,currency,"
                             "interval\n" + rows)  # fmt: skip

    tab.goto(f"{live_server.url}/login?next=/projects/{project.id}/revenue/forecast")
    tab.get_by_label("Email").fill("cfo@example.com")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", name="Revenue forecast")).to_be_visible()
    expect(tab.locator("#forecast tbody tr")).to_have_count(3)  # three scenarios
    expect(tab.locator(".chart svg").first).to_be_visible()
    base = tab.locator('[data-scenario="base"]')
    measured = base.inner_text()

    tab.get_by_label("Churn, % of MRR per month").fill("50")
    tab.get_by_role("button", name="Forecast").click()
    expect(tab.get_by_label("Churn, % of MRR per month")).to_have_value("50")
    expect(base).not_to_have_text(measured)  # half the MRR lost each month: far lower
    assert float(base.inner_text().replace(",", "")) < float(measured.replace(",", ""))

    tab.get_by_label("New MRR per month").fill("lots")
    tab.get_by_role("button", name="Forecast").click()
    expect(tab.locator("#e-new")).to_have_text("New MRR per month is a number")
    # The refused value answers 422 on purpose (Chromium logs that); nothing else failed.
    assert [p for p in problems.items if "status of 422" not in p] == []
