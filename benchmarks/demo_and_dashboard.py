"""Load the demo business into a warehouse, then time the dashboard's queries.

Usage:
    python benchmarks/demo_and_dashboard.py --users 100000 --days 180 --data /tmp/bench.duckdb

With ``--data``, an existing file is reused (the load is skipped), so query timings can be
repeated without reloading. Timings call the overview facade directly: no result cache.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from loopwise.demo import load_demo
from loopwise.overview import queries
from loopwise.overview.facade import PERIODS, period_bounds, project_overview
from loopwise.warehouse import Warehouse, open_warehouse


def timed(action: Callable[[], object], runs: int) -> tuple[float, float]:
    action()  # warm the engine's caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), statistics.quantiles(samples, n=20)[18]


def per_query(warehouse: Warehouse, days: int, runs: int) -> dict[str, tuple[float, float]]:
    start, end = period_bounds(days, "UTC", datetime.now(UTC))
    before = start - (end - start)
    scope = queries.Scope(1, start, end, "UTC")
    steps: dict[str, Callable[[], object]] = {
        "totals": lambda: queries.totals(warehouse, scope, before),
        "newcomers": lambda: queries.newcomers(warehouse, scope, before, 8),
        "daily": lambda: queries.daily(warehouse, scope),
        "top_events": lambda: queries.top_events(warehouse, scope, 8),
        "top_pages": lambda: queries.top_pages(warehouse, scope, 8),
        "whole overview": lambda: project_overview(warehouse, 1, days=days),
    }
    return {name: timed(step, runs) for name, step in steps.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--data", type=Path, default=Path("/tmp/loopwise-bench.duckdb"))
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    fresh = not args.data.exists()
    warehouse = open_warehouse(f"duckdb://{args.data.resolve()}", default_timeout_s=600)
    warehouse.migrate()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    if fresh:
        summary = load_demo(warehouse, 1, users=args.users, days=args.days, seed=42)
        rate = summary.events / summary.elapsed_seconds
        print(
            f"demo load: {summary.events:,} events from {summary.persons:,} people "
            f"in {summary.elapsed_seconds:.1f} s ({rate:,.0f} events/s)"
        )
    total = warehouse.query("SELECT count(*) AS n FROM events").table.to_pylist()[0]["n"]
    print(f"events in the warehouse: {total:,}")
    print("\n| period | query | p50 ms | p95 ms |\n|---|---|---|---|")
    for days in PERIODS:
        for name, (p50, p95) in per_query(warehouse, days, args.runs).items():
            print(f"| {days} days | {name} | {p50:.0f} | {p95:.0f} |")
    warehouse.close()


if __name__ == "__main__":
    main()
