"""An agent opens a demo ticket from the inbox, reads its analysis, the customer's context
and similar solved tickets, and sends the suggested reply, which a local SMTP server gets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pydantic import SecretStr
from sqlalchemy import select

from loopwise.core import accounts
from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.core.settings import load_settings
from loopwise.demo import load_demo
from loopwise.support.facade import ticket_card
from loopwise.support.models import Ticket
from tests.browser.conftest import Problems
from tests.factories import PASSWORD, TEST_ACTOR
from tests.servers import Inbox, LiveServer, free_port, smtp_server
from tests.servers import live_server as run_server


@pytest.fixture
def mail_and_server(tmp_path: Path) -> Iterator[tuple[Inbox, LiveServer]]:
    with smtp_server() as (url, inbox):
        settings = load_settings(
            data_dir=tmp_path / "data",
            port=free_port(),
            secret_key="browser-test-" + "k" * 40,
            smtp_url=SecretStr(url),
            smtp_from="help@recipes.test",
        )
        with run_server(settings) as server:
            yield inbox, server


def _open_ticket_with_help(server: LiveServer, project_id: int) -> tuple[int, int, str]:
    """An unsolved demo ticket whose card has similar tickets, context and a suggestion."""
    with server.context.sessions() as session:
        open_ids = session.scalars(
            select(Ticket.id)
            .where(Ticket.project_id == project_id)
            .where(Ticket.status.in_(("new", "open", "pending")))
            .where(Ticket.person_id != "")
            .order_by(Ticket.id)
        ).all()
        for ticket_id in open_ids:
            card = ticket_card(session, project_id, ticket_id)
            revenue = (card.context or {}).get("revenue")
            if card.similar and card.suggestion.text and revenue:
                session.commit()
                return ticket_id, card.ticket.number, card.ticket.requester_email
    raise AssertionError("no open demo ticket has similar tickets and a suggestion")


def test_an_agent_sends_the_suggested_reply_on_a_demo_ticket(
    mail_and_server: tuple[Inbox, LiveServer], page: tuple[Page, Problems]
) -> None:
    inbox, server = mail_and_server
    context = server.context
    with transaction(context.sessions) as session:
        accounts.create_user(session, TEST_ACTOR, "agent@example.com", Role.SUPPORT, PASSWORD)
        project = accounts.create_project(session, TEST_ACTOR, "Demo")
    # The simulation ends at a fixed hour: which tickets are still open depends on where
    # it ends, and one ending "now" left none with billing context at some hours of the day.
    load_demo(context.warehouse, project.id, users=700, days=60, seed=42,
              end=datetime(2026, 11, 27, 23, tzinfo=UTC), sessions=context.sessions)  # fmt: skip
    ticket_id, number, requester = _open_ticket_with_help(server, project.id)

    tab, problems = page
    tab.goto(f"{server.url}/login?next=/projects/{project.id}/support")
    tab.get_by_label("Email").fill("agent@example.com")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", name="Support", exact=True)).to_be_visible()
    expect(tab.locator("#tickets tbody tr").first).to_be_visible()

    tab.get_by_label("Search").fill(f"#{number}")
    tab.get_by_role("button", name="Show").click()
    rows = tab.locator("#tickets tbody tr")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link").click()
    expect(tab.locator("h1")).to_contain_text(f"#{number}")

    analysis = tab.locator("#analysis")
    expect(analysis.get_by_role("heading", name="Analysis")).to_be_visible()
    expect(analysis).to_contain_text("Type")
    expect(analysis).to_contain_text("Priority")
    expect(analysis.locator(".confidence").first).to_be_visible()
    context_card = tab.locator("#context")
    expect(context_card).to_contain_text("Subscription")
    expect(context_card).to_contain_text("MRR")
    expect(tab.locator("#similar li").first).to_contain_text("% similar")

    draft = tab.get_by_label(f"Message to {requester}")
    expect(draft).not_to_have_value("")
    suggestion = draft.input_value()
    tab.get_by_role("button", name="Send and mark solved").click()
    expect(tab.locator(".message.agent").last).to_contain_text(suggestion.strip()[:40])
    expect(tab.locator(".message.agent").last.locator(".badge")).to_have_text("sent")
    expect(tab.locator(".page-head .badge").first).to_have_text("solved")

    (raw,) = inbox.messages
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["To"] == requester
    assert mail["Subject"].startswith(f"Re: [#{number}]")
    assert suggestion.strip()[:40] in mail.get_content().replace("\r\n", "\n")
    assert problems.items == []
    assert ticket_id > 0
