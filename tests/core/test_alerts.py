"""Alerts and notification channels: Standard Webhooks signatures checked with the spec's
reference library, retries with backoff, e-mail through a local SMTP server, Slack's
shape, cool-down and rules, and the API and page with errors in place."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from standardwebhooks.webhooks import Webhook

from loopwise.core import alerts
from loopwise.core.alerts import AlertKind
from loopwise.core.db import transaction, utcnow
from loopwise.core.roles import Role
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, bearer, create_project, create_token, create_user, sign_in
from tests.servers import Inbox, Receiver, smtp_server

KIND = AlertKind(
    "test.kind", "Test alert", "For tests", severity="warning", cooldown=timedelta(hours=6)
)


def add(context: AppContext, project: int, kind: str, target: str) -> tuple[int, str | None]:
    with transaction(context.sessions) as session:
        channel, secret = alerts.add_channel(
            session,
            TEST_ACTOR,
            project,
            name=kind,
            kind=kind,
            target=target,
            secret_key=context.settings.secret(),
        )
    return channel.id, secret


def fire(context: AppContext, project: int, at: Any = None) -> int | None:
    with transaction(context.sessions) as session:
        return alerts.fire(
            session,
            project,
            KIND,
            title="CAC is up 80%",
            why="The 7-day CAC is 180.00 against a median of 100.00.",
            evidence={"cac": 18000},
            now=at or utcnow(),
        )


def deliveries(context: AppContext, project: int) -> list[tuple[str, int, str]]:
    with context.sessions() as session:
        return [
            (d.status, d.attempts, d.last_error)
            for f in alerts.recent(session, project)
            for d in f.deliveries
        ]


def test_webhooks_are_signed_per_standard_webhooks(context: AppContext) -> None:
    project = create_project(context).id
    with Receiver() as receiver:
        _, secret = add(context, project, "webhook", receiver.url)
        assert secret is not None
        assert secret.startswith("whsec_")
        assert fire(context, project) is not None
        now = utcnow()
        assert alerts.deliver_due(context.sessions, context.settings, now) == (
            "1 sent, 0 to retry, 0 failed"
        )
    (request,) = receiver.requests
    # The reference implementation of the specification accepts the signature.
    verified = Webhook(secret).verify(request.body, request.headers)
    assert verified["type"] == "alert.test.kind"
    assert verified["data"]["why"] == "The 7-day CAC is 180.00 against a median of 100.00."
    assert request.headers["webhook-id"].startswith("msg_lw_")
    assert deliveries(context, project) == [("sent", 1, "")]
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(secret).verify(request.body.replace(b"180", b"999"), request.headers)


def test_failed_deliveries_are_retried_with_backoff_then_given_up(context: AppContext) -> None:
    project = create_project(context).id
    start = utcnow()
    with Receiver([500, 503, 200]) as flaky:
        add(context, project, "webhook", flaky.url)
        fire(context, project, start)
        alerts.deliver_due(context.sessions, context.settings, start)
        host = flaky.url.split("/")[2]
        assert deliveries(context, project) == [("pending", 1, f"{host} answered 500")]
        # Not due for a minute; then the second try fails, and the third (5 min later) lands.
        alerts.deliver_due(context.sessions, context.settings, start + timedelta(seconds=30))
        assert len(flaky.requests) == 1
        alerts.deliver_due(context.sessions, context.settings, start + timedelta(minutes=1))
        alerts.deliver_due(context.sessions, context.settings, start + timedelta(minutes=6))
        assert deliveries(context, project) == [("sent", 3, "")]
        ids = {r.headers["webhook-id"] for r in flaky.requests}
        assert len(ids) == 1  # the same message id on every try, so receivers can dedupe
    other = create_project(context, "Other").id
    with Receiver([500]) as down:
        add(context, other, "webhook", down.url)
        fire(context, other, start)
        moment = start
        for wait in (0, 1, 5, 30, 120, 480):
            moment += timedelta(minutes=wait)
            alerts.deliver_due(context.sessions, context.settings, moment)
        assert len(down.requests) == 6
        assert deliveries(context, other)[0][:2] == ("failed", 6)
        alerts.deliver_due(context.sessions, context.settings, moment + timedelta(days=1))
        assert len(down.requests) == 6


@pytest.fixture
def smtp() -> Iterator[tuple[str, Inbox]]:
    with smtp_server() as server:
        yield server


def test_email_goes_through_the_smtp_server(context: AppContext, smtp: tuple[str, Inbox]) -> None:
    url, inbox = smtp
    project = create_project(context).id
    add(context, project, "email", "ops@example.com, Ana <ana@example.com>")
    fire(context, project)
    settings = context.settings.model_copy(
        update={"smtp_url": SecretStr(url), "smtp_from": "alerts@acme.test"}
    )
    alerts.deliver_due(context.sessions, settings, utcnow())
    (raw,) = inbox.messages
    message = message_from_bytes(raw)
    assert message["Subject"] == "[Loopwise] CAC is up 80%"
    assert message["To"] == "ops@example.com, ana@example.com"
    assert message["From"] == "alerts@acme.test"
    assert "median of 100.00" in message.get_payload()
    # Without an SMTP server the delivery waits and says why.
    other = create_project(context, "Other").id
    add(context, other, "email", "ops@example.com")
    fire(context, other)
    alerts.deliver_due(context.sessions, context.settings, utcnow())
    assert "LOOPWISE_SMTP_URL" in deliveries(context, other)[0][2]


def test_slack_gets_text_and_its_url_is_kept_sealed(context: AppContext) -> None:
    project = create_project(context).id
    with Receiver() as slack:
        _, secret = add(context, project, "slack", slack.url + "/T000/B000/tokenpart42")
        assert secret is None
        fire(context, project)
        alerts.deliver_due(context.sessions, context.settings, utcnow())
    (request,) = slack.requests
    assert request.path == "/hook/T000/B000/tokenpart42"
    assert json.loads(request.body)["text"].startswith("[warning] CAC is up 80%")
    with context.sessions() as session:
        (listed,) = alerts.channels(session, project)
    assert "tokenpart42" not in listed.target  # the credential part of the URL is not shown


def test_cooldown_disabled_rules_and_chosen_channels(context: AppContext) -> None:
    project = create_project(context).id
    start = utcnow()
    with Receiver() as one, Receiver() as two:
        first, _ = add(context, project, "webhook", one.url)
        add(context, project, "webhook", two.url)
        assert fire(context, project, start) is not None
        assert fire(context, project, start + timedelta(hours=5)) is None  # cooling down
        with transaction(context.sessions) as session:
            alerts.set_rule(
                session,
                TEST_ACTOR,
                project,
                KIND,
                severity="critical",
                cooldown_minutes=0,
                enabled=True,
                channel_ids=[first],
            )
        assert fire(context, project, start + timedelta(hours=5)) is not None
        alerts.deliver_due(context.sessions, context.settings, start + timedelta(hours=5))
        assert (len(one.requests), len(two.requests)) == (2, 1)
        assert json.loads(one.requests[-1].body)["data"]["severity"] == "critical"
        with transaction(context.sessions) as session:
            alerts.set_rule(
                session,
                TEST_ACTOR,
                project,
                KIND,
                severity="critical",
                cooldown_minutes=0,
                enabled=False,
                channel_ids=[],
            )
        assert fire(context, project, start + timedelta(hours=6)) is None


def test_the_alerts_api_checks_input_and_roles(client: TestClient, context: AppContext) -> None:
    project = create_project(context).id
    admin = bearer(create_token(context, create_user(context, Role.ADMIN).id))
    viewer = bearer(create_token(context, create_user(context, Role.VIEWER).id))
    url = f"/api/projects/{project}/alerts"
    bad = client.post(
        f"{url}/channels", json={"name": "x", "kind": "email", "target": "nobody"}, headers=admin
    )
    assert bad.status_code == 422
    assert "target" in bad.text
    made = client.post(
        f"{url}/channels",
        headers=admin,
        json={"name": "Ops hook", "kind": "webhook", "target": "https://h.test/x"},
    )
    assert made.status_code == 201
    assert made.json()["signing_secret"].startswith("whsec_")
    listed = client.get(f"{url}/channels", headers=viewer).json()
    assert "signing_secret" not in listed[0]
    refused = client.post(
        f"{url}/channels",
        headers=viewer,
        json={"name": "x", "kind": "slack", "target": "https://h.test/x"},
    )
    assert refused.status_code == 403
    rules = client.get(f"{url}/rules", headers=viewer).json()
    assert [r["key"] for r in rules] == ["revenue.cac_anomaly"]
    wrong = client.put(
        f"{url}/rules/revenue.cac_anomaly",
        headers=admin,
        json={"severity": "loud", "cooldown_minutes": 60},
    )
    assert wrong.status_code == 422
    channel = made.json()["id"]
    changed = client.put(
        f"{url}/rules/revenue.cac_anomaly",
        headers=admin,
        json={"severity": "critical", "cooldown_minutes": 60, "channel_ids": [channel]},
    )
    assert changed.json()["severity"] == "critical"
    unknown = client.put(
        f"{url}/rules/revenue.cac_anomaly",
        headers=admin,
        json={"severity": "info", "cooldown_minutes": 1, "channel_ids": [999]},
    )
    assert unknown.status_code == 422
    assert (
        client.put(
            f"{url}/rules/nope", headers=admin, json={"severity": "info", "cooldown_minutes": 1}
        ).status_code
        == 404
    )
    assert client.delete(f"{url}/channels/{channel}", headers=admin).status_code == 204
    assert client.get(f"{url}", headers=viewer).json() == []


def test_the_alerts_page(client: TestClient, context: AppContext) -> None:
    project = create_project(context).id
    csrf = sign_in(client, create_user(context, Role.ADMIN).email)
    page = client.get(f"/projects/{project}/alerts")
    assert "No alerts yet" in page.text
    assert "CAC anomaly" in page.text
    wrong = client.post(
        f"/projects/{project}/alerts/channels",
        data={"csrf_token": csrf, "name": "Ops", "kind": "webhook", "target": "ftp://x"},
    )
    assert wrong.status_code == 422
    assert 'id="e-target"' in wrong.text
    assert 'value="ftp://x"' in wrong.text  # what was typed stays
    added = client.post(
        f"/projects/{project}/alerts/channels",
        data={"csrf_token": csrf, "name": "Ops", "kind": "email", "target": "ops@example.com"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = client.get(f"/projects/{project}/alerts")
    assert "ops@example.com" in page.text
    channel = page.text.split("/alerts/channels/")[1].split("/")[0]
    tested = client.post(
        f"/projects/{project}/alerts/channels/{channel}/test", data={"csrf_token": csrf}
    )
    assert "LOOPWISE_SMTP_URL" in tested.text  # no SMTP server configured: said in place
    fire(context, project)
    assert "CAC is up 80%" in client.get(f"/projects/{project}/alerts").text
