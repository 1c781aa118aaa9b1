"""Customers, invoices and payments from other billing systems: CSV or JSON, all rows or
none with every problem named, stored as the canonical billing objects, re-imports update."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from loopwise.core.roles import Role
from loopwise.revenue.models import BillingObject, PaymentFailure
from loopwise.web.context import AppContext
from tests.factories import bearer, create_project, create_token, create_user, flushed

CUSTOMERS = "customer_id,email,name,user_id\nc1,ana@example.com,Ana,u-1\nc2,bo@example.com,Bo,\n"
INVOICES = (
    "invoice_id,customer_id,issued_at,status,total,currency,subscription_id,period_start,period_end\n"
    "in1,c1,2026-03-01,paid,49.00,usd,s1,2026-03-01,2026-04-01\n"
)
PAYMENTS = (
    "payment_id,customer_id,paid_at,amount,currency,status,failure_code,invoice_id\n"
    "p1,c1,2026-03-01T10:00:00Z,49.00,usd,succeeded,,in1\n"
    "p2,c2,2026-03-02,19.00,usd,failed,card_declined,in2\n"
)


def stored(context: AppContext, project: int, kind: str) -> dict[str, BillingObject]:
    with context.sessions() as session:
        rows = session.scalars(
            select(BillingObject).where(BillingObject.project_id == project)
            .where(BillingObject.kind == kind)
        ).all()  # fmt: skip
        for row in rows:
            session.expunge(row)
        return {r.external_id: r for r in rows}


def test_csv_and_json_imports_become_billing_objects(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    batch = [{"event": "$identify", "distinct_id": "u-1", "properties": {"$set": {"plan": "pro"}}}]
    client.post("/batch/", json={"api_key": project.write_key, "batch": batch})
    flushed(context)
    admin = bearer(create_token(context, create_user(context, Role.ADMIN).id))
    url = f"/api/projects/{project.id}/revenue/import"
    for kind, body in (("customers", CUSTOMERS), ("invoices", INVOICES), ("payments", PAYMENTS)):
        done = client.post(f"{url}/{kind}", content=body.encode(), headers=admin)
        assert done.status_code == 200, done.text
    customers = stored(context, project.id, "customer")
    assert customers["c1"].data["email"] == "ana@example.com"
    assert customers["c1"].person_id  # linked through the product's user id u-1
    assert customers["c2"].person_id == ""
    invoice = stored(context, project.id, "invoice")["in1"]
    assert (invoice.amount, invoice.status, invoice.customer_id) == (4900, "paid", "c1")
    assert invoice.data["lines"]["data"][0]["subscription"] == "s1"
    payments = stored(context, project.id, "charge")
    assert (payments["p2"].status, payments["p2"].data["failure_code"]) == (
        "failed",
        "card_declined",
    )
    with context.sessions() as session:
        failures = session.scalars(select(PaymentFailure)).all()
        assert [(f.customer_id, f.failure_code, f.amount) for f in failures] == [
            ("c2", "card_declined", 1900)
        ]
    # JSON, and a re-import updates rather than doubles (nor records the failure twice).
    again = [{"payment_id": "p2", "customer_id": "c2", "paid_at": "2026-03-02", "amount": 19,
              "currency": "usd", "status": "failed", "failure_code": "card_declined"}]  # fmt: skip
    answer = client.post(f"{url}/payments", content=json.dumps(again).encode(),
                         headers={**admin, "Content-Type": "application/json"})  # fmt: skip
    assert answer.json() == {"rows": 1}
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PaymentFailure)) == 1
    assert len(stored(context, project.id, "charge")) == 2


def test_a_bad_file_names_every_problem_and_stores_nothing(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context).id
    admin = bearer(create_token(context, create_user(context, Role.ADMIN).id))
    bad = (
        "payment_id,customer_id,paid_at,amount,currency,status\n"
        "p1,c1,yesterday,49.00,usd,succeeded\n"
        "p2,,2026-03-02,19.00,usd,failed\n"
        "p3,c3,2026-03-02,lots,dollars,pending\n"
        "p4,c4,2026-03-02,1.00,usd,succeeded\n"
    )
    refused = client.post(f"/api/projects/{project}/revenue/import/payments",
                          content=bad.encode(), headers=admin)  # fmt: skip
    assert refused.status_code == 422
    assert [(e["line"], e["field"]) for e in refused.json()["errors"]] == [
        (2, "paid_at"), (3, "customer_id"), (4, "status"), (4, "amount"), (4, "currency"),
    ]  # fmt: skip
    assert stored(context, project, "charge") == {}
    not_json = client.post(f"/api/projects/{project}/revenue/import/customers", content=b"[1]",
                           headers={**admin, "Content-Type": "application/json"})  # fmt: skip
    assert not_json.status_code == 422
    assert "array of objects" in not_json.text
    unknown = client.post(f"/api/projects/{project}/revenue/import/refunds", content=b"x",
                          headers=admin)  # fmt: skip
    assert unknown.status_code in (404, 422)
