"""The optional language model rewrites a draft through a local stub of an OpenAI-compatible
API (its key sealed, only the draft and the customer's message sent), and the monthly
top-issues report goes out by e-mail once per month."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email import message_from_bytes, policy

from fastapi.testclient import TestClient
from pydantic import SecretStr

from loopwise.core.db import transaction
from loopwise.core.jobs import JobContext
from loopwise.core.roles import Role
from loopwise.support import facade
from loopwise.support.contracts import NewTicket
from loopwise.support.jobs import monthly_report
from loopwise.support.models import SupportSettings
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, bearer, create_project, create_token, create_user
from tests.servers import Receiver, smtp_server

ANSWER = {"choices": [{"message": {"role": "assistant", "content": "Hello Maria, done!"}}]}


def test_a_draft_is_rewritten_by_the_configured_language_model(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context).id
    auth = bearer(create_token(context, create_user(context, Role.OWNER).id))
    base = f"/api/projects/{project}"
    ticket = {"subject": "Refund", "body": "Please refund my order 1234.",
              "requester": {"email": "maria@example.com"}}  # fmt: skip
    created = client.post(f"{base}/tickets", json=ticket, headers=auth).json()
    off = client.post(f"{base}/tickets/{created['id']}/rewrite", json={"draft": "Hi"},
                      headers=auth)  # fmt: skip
    assert off.status_code == 422
    assert "no language model" in off.json()["detail"]

    with Receiver(answer=json.dumps(ANSWER).encode()) as stub:
        model = {"url": stub.url, "model": "small-model", "key": "sk-test-123"}
        saved = client.put(f"{base}/support/language-model", json=model, headers=auth).json()
        assert saved == {"url": stub.url, "model": "small-model", "key_set": True}
        draft = "hi maria, refund done"
        rewritten = client.post(f"{base}/tickets/{created['id']}/rewrite",
                                json={"draft": draft}, headers=auth)  # fmt: skip
        assert rewritten.status_code == 200
        assert rewritten.json() == {"text": "Hello Maria, done!"}
    (request,) = stub.requests
    assert request.path == "/hook/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-123"
    sent = json.loads(request.body)
    assert sent["model"] == "small-model"
    assert draft in sent["messages"][1]["content"]
    assert "order 1234" in sent["messages"][1]["content"]
    with context.sessions() as session:
        row = session.get(SupportSettings, project)
        assert row is not None
        assert "sk-test-123" not in row.llm_key_sealed

    with Receiver(statuses=[500]) as broken:
        client.put(f"{base}/support/language-model", json={"url": broken.url}, headers=auth)
        failed = client.post(f"{base}/tickets/{created['id']}/rewrite", json={"draft": "x"},
                             headers=auth)  # fmt: skip
    assert failed.status_code == 422
    assert failed.json()["field"] == "reply"
    assert "answered 500" in failed.json()["detail"]


def test_the_monthly_report_is_mailed_once_per_month(context: AppContext) -> None:
    project = create_project(context).id
    with transaction(context.sessions) as session:
        facade.set_support_settings(session, TEST_ACTOR, project, report_to="lead@acme.test")
        for n in range(3):
            new = NewTicket(subject=f"Export fails {n}", body="The PDF export fails.",
                            requester_email=f"c{n}@example.com", category="bug",
                            created_at=datetime(2026, 10, 5 + n, 9, tzinfo=UTC))  # fmt: skip
            facade.record_ticket(session, project, new, datetime(2026, 10, 9, tzinfo=UTC))
    with smtp_server() as (url, inbox):
        settings = context.settings.model_copy(update={"smtp_url": SecretStr(url)})
        jobs = JobContext(context.sessions, context.warehouse, settings)
        now = datetime(2026, 11, 1, 7, tzinfo=UTC)
        assert "2026-10" in monthly_report(jobs, now)
        assert monthly_report(jobs, now) == "none due"
    (raw,) = inbox.messages
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["To"] == "lead@acme.test"
    assert mail["Subject"] == "[Loopwise] Top support issues, October 2026"
    text = mail.get_body(("plain",))
    assert text is not None
    assert "bug" in text.get_content()
    assert "3 tickets" in text.get_content()
