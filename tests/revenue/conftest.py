"""Shared revenue fixtures: a project whose customers came through known channels."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loopwise.core.db import transaction
from loopwise.revenue.facade import import_spend, import_subscriptions
from loopwise.revenue.sources.stripe import apply_event
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, create_project, flushed

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
def acquisition(client: TestClient, context: AppContext) -> int:
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
