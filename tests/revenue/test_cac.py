"""CAC per channel: spend imported from CSV, new customers attributed by first or last
touch from their person's events, exact figures; direct customers shown, never dropped."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loopwise.core.db import transaction
from loopwise.core.roles import Role
from loopwise.revenue.facade import cac, import_spend
from loopwise.revenue.sources.csv_import import ImportRefused
from loopwise.web.context import AppContext
from tests.factories import (
    TEST_ACTOR,
    bearer,
    create_token,
    create_user,
)
from tests.revenue.conftest import MARCH, NOW


def report(context: AppContext, acquisition: int, model: str) -> tuple[dict[str, Any], Any]:
    with transaction(context.sessions) as session:
        found = cac(session, context.warehouse, acquisition, "UTC", *MARCH, model=model, now=NOW)  # type: ignore[arg-type]
    return {c.source: (c.spend, c.customers, c.cac) for c in found.channels}, found.blended


def test_first_touch_cac_per_channel(context: AppContext, acquisition: int) -> None:
    # cus_1's first touch was google (20 Feb, inside the 90-day window); cus_2 came from
    # the newsletter; cus_3 has events but no campaign, cus_4 no person: both direct.
    channels, blended = report(context, acquisition, "first_touch")
    assert channels == {
        "facebook": (5000, 0, None),
        "google": (30000, 1, Decimal(30000)),
        "newsletter": (10000, 1, Decimal(10000)),
        "(direct)": (0, 2, Decimal(0)),
    }
    assert blended == Decimal(45000) / 4  # $450 over four new customers


def test_last_touch_moves_the_customer_to_the_newsletter(
    context: AppContext, acquisition: int
) -> None:
    channels, _ = report(context, acquisition, "last_touch")
    assert channels == {
        "facebook": (5000, 0, None),
        "google": (30000, 0, None),
        "newsletter": (10000, 2, Decimal(5000)),
        "(direct)": (0, 2, Decimal(0)),
    }


def test_spend_import_is_checked_and_replaces_a_day(context: AppContext, acquisition: int) -> None:
    bad = "date,source,amount,currency\nsoon,x,1,usd\n"
    with transaction(context.sessions) as session, pytest.raises(ImportRefused) as refused:
        import_spend(session, TEST_ACTOR, acquisition, bad)
    assert [(e.line, e.field) for e in refused.value.errors] == [(2, "date")]
    again = "date,source,medium,campaign,amount,currency\n2026-03-05,facebook,cpc,,80,usd\n"
    with transaction(context.sessions) as session:
        import_spend(session, TEST_ACTOR, acquisition, again)  # 5 March facebook: 50 -> 80
    channels, blended = report(context, acquisition, "first_touch")
    assert channels["facebook"] == (8000, 0, None)
    assert blended == Decimal(48000) / 4


def test_the_cac_and_spend_apis(client: TestClient, context: AppContext, acquisition: int) -> None:
    admin = bearer(create_token(context, create_user(context, Role.ADMIN).id))
    url = f"/api/projects/{acquisition}/revenue"
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
