"""Backtest the revenue forecast on the demo business: MAPE of the base scenario at 3 months.

Usage:
    python benchmarks/forecast_backtest.py --users 2000 --days 540
    python benchmarks/forecast_backtest.py --users 2000 --days 540 --seeds 42 7 11

Loads the demo (``load_demo``, with its Stripe history) into a temporary data directory
for each seed, then runs ``revenue_forecast``: for every complete month with three months
before it and three complete months after it, the base model fitted on what was known then
is compared with the MRR that followed. Prints each seed's points and MAPE, and the MAPE
over all seeds' points, as a Markdown table for docs/benchmarks.md. The demo's accounts
that began before its period have no churn drawn there, so the MAPE is also given over the
points whose three months of rates lie wholly inside the simulated period.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from loopwise.core.audit import Actor
from loopwise.core.db import transaction
from loopwise.core.settings import load_settings
from loopwise.demo import load_demo
from loopwise.revenue.facade import revenue_forecast
from loopwise.web.context import open_context

ACTOR = Actor(label="benchmark")


def one_seed(users: int, days: int, seed: int, end: datetime) -> list[tuple[str, Decimal, Decimal]]:
    work = Path(tempfile.mkdtemp(prefix="lw-bench-fc-"))
    settings = load_settings(
        data_dir=work / "data", database_url=f"sqlite:///{work / 'app.db'}",
        warehouse_url=f"duckdb:///{work / 'events.duckdb'}",
        secret_key="benchmark-secret-" + "x" * 32, scheduler="off",
    )  # fmt: skip
    context = open_context(settings)
    try:
        from loopwise.core import accounts

        with transaction(context.sessions) as session:
            project = accounts.create_project(session, ACTOR, "Demo")
        started = time.perf_counter()
        load_demo(context.warehouse, project.id, users=users, days=days, seed=seed, end=end,
                  sessions=context.sessions, actor=ACTOR)  # fmt: skip
        loaded = time.perf_counter() - started
        with transaction(context.sessions) as session:
            found = revenue_forecast(session, project.id, "UTC", now=end)
        points = [(m.strftime("%Y-%m"), f, a) for m, f, a in found.backtest.points]
        mape = found.backtest.mape
        print(f"\n### seed {seed}: demo loaded in {loaded:.0f} s; "
              f"{len(found.history)} complete months; MAPE "
              f"{'—' if mape is None else f'{mape * 100:.1f} %'}\n")  # fmt: skip
        print("| month | forecast 3 months before | actual | error |")
        print("|---|---:|---:|---:|")
        for month, forecast, actual in points:
            error = abs(actual - forecast) / actual * 100 if actual else None
            print(f"| {month} | {forecast / 100:,.0f} | {actual / 100:,.0f} | "
                  f"{'—' if error is None else f'{error:.1f} %'} |")  # fmt: skip
        return points
    finally:
        context.close()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--days", type=int, default=540)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    args = parser.parse_args()
    end = datetime(2026, 11, 1, tzinfo=UTC)  # a month's start: every month before is whole
    print(f"Machine: {platform.platform()}, Python {platform.python_version()}; demo "
          f"{args.users:,} users over {args.days} days ending {end.date()}")  # fmt: skip
    start = end - timedelta(days=args.days)
    first_whole = _month(start.year * 12 + start.month)  # the first whole month simulated
    # A forecast for month m learns from months m-5 to m-3.
    inside = _month(int(first_whole[:4]) * 12 + int(first_whole[5:]) - 1 + 5)
    errors: list[Decimal] = []
    errors_inside: list[Decimal] = []
    for seed in args.seeds:
        for month, forecast, actual in one_seed(args.users, args.days, seed, end):
            if actual:
                errors.append(abs(actual - forecast) / actual)
                if month >= inside:
                    errors_inside.append(errors[-1])
    for label, found in (("all points", errors), (f"points from {inside}", errors_inside)):
        if found:
            mape = sum(found, Decimal(0)) / len(found) * 100
            print(f"\nBase scenario, 3 months ahead, {label}: MAPE {mape:.1f} % "
                  f"over {len(found)} points")  # fmt: skip


def _month(index: int) -> str:
    """``YYYY-MM`` of a month counted as year * 12 + month - 1."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


if __name__ == "__main__":
    main()
