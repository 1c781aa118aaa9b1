"""Time revenue on a synthetic book: N customers with three years of history.

Usage:
    python benchmarks/revenue.py --customers 100000
    python benchmarks/revenue.py --customers 100000 --profile
    python benchmarks/revenue.py --customers 100000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/lw_bench_rev

Each customer starts a subscription at a random moment in the last three years on one of
four plans (monthly or annual, 1 to 20 seats), changes seats about twice a year, and a
third of them cancel. Measured, in order:

1. the MRR engine alone on those states (``movements`` and the 37 monthly ``periods``);
2. the real full recompute: the states stored as Stripe-shaped subscription versions in
   the app database (``billing_object_versions``, in the order webhooks would have
   written them), then ``recompute_metrics(full=True)`` over the whole three years (read
   the versions, run the engine, store every customer's movements, attribute new customers
   through the warehouse, write ``revenue_metrics_daily``), target < 30 s;
3. the nightly job ``nightly_metrics`` after a day of webhook traffic (1 % of the customers
   change seats): the stored ledger refreshed for those customers, the last three days of
   metrics rewritten, target < 5 s;
4. ``GET /projects/{id}/revenue`` (the Revenue page) and ``GET /api/projects/{id}/revenue/mrr``
   through the real app with a signed-in admin, server time from the request log, p50/p95
   over warm requests, target < 300 ms for the page.

The app database is a SQLite file in a temporary directory unless ``--database-url`` names
an empty PostgreSQL database (created beforehand, e.g. ``createdb lw_bench_rev``); the
warehouse is a DuckDB file beside it. ``--profile`` runs each missed target once more under
cProfile and prints its top entries. Loading the data is not part of any target.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import pstats
import random
import re
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from server_times import percentile, request_times
from sqlalchemy import insert, select

from loopwise.core import accounts
from loopwise.core.audit import Actor
from loopwise.core.db import transaction
from loopwise.core.jobs import JobContext
from loopwise.core.roles import Role
from loopwise.core.settings import Settings, load_settings
from loopwise.revenue.facade import mrr_report, nightly_metrics, recompute_metrics
from loopwise.revenue.models import BillingObject, BillingObjectVersion, MetricsDaily
from loopwise.revenue.mrr import Conventions, Item, State, movements, periods
from loopwise.web.app import create_app
from loopwise.web.context import AppContext, open_context

PLANS = [(2900, "month"), (9900, "month"), (29000, "year"), (99000, "year")]
TARGETS = {"recompute": 30.0, "nightly": 5.0, "page": 0.300}
PASSWORD = "benchmark-password-1"
CHUNK = 10_000
# The revenue steps shown under each profile's top entries.
KEY_FUNCTIONS = (
    r"stripe_states.py.*\(subscription_states|facade.py.*\((_ledger|mrr_report|metrics_summary)"
    r"|mrr.py.*\((movements|periods)\)|metrics.py.*\((recompute|daily_totals|summary)\)"
    r"|cac.py.*\(new_customers"
)


def book(customers: int, now: datetime, seed: int = 7) -> list[State]:
    rng = random.Random(seed)
    states = []
    for number in range(customers):
        customer, subscription = f"cus_{number}", f"sub_{number}"
        since = now - timedelta(days=rng.uniform(0, 3 * 365))
        amount, interval = rng.choice(PLANS)
        seats = rng.randint(1, 20)
        ends = since + timedelta(days=rng.uniform(30, 3 * 365)) if rng.random() < 0.33 else None
        moment = since
        while True:
            item = Item(amount, interval, 1, seats)  # type: ignore[arg-type]
            states.append(State(subscription, customer, moment, "active", (item,)))
            moment += timedelta(days=rng.uniform(90, 270))
            if moment >= now or (ends is not None and moment >= ends):
                break
            seats = max(1, seats + rng.choice([-3, -1, 1, 2, 5]))
        if ends is not None and ends < now:
            item = Item(amount, interval, 1, seats)  # type: ignore[arg-type]
            states.append(State(subscription, customer, ends, "canceled", (item,), ended_at=ends))
    return states


# --- 1. the engine alone ------------------------------------------------------------------


def engine_only(states: list[State], customers: int, now: datetime) -> None:
    started = time.perf_counter()
    ledger = movements(states, Conventions(), "UTC", now)
    moved = time.perf_counter() - started
    today = now.date()
    starts = []
    for back in range(36, -1, -1):  # the 37 calendar months up to this one
        index = today.year * 12 + today.month - 1 - back
        starts.append(date(index // 12, index % 12 + 1, 1))
    started = time.perf_counter()
    summary = periods(ledger, starts, today + timedelta(days=1))
    summed = time.perf_counter() - started
    print("\n## 1. MRR engine alone\n")
    print("| customers | states | changes | movements s | periods s | total s |")
    print("|---|---|---|---|---|---|")
    print(f"| {customers:,} | {len(states):,} | {len(ledger.changes):,} | {moved:.1f} | "
          f"{summed:.2f} | {moved + summed:.1f} |")  # fmt: skip
    print(f"(final MRR {summary[-1].mrr / 100:,.2f})")


# --- Stripe-shaped data in the app database ------------------------------------------------


def _stamp(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def stripe_subscription(state: State, started: datetime) -> dict[str, Any]:
    """A state as the ``data.object`` of a ``customer.subscription.*`` event: every field
    Stripe sends (API 2024), so the stored JSON is as large as a real one (≈3 KB)."""
    item = state.items[0]
    created, period = _stamp(started), _stamp(state.since)
    plan_id = f"price_{item.unit_amount}_{item.interval}"
    number = state.subscription_id.removeprefix("sub_")
    recurring = {"aggregate_usage": None, "interval": item.interval,
                 "interval_count": item.interval_count, "meter": None,
                 "trial_period_days": None, "usage_type": "licensed"}  # fmt: skip
    price = {
        "id": plan_id, "object": "price", "active": True, "billing_scheme": "per_unit",
        "created": 1672531200, "currency": "usd", "custom_unit_amount": None,
        "livemode": True, "lookup_key": None, "metadata": {}, "nickname": None,
        "product": "prod_Loopwise", "recurring": recurring, "tax_behavior": "unspecified",
        "tiers_mode": None, "transform_quantity": None, "type": "recurring",
        "unit_amount": item.unit_amount, "unit_amount_decimal": str(item.unit_amount),
    }  # fmt: skip
    plan = {
        "id": plan_id, "object": "plan", "active": True, "aggregate_usage": None,
        "amount": item.unit_amount, "amount_decimal": str(item.unit_amount),
        "billing_scheme": "per_unit", "created": 1672531200, "currency": "usd",
        "interval": item.interval, "interval_count": item.interval_count, "livemode": True,
        "metadata": {}, "meter": None, "nickname": None, "product": "prod_Loopwise",
        "tiers_mode": None, "transform_usage": None, "trial_period_days": None,
        "usage_type": "licensed",
    }  # fmt: skip
    canceled = state.status == "canceled"
    return {
        "id": state.subscription_id, "object": "subscription", "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": created, "billing_cycle_anchor_config": None,
        "billing_thresholds": None, "cancel_at": None, "cancel_at_period_end": False,
        "canceled_at": _stamp(state.ended_at) if canceled else None,
        "cancellation_details": {"comment": None, "feedback": None,
                                 "reason": "cancellation_requested" if canceled else None},
        "collection_method": "charge_automatically", "created": created, "currency": "usd",
        "current_period_end": period, "current_period_start": period,
        "customer": state.customer_id, "days_until_due": None,
        "default_payment_method": f"pm_{number}", "default_source": None,
        "default_tax_rates": [], "description": None, "discount": None, "discounts": [],
        "ended_at": _stamp(state.ended_at), "invoice_settings": {
            "account_tax_ids": None, "issuer": {"type": "self"}},
        "items": {"object": "list", "data": [{
            "id": f"si_{number}", "object": "subscription_item", "billing_thresholds": None,
            "created": created, "discounts": [], "metadata": {}, "plan": plan, "price": price,
            "quantity": item.quantity, "subscription": state.subscription_id, "tax_rates": [],
        }], "has_more": False, "total_count": 1,
            "url": f"/v1/subscription_items?subscription={state.subscription_id}"},
        "latest_invoice": f"in_{number}_{period}", "livemode": True, "metadata": {},
        "next_pending_invoice_item_invoice": None, "on_behalf_of": None,
        "pause_collection": None, "payment_settings": {
            "payment_method_options": None, "payment_method_types": None,
            "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None, "pending_setup_intent": None,
        "pending_update": None, "plan": plan, "quantity": item.quantity, "schedule": None,
        "start_date": created, "status": state.status, "test_clock": None,
        "transfer_data": None, "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }  # fmt: skip


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load(context: AppContext, project_id: int, states: list[State]) -> None:
    """The book as a Stripe webhook history would have left it: one version per state,
    written in time order; the latest state of each subscription and one row per customer
    in ``billing_objects`` (no linked person)."""
    firsts: dict[str, datetime] = {}
    latest: dict[str, State] = {}
    for state in states:
        firsts.setdefault(state.subscription_id, state.since)
        latest[state.subscription_id] = state
    ordered = sorted(states, key=lambda s: s.since)

    def versions() -> Iterator[dict[str, Any]]:
        for number, state in enumerate(ordered):
            yield {"project_id": project_id, "kind": "subscription",
                   "external_id": state.subscription_id, "customer_id": state.customer_id,
                   "event_id": f"evt_{number}",
                   "version_at": state.since,
                   "data": stripe_subscription(state, firsts[state.subscription_id])}  # fmt: skip

    def objects() -> Iterator[dict[str, Any]]:
        for state in latest.values():
            number = state.customer_id.removeprefix("cus_")
            yield {"project_id": project_id, "kind": "customer", "external_id": state.customer_id,
                   "customer_id": state.customer_id, "person_id": "", "status": "",
                   "currency": "usd", "amount": 0, "deleted": False,
                   "data": {"id": state.customer_id, "object": "customer",
                            "email": f"customer{number}@example.com", "metadata": {}},
                   "version_at": firsts[state.subscription_id],
                   "updated_at": firsts[state.subscription_id]}  # fmt: skip
            yield {"project_id": project_id, "kind": "subscription",
                   "external_id": state.subscription_id, "customer_id": state.customer_id,
                   "person_id": "", "status": state.status, "currency": "usd", "amount": 0,
                   "deleted": False,
                   "data": stripe_subscription(state, firsts[state.subscription_id]),
                   "version_at": state.since, "updated_at": state.since}  # fmt: skip

    with context.engine.begin() as connection:
        for chunk in _chunks(versions()):
            connection.execute(insert(BillingObjectVersion.__table__), chunk)
        for chunk in _chunks(objects()):
            connection.execute(insert(BillingObject.__table__), chunk)
    if context.engine.dialect.name == "postgresql":
        with context.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()


def day_of_changes(context: AppContext, project_id: int, customers: int, at: datetime,
                   night: int) -> None:  # fmt: skip
    """One day's webhook traffic: 1 % of the customers' subscriptions get a new version."""
    rng = random.Random(1000 + night)
    moment = at + timedelta(days=night) - timedelta(hours=3)
    rows = []
    for number in rng.sample(range(customers), max(customers // 100, 1)):
        state = State(f"sub_{number}", f"cus_{number}", moment, "active",
                      (Item(9900, "month", 1, rng.randint(1, 30)),))  # fmt: skip
        rows.append({"project_id": project_id, "kind": "subscription",
                     "external_id": state.subscription_id, "customer_id": state.customer_id,
                     "event_id": f"evt_day{night}_{number}", "version_at": moment,
                     "data": stripe_subscription(state, moment - timedelta(days=400))})  # fmt: skip
    with context.engine.begin() as connection:
        connection.execute(insert(BillingObjectVersion.__table__), rows)


# --- timing helpers -------------------------------------------------------------------------


def profiled(label: str, run: Callable[[], object], top: int) -> None:
    """Run once under cProfile; print the top entries and the time the cyclic garbage
    collector took (cProfile charges it to whatever function was allocating)."""
    collected = [0.0, 0.0]  # seconds in collections, start of the current one

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collected[1] = time.perf_counter()
        else:
            collected[0] += time.perf_counter() - collected[1]

    profile = cProfile.Profile()
    gc.callbacks.append(on_gc)
    started = time.perf_counter()
    profile.enable()
    try:
        run()
    finally:
        profile.disable()
        gc.callbacks.remove(on_gc)
    wall = time.perf_counter() - started
    out = StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(top)
    text = out.getvalue()
    body = text[text.find("   ncalls") :] if "   ncalls" in text else text
    body = re.sub(r"\S*/site-packages/", "", body).replace(str(Path.cwd()) + "/", "")
    body = re.sub(r"\S*/lib/python3\.\d+/", "", body)
    body = re.sub(r"\S*/src/loopwise/", "loopwise/", body)
    print(f"\n### profile: {label} (cProfile, top {top} by cumulative time)\n")
    print(f"{wall:.1f} s under the profiler, of which {collected[0]:.1f} s in garbage collection")
    print("```")
    print(body.rstrip())
    out = StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(KEY_FUNCTIONS)
    text = out.getvalue()
    lines = text[text.find("   ncalls") :].splitlines()[1:] if "   ncalls" in text else []
    print("... the steps further down:")
    print("\n".join(re.sub(r"\S*/src/loopwise/", "loopwise/", ln) for ln in lines if ln.strip()))
    print("```")


def without_gc(label: str, run: Callable[[], object]) -> None:
    """Diagnostic: the same work with the cyclic garbage collector paused."""
    gc.collect()
    gc.disable()
    started = time.perf_counter()
    try:
        run()
    finally:
        gc.enable()
    print(f"\n{label} with the garbage collector paused: {time.perf_counter() - started:.1f} s")


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def verdict(seconds: float, target: float) -> str:
    return "met" if seconds < target else "**missed**"


# --- 2 to 4 ---------------------------------------------------------------------------------


def real_path(args: argparse.Namespace, states: list[State], now: datetime) -> None:
    work = Path(tempfile.mkdtemp(prefix="lw-bench-rev-"))
    settings = load_settings(
        data_dir=work / "data",
        database_url=args.database_url or f"sqlite:///{work / 'app.db'}",
        warehouse_url=f"duckdb:///{work / 'events.duckdb'}",
        secret_key="benchmark-secret-" + "x" * 32,
        scheduler="off",
    )
    context = open_context(settings)
    try:
        measure(args, settings, context, states, now)
    finally:
        context.close()
        shutil.rmtree(work, ignore_errors=True)


def measure(
    args: argparse.Namespace,
    settings: Settings,
    context: AppContext,
    states: list[State],
    now: datetime,
) -> None:
    database = context.engine.dialect.name
    print(f"\napp database: {database} {context.engine.dialect.server_version_info or ''}, "
          f"warehouse: {context.warehouse.dialect}")  # fmt: skip
    with transaction(context.sessions) as session:
        project = accounts.create_project(session, Actor("cli"), "Bench")
        accounts.create_user(session, Actor("cli"), "bench@example.com", Role.ADMIN, PASSWORD)
    started, count = time.perf_counter(), len(states)
    load(context, project.id, states)
    states.clear()  # a server holds no such book: free it so it does not slow the collector
    gc.collect()
    print(f"loaded {count:,} subscription versions and {2 * args.customers:,} billing "
          f"objects in {time.perf_counter() - started:.1f} s (not part of any target)")  # fmt: skip
    missed: list[tuple[str, Callable[[], object]]] = []

    # 2. Full recompute of the daily metrics over the three years.
    today = now.date()
    end = today + timedelta(days=1)
    start = end - timedelta(days=3 * 365 + 1)

    def recompute() -> int:
        with transaction(context.sessions) as session:
            return recompute_metrics(session, context.warehouse, project.id, "UTC", start, end,
                                     now=now, full=True)  # fmt: skip

    started = time.perf_counter()
    rows = recompute()
    full = time.perf_counter() - started
    with context.sessions() as session:
        last = session.scalar(
            select(MetricsDaily.mrr)
            .where(MetricsDaily.project_id == project.id)
            .where(MetricsDaily.day == today)
            .where(MetricsDaily.channel == "")
        )
    print(f"\n## 2. Full recompute ({database}): {start} to {end} ({(end - start).days} days)\n")
    print(f"{full:.1f} s, {rows:,} rows of revenue_metrics_daily written "
          f"(MRR on {today}: {(last or 0) / 100:,.2f}); target < 30 s: "
          f"{verdict(full, TARGETS['recompute'])}")  # fmt: skip
    print(f"(peak RSS of the process so far: {peak_gb():.1f} GB)")
    if full >= TARGETS["recompute"]:
        missed.append(("full recompute", recompute))

    # 3. The nightly job (the last three days of each revenue project).
    jobs = JobContext(context.sessions, context.warehouse, settings)
    nightly_at = now.replace(hour=2)
    runs = []
    for night in range(args.nightly_runs):
        # A day of webhooks first: 1 % of the customers change seats (new versions).
        day_of_changes(context, project.id, args.customers, nightly_at, night)
        started = time.perf_counter()
        summary = nightly_metrics(jobs, nightly_at + timedelta(days=night))
        runs.append(time.perf_counter() - started)
    print(f"\n## 3. Nightly job ({database})\n")
    print(f"runs: {', '.join(f'{r:.1f} s' for r in runs)} (median "
          f"{statistics.median(runs):.1f} s; {summary}); target < 5 s: "
          f"{verdict(statistics.median(runs), TARGETS['nightly'])}")  # fmt: skip
    if statistics.median(runs) >= TARGETS["nightly"]:
        missed.append(("nightly job", lambda: nightly_metrics(jobs, nightly_at)))

    # 4. The Revenue page and the MRR API, server time.
    if not args.skip_web:
        page_ms = web(args, settings, context, project.id)
        if page_ms >= TARGETS["page"] * 1000:

            def page_body() -> None:  # what the page's handler computes, on this thread
                with context.sessions() as session:
                    mrr_report(session, project.id, "UTC", months=12)

            missed.append(("Revenue page (its mrr_report, called directly)", page_body))

    if args.profile:
        for label, run in missed:
            profiled(f"{label}, {database}", run, args.top)
    if args.gc_diagnostic:
        for label, run in missed:
            without_gc(f"{label}, {database}", run)


def web(
    args: argparse.Namespace, settings: Settings, context: AppContext, project_id: int
) -> float:
    rows = []
    page = f"/projects/{project_id}/revenue"
    page_p95 = 0.0
    app = create_app(settings, context)
    with request_times() as times, TestClient(app, base_url="http://127.0.0.1") as client:
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, "the sign-in page has no CSRF token"
        signed = client.post(
            "/login",
            data={"email": "bench@example.com", "password": PASSWORD,
                  "csrf_token": token.group(1)},
            follow_redirects=False,
        )  # fmt: skip
        assert signed.status_code == 303, signed.text
        for path in (page, f"/api/projects/{project_id}/revenue/mrr"):
            answer = client.get(path)  # warm-up
            assert answer.status_code == 200, answer.text[:500]
            times.ms.clear()
            walls, budget = [], time.perf_counter() + args.budget
            while len(walls) < args.requests and (len(walls) < 3 or time.perf_counter() < budget):
                started = time.perf_counter()
                answer = client.get(path)
                walls.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, answer.text[:500]
            server = times.ms.get(path, walls)
            p50, p95 = statistics.median(server), percentile(server, 0.95)
            if path == page:
                page_p95 = p95
            shown = path.replace(str(project_id), "{id}")
            rows.append(f"| `GET {shown}` | {len(server)} | {p50:,.0f} | {p95:,.0f} | "
                        f"{statistics.median(walls):,.0f} |")  # fmt: skip
    print(f"\n## 4. Web ({context.engine.dialect.name}), warm requests, milliseconds\n")
    print("| request | n | server p50 | server p95 | client wall p50 |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"page target < 300 ms server time at p95: {verdict(page_p95 / 1000, TARGETS['page'])}")
    return page_p95


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument(
        "--database-url",
        default="",
        help="an empty PostgreSQL database (default: SQLite in a temp dir)",
    )
    parser.add_argument("--nightly-runs", type=int, default=3)
    parser.add_argument(
        "--requests",
        type=int,
        default=20,
        help="warm requests per endpoint (fewer if --budget runs out)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=120,
        help="seconds per endpoint after which no new request starts (min 3)",
    )
    parser.add_argument("--skip-web", action="store_true")
    parser.add_argument("--skip-engine", action="store_true")
    parser.add_argument("--profile", action="store_true", help="profile each missed target")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--gc-diagnostic",
        action="store_true",
        help="time each missed target once more with the garbage collector paused",
    )
    args = parser.parse_args()  # fmt: skip
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    started = time.perf_counter()
    states = book(args.customers, now)
    print(f"book: {args.customers:,} customers, {len(states):,} states, built in "
          f"{time.perf_counter() - started:.1f} s, up to {now:%Y-%m-%d}")  # fmt: skip
    if not args.skip_engine:
        engine_only(states, args.customers, now)
    real_path(args, states, now)


if __name__ == "__main__":
    main()
