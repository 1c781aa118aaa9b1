"""Time the MRR engine on a synthetic book: N customers with three years of history.

Usage:
    python benchmarks/revenue.py --customers 100000

Each customer starts a subscription at a random moment in the last three years on one of
four plans (monthly or annual, 1 to 20 seats), changes seats about twice a year, and a
third of them cancel. The engine recomputes every customer's movements and the 36 monthly
periods from scratch (the "full recompute" of the revenue metrics).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from datetime import UTC, date, datetime, timedelta

from loopwise.revenue.mrr import Conventions, Item, State, movements, periods

PLANS = [(2900, "month"), (9900, "month"), (29000, "year"), (99000, "year")]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    now = datetime(2026, 11, 27, tzinfo=UTC)
    started = time.perf_counter()
    states = book(args.customers, now)
    built = time.perf_counter() - started
    started = time.perf_counter()
    ledger = movements(states, Conventions(), "UTC", now)
    moved = time.perf_counter() - started
    starts = [date(2023 + (10 + n) // 12, (10 + n) % 12 + 1, 1) for n in range(37)]
    started = time.perf_counter()
    summary = periods(ledger, starts, date(2026, 11, 28))
    summed = time.perf_counter() - started
    print("| customers | states | changes | movements s | periods s | total s |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.customers:,} | {len(states):,} | {len(ledger.changes):,} | {moved:.1f} | "
          f"{summed:.2f} | {moved + summed:.1f} |")  # fmt: skip
    print(f"(book built in {built:.1f} s; final MRR {summary[-1].mrr / 100:,.2f})")


if __name__ == "__main__":
    main()
