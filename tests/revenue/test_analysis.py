"""Cohort retention, trial-to-paid conversion, unit economics per plan and GRR/NRR on a
hand-built book whose every figure is derived in the comments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from fastapi.testclient import TestClient

from loopwise.core.roles import Role
from loopwise.revenue.analysis import cohorts, plans, trial_conversion
from loopwise.revenue.mrr import Conventions, Item, State, movements, periods
from tests.factories import TEST_ACTOR, bearer, create_project, create_token, create_user

RULES = Conventions()
NOW = datetime(2026, 4, 20, tzinfo=UTC)
MONTHS = [date(2026, m, 1) for m in (1, 2, 3, 4)]
END = date(2026, 4, 21)


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def monthly(dollars: int) -> tuple[Item, ...]:
    return (Item(dollars * 100, "month"),)


# a: pro $100 from 10 Jan, $150 from 5 Mar.      b: basic $50 from 20 Jan, ended 15 Feb.
# c: basic trial from 1 Feb, paying $50 15 Feb.  d: pro trial from 10 Feb, cancelled 24 Feb.
# e: pro $100 from 1 Mar.
BOOK = [
    State("sub_a", "a", at(1, 10), "active", monthly(100), plan="pro"),
    State("sub_a", "a", at(3, 5), "active", monthly(150), plan="pro"),
    State("sub_b", "b", at(1, 20), "active", monthly(50), plan="basic"),
    State("sub_b", "b", at(2, 15), "canceled", monthly(50), ended_at=at(2, 15), plan="basic"),
    State("sub_c", "c", at(2, 1), "trialing", monthly(50), plan="basic"),
    State("sub_c", "c", at(2, 15), "active", monthly(50), plan="basic"),
    State("sub_d", "d", at(2, 10), "trialing", monthly(100), plan="pro"),
    State("sub_d", "d", at(2, 24), "canceled", monthly(100), ended_at=at(2, 24), plan="pro"),
    State("sub_e", "e", at(3, 1), "active", monthly(100), plan="pro"),
]


def test_cohorts_by_first_paid_month() -> None:
    ledger = movements(BOOK, RULES, "UTC", NOW)
    found = {c.month.month: c for c in cohorts(ledger, MONTHS, END)}
    january = found[1]  # a and b
    assert january.customers == 2
    assert january.paying == [2, 1, 1, 1]  # b gone in February
    assert january.mrr == [15000, 10000, 15000, 15000]  # a's expansion in March
    assert january.customer_retention() == [1, Decimal("0.5"), Decimal("0.5"), Decimal("0.5")]
    assert january.revenue_retention()[1:] == [Decimal(10000) / 15000, 1, 1]
    assert (found[2].customers, found[2].paying) == (1, [1, 1, 1])  # c, first paid 15 Feb
    assert (found[3].customers, found[3].mrr) == (1, [10000, 10000])  # e
    by_plan = {
        (c.segment, c.month.month): c.customers
        for c in cohorts(ledger, MONTHS, END, {"a": "pro", "b": "basic"}.get)
    }  # type: ignore[arg-type]
    assert by_plan[("pro", 1)] == 1
    assert by_plan[("basic", 1)] == 1


def test_trial_to_paid_conversion() -> None:
    found = trial_conversion(BOOK, RULES, "UTC", MONTHS)
    # February: c and d began trials; c paid.
    assert [(t.month.month, t.trials, t.converted) for t in found] == [
        (1, 0, 0), (2, 2, 1), (3, 0, 0), (4, 0, 0)
    ]  # fmt: skip
    assert found[1].rate == Decimal("0.5")
    assert found[0].rate is None


def test_unit_economics_per_plan() -> None:
    found = {p.plan: p for p in plans(BOOK, RULES, "UTC", date(2026, 1, 1), END)}
    pro, basic = found["pro"], found["basic"]
    # pro: a ($150) and e ($100) paying at the end, both started; d never paid.
    assert (pro.mrr, pro.customers, pro.at_start, pro.started, pro.stopped) == (25000, 2, 0, 2, 0)
    assert pro.churn_rate == 0
    assert pro.ltv(100) is None  # no churn: unbounded
    # basic: b started and stopped, c started; $50 at the end.
    assert (basic.mrr, basic.customers, basic.started, basic.stopped) == (5000, 1, 2, 1)
    # 110 days = 110 x 12 / 365 months; churn 1 / 2 per that; LTV = 5,000 / churn.
    months = Decimal(110) * 12 / 365
    assert basic.churn_rate == Decimal(1) / 2 / months
    assert basic.ltv(100).quantize(Decimal("0.01")) == Decimal("36164.38")
    assert basic.arpa == 5000


def test_grr_and_nrr_per_month() -> None:
    ledger = movements(BOOK, RULES, "UTC", NOW)
    february, march = periods(ledger, MONTHS, END)[1:3]
    # February starts at $150: b churns ($50), c is new. GRR = NRR = 100 / 150.
    assert february.grr == february.nrr == Decimal(10000) / 15000
    # March starts at $150 (a 100, c 50): a expands by 50, e is new. GRR 1, NRR 200 / 150.
    assert march.grr == 1
    assert march.nrr == Decimal(20000) / 15000


def test_the_analysis_api(client: TestClient, context) -> None:  # type: ignore[no-untyped-def]
    from loopwise.core.db import transaction
    from loopwise.revenue.facade import import_subscriptions

    project = create_project(context).id
    csv = ("subscription_id,customer_id,effective_at,status,amount,currency,interval,plan\n"
           "s1,c1,2026-01-10,active,100,usd,month,pro\n"
           "s2,c2,2026-01-20,active,50,usd,month,basic\n")  # fmt: skip
    with transaction(context.sessions) as session:
        import_subscriptions(session, TEST_ACTOR, project, csv)
    reader = bearer(create_token(context, create_user(context, Role.VIEWER).id))
    found = client.get(f"/api/projects/{project}/revenue/analysis?months=60&by=plan",
                       headers=reader)  # fmt: skip
    assert found.status_code == 200, found.text
    body = found.json()
    jan = [c for c in body["cohorts"] if c["month"] == "2026-01-01"]
    assert sorted((c["segment"], c["customers"]) for c in jan) == [("basic", 1), ("pro", 1)]
    assert {p["plan"]: p["mrr"] for p in body["plans"]} == {"basic": 5000.0, "pro": 10000.0}
    bad = client.get(f"/api/projects/{project}/revenue/analysis?by=country", headers=reader)
    assert bad.status_code == 422


def test_the_analysis_page(client: TestClient, context) -> None:  # type: ignore[no-untyped-def]
    from loopwise.core.db import transaction
    from loopwise.revenue.facade import import_subscriptions
    from tests.factories import sign_in

    project = create_project(context).id
    sign_in(client, create_user(context, Role.VIEWER).email)
    empty = client.get(f"/projects/{project}/revenue/analysis")
    assert empty.status_code == 200
    assert "No paying customers in these months" in empty.text
    today = (datetime.now(UTC).date().replace(day=1) - timedelta(days=1)).replace(day=1)
    csv = ("subscription_id,customer_id,effective_at,status,amount,currency,interval,plan\n"
           f"s1,c1,{today},trialing,100,usd,month,pro\n"
           f"s1,c1,{today.replace(day=2)},active,100,usd,month,pro\n")  # fmt: skip
    with transaction(context.sessions) as session:
        import_subscriptions(session, TEST_ACTOR, project, csv)
    page = client.get(f"/projects/{project}/revenue/analysis?by=plan&view=customers")
    assert 'id="cohorts"' in page.text
    assert ">100%<" in page.text  # the one customer still pays
    assert 'id="trials"' in page.text
    assert "<td>pro</td>" in page.text
