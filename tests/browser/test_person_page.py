"""An admin finds a demo customer by typing part of their e-mail in the Users search box,
opens their page from the results, reads why their health is what it is and what they
did, adds a note that appears on their timeline, and finds the note in the audit log."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from loopwise.core import accounts
from loopwise.core.db import transaction, utcnow
from loopwise.core.roles import Role
from loopwise.demo import load_demo
from loopwise.people import facade
from loopwise.people.contracts import FilterSpec, PersonRow
from tests.browser.conftest import Problems
from tests.factories import PASSWORD, TEST_ACTOR
from tests.servers import LiveServer


def _scored_customer(server: LiveServer, project_id: int) -> PersonRow:
    """A demo person with an e-mail, a health score with reasons, and a plan."""
    context = server.context
    with transaction(context.sessions) as session:
        now = utcnow()
        everyone = facade.people_page(session, context.warehouse, project_id, FilterSpec(), now,
                                      currency="usd", limit=1)  # fmt: skip
        if everyone.total == 0:  # the demo loader left the scoring to the CLI
            facade.recompute_project(session, context.warehouse, TEST_ACTOR, project_id, now)
        page = facade.people_page(
            session, context.warehouse, project_id, FilterSpec(sort="health"), now,
            currency="usd", limit=200,
        )  # fmt: skip
        for row in page.rows:
            if row.email and row.health is not None and row.plan:
                found = facade.person_context(session, context.warehouse, project_id,
                                              row.person_id, now)  # fmt: skip
                if found.health and found.health.reasons and found.timeline.items:
                    return row
    raise AssertionError("no demo person with an e-mail, reasons and recent activity")


def test_an_admin_finds_a_customer_notes_a_call_and_sees_it_audited(
    live_server: LiveServer, page: tuple[Page, Problems]
) -> None:
    context = live_server.context
    with transaction(context.sessions) as session:
        accounts.create_user(session, TEST_ACTOR, "admin@example.com", Role.ADMIN, PASSWORD)
        project = accounts.create_project(session, TEST_ACTOR, "Demo")
    load_demo(context.warehouse, project.id, users=400, days=45, seed=7,
              sessions=context.sessions)  # fmt: skip
    customer = _scored_customer(live_server, project.id)
    partial = customer.email.split("@")[0][:-1]  # part of the address, not all of it

    tab, problems = page
    tab.goto(f"{live_server.url}/login?next=/projects/{project.id}/people")
    tab.get_by_label("Email").fill("admin@example.com")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(tab.locator("#people tbody tr").first).to_be_visible()

    tab.get_by_role("searchbox", name="Search").press_sequentially(partial, delay=20)
    hit = tab.locator("#search-list a").filter(has_text=customer.email)
    expect(hit).to_be_visible()
    expect(tab.locator("#search-list")).to_contain_text("matched")
    hit.click()

    expect(tab.locator("h1")).to_have_text(customer.name or customer.email)
    expect(tab.locator(".health-dial")).to_contain_text(str(customer.health))
    reasons = tab.locator("#reasons li")
    expect(reasons.first).to_be_visible()
    expect(reasons.first).to_contain_text("pts")
    expect(tab.locator("#components tbody tr").first).to_be_visible()
    expect(tab.locator("#timeline .tl-item").first).to_be_visible()

    tab.get_by_label("Note (markdown; only your team sees it)").fill(
        "Called about the **renewal**: wants a team plan."
    )
    tab.get_by_role("button", name="Add note").click()
    expect(tab.get_by_role("status")).to_have_text("Note added.")
    note = tab.locator("#timeline .tl-item.note").first
    expect(note).to_contain_text("Note by admin@example.com")
    expect(note.locator("strong")).to_have_text("renewal")

    tab.goto(f"{live_server.url}/audit")
    row = tab.get_by_role("row").filter(has_text="person.note_added")
    expect(row.first).to_be_visible()
    expect(row.first).to_contain_text(customer.person_id)
    assert problems.items == []
