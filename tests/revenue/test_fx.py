"""Currencies: a subscription in euros counts in the reporting currency at the rate in
force when each service period starts; a rate change alone is the FX effect, its own row
and never a movement."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.revenue.facade import (
    apply_event,
    import_fx_rates,
    import_subscriptions,
    mrr_report,
    set_revenue_rules,
)
from loopwise.web.context import AppContext
from tests.factories import (
    TEST_ACTOR,
    bearer,
    create_project,
    create_token,
    create_user,
    sign_in,
)

HEADER = "subscription_id,customer_id,effective_at,status,amount,currency,interval,quantity\n"
# EUR 100 a month from January; renewed 1 February (same terms); 2 seats from 1 March.
EUROS = HEADER + (
    "s1,c1,2026-01-01,active,100,eur,month,1\n"
    "s1,c1,2026-02-01,active,100,eur,month,1\n"
    "s1,c1,2026-03-01,active,100,eur,month,2\n"
)
RATES = "date,currency,rate\n2026-01-01,eur,1.10\n2026-02-01,eur,1.20\n"
NOW = datetime(2026, 3, 20, tzinfo=UTC)
YEN_RATE = "date,currency,rate\n2026-01-01,jpy,0.0067\n"


def months(context: AppContext, project: int) -> list[tuple[int, int, int, int, int]]:
    with transaction(context.sessions) as session:
        report = mrr_report(session, project, "UTC", months=3, now=NOW)
    return [(p.start.month, int(p.mrr), int(p.new), int(p.expansion), int(p.fx))
            for p in report.periods]  # fmt: skip


def test_the_fx_effect_is_its_own_row(context: AppContext) -> None:
    project = create_project(context).id
    with transaction(context.sessions) as session:
        import_subscriptions(session, TEST_ACTOR, project, EUROS)
    # Without a rate for euros the subscription waits: no MRR rather than a wrong one.
    assert months(context, project) == [(1, 0, 0, 0, 0), (2, 0, 0, 0, 0), (3, 0, 0, 0, 0)]
    with transaction(context.sessions) as session:
        assert import_fx_rates(session, TEST_ACTOR, project, RATES) == 2
    # January: new EUR 100 x 1.10 = USD 110.00. February: the renewal converts at 1.20,
    # +10.00 of FX effect and no movement. March: a second seat, EUR 100 x 1.20 = +120.00
    # of expansion; MRR 240.00.
    assert months(context, project) == [
        (1, 11000, 11000, 0, 0), (2, 12000, 0, 0, 1000), (3, 24000, 0, 12000, 0),
    ]  # fmt: skip
    with transaction(context.sessions) as session:
        report = mrr_report(session, project, "UTC", months=3, now=NOW)
    assert [c.kind for c in report.recent] == ["expansion", "fx", "new"]


def test_the_fx_import_checks_every_row(client: TestClient, context: AppContext) -> None:
    project = create_project(context).id
    admin = bearer(create_token(context, create_user(context, Role.ADMIN).id))
    bad = "date,currency,rate\n2026-01-01,usd,1\n2026-01-02,eur,-1\nsoon,gbp,1.3\n"
    refused = client.post(f"/api/projects/{project}/revenue/import/fx", content=bad.encode(),
                          headers=admin)  # fmt: skip
    assert refused.status_code == 422
    assert [(e["line"], e["field"]) for e in refused.json()["errors"]] == [
        (2, "currency"), (3, "rate"), (4, "date")
    ]  # fmt: skip
    done = client.post(f"/api/projects/{project}/revenue/import/fx", content=RATES.encode(),
                       headers=admin)  # fmt: skip
    assert done.json() == {"rows": 2}


def test_zero_decimal_currencies_are_counted_in_their_own_units(
    client: TestClient, context: AppContext
) -> None:
    project = create_project(context)
    yen = HEADER + "s1,c1,2026-01-01,active,4900,jpy,month,1\n"  # ¥4,900 a month
    with transaction(context.sessions) as session:
        import_subscriptions(session, TEST_ACTOR, project.id, yen)
        import_fx_rates(session, TEST_ACTOR, project.id, YEN_RATE)
    # Yen have no minor unit (Stripe sends 4900 for ¥4,900): ¥4,900 x 0.0067 = $32.83,
    # 3,283 cents; not 32.83 cents.
    assert months(context, project.id)[0][:2] == (1, 3283)
    # With yen as the reporting currency the page shows ¥4,900, not ¥49.
    with transaction(context.sessions) as session:
        set_revenue_rules(session, TEST_ACTOR, project.id, discounts="all", churn_at="end",
                          past_due_days=None, currency="jpy")  # fmt: skip
    assert months(context, project.id)[0][:2] == (1, 4900)
    sign_in(client, create_user(context, Role.VIEWER).email)
    page = client.get(f"/projects/{project.id}/revenue")
    assert '<div class="value">4,900.00</div>' in page.text
    # And the customer's ledger explains it in yen.
    explained = client.get(f"/projects/{project.id}/revenue/customers/c1")
    assert "1 x 4,900.00 JPY / month" in explained.text


def test_a_rate_change_alone_is_all_fx_even_where_rounding_differs(context: AppContext) -> None:
    project = create_project(context).id
    rates = "date,currency,rate\n2026-01-01,eur,1.1235124\n2026-02-01,eur,1.12361255\n"
    with transaction(context.sessions) as session:
        import_subscriptions(session, TEST_ACTOR, project, EUROS.rsplit("s1,c1,2026-03-01", 1)[0])
        import_fx_rates(session, TEST_ACTOR, project, rates)
    # EUR 100.00 = 10,000 cents: 11,235.124 -> 11,235.12 in January; 11,236.1255 -> 11,236.13
    # in February. The rate effect alone is 1.0015 -> 1.00, the rounded MRR moved 1.01:
    # the whole 1.01 is FX effect, with no 0.01 "expansion" made of rounding.
    with transaction(context.sessions) as session:
        report = mrr_report(session, project, "UTC", months=3, now=NOW)
    february = report.periods[1]
    assert (february.mrr, february.fx, february.net) == (
        Decimal("11236.13"),
        Decimal("1.01"),
        Decimal(0),
    )


def test_the_period_start_is_read_from_items_in_newer_stripe_versions(
    context: AppContext,
) -> None:
    project = create_project(context).id

    def version(event_id: str, created: datetime, quantity: int) -> dict[str, Any]:
        period_start = int(datetime(2026, 1, 25, tzinfo=UTC).timestamp())
        price = {"unit_amount": 10000, "currency": "eur", "recurring": {"interval": "month"}}
        item = {"price": price, "quantity": quantity, "current_period_start": period_start}
        thing = {"id": "sub_new", "object": "subscription", "customer": "cus_new",
                 "status": "active", "start_date": period_start,
                 "items": {"data": [item]}}  # fmt: skip
        return {"id": event_id, "object": "event", "type": "customer.subscription.updated",
                "created": int(created.timestamp()), "data": {"object": thing}}  # fmt: skip

    with transaction(context.sessions) as session:
        apply_event(session, project, version("evt_n1", datetime(2026, 1, 25, tzinfo=UTC), 1))
        # A second seat on 3 February, within the period that began on 25 January.
        apply_event(session, project, version("evt_n2", datetime(2026, 2, 3, tzinfo=UTC), 2))
        import_fx_rates(session, TEST_ACTOR, project, RATES)
    # Both states convert at the period start's 1.10 (not February's 1.20): EUR 200 x 1.10.
    assert months(context, project)[1] == (2, 22000, 0, 11000, 0)
