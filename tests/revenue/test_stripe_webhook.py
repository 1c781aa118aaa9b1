"""Stripe webhooks: signatures (valid, tampered, stale, rotated), at-most-once delivery,
out-of-order events, and Stripe's own fixture objects mapped to billing objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from loopwise.core import accounts
from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.ingest.ids import person_id_for
from loopwise.revenue.facade import customers_of_person, mrr_report
from loopwise.revenue.models import BillingObject, PaymentFailure, SourceEvent
from loopwise.revenue.sources.stripe import SignatureError, relink_customers, sign, verify
from loopwise.web.context import AppContext
from tests.factories import bearer, create_project, create_token, create_user, flushed

SECRET = "whsec_test_0123456789abcdef"
FIXTURES = Path(__file__).parents[3] / "shared" / "datasets" / "stripe_fixtures"


def fixture(name: str) -> dict[str, Any]:
    """One of Stripe's own example objects (MIT; ../shared/datasets/stripe_fixtures)."""
    if not FIXTURES.is_dir():
        pytest.fail(f"Stripe's fixtures are expected in {FIXTURES} (the shared data sets)")
    for file in ("stripe_fixtures_core.json", "stripe_fixtures_billing_extra.json"):
        found = json.loads((FIXTURES / file).read_text())["resources"]
        if name in found:
            return dict(found[name])
    raise KeyError(name)


def event(event_id: str, kind: str, thing: dict[str, Any], created: int) -> bytes:
    body = {"id": event_id, "object": "event", "type": kind, "created": created,
            "data": {"object": thing}, "livemode": False, "api_version": "2024-06-20"}  # fmt: skip
    return json.dumps(body).encode()


@pytest.fixture
def project(client: TestClient, context: AppContext) -> int:
    made = create_project(context)
    admin = bearer(create_token(context, create_user(context, Role.ADMIN).id))
    answer = client.put(
        f"/api/projects/{made.id}/sources/stripe", json={"signing_secrets": [SECRET]},
        headers=admin,
    )  # fmt: skip
    assert answer.status_code == 204, answer.text
    return made.id


def deliver(client: TestClient, project: int, body: bytes, header: str | None = None) -> Any:
    now = datetime.now(UTC)
    headers = {"Stripe-Signature": header if header is not None else sign(body, SECRET, now)}
    return client.post(f"/api/projects/{project}/sources/stripe/webhook", content=body,
                       headers=headers)  # fmt: skip


def stored(context: AppContext, project: int, kind: str, external_id: str) -> BillingObject:
    with transaction(context.sessions) as session:
        row = session.get(BillingObject, (project, kind, external_id))
        assert row is not None
        session.expunge(row)
        return row


def test_a_signed_delivery_is_applied_and_a_repeat_is_not(
    client: TestClient, context: AppContext, project: int
) -> None:
    customer = fixture("customer")
    body = event("evt_1", "customer.created", customer, 1_700_000_000)
    first = deliver(client, project, body)
    assert first.json() == {"received": "evt_1", "outcome": "applied"}
    again = deliver(client, project, body)
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    row = stored(context, project, "customer", customer["id"])
    assert row.customer_id == customer["id"]
    assert row.data["email"] == customer["email"]
    with transaction(context.sessions) as session:
        count = session.scalar(select(func.count()).select_from(SourceEvent))
    assert count == 1


def test_tampered_stale_and_unsigned_deliveries_are_refused_with_the_reason(
    client: TestClient, project: int
) -> None:
    body = event("evt_2", "customer.created", fixture("customer"), 1_700_000_000)
    header = sign(body, SECRET, datetime.now(UTC))
    tampered = deliver(
        client, project, body.replace(b"customer.created", b"customer.deleted"), header
    )
    assert tampered.status_code == 400
    assert "no signature matches" in tampered.json()["message"]
    old = sign(body, SECRET, datetime.now(UTC) - timedelta(minutes=6))
    stale = deliver(client, project, body, old)
    assert stale.status_code == 400
    assert "five minutes" in stale.json()["message"]
    missing = deliver(client, project, body, "")
    assert "header is missing" in missing.json()["message"]
    wrong = deliver(client, project, body, sign(body, "whsec_other", datetime.now(UTC)))
    assert wrong.status_code == 400


def test_a_rolled_secret_is_accepted_among_several_signatures(
    client: TestClient, context: AppContext, project: int
) -> None:
    admin = bearer(create_token(context, create_user(context, Role.ADMIN).id))
    client.put(f"/api/projects/{project}/sources/stripe",
               json={"signing_secrets": ["whsec_new_secret", SECRET]}, headers=admin)  # fmt: skip
    body = event("evt_3", "customer.updated", fixture("customer"), 1_700_000_000)
    now = datetime.now(UTC)
    old_part = sign(body, "whsec_retired", now).split(",")[1]
    header = f"{sign(body, 'whsec_new_secret', now)},{old_part}"
    assert deliver(client, project, body, header).json()["outcome"] == "applied"


def test_an_older_event_delivered_late_does_not_overwrite_a_newer_state(
    client: TestClient, context: AppContext, project: int
) -> None:
    subscription = fixture("subscription")
    newer = {**subscription, "status": "active"}
    older = {**subscription, "status": "trialing"}
    deliver(client, project, event("evt_new", "customer.subscription.updated", newer, 2_000))
    late = deliver(client, project, event("evt_old", "customer.subscription.updated", older, 1_000))
    assert late.json()["outcome"] == "stale"
    row = stored(context, project, "subscription", subscription["id"])
    assert row.status == "active"
    assert row.customer_id == subscription["customer"]


def test_stripe_fixture_objects_map_to_billing_objects(
    client: TestClient, context: AppContext, project: int
) -> None:
    cases = [
        ("invoice", "invoice.finalized", "amount_due"),
        ("charge", "charge.succeeded", "amount"),
        ("refund", "refund.created", "amount"),
        ("credit_note", "credit_note.created", "total"),
    ]
    for number, (name, kind, amount) in enumerate(cases):
        thing = fixture(name)
        answer = deliver(client, project, event(f"evt_f{number}", kind, thing, 1_700_000_000))
        assert answer.json()["outcome"] == "applied", name
        row = stored(context, project, name, thing["id"])
        assert (row.amount, row.currency) == (thing[amount], thing["currency"]), name
    plan = fixture("plan")
    ignored = deliver(client, project, event("evt_plan", "plan.created", plan, 1_700_000_000))
    assert ignored.json()["outcome"] == "ignored"


def test_a_failed_invoice_payment_is_recorded_with_its_next_attempt(
    client: TestClient, context: AppContext, project: int
) -> None:
    invoice = {**fixture("invoice"), "attempt_count": 2, "next_payment_attempt": 1_800_000_000}
    deliver(client, project, event("evt_fail", "invoice.payment_failed", invoice, 1_700_000_000))
    with transaction(context.sessions) as session:
        failure = session.scalars(select(PaymentFailure)).one()
        assert (failure.invoice_id, failure.attempt_count) == (invoice["id"], 2)
        assert failure.next_attempt_at == datetime.fromtimestamp(1_800_000_000, UTC)


def test_decline_codes_come_from_the_charge_before_or_after_the_invoice(
    client: TestClient, context: AppContext, project: int
) -> None:
    invoice = {**fixture("invoice"), "id": "in_one", "customer": "cus_D", "attempt_count": 1}
    # Stripe sends charge.failed first: its issuer reason is the decline code.
    charge = {**fixture("charge"), "id": "ch_one", "customer": "cus_D", "status": "failed",
              "invoice": "in_one", "failure_code": "card_declined",
              "outcome": {"type": "issuer_declined", "reason": "insufficient_funds"}}  # fmt: skip
    deliver(client, project, event("evt_ch1", "charge.failed", charge, 1_700_000_000))
    deliver(client, project, event("evt_in1", "invoice.payment_failed", invoice, 1_700_000_001))
    # A second invoice whose failure arrives before its payment intent's.
    later = {**invoice, "id": "in_two"}
    deliver(client, project, event("evt_in2", "invoice.payment_failed", later, 1_700_000_100))
    intent = {
        "id": "pi_two",
        "object": "payment_intent",
        "invoice": "in_two",
        "last_payment_error": {"code": "card_declined", "decline_code": "expired_card"},
    }
    deliver(client, project,
            event("evt_pi2", "payment_intent.payment_failed", intent, 1_700_000_101))  # fmt: skip
    # A third expands its charge, which has only a failure code.
    third = {**invoice, "id": "in_three",
             "charge": {"object": "charge", "failure_code": "processing_error"}}  # fmt: skip
    deliver(client, project, event("evt_in3", "invoice.payment_failed", third, 1_700_000_200))
    with transaction(context.sessions) as session:
        codes = {f.invoice_id: f.failure_code for f in session.scalars(select(PaymentFailure))}
    assert codes == {"in_one": "insufficient_funds", "in_two": "expired_card",
                     "in_three": "processing_error"}  # fmt: skip


def test_amounts_no_billing_system_sends_are_refused_whole(
    client: TestClient, context: AppContext, project: int
) -> None:
    huge = {**fixture("invoice"), "id": "in_huge", "amount_due": 10**19}
    refused = deliver(client, project, event("evt_huge", "invoice.paid", huge, 1_700_000_000))
    assert refused.status_code == 422
    assert "data.object.amount_due is out of range" in refused.text
    seats = subscription_state("active", 10**9)
    body = event("evt_seats", "customer.subscription.created", seats, 1_700_000_000)
    refused = deliver(client, project, body)
    assert refused.status_code == 422
    assert "quantity is out of range" in refused.text
    with transaction(context.sessions) as session:  # nothing of either was kept
        assert session.scalars(select(BillingObject)).all() == []


def test_settings_are_checked_and_need_the_right_role(
    client: TestClient, context: AppContext, project: int
) -> None:
    admin = bearer(create_token(context, create_user(context, Role.ADMIN).id))
    url = f"/api/projects/{project}/sources/stripe"
    refused = client.put(url, json={"signing_secrets": ["sk_live_oops"]}, headers=admin)
    assert refused.status_code == 422
    assert "whsec_" in refused.text
    viewer = bearer(create_token(context, create_user(context, Role.VIEWER).id))
    assert client.put(url, json={"signing_secrets": [SECRET]}, headers=viewer).status_code == 403
    unknown = client.post("/api/projects/999999/sources/stripe/webhook", content=b"{}")
    assert unknown.status_code == 404
    bare = create_project(context, "Unconfigured")
    body = event("evt_x", "customer.created", fixture("customer"), 1)
    answer = deliver(client, bare.id, body)
    assert answer.status_code == 400
    assert "no signing secret" in answer.json()["message"]


def subscription_state(status: str, quantity: int, **extra: Any) -> dict[str, Any]:
    base = fixture("subscription")
    item = dict(base["items"]["data"][0])
    item["quantity"] = quantity  # price: $20.00 a month
    return {**base, "status": status, "customer": "cus_A", "start_date": 1_769_904_000,
            "items": {**base["items"], "data": [item]}, "discount": None, "discounts": [],
            "canceled_at": None, "ended_at": None, **extra}  # fmt: skip


def test_subscription_events_become_mrr_and_movements(
    client: TestClient, context: AppContext, project: int
) -> None:
    feb, mar, apr = 1_770_000_000, 1_772_500_000, 1_775_500_000  # 2 Feb, 3 Mar, 6 Apr 2026
    deliver(client, project, event("evt_s1", "customer.subscription.created",
                                   subscription_state("active", 1), feb))  # fmt: skip
    deliver(client, project, event("evt_s2", "customer.subscription.updated",
                                   subscription_state("active", 3), mar))  # fmt: skip
    ended = subscription_state("canceled", 3, canceled_at=apr, ended_at=apr)
    deliver(client, project, event("evt_s3", "customer.subscription.deleted", ended, apr))
    with transaction(context.sessions) as session:
        report = mrr_report(
            session, project, "UTC", months=4, now=datetime(2026, 4, 20, tzinfo=UTC)
        )
    rows = [(p.start.month, p.mrr, p.new, p.expansion, p.churn) for p in report.periods]
    # February: new $20; March: 3 seats, +$40; April: ended, -$60.
    assert rows == [(1, 0, 0, 0, 0), (2, 2000, 2000, 0, 0), (3, 6000, 0, 4000, 0),
                    (4, 0, 0, 0, -6000)]  # fmt: skip
    assert [c.kind for c in report.recent] == ["churn", "expansion", "new"]


def test_malformed_signed_bodies_and_headers_are_clear_errors(
    client: TestClient, project: int
) -> None:
    odd = deliver(client, project, b'{"id": "evt_9", "object": "event", "data": []}')
    assert odd.json()["outcome"] == "ignored"
    not_json = deliver(client, project, b"not json")
    assert not_json.status_code == 422
    body = event("evt_10", "customer.created", fixture("customer"), 1)
    no_time = deliver(client, project, body, "t=12e3,v1=ab")
    assert no_time.status_code == 400
    assert "no timestamp" in no_time.json()["message"]


def test_a_timestamp_that_is_not_plain_digits_is_refused() -> None:
    with pytest.raises(SignatureError, match="no timestamp"):
        verify(b"{}", "t=\u00b2,v1=ab", [SECRET], datetime.now(UTC))


def test_customers_link_to_persons_by_user_id_else_email(
    client: TestClient, context: AppContext, project: int
) -> None:
    with transaction(context.sessions) as session:
        write_key = accounts.get_project(session, project).write_key

    def identify(user: str, email: str) -> dict[str, Any]:
        return {"event": "$identify", "distinct_id": user, "properties": {"$set": {"email": email}}}

    batch = {"api_key": write_key, "batch": [identify("user-42", "a@x.io"),
                                             identify("user-77", "b@x.io")]}  # fmt: skip
    assert client.post("/batch/", json=batch).status_code == 200
    flushed(context)
    by_id = {**fixture("customer"), "id": "cus_by_id", "email": "other@x.io",
             "metadata": {"user_id": "user-42"}}  # fmt: skip
    by_email = {**fixture("customer"), "id": "cus_by_email", "email": "b@x.io", "metadata": {}}
    nobody = {**fixture("customer"), "id": "cus_nobody", "email": "c@x.io", "metadata": {}}
    for number, thing in enumerate((by_id, by_email, nobody)):
        deliver(client, project, event(f"evt_link{number}", "customer.created", thing, 1))
    assert stored(context, project, "customer", "cus_by_id").person_id == person_id_for(
        project, "user-42"
    )
    assert stored(context, project, "customer", "cus_by_email").person_id == person_id_for(
        project, "user-77"
    )
    assert stored(context, project, "customer", "cus_nobody").person_id == ""
    with transaction(context.sessions) as session:
        linked = customers_of_person(session, project, person_id_for(project, "user-42"))
    assert linked == ["cus_by_id"]
    # c@x.io signs up later: the nightly relinking finds them.
    later = {"api_key": write_key, "batch": [identify("user-90", "c@x.io")]}
    assert client.post("/batch/", json=later).status_code == 200
    flushed(context)
    with transaction(context.sessions) as session:
        assert relink_customers(session, project) == 1
        assert relink_customers(session, project) == 0
    assert stored(context, project, "customer", "cus_nobody").person_id == person_id_for(
        project, "user-90"
    )


def test_odd_signatures_events_of_other_objects_and_same_second_order(
    client: TestClient, context: AppContext, project: int
) -> None:
    body = event("evt_20", "customer.created", fixture("customer"), 1)
    stamp = int(datetime.now(UTC).timestamp())
    for odd in ("z" * 64, "ab"):  # not hex, too short: 400, never 500
        refused = deliver(client, project, body, f"t={stamp},v1={odd}")
        assert refused.status_code == 400
        assert "no timestamp or no v1" in refused.json()["message"]
    with pytest.raises(SignatureError, match="no v1"):  # a header decoded as Latin-1
        verify(body, f"t={stamp},v1={'ü' * 64}", [SECRET], datetime.now(UTC))
    # customer.discount.* carries a discount, not the customer: the customer is untouched.
    deliver(client, project, body)
    discount = {"id": "di_1", "object": "discount", "customer": "cus_NffrFeUfNV2Hib"}
    kept = stored(context, project, "customer", fixture("customer")["id"]).data
    answer = deliver(client, project, event("evt_21", "customer.discount.created", discount, 2))
    assert answer.json()["outcome"] == "ignored"
    assert stored(context, project, "customer", fixture("customer")["id"]).data == kept
    # An update and the creation in the same second, delivered update first: the update's
    # 3 seats stand, in the object and in MRR.
    second = 1_770_000_000
    deliver(client, project, event("evt_22", "customer.subscription.updated",
                                   subscription_state("active", 3), second))  # fmt: skip
    late = deliver(client, project, event("evt_23", "customer.subscription.created",
                                          subscription_state("active", 1), second))  # fmt: skip
    assert late.json()["outcome"] == "stale"
    subscription = fixture("subscription")["id"]
    assert (
        stored(context, project, "subscription", subscription).data["items"]["data"][0]["quantity"]
        == 3
    )
    with transaction(context.sessions) as session:
        report = mrr_report(session, project, "UTC", months=1,
                            now=datetime(2026, 2, 20, tzinfo=UTC))  # fmt: skip
    assert report.periods[-1].mrr == 6000
    # Zero seats is no MRR, not one seat.
    deliver(client, project, event("evt_24", "customer.subscription.updated",
                                   subscription_state("active", 0), second + 86_400))  # fmt: skip
    with transaction(context.sessions) as session:
        report = mrr_report(session, project, "UTC", months=1,
                            now=datetime(2026, 2, 20, tzinfo=UTC))  # fmt: skip
    assert report.periods[-1].mrr == 0


def test_each_movement_names_its_subscription_rule_and_invoice_line(
    client: TestClient, context: AppContext, project: int
) -> None:
    feb, mar = 1_770_000_000, 1_772_500_000  # 2 Feb, 3 Mar 2026
    deliver(client, project, event("evt_x1", "customer.subscription.created",
                                   subscription_state("active", 1), feb))  # fmt: skip
    deliver(client, project, event("evt_x2", "customer.subscription.updated",
                                   subscription_state("active", 3), mar))  # fmt: skip
    subscription = fixture("subscription")["id"]
    invoice = fixture("invoice")
    line = dict(invoice["lines"]["data"][0])
    line.update(id="il_seats", amount=4000, subscription=subscription,
                period={"start": mar, "end": mar + 28 * 86_400})  # fmt: skip
    invoice.update(id="in_seats", customer="cus_A", lines={"data": [line]})
    deliver(client, project, event("evt_x3", "invoice.paid", invoice, mar + 60))
    reader = bearer(create_token(context, create_user(context, Role.VIEWER).id))
    found = client.get(f"/api/projects/{project}/revenue/customers/cus_A", headers=reader)
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["mrr"] == 6000.0
    new, expansion = body["movements"]
    assert (new["kind"], new["amount"], new["subscriptions"][0]["reason"]) == (
        "new",
        2000.0,
        "the subscription began",
    )
    assert (expansion["kind"], expansion["amount"]) == ("expansion", 4000.0)
    cause = expansion["subscriptions"][0]
    assert cause["reason"] == "items, quantity or price changed"
    assert cause["terms"].startswith("3 x 20.00 USD / month = 60.00 USD a month")
    assert [(x["invoice"], x["line"], x["amount"]) for x in expansion["invoice_lines"]] == [
        ("in_seats", "il_seats", 4000)
    ]
    assert new["invoice_lines"] == []
    missing = client.get(f"/api/projects/{project}/revenue/customers/cus_nobody", headers=reader)
    assert missing.status_code == 404
    from tests.factories import sign_in

    sign_in(client, create_user(context, Role.VIEWER).email)
    page = client.get(f"/projects/{project}/revenue/customers/cus_A")
    assert "items, quantity or price changed" in page.text
    assert "in_seats" in page.text
