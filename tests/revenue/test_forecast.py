"""The revenue forecast: measured rates, the three scenarios and the backtest, by hand on
known months; then from a real ledger, through the API and on the page."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.revenue import forecast
from loopwise.revenue.facade import import_subscriptions, revenue_forecast
from loopwise.revenue.mrr import Period
from loopwise.web.context import AppContext
from tests.factories import (
    TEST_ACTOR,
    bearer,
    create_api_key,
    create_project,
    create_token,
    create_user,
    sign_in,
)


def month(
    start: date, start_mrr: int, new: int, expansion: int, contraction: int, churn: int,
    reactivation: int,
) -> Period:  # fmt: skip
    net = new + expansion + contraction + churn + reactivation
    return Period(
        start=start, mrr=Decimal(start_mrr + net), customers=0, new=Decimal(new),
        expansion=Decimal(expansion), contraction=Decimal(contraction), churn=Decimal(churn),
        reactivation=Decimal(reactivation), start_mrr=Decimal(start_mrr),
    )  # fmt: skip


# Three months that each start at 1,000:
#   new 50 + 70 + 60 = 180 -> 60 a month; reactivation 0 + 0 + 30 -> 10 a month;
#   expansion 90 of 3,000 started -> 3 %; contraction 90 / 3,000 -> 3 %; churn 180 / 3,000 -> 6 %.
#   The third ends at 1,030.
HISTORY = [
    month(date(2026, 1, 1), 1000, 50, 30, -20, -60, 0),
    month(date(2026, 2, 1), 1000, 70, 30, -40, -60, 0),
    month(date(2026, 3, 1), 1000, 60, 30, -30, -60, 30),
]


def test_measured_rates_are_the_trailing_three_months() -> None:
    rates = forecast.measured(HISTORY)
    assert rates == forecast.Assumptions(
        new=Decimal(60), reactivation=Decimal(10), expansion=Decimal("0.03"),
        contraction=Decimal("0.03"), churn=Decimal("0.06"),
    )  # fmt: skip
    # Only the last three count: an older month changes nothing.
    older = month(date(2025, 12, 1), 500, 500, 0, 0, 0, 0)
    assert forecast.measured([older, *HISTORY]) == rates
    assert forecast.measured([]) is None


def test_three_scenarios_move_mrr_month_by_month() -> None:
    base = forecast.measured(HISTORY)
    assert base is not None
    found = {s.name: s for s in forecast.scenarios(Decimal(1030), base, Decimal("0.2"), 2)}
    # Base: 1,030 + 60 + 10 + 1,030 x (3 % - 3 % - 6 %) = 1,100 - 61.8 = 1,038.2;
    # then 1,038.2 + 70 - 62.292 = 1,045.908.
    assert found["base"].mrr == [Decimal("1038.2"), Decimal("1045.908")]
    # Optimistic: gains x 1.2 (new 72, reactivation 12, expansion 3.6 %), losses x 0.8
    # (contraction 2.4 %, churn 4.8 %): 1,030 + 84 - 3.6 % x 1,030 = 1,076.92.
    assert found["optimistic"].mrr[0] == Decimal("1076.92")
    # Conservative: gains x 0.8 (56 in all, expansion 2.4 %), losses x 1.2 (3.6 % + 7.2 %):
    # 1,030 + 56 - 8.4 % x 1,030 = 999.48.
    assert found["conservative"].mrr[0] == Decimal("999.48")
    # MRR cannot go below zero, however bad the assumptions.
    ruin = forecast.with_overrides(base, churn=Decimal(2), new=Decimal(0), reactivation=None)
    assert forecast.project(Decimal(1030), ruin, 2) == [Decimal(0), Decimal("10")]


def test_the_backtest_forecasts_from_what_was_known_then() -> None:
    later = [
        month(date(2026, 4, 1), 1030, 40, 0, 0, 0, 0),
        month(date(2026, 5, 1), 1070, 10, 0, 0, 0, 0),
        month(date(2026, 6, 1), 1080, 20, 0, 0, 0, 0),  # ends at 1,100
    ]
    found = forecast.backtest([*HISTORY, *later])
    # One cut-off (after March): three months from 1,030 -> 1,038.2, 1,045.908,
    # 1,045.908 + 70 - 6 % x 1,045.908 = 1,053.15352; June really ended at 1,100.
    assert found.points == [(date(2026, 6, 1), Decimal("1053.15352"), Decimal(1100))]
    assert found.mape == Decimal("46.84648") / Decimal(1100)
    assert forecast.backtest(HISTORY).mape is None  # nothing to check against yet


SUBSCRIPTIONS = (
    "subscription_id,customer_id,effective_at,status,amount,currency,interval\n"
    "sub_a,cus_a,2026-01-10,active,100,usd,month\n"
    "sub_b,cus_b,2026-02-05,active,50,usd,month\n"
    "sub_b,cus_b,2026-03-15,canceled,50,usd,month\n"
    "sub_c,cus_c,2026-03-03,active,200,usd,month\n"
    "sub_c,cus_c,2026-04-20,active,300,usd,month\n"
)
NOW = datetime(2026, 4, 25, 12, tzinfo=UTC)


@pytest.fixture
def ledger_project(context: AppContext) -> int:
    made = create_project(context)
    with transaction(context.sessions) as session:
        import_subscriptions(session, TEST_ACTOR, made.id, SUBSCRIPTIONS)
    return made.id


def test_a_forecast_from_the_stored_ledger(context: AppContext, ledger_project: int) -> None:
    with transaction(context.sessions) as session:
        found = revenue_forecast(session, ledger_project, "UTC", now=NOW)
    # Complete months January-March (empty months before the first subscription are
    # left out): January new $100; February new $50; March new $200, churn -$50.
    assert [(p.start, p.mrr) for p in found.history] == [
        (date(2026, 1, 1), Decimal(10000)),
        (date(2026, 2, 1), Decimal(15000)),
        (date(2026, 3, 1), Decimal(30000)),
    ]
    # new: $350 / 3 months; churn: $50 of $0 + $100 + $150 started = 20 %.
    assert found.measured is not None
    assert found.measured.new == Decimal(35000) / 3
    assert found.measured.churn == Decimal("0.2")
    assert found.current_mrr == Decimal(40000)  # cus_c's expansion in April counts today
    assert found.months[0] == date(2026, 4, 1)
    assert found.months[-1] == date(2027, 3, 1)
    base = found.scenarios[0]
    # April from March's $300: 30,000 + 11,666.67 - 20 % x 30,000 = 35,666.67 cents.
    assert base.name == "base"
    assert round(base.mrr[0], 2) == Decimal("35666.67")
    assert len(base.mrr) == 12

    with transaction(context.sessions) as session:
        what_if = revenue_forecast(session, ledger_project, "UTC", now=NOW,
                                   overrides={"churn": Decimal(0)}, spread=Decimal(0))  # fmt: skip
    # No churn: 30,000 + 11,666.67 a month; no spread: all three scenarios agree.
    assert round(what_if.scenarios[0].mrr[1], 2) == Decimal("53333.33")
    assert {s.mrr[-1] for s in what_if.scenarios} == {what_if.scenarios[0].mrr[-1]}
    assert what_if.measured == found.measured  # what was measured stays shown


def test_the_forecast_api_and_page(
    client: TestClient, context: AppContext, ledger_project: int
) -> None:
    reader = bearer(create_token(context, create_user(context, Role.VIEWER).id))
    url = f"/api/projects/{ledger_project}/revenue/forecast"
    answer = client.get(url, headers=reader)
    assert answer.status_code == 200
    body = answer.json()
    assert [s["name"] for s in body["scenarios"]] == ["base", "optimistic", "conservative"]
    assert body["spread"] == 20.0
    what_if = client.get(url, params={"new": "0", "churn": "10", "spread": "0"},
                         headers=reader).json()  # fmt: skip
    assert what_if["assumptions"]["churn"] == 10.0
    assert what_if["assumptions"]["new"] == 0.0
    assert what_if["measured"] == body["measured"]
    for params, field in (
        ({"churn": "lots"}, "churn"),
        ({"new": "-5"}, "new"),
        ({"spread": "150"}, "spread"),
        ({"expansion": "NaN"}, "expansion"),
    ):
        refused = client.get(url, params=params, headers=reader)
        assert refused.status_code == 422
        assert refused.json()["field"] == field
    assert client.get(url).status_code == 401

    other = create_project(context, name="Other")
    key = bearer(create_api_key(context, ledger_project, Role.VIEWER))
    assert client.get(url, headers=key).json()["scenarios"]
    # A project's key sees nothing of another project; the other's forecast is its own.
    assert client.get(f"/api/projects/{other.id}/revenue/forecast", headers=key).status_code == 404
    assert client.get(f"/api/projects/{other.id}/revenue/forecast",
                      headers=reader).json()["scenarios"] == []  # fmt: skip

    sign_in(client, create_user(context, Role.VIEWER).email)
    page = client.get(f"/projects/{ledger_project}/revenue/forecast", params={"churn": "x"})
    assert page.status_code == 422
    assert 'id="e-churn"' in page.text
    assert "Churn, % of MRR per month is a number" in page.text


def test_an_empty_project_shows_why_there_is_no_forecast(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    sign_in(client, create_user(context, Role.ADMIN).email)
    page = client.get(f"/projects/{project.id}/revenue/forecast")
    assert page.status_code == 200
    assert "Not enough history to forecast" in page.text
