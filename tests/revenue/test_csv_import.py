"""Subscription histories from CSV: all rows or none, errors by line and field, re-import
changes nothing, and the states feed MRR like Stripe's."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.revenue.facade import mrr_report
from loopwise.web.context import AppContext
from tests.factories import bearer, create_project, create_token, create_user

HEADER = (
    "subscription_id,customer_id,effective_at,status,amount,currency,interval,"
    "interval_count,quantity,ended_at\n"
)
GOOD = HEADER + (
    "sub_1,cus_1,2026-01-15,active,49.00,usd,month,1,3,\n"  # 3 seats at $49: $147
    "sub_1,cus_1,2026-03-01,active,49.00,usd,month,1,5,\n"  # 5 seats: +$98
    "sub_2,cus_2,2026-02-10,active,1200,usd,year,1,1,\n"  # $1,200 a year: $100
    "sub_2,cus_2,2026-03-20,canceled,1200,usd,year,1,1,2026-03-20\n"  # churn -$100
)


def post(client: TestClient, project: int, body: str, headers: dict[str, str]) -> object:
    return client.post(f"/api/projects/{project}/revenue/import/subscriptions",
                       content=body.encode(), headers=headers)  # fmt: skip


def test_a_good_file_is_imported_once_and_feeds_mrr(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    admin = bearer(create_token(context, create_user(context, Role.ADMIN).id))
    answer = post(client, project.id, GOOD, admin)
    assert answer.json() == {"rows": 4, "subscriptions": 2}  # type: ignore[attr-defined]
    post(client, project.id, GOOD, admin)  # the same file again: nothing doubles
    with transaction(context.sessions) as session:
        report = mrr_report(session, project.id, "UTC", months=3,
                            now=datetime(2026, 3, 31, tzinfo=UTC))  # fmt: skip
    rows = [(p.start.month, p.mrr, p.new, p.expansion, p.churn) for p in report.periods]
    assert rows == [(1, 14700, 14700, 0, 0), (2, 24700, 10000, 0, 0),
                    (3, 24500, 0, 9800, -10000)]  # fmt: skip


def test_a_bad_file_is_refused_whole_with_each_problem_named(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    admin = bearer(create_token(context, create_user(context, Role.ADMIN).id))
    bad = HEADER + (
        "sub_1,cus_1,2026-01-15,active,49.00,usd,month,1,3,\n"
        "sub_2,,2026-13-01,active,12x,usd,fortnight,1,1,\n"
    )
    answer = post(client, project.id, bad, admin)
    assert answer.status_code == 422  # type: ignore[attr-defined]
    problems = {(e["line"], e["field"]) for e in answer.json()["errors"]}  # type: ignore[attr-defined]
    assert problems == {(3, "customer_id"), (3, "effective_at"), (3, "amount"), (3, "interval")}
    with transaction(context.sessions) as session:
        report = mrr_report(session, project.id, "UTC", months=1,
                            now=datetime(2026, 3, 31, tzinfo=UTC))  # fmt: skip
    assert report.periods[0].mrr == 0  # the good first line was not written either
    no_header = post(client, project.id, "a,b\n1,2\n", admin)
    assert no_header.status_code == 422  # type: ignore[attr-defined]
    viewer = bearer(create_token(context, create_user(context, Role.VIEWER).id))
    assert post(client, project.id, GOOD, viewer).status_code == 403  # type: ignore[attr-defined]
