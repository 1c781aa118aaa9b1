"""Stripe backfill through the official library against a local stub of Stripe's API that
serves recorded objects (Stripe's own fixtures) page by page: everything arrives once,
a run stopped half-way resumes from its cursor, and the history feeds MRR."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from loopwise.core.db import transaction
from loopwise.revenue.facade import BackfillError, backfill_stripe, mrr_report
from loopwise.revenue.models import BillingObject, BillingObjectVersion
from loopwise.web.context import AppContext
from tests.factories import create_project
from tests.revenue.test_stripe_webhook import fixture

START = 1_767_225_600  # 1 January 2026


def recorded() -> dict[str, list[dict[str, Any]]]:
    """What the stub's account holds, newest first as Stripe lists it: 250 customers and
    120 subscriptions made from Stripe's fixture objects, one invoice, charge, refund and
    credit note, and two events."""
    customers, subscriptions = [], []
    for n in range(250):
        customer = copy.deepcopy(fixture("customer"))
        customer.update(id=f"cus_{n:03d}", email=f"c{n}@example.com", metadata={})
        customers.append(customer)
    for n in range(120):
        subscription = copy.deepcopy(fixture("subscription"))  # $20.00 a month per seat
        subscription.update(id=f"sub_{n:03d}", customer=f"cus_{n:03d}", status="active",
                            start_date=START + n * 3600, canceled_at=None, ended_at=None,
                            discount=None, discounts=[])  # fmt: skip
        subscriptions.append(subscription)
    event = {"id": "evt_bf_1", "object": "event", "type": "plan.created", "created": START,
             "data": {"object": fixture("plan")}}  # fmt: skip
    return {
        "customers": customers[::-1], "subscriptions": subscriptions[::-1],
        "invoices": [fixture("invoice")], "charges": [fixture("charge")],
        "refunds": [fixture("refund")], "credit_notes": [fixture("credit_note")],
        "events": [event, {"id": "evt_bf_odd", "object": "event"}],
    }  # fmt: skip


class StripeStub:
    """Serves GET /v1/<resource> with Stripe's list envelope and cursor pagination; can be
    told to refuse the n-th request for a resource once."""

    def __init__(self) -> None:
        self.data = recorded()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.refuse: tuple[str, int] | None = None
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                resource = parts.path.removeprefix("/v1/")
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                stub.requests.append((resource, query))
                calls = sum(1 for r, _ in stub.requests if r == resource)
                if stub.refuse == (resource, calls):
                    stub.refuse = None
                    error = {"type": "invalid_request_error", "message": "Try again later."}
                    return self._answer(400, {"error": error})
                items = stub.data.get(resource)
                if items is None:
                    unknown = {"type": "invalid_request_error", "message": "Unrecognized URL"}
                    return self._answer(404, {"error": unknown})
                after = query.get("starting_after")
                first = next(i + 1 for i, o in enumerate(items) if o["id"] == after) if after else 0
                limit = int(query.get("limit", "10"))
                page = items[first : first + limit]
                self._answer(200, {"object": "list", "url": parts.path, "data": page,
                                   "has_more": first + limit < len(items)})  # fmt: skip
                return None

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def stub() -> Iterator[StripeStub]:
    made = StripeStub()
    thread = threading.Thread(target=made.server.serve_forever, daemon=True)
    thread.start()
    yield made
    made.server.shutdown()
    made.server.server_close()


def count(context: AppContext, project: int, model: Any, kind: str) -> int:
    with context.sessions() as session:
        return session.scalar(
            select(func.count()).select_from(model)
            .where(model.project_id == project).where(model.kind == kind)
        )  # fmt: skip


def test_a_stopped_backfill_resumes_from_its_cursor(context: AppContext, stub: StripeStub) -> None:
    project = create_project(context).id
    stub.refuse = ("subscriptions", 2)  # the second page of subscriptions fails
    seen: list[tuple[str, int]] = []
    with pytest.raises(BackfillError, match="subscriptions listing: Try again later"):
        backfill_stripe(context.sessions, project, "sk_test_x", api_base=stub.url,
                        on_page=lambda p: seen.append((p.resource, p.seen)))  # fmt: skip
    assert seen == [("customers", 100), ("customers", 200), ("customers", 250),
                    ("subscriptions", 100)]  # fmt: skip
    assert count(context, project, BillingObject, "subscription") == 100

    found = backfill_stripe(context.sessions, project, "sk_test_x", api_base=stub.url)
    assert {p.resource: p.seen for p in found} == {
        "customers": 250, "subscriptions": 120, "invoices": 1, "charges": 1, "refunds": 1,
        "credit_notes": 1, "events": 2,
    }  # fmt: skip
    # The second run asked for subscriptions after the last one the first run stored.
    resumed = [q for r, q in stub.requests if r == "subscriptions"][-1]
    assert resumed == {"limit": "100", "status": "all", "starting_after": "sub_020"}
    assert count(context, project, BillingObject, "customer") == 250
    assert count(context, project, BillingObject, "subscription") == 120
    for kind in ("invoice", "charge", "refund", "credit_note"):
        assert count(context, project, BillingObject, kind) == 1
    assert count(context, project, BillingObjectVersion, "subscription") == 120

    # Done is done: a third run asks Stripe nothing; a restart lists again, adds nothing.
    before = len(stub.requests)
    backfill_stripe(context.sessions, project, "sk_test_x", api_base=stub.url)
    assert len(stub.requests) == before
    backfill_stripe(context.sessions, project, "sk_test_x", api_base=stub.url, restart=True)
    assert count(context, project, BillingObjectVersion, "subscription") == 120
    assert count(context, project, BillingObject, "customer") == 250


def test_backfilled_subscriptions_count_from_their_start(
    context: AppContext, stub: StripeStub
) -> None:
    project = create_project(context).id
    backfill_stripe(context.sessions, project, "sk_test_x", api_base=stub.url)
    with transaction(context.sessions) as session:
        report = mrr_report(session, project, "UTC", months=2,
                            now=datetime(2026, 2, 10, tzinfo=UTC))  # fmt: skip
    # 120 subscriptions of one $20 seat, all started in January (hourly from the 1st).
    january, february = report.periods
    assert (january.new, january.mrr, january.customers) == (240_000, 240_000, 120)
    assert (february.new, february.mrr) == (0, 240_000)


def test_a_key_of_the_wrong_kind_is_refused_before_any_request(
    context: AppContext, stub: StripeStub
) -> None:
    project = create_project(context).id
    with pytest.raises(BackfillError, match="sk_ or rk_"):
        backfill_stripe(context.sessions, project, "pk_live_x", api_base=stub.url)
    assert stub.requests == []


def test_the_cli_backfills_with_a_progress_line_and_json(
    stub: StripeStub, database_url: str, tmp_path: Any
) -> None:
    from tests.cli.test_cli import run

    env = {"LOOPWISE_DATA_DIR": str(tmp_path / "data"), "LOOPWISE_DATABASE_URL": database_url}
    project = json.loads(run(["projects", "create", "Acme", "--json"], env).stdout)["id"]
    args = ["revenue", "backfill-stripe", str(project), "--api-base", stub.url]
    done = run([*args, "--json"], {**env, "STRIPE_API_KEY": "rk_test_x"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["subscriptions"] == 120
    missing = run(["revenue", "backfill-stripe", "999", "--api-key", "sk_x"], env)
    assert missing.returncode == 1
    assert "project 999" in missing.stderr
