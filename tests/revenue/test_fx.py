"""Currencies: a subscription in euros counts in the reporting currency at the rate in
force when each service period starts; a rate change alone is the FX effect, its own row
and never a movement."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.revenue.facade import import_fx_rates, import_subscriptions, mrr_report
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, bearer, create_project, create_token, create_user

HEADER = "subscription_id,customer_id,effective_at,status,amount,currency,interval,quantity\n"
# EUR 100 a month from January; renewed 1 February (same terms); 2 seats from 1 March.
EUROS = HEADER + (
    "s1,c1,2026-01-01,active,100,eur,month,1\n"
    "s1,c1,2026-02-01,active,100,eur,month,1\n"
    "s1,c1,2026-03-01,active,100,eur,month,2\n"
)
RATES = "date,currency,rate\n2026-01-01,eur,1.10\n2026-02-01,eur,1.20\n"
NOW = datetime(2026, 3, 20, tzinfo=UTC)


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
