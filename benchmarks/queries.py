"""Time the product-analytics runners on the demo data set, on DuckDB and chDB.

Usage:
    python benchmarks/demo_and_dashboard.py --users 100000 --days 180 --data /tmp/bench.duckdb
    python benchmarks/queries.py --duckdb /tmp/bench.duckdb --chdb /tmp/bench-chdb

The chDB copy is made from the DuckDB file on first use (the same rows, appended in
batches), then reused. Each query runs once to warm up, then ``--runs`` times; the
figures are the median and 95th percentile in milliseconds, calling the facade directly
(no result cache).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
from rich.progress import Progress

from loopwise.product.contracts import FunnelQuery, RetentionQuery, TrendsQuery
from loopwise.product.facade import run_query
from loopwise.warehouse import Warehouse, open_warehouse

PROJECT = 1
QUERIES: dict[str, TrendsQuery | FunnelQuery | RetentionQuery] = {
    "trends: daily unique persons, 90 days, by $browser": TrendsQuery.model_validate(
        {
            "series": [{"math": "unique_persons"}],
            "date_range": {"last_days": 90},
            "breakdown": {"property": "$browser", "limit": 10},
        }
    ),
    "funnel: $pageview → recipe_created → recipe_costed, 30 days, 14-day window": (
        FunnelQuery.model_validate(
            {
                "steps": [
                    {"event": "$pageview"},
                    {"event": "recipe_created"},
                    {"event": "recipe_costed"},
                ],
                "date_range": {"last_days": 30},
            }
        )
    ),
    "funnel: signed_up → onboarding_completed → recipe_created, 90 days": (
        FunnelQuery.model_validate(
            {
                "steps": [
                    {"event": "signed_up"},
                    {"event": "onboarding_completed"},
                    {"event": "recipe_created"},
                ],
                "date_range": {"last_days": 90},
            }
        )
    ),
    "retention: any event, 8 weeks, first time": RetentionQuery.model_validate(
        {"period": "week", "periods": 8}
    ),
    "retention: any event, 8 weeks, recurring": RetentionQuery.model_validate(
        {"period": "week", "periods": 8, "cohorting": "recurring"}
    ),
}


def timed(action: Callable[[], object], runs: int) -> tuple[float, float]:
    action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), statistics.quantiles(samples, n=20)[18]


def copy_to_chdb(source: Path, target: str) -> Warehouse:
    """The DuckDB file's events and person overrides, appended to a chDB database."""
    store = open_warehouse(f"chdb://{target}?database=bench")
    store.migrate()
    have = store.query("SELECT toInt64(count()) AS n FROM events").table.column("n")[0].as_py()
    con = duckdb.connect(str(source), read_only=True)
    total = con.sql("SELECT count(*) FROM events").fetchall()[0]
    if have == total[0]:
        con.close()
        return store
    if have:
        raise SystemExit(f"{target} holds {have} events, not {total[0]}: remove it first")
    reader = con.sql("SELECT * FROM events").to_arrow_reader(500_000)
    with Progress() as progress:
        task = progress.add_task("copying events to chDB", total=total[0])
        for batch in reader:
            store.append("events", pa.Table.from_batches([batch]))
            progress.advance(task, batch.num_rows)
    con.close()
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duckdb", type=Path, default=Path("/tmp/bench.duckdb"))
    parser.add_argument("--chdb", default="")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    engines = {"chdb": copy_to_chdb(args.duckdb, args.chdb)} if args.chdb else {}
    engines = {"duckdb": open_warehouse(f"duckdb://{args.duckdb}"), **engines}
    print("| query | engine | p50 ms | p95 ms |\n|---|---|---|---|")
    for name, query in QUERIES.items():
        for engine, store in engines.items():
            p50, p95 = timed(
                lambda store=store, query=query: run_query(store, PROJECT, query, "UTC"),
                args.runs,
            )
            print(f"| {name} | {engine} | {p50:,.0f} | {p95:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
