"""A ticket's way through the copilot, over HTTP: a help desk's webhook → triage → routing
→ suggested reply → the reply e-mailed through a local SMTP server; auto-resolution firing
only above its threshold, logged and audited, and counted as a miss when reopened; an
agent's correction becoming a training label."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from loopwise.core.models import AuditEvent
from loopwise.core.roles import Role
from loopwise.core.settings import Settings
from loopwise.support.models import SupportAction, Ticket
from loopwise.web.context import AppContext
from tests.factories import bearer, create_project, create_token, create_user
from tests.servers import Inbox, smtp_server


@pytest.fixture
def smtp() -> Iterator[tuple[str, Inbox]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def settings(settings: Settings, smtp: tuple[str, Inbox]) -> Settings:
    return settings.model_copy(
        update={"smtp_url": SecretStr(smtp[0]), "smtp_from": "help@acme.test"}
    )


def owner(context: AppContext) -> tuple[int, dict[str, str]]:
    project = create_project(context).id
    user = create_user(context, Role.OWNER)
    return project, bearer(create_token(context, user.id))


def zendesk(ticket_id: int, subject: str, description: str, **more: Any) -> dict[str, Any]:
    return {
        "ticket": {
            "id": ticket_id,
            "subject": subject,
            "description": description,
            "status": "new",
            "created_at": "2026-11-20T09:00:00Z",
            "via": {"channel": "email"},
            "requester": {"email": "maria@example.com", "name": "Maria Lopez"},
            "tags": ["vip"],
            **more,
        }
    }


def test_a_webhook_ticket_is_triaged_routed_and_answered_with_the_suggestion(
    client: TestClient, context: AppContext, smtp: tuple[str, Inbox]
) -> None:
    project, auth = owner(context)
    base = f"/api/projects/{project}"
    settings = {
        "routing": [{"category": "billing", "queue": "billing", "assignee": "ana@acme.test"}]
    }
    assert client.put(f"{base}/support/settings", json=settings, headers=auth).status_code == 200
    template = {
        "name": "Double charge",
        "category": "billing",
        "body": "Hi {{ first_name }},\n\nI have refunded the second charge.\n\n{{ agent_name }}",
    }
    response = client.post(
        f"/projects/{project}/support/templates",
        data=template,
        headers=auth,
        follow_redirects=False,
    )
    assert response.status_code == 303
    token = client.post(f"{base}/support/inbound-token", headers=auth).json()["token"]
    payload = zendesk(
        9001,
        "Charged twice this month",
        "Hello, my credit card was charged twice for the subscription. Refund please!",
    )

    refused = client.post(
        f"{base}/support/inbound/zendesk", json=payload, headers={"authorization": "Bearer wrong"}
    )
    assert refused.status_code == 401
    received = client.post(
        f"{base}/support/inbound/zendesk",
        json=payload,
        headers={"authorization": f"Bearer {token}"},
    )
    assert received.status_code == 201, received.text
    body = received.json()
    assert body["triage"]["category"]["value"] == "billing"
    assert 0 < body["triage"]["category"]["confidence"] <= 0.85  # keyword rules: no model yet
    assert body["auto_resolved"] is False

    card = client.get(f"{base}/tickets/{body['id']}", headers=auth).json()
    assert card["queue"] == "billing"
    assert card["assignee"] == "ana@acme.test"
    assert card["requester"]["name"] == "Maria Lopez"
    assert card["first_response_due"] is not None  # normal priority: 8 h by default
    suggestion = card["suggestion"]
    assert suggestion["source"] == "template: Double charge"
    assert suggestion["text"].startswith("Hi Maria,\n\nI have refunded the second charge.")

    reply = {
        "body": suggestion["text"],
        "status": "solved",
        "suggested": suggestion["text"],
        "suggestion_source": suggestion["source"],
    }
    sent = client.post(f"{base}/tickets/{body['id']}/replies", json=reply, headers=auth)
    assert sent.status_code == 201
    assert sent.json()["delivery"] == "sent"
    (raw,) = smtp[1].messages
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["To"] == "maria@example.com"
    assert mail["Subject"] == f"Re: [#{card['number']}] Charged twice this month"
    assert "refunded the second charge" in mail.get_content()

    # The help desk delivers the ticket again with a new comment: only the comment is added.
    again = zendesk(
        9001,
        "Charged twice this month",
        "Hello, my card was charged twice.",
        comments=[
            {"id": 1, "body": "first"},
            {"id": 2, "body": "Thanks, all good now!", "author": {"role": "end-user"}},
        ],
    )
    repeat = client.post(f"{base}/support/inbound/zendesk?token={token}", json=again)
    assert repeat.status_code == 200
    assert repeat.json()["id"] == body["id"]
    card = client.get(f"{base}/tickets/{body['id']}", headers=auth).json()
    assert [m["author_kind"] for m in card["messages"]] == ["customer", "agent", "customer"]
    assert card["status"] == "open"
    assert card["label"] == "billing"
    with context.sessions() as session:
        verdicts = session.scalars(
            select(SupportAction.outcome).where(SupportAction.kind == "suggestion")
        ).all()
    assert verdicts == ["accepted"]


def _enable_password_reset(
    client: TestClient, project: int, auth: dict[str, str], threshold: float
) -> None:
    auto = {
        "password_reset": {
            "enabled": True,
            "threshold": threshold,
            "link": "https://app.acme.test/reset",
        }
    }
    response = client.put(
        f"/api/projects/{project}/support/settings", json={"auto_resolution": auto}, headers=auth
    )
    assert response.status_code == 200, response.text


def test_an_enabled_auto_resolution_fires_only_above_its_threshold_and_is_logged(
    client: TestClient, context: AppContext, smtp: tuple[str, Inbox]
) -> None:
    project, auth = owner(context)
    base = f"/api/projects/{project}"
    template = {
        "name": "Reset",
        "category": "password_reset",
        "body": "Hi {{ first_name }}, reset your password here: {{ link }}",
    }
    client.post(f"/projects/{project}/support/templates", data=template, headers=auth)
    ticket = {
        "subject": "Forgot my password",
        "requester": {"email": "li@example.com", "name": "Li Wei"},
        "body": "Please send me a reset link, I forgot my password.",
    }

    # Keyword rules are at most 0.85 sure: below a 0.9 threshold nothing is sent.
    _enable_password_reset(client, project, auth, 0.9)
    below = client.post(f"{base}/tickets", json=ticket, headers=auth).json()
    assert below["auto_resolved"] is False
    assert below["triage"]["intent"]["value"] == "password_reset"
    card = client.get(f"{base}/tickets/{below['id']}", headers=auth).json()
    assert card["status"] == "new"
    assert card["auto_resolution"]["fired"] is False
    assert "below the threshold 0.90" in card["auto_resolution"]["reason"]
    assert smtp[1].messages == []

    _enable_password_reset(client, project, auth, 0.8)
    above = client.post(f"{base}/tickets", json=ticket, headers=auth).json()
    assert above["auto_resolved"] is True
    card = client.get(f"{base}/tickets/{above['id']}", headers=auth).json()
    assert card["status"] == "solved"
    assert card["messages"][-1]["author"] == "Loopwise copilot"
    (raw,) = smtp[1].messages
    assert (
        "https://app.acme.test/reset"
        in message_from_bytes(raw, policy=policy.default).get_content()
    )
    with context.sessions() as session:
        action = session.scalars(
            select(SupportAction).where(SupportAction.kind == "auto_resolution")
        ).one()
        assert (action.intent, action.outcome, action.threshold) == (
            "password_reset",
            "resolved",
            0.8,
        )
        assert action.confidence >= 0.8
        audited = session.scalars(
            select(AuditEvent.action).where(AuditEvent.project_id == project)
        ).all()
        assert audited.count("support.auto_resolved") == 1

    # The customer answers: the ticket reopens and the auto-resolution counts as a miss.
    more = {"body": "The link does not work."}
    assert (
        client.post(f"{base}/tickets/{above['id']}/messages", json=more, headers=auth).status_code
        == 201
    )
    with context.sessions() as session:
        ticket_row = session.get(Ticket, above["id"])
        assert ticket_row is not None
        assert (ticket_row.status, ticket_row.reopens) == ("open", 1)
        outcome = session.scalars(
            select(SupportAction.outcome).where(SupportAction.kind == "auto_resolution")
        ).one()
    assert outcome == "reopened"


LABELLED = {
    "billing": [
        "I was charged twice",
        "Refund my last payment",
        "Why is my invoice higher",
        "My card payment failed",
        "Wrong amount billed",
        "Charge I do not recognise",
    ],
    "bug": [
        "The export button crashes",
        "Page is blank after login",
        "Error 500 on save",
        "The app freezes on upload",
        "Charts do not load",
        "Sync fails every time",
    ],
    "how_to": [
        "How do I invite a teammate",
        "How can I change my email",
        "Where do I find reports",
        "How to export my data",
        "Can I rename a project",
        "How do I set a reminder",
    ],
    "feature_request": [
        "Please add dark mode",
        "Would love a Slack integration",
        "Could you add CSV import",
        "Any plans for an iPad app",
        "It would be nice to have tags",
        "Please support SSO",
    ],
}


def test_an_agent_correction_becomes_a_label_and_the_model_learns_from_labels(
    client: TestClient, context: AppContext
) -> None:
    project, auth = owner(context)
    base = f"/api/projects/{project}"
    lines = ["subject,body,requester_email,category,status"]
    for category, subjects in LABELLED.items():
        lines += [
            f"{s},{s} - please help,c{i}@example.com,{category},solved"
            for i, s in enumerate(subjects)
        ]
    imported = client.post(f"{base}/support/import", content="\n".join(lines), headers=auth)
    assert imported.json() == {"rows": 24, "created": 24}

    new = {
        "subject": "Something odd",
        "body": "The login page shows an error 500",
        "requester": {"email": "sam@example.com"},
    }
    created = client.post(f"{base}/tickets", json=new, headers=auth).json()
    change = client.patch(f"{base}/tickets/{created['id']}", json={"category": "bug"}, headers=auth)
    assert change.json()["label"] == "bug"
    assert client.get(f"{base}/support/model", headers=auth).json()["labelled"] == 25

    trained = client.post(f"{base}/support/model/train", headers=auth).json()
    assert trained["labels"] == 25
    evaluation = trained["evaluation"]
    assert {c["label"] for c in evaluation["classes"]} <= set(LABELLED)
    assert 0.0 <= evaluation["accuracy"] <= 1.0
    assert evaluation["held_out"] >= 4
    after = client.post(
        f"{base}/tickets",
        json={
            **new,
            "subject": "Refund the double charge",
            "body": "I was charged twice, refund please",
        },
        headers=auth,
    ).json()
    assert after["triage"]["model"] == f"model #{trained['model']}"
    assert after["triage"]["category"]["value"] == "billing"


def test_a_bad_ticket_is_refused_with_the_field_named_and_nothing_stored(
    client: TestClient, context: AppContext
) -> None:
    project, auth = owner(context)
    base = f"/api/projects/{project}"
    for body, field in (
        ({"subject": "", "body": "x", "requester": {"email": "a@example.com"}}, "subject"),
        ({"subject": "Hi", "body": "", "requester": {"email": "a@example.com"}}, "body"),
        (
            {"subject": "Hi", "body": "x", "requester": {"email": "not-an-address"}},
            "requester_email",
        ),
        (
            {
                "subject": "Hi",
                "body": "x",
                "requester": {"email": "a@example.com"},
                "priority": "asap",
            },
            "priority",
        ),
        ({"subject": "Hi", "body": "x", "requester": "a@example.com"}, "requester"),
    ):
        response = client.post(f"{base}/tickets", json=body, headers=auth)
        assert response.status_code == 422, body
        assert response.json()["field"] == field
    bad_csv = "subject,body,csat_rating\nHello,there,9\n,missing subject,\n"
    refused = client.post(f"{base}/support/import", content=bad_csv, headers=auth)
    assert refused.status_code == 422
    assert [(e["line"], e["field"]) for e in refused.json()["errors"]] == [
        (2, "csat_rating"),
        (3, "subject"),
    ]
    assert client.get(f"{base}/tickets?status=all", headers=auth).json()["total"] == 0
