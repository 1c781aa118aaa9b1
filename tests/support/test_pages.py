"""The support pages as an agent and a viewer use them: a ticket created from the form,
errors beside their fields, saved inbox views, corrections on the card, the settings page,
and other projects' tickets hidden."""

from __future__ import annotations

from fastapi.testclient import TestClient

from loopwise.core.roles import Role
from loopwise.web.context import AppContext
from tests.factories import create_project, create_user, sign_in


def test_an_agent_creates_a_ticket_saves_a_view_and_corrects_the_type(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context).id
    agent = create_user(context, Role.SUPPORT)
    csrf = sign_in(client, agent.email)
    base = f"/projects/{project}/support"
    empty = client.get(base)
    assert "No tickets yet" in empty.text

    ticket = {
        "csrf_token": csrf,
        "requester_email": "maria@example.com",
        "subject": "",
        "body": "I was charged twice",
        "channel": "email",
    }
    refused = client.post(f"{base}/new", data=ticket)
    assert refused.status_code == 422
    assert 'id="e-subject"' in refused.text
    assert "is required" in refused.text
    assert "I was charged twice" in refused.text  # what was typed is kept

    created = client.post(
        f"{base}/new", data={**ticket, "subject": "Double charge"}, follow_redirects=False
    )
    assert created.status_code == 303
    card_url = created.headers["location"]
    card = client.get(card_url)
    assert "Double charge" in card.text
    assert "billing" in card.text  # triaged by keyword rules

    inbox = client.get(f"{base}?category=billing")
    assert "Double charge" in inbox.text
    nameless = client.post(
        f"{base}/views", data={"csrf_token": csrf, "name": " ", "category": "billing"}
    )
    assert nameless.status_code == 422
    assert 'id="e-view"' in nameless.text
    saved = client.post(
        f"{base}/views",
        data={"csrf_token": csrf, "name": "Billing", "category": "billing"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "Billing</a>" in client.get(base).text

    wrong = client.post(f"{card_url}/change", data={"csrf_token": csrf, "category": "nonsense"})
    assert wrong.status_code == 422
    assert "is one of" in wrong.text
    fixed = client.post(
        f"{card_url}/change", data={"csrf_token": csrf, "category": "bug"}, follow_redirects=False
    )
    assert fixed.status_code == 303
    assert "Agent's label: <strong>bug</strong>" in client.get(card_url).text


def test_a_viewer_reads_but_cannot_work_tickets_and_other_projects_stay_hidden(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context).id
    other = create_project(context, "Other").id
    agent = create_user(context, Role.SUPPORT)
    csrf = sign_in(client, agent.email)
    made = client.post(
        f"/projects/{other}/support/new",
        follow_redirects=False,
        data={
            "csrf_token": csrf,
            "requester_email": "a@example.com",
            "subject": "Hello",
            "body": "How do I export?",
        },
    )
    other_card = made.headers["location"]
    ticket_id = other_card.rsplit("/", 1)[1]
    assert client.get(f"/projects/{project}/support/tickets/{ticket_id}").status_code == 404

    viewer = create_user(context, Role.VIEWER)
    client.cookies.clear()
    csrf = sign_in(client, viewer.email)
    page = client.get(other_card)
    assert page.status_code == 200
    assert "Send and mark solved" not in page.text
    reply = client.post(f"{other_card}/reply", data={"csrf_token": csrf, "body": "hi"})
    assert reply.status_code == 403


def test_settings_errors_appear_beside_their_fields(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context).id
    owner = create_user(context, Role.OWNER)
    csrf = sign_in(client, owner.email)
    page = client.get(f"/projects/{project}/support/triage")
    assert "No model yet" in page.text
    bad = client.post(
        f"/projects/{project}/support/triage/settings",
        data={"csrf_token": csrf, "categories": "billing, bug", "sla_urgent_first": "soon"},
    )
    assert bad.status_code == 422
    assert "is a whole number of minutes" in bad.text
    assert 'value="soon"' in bad.text
    train = client.post(f"/projects/{project}/support/triage/train", data={"csrf_token": csrf})
    assert train.status_code == 422
    assert "at least 20 labelled tickets" in train.text
