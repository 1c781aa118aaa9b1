"""The Revenue page: empty state, Stripe and conventions forms with errors in place,
and MRR once subscriptions arrive; the MRR API."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from loopwise.core.roles import Role
from loopwise.revenue.sources.stripe import sign
from loopwise.web.context import AppContext
from tests.factories import create_project, create_user, sign_in


def test_connect_stripe_set_conventions_and_see_mrr(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    csrf = sign_in(client, create_user(context, Role.ADMIN).email)
    page = client.get(f"/projects/{project.id}/revenue")
    assert "No subscriptions yet" in page.text
    assert f"/api/projects/{project.id}/sources/stripe/webhook" in page.text

    bad = client.post(f"/projects/{project.id}/revenue/stripe",
                      data={"csrf_token": csrf, "signing_secret": "sk_live_x"})  # fmt: skip
    assert bad.status_code == 422
    assert 'id="e-signing_secret"' in bad.text
    secret = "whsec_page_test"
    saved = client.post(f"/projects/{project.id}/revenue/stripe",
                        data={"csrf_token": csrf, "signing_secret": secret},
                        follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303
    wrong = client.post(f"/projects/{project.id}/revenue/settings",
                        data={"csrf_token": csrf, "past_due_days": "soon"})  # fmt: skip
    assert wrong.status_code == 422
    assert "whole number of days" in wrong.text

    now = datetime.now(UTC)
    item = {"price": {"unit_amount": 4900, "currency": "usd", "recurring": {"interval": "month"}},
            "quantity": 1}  # fmt: skip
    thing = {"id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active",
             "items": {"data": [item]}, "start_date": int(now.timestamp()) - 3600}  # fmt: skip
    created = {"id": "evt_p1", "object": "event", "type": "customer.subscription.created",
               "created": int(now.timestamp()), "data": {"object": thing}}  # fmt: skip
    body = json.dumps(created).encode()
    delivered = client.post(
        f"/api/projects/{project.id}/sources/stripe/webhook", content=body,
        headers={"Stripe-Signature": sign(body, secret, now)},
    )  # fmt: skip
    assert delivered.json()["outcome"] == "applied"
    shown = client.get(f"/projects/{project.id}/revenue")
    assert "49.00" in shown.text
    assert 'id="movements"' in shown.text
    # KPI tiles compare with the end of last month, when nobody paid yet.
    assert "none at the end of last month" in shown.text
    api = client.get(f"/api/projects/{project.id}/revenue/mrr?months=2",
                     headers={"X-CSRF-Token": csrf}).json()  # fmt: skip
    assert api["periods"][-1]["mrr"] == 4900
    assert api["periods"][-1]["new"] == 4900
    assert api["recent"][0]["kind"] == "new"


def test_the_import_form_shows_the_files_problems_in_place(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    csrf = sign_in(client, create_user(context, Role.ADMIN).email)
    header = "subscription_id,customer_id,effective_at,status,amount,currency,interval\n"
    bad = (header + "sub_1,cus_1,yesterday,active,10,usd,month\n").encode()
    refused = client.post(f"/projects/{project.id}/revenue/import", data={"csrf_token": csrf},
                          files={"file": ("subs.csv", bad, "text/csv")})  # fmt: skip
    assert refused.status_code == 422
    assert 'id="e-file"' in refused.text
    assert "line 2, effective_at" in refused.text
    good = (header + "sub_1,cus_1,2026-01-01,active,10,usd,month\n").encode()
    done = client.post(
        f"/projects/{project.id}/revenue/import", data={"csrf_token": csrf},
        files={"file": ("subs.csv", good, "text/csv")}, follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303
    assert "10.00" in client.get(f"/projects/{project.id}/revenue").text


def test_the_acquisition_card_computes_on_request_and_checks_its_settings(
    client: TestClient, context: AppContext, acquisition: int
) -> None:
    csrf = sign_in(client, create_user(context, Role.ADMIN).email)
    page = client.get(f"/projects/{acquisition}/revenue")
    assert "No acquisition figures yet" in page.text
    done = client.post(f"/projects/{acquisition}/revenue/metrics", data={"csrf_token": csrf},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    page = client.get(f"/projects/{acquisition}/revenue")
    assert 'id="channels"' in page.text
    assert "Blended CAC" in page.text
    wrong = client.post(f"/projects/{acquisition}/revenue/settings",
                        data={"csrf_token": csrf, "gross_margin": "120"})  # fmt: skip
    assert wrong.status_code == 422
    assert "percentage from 1 to 100" in wrong.text
    forged = client.post(f"/projects/{acquisition}/revenue/metrics", data={})
    assert forged.status_code == 403
