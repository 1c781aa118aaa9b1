"""CAC per channel: spend imported from CSV, new customers attributed by first or last
touch from their person's events, exact figures; direct customers shown, never dropped."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.revenue.facade import cac, import_spend, import_subscriptions
from loopwise.revenue.sources.csv_import import ImportRefused
from loopwise.revenue.sources.stripe import apply_event
from loopwise.web.context import AppContext
from tests.factories import (
    TEST_ACTOR,
    bearer,
    create_project,
    create_token,
    create_user,
    flushed,
)

MARCH = (date(2026, 3, 1), date(2026, 4, 1))
NOW = datetime(2026, 3, 31, tzinfo=UTC)
SPEND = (
    "date,source,medium,campaign,amount,currency\n"
    "2026-03-03,google,cpc,spring,200.00,usd\n"
    "2026-03-10,google,cpc,spring,100.00,usd\n"  # google: $300 in March
    "2026-03-04,newsletter,email,,100,usd\n"
    "2026-03-05,facebook,cpc,,50,usd\n"  # spent, nobody came
    "2026-02-25,google,cpc,,999,usd\n"  # February: not March's spend
)
SUBSCRIPTIONS = (
    "subscription_id,customer_id,effective_at,status,amount,currency,interval\n"
    + "".join(f"sub_{n},cus_{n},2026-03-05,active,50,usd,month\n" for n in range(1, 5))
)


def touch(who: str, when: str, source: str) -> dict[str, Any]:
    return {"event": "$pageview", "distinct_id": who, "timestamp": when,
            "properties": {"utm_source": source}}  # fmt: skip


@pytest.fixture
def project(client: TestClient, context: AppContext) -> int:
    made = create_project(context)
    batch = [
        touch("u1", "2026-02-20T10:00:00Z", "google"),
        touch("u1", "2026-03-02T10:00:00Z", "newsletter"),
        touch("u2", "2026-03-03T10:00:00Z", "newsletter"),
        {"event": "$pageview", "distinct_id": "u3", "timestamp": "2026-03-04T10:00:00Z"},
    ]
    assert (
        client.post("/batch/", json={"api_key": made.write_key, "batch": batch}).status_code == 200
    )
    flushed(context)
    with transaction(context.sessions) as session:
        for n, user in ((1, "u1"), (2, "u2"), (3, "u3"), (4, None)):
            customer = {"id": f"cus_{n}", "object": "customer", "email": f"c{n}@x.io",
                        "metadata": {"user_id": user} if user else {}}  # fmt: skip
            apply_event(session, made.id, {"id": f"evt_c{n}", "object": "event",
                                            "type": "customer.created", "created": 1,
                                            "data": {"object": customer}})  # fmt: skip
        import_subscriptions(session, TEST_ACTOR, made.id, SUBSCRIPTIONS)
        assert import_spend(session, TEST_ACTOR, made.id, SPEND) == 5
    return made.id


def report(context: AppContext, project: int, model: str) -> tuple[dict[str, Any], Any]:
    with transaction(context.sessions) as session:
        found = cac(session, context.warehouse, project, "UTC", *MARCH, model=model, now=NOW)  # type: ignore[arg-type]
    return {c.source: (c.spend, c.customers, c.cac) for c in found.channels}, found.blended


def test_first_touch_cac_per_channel(context: AppContext, project: int) -> None:
    # cus_1's first touch was google (20 Feb, inside the 90-day window); cus_2 came from
    # the newsletter; cus_3 has events but no campaign, cus_4 no person: both direct.
    channels, blended = report(context, project, "first_touch")
    assert channels == {
        "facebook": (5000, 0, None),
        "google": (30000, 1, Decimal(30000)),
        "newsletter": (10000, 1, Decimal(10000)),
        "(direct)": (0, 2, Decimal(0)),
    }
    assert blended == Decimal(45000) / 4  # $450 over four new customers


def test_last_touch_moves_the_customer_to_the_newsletter(context: AppContext, project: int) -> None:
    channels, _ = report(context, project, "last_touch")
    assert channels == {
        "facebook": (5000, 0, None),
        "google": (30000, 0, None),
        "newsletter": (10000, 2, Decimal(5000)),
        "(direct)": (0, 2, Decimal(0)),
    }


def test_spend_import_is_checked_and_replaces_a_day(context: AppContext, project: int) -> None:
    with transaction(context.sessions) as session, pytest.raises(ImportRefused) as refused:
        import_spend(session, TEST_ACTOR, project, "date,source,amount,currency\nsoon,x,1,usd\n")
    assert [(e.line, e.field) for e in refused.value.errors] == [(2, "date")]
    again = "date,source,medium,campaign,amount,currency\n2026-03-05,facebook,cpc,,80,usd\n"
    with transaction(context.sessions) as session:
        import_spend(session, TEST_ACTOR, project, again)  # 5 March facebook: 50 -> 80
    channels, blended = report(context, project, "first_touch")
    assert channels["facebook"] == (8000, 0, None)
    assert blended == Decimal(48000) / 4


def test_the_cac_and_spend_apis(client: TestClient, context: AppContext, project: int) -> None:
    admin = bearer(create_token(context, create_user(context, Role.ADMIN).id))
    url = f"/api/projects/{project}/revenue"
    found = client.get(f"{url}/cac?start=2026-03-01&end=2026-04-01", headers=admin)
    assert found.status_code == 200
    google = next(c for c in found.json()["channels"] if c["source"] == "google")
    assert (google["new_customers"], google["cac"]) == (1, 30000.0)
    bad = client.get(f"{url}/cac?start=2026-03-01&end=2026-04-01&model=linear", headers=admin)
    assert bad.status_code == 422
    refused = client.post(f"{url}/import/spend", content=b"date,source,amount,currency\n,x,1,usd\n",
                          headers=admin)  # fmt: skip
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "date"
