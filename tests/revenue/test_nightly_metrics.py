"""The nightly revenue metrics: exact CAC, payback and LTV:CAC per channel from the stored
days, LTV from a hand-built churn history, and a job that changes nothing when run again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from loopwise.core.alerts import recent
from loopwise.core.db import transaction
from loopwise.core.jobs import JobContext, run_due, run_now
from loopwise.core.roles import Role
from loopwise.revenue.facade import (
    check_cac,
    import_spend,
    import_subscriptions,
    metrics_summary,
    recompute_metrics,
    set_revenue_rules,
)
from loopwise.revenue.metrics import daily_totals, lifetime_value, robust_z, trailing_churn
from loopwise.revenue.models import MetricsDaily
from loopwise.revenue.mrr import Conventions, Item, State, movements
from loopwise.web.areas import all_jobs
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, bearer, create_project, create_token, create_user
from tests.revenue.conftest import MARCH, NOW


def stored(context: AppContext, project: int) -> list[tuple[Any, ...]]:
    with context.sessions() as session:
        rows = session.scalars(
            select(MetricsDaily)
            .where(MetricsDaily.project_id == project)
            .order_by(MetricsDaily.day, MetricsDaily.channel)
        )
        return [(r.day, r.channel, r.currency, r.spend, r.new_customers, r.new_mrr, r.mrr,
                 r.customers, r.churned_customers, r.ltv) for r in rows]  # fmt: skip


def test_cac_payback_and_totals_per_channel_are_exact(
    context: AppContext, acquisition: int
) -> None:
    with transaction(context.sessions) as session:
        rows = recompute_metrics(session, context.warehouse, acquisition, "UTC", *MARCH, now=NOW)
        # 31 totals rows + google (3rd, 10th), newsletter (4th), facebook (5th) and the
        # 5 March rows of the new customers' channels: google, newsletter and (direct).
        assert rows == 31 + 4 + 3
    with context.sessions() as session:
        found = metrics_summary(session, acquisition, *MARCH)
    figures = {c.channel: (c.spend, c.new_customers, c.cac, c.payback_months)
               for c in found.channels}  # fmt: skip
    # Each new customer pays $50 a month (5,000 cents) at 100 % margin, so payback is
    # CAC / 5,000: google $300 -> 6 months, the newsletter $100 -> 2 months.
    assert figures == {
        "facebook": (5000, 0, None, None),
        "google": (30000, 1, Decimal(30000), Decimal(6)),
        "newsletter": (10000, 1, Decimal(10000), Decimal(2)),
        "(direct)": (0, 2, Decimal(0), Decimal(0)),  # no spend: nothing to pay back
    }
    # Blended: $450 over four customers = $112.50; payback 11,250 / 5,000 = 2.25 months.
    assert (found.blended.cac, found.blended.payback_months) == (Decimal(11250), Decimal("2.25"))
    assert (found.mrr, found.customers, found.days) == (Decimal(20000), 4, 31)
    assert found.ltv is None  # nobody has churned: lifetime value is unbounded, not shown


def test_gross_margin_lengthens_payback(context: AppContext, acquisition: int) -> None:
    with transaction(context.sessions) as session:
        set_revenue_rules(session, TEST_ACTOR, acquisition, discounts="all", churn_at="end",
                          past_due_days=None, currency="usd", gross_margin=50)  # fmt: skip
        recompute_metrics(session, context.warehouse, acquisition, "UTC", *MARCH, now=NOW)
    with context.sessions() as session:
        google = next(
            c for c in metrics_summary(session, acquisition, *MARCH).channels
            if c.channel == "google"
        )  # fmt: skip
    assert google.payback_months == Decimal(12)  # 30,000 / (5,000 x 50 %)


def test_the_nightly_job_twice_changes_nothing(context: AppContext, acquisition: int) -> None:
    job = next(j for j in all_jobs() if j.name == "revenue.metrics")
    jobs = JobContext(context.sessions, context.warehouse, context.settings)
    first = run_now(jobs, job, NOW)
    assert first.status == "ok", first.summary
    before = stored(context, acquisition)
    # The last three days of March (29th to 31st), all with four paying customers.
    assert [(r[0], r[1], r[6], r[7]) for r in before] == [
        (date(2026, 3, d), "", Decimal(20000), 4) for d in (29, 30, 31)
    ]
    again = run_now(jobs, job, NOW + timedelta(minutes=5))
    assert again.status == "ok"
    assert stored(context, acquisition) == before
    # NOW is midnight: due again once 02:00 UTC has passed, then not until the next night.
    statuses = [run_due(jobs, [job], NOW + timedelta(hours=h))[0].status for h in (1, 3, 4, 27)]
    assert statuses == ["skipped", "ok", "skipped", "ok"]
    assert stored(context, acquisition)[-1][:2] == (date(2026, 4, 1), "")  # the next day's


def test_a_range_recomputed_twice_is_identical(context: AppContext, acquisition: int) -> None:
    for _ in range(2):
        with transaction(context.sessions) as session:
            recompute_metrics(session, context.warehouse, acquisition, "UTC", *MARCH, now=NOW)
        if _ == 0:
            before = stored(context, acquisition)
    assert stored(context, acquisition) == before
    assert len(before) == 38


def test_ltv_from_a_hand_built_churn_history() -> None:
    # Ten customers at $100 a month from 1 January 2025; one ends on 15 June.
    start = datetime(2025, 1, 1, tzinfo=UTC)
    states = [State(f"sub_{n}", f"cus_{n}", start, "active", (Item(10000, "month"),))
              for n in range(10)]  # fmt: skip
    ended = datetime(2025, 6, 15, 12, tzinfo=UTC)
    states.append(State("sub_0", "cus_0", ended, "canceled", (Item(10000, "month"),),
                        ended_at=ended))  # fmt: skip
    ledger = movements(states, Conventions(), "UTC", datetime(2025, 8, 1, tzinfo=UTC))
    totals = daily_totals(ledger, date(2025, 1, 1), date(2025, 8, 1))
    index = (date(2025, 7, 31) - date(2025, 1, 1)).days
    assert (totals[index].mrr, totals[index].customers) == (Decimal(90000), 9)
    # The six 30-day windows ending 31 July start after 1 July (9 paying), 1 June,
    # 2 May, 2 April, 3 March and 1 February (10 each): 59 at risk, one lost.
    assert trailing_churn(totals, index) == Decimal(1) / 59
    # LTV = ARPA x margin / churn = 10,000 x 80 % x 59 = 472,000 cents ($4,720).
    assert lifetime_value(totals, index, 80) == Decimal("472000.00")
    assert trailing_churn(totals, 100) is None  # not six windows of history yet


def test_the_metrics_api_and_page(
    client: TestClient, context: AppContext, acquisition: int
) -> None:
    admin = bearer(create_token(context, create_user(context, Role.ADMIN).id))
    url = f"/api/projects/{acquisition}/revenue/metrics"
    done = client.post(f"{url}/recompute", json={"start": "2026-03-01", "end": "2026-04-01"},
                       headers=admin)  # fmt: skip
    assert done.status_code == 200
    assert done.json() == {"rows": 38}
    found = client.get(f"{url}?start=2026-03-01&end=2026-04-01", headers=admin).json()
    blended, *channels = found["channels"]
    assert (blended["channel"], blended["cac"], blended["payback_months"]) == (
        "(all)",
        11250.0,
        2.25,
    )
    assert [c["channel"] for c in channels] == ["facebook", "google", "newsletter", "(direct)"]
    bad = client.post(f"{url}/recompute", json={"start": "2026-04-01", "end": "2026-03-01"},
                      headers=admin)  # fmt: skip
    assert bad.status_code == 422
    assert "end" in bad.text
    reader = bearer(create_token(context, create_user(context, Role.VIEWER).id))
    refused = client.post(f"{url}/recompute", json={"start": "2026-03-01", "end": "2026-04-01"},
                          headers=reader)  # fmt: skip
    assert refused.status_code == 403


def test_robust_z_by_hand() -> None:
    history = [Decimal(v) for v in (10, 11, 9, 10, 12, 8, 10)]
    # median 10; absolute deviations 0,1,1,0,2,2,0 -> MAD 1; z = 0.6745 x (30 - 10) / 1.
    assert robust_z(history, Decimal(30)) == (Decimal(10), Decimal(1), Decimal("13.4900"))
    assert robust_z([Decimal(5)] * 10, Decimal(9)) is None  # no variation: nothing to judge


def test_a_cac_spike_raises_an_alert_once(context: AppContext) -> None:
    project = create_project(context).id
    first = date(2026, 1, 1)
    days = [first + timedelta(days=n) for n in range(70)]
    subscriptions = "subscription_id,customer_id,effective_at,status,amount,currency,interval\n"
    subscriptions += "".join(
        f"sub_{n},cus_{n},{d},active,50,usd,month\n" for n, d in enumerate(days)
    )
    # $100, $110, $120 a day in turn for nine weeks, then $400 a day for the last week;
    # one new customer a day throughout.
    spend = "date,source,medium,campaign,amount,currency\n" + "".join(
        f"{d},google,cpc,,{400 if n >= 63 else 100 + 10 * (n % 3)},usd\n"
        for n, d in enumerate(days)
    )
    with transaction(context.sessions) as session:
        import_subscriptions(session, TEST_ACTOR, project, subscriptions)
        import_spend(session, TEST_ACTOR, project, spend)
    night = datetime(2026, 3, 12, 2, 30, tzinfo=UTC)  # checks 11 March, the spike's 7th day
    with transaction(context.sessions) as session:
        recompute_metrics(session, context.warehouse, project, "UTC", first, days[-1], now=night)
        assert check_cac(session, project, days[62], night) is False  # the usual level
    job = next(j for j in all_jobs() if j.name == "revenue.metrics")
    jobs = JobContext(context.sessions, context.warehouse, context.settings)
    assert "CAC alert" in run_now(jobs, job, night).summary
    with context.sessions() as session:
        (alert,) = recent(session, project)
    # 7 x $400 over 7 customers = $400 against a median of $110 (7-day sums of the
    # $100/$110/$120 cycle are $760, $770 or $780 for 7 customers).
    assert alert.title == "Blended CAC is up 264% on its usual level"
    assert (alert.evidence["cac"], alert.evidence["median"]) == (40000.0, 11000.0)
    assert "USD 400.00" in alert.why
    assert "USD 110.00" in alert.why
    # The three-day cool-down keeps the next night quiet.
    assert "CAC alert" not in run_now(jobs, job, night + timedelta(days=1)).summary
