"""Load the demo business into a fresh warehouse, then time the dashboard's queries.

Usage: python benchmarks/demo_and_dashboard.py --users 100000 --days 180 --engine duckdb
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

from loopwise.demo import load_demo
from loopwise.overview.facade import PERIODS, project_overview
from loopwise.warehouse import open_warehouse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--engine", choices=["duckdb", "chdb"], default="duckdb")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = (
            f"duckdb://{Path(folder) / 'events.duckdb'}"
            if args.engine == "duckdb"
            else f"chdb://{folder}?database=bench"
        )
        warehouse = open_warehouse(url, default_timeout_s=600, default_max_rows=1_000_000)
        warehouse.migrate()
        summary = load_demo(warehouse, 1, users=args.users, days=args.days, seed=42)
        rate = summary.events / summary.elapsed_seconds
        print(f"machine: {platform.machine()}, Python {platform.python_version()}")
        print(
            f"demo load: {summary.events:,} events from {summary.persons:,} people "
            f"in {summary.elapsed_seconds:.1f} s ({rate:,.0f} events/s)"
        )
        print("\n| query | engine | p50 ms | p95 ms |\n|---|---|---|---|")
        for days in PERIODS:
            project_overview(warehouse, 1, days=days)  # warm-up
            timings = []
            for _ in range(args.runs):
                started = time.perf_counter()
                project_overview(warehouse, 1, days=days)
                timings.append((time.perf_counter() - started) * 1000)
            p95 = statistics.quantiles(timings, n=20)[18]
            p50 = statistics.median(timings)
            print(f"| overview, {days} days | {args.engine} | {p50:.0f} | {p95:.0f} |")
        warehouse.close()


if __name__ == "__main__":
    main()
