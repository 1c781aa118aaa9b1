"""Load the demo business into a project: the surface behind ``loopwise demo``.

People are processed in small groups and each generator's records are delivered in batches,
so memory stays bounded however many people are simulated (only the population itself, a
few hundred bytes per person, is held whole). Product events go to the warehouse; given
the app database's sessions, the people go to the identity service (each group before its
billing events), billing events and marketing spend to the revenue area and tickets to the
support area.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loopwise.core.audit import Actor
from loopwise.demo.contracts import (
    DEMO_ACTOR,
    Delivered,
    DemoSummary,
    DemoTarget,
    Generator,
    batch_limit,
    delivers_per_group,
    writes_app_database,
)
from loopwise.demo.generators import GENERATORS
from loopwise.demo.population import Business
from loopwise.warehouse.base import Warehouse

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["DemoSummary", "load_demo"]

BATCH_SIZE = 50_000  # records per delivery: one Arrow append each
PEOPLE_PER_STEP = 100  # people between progress reports

Progress = Callable[[int, int], None]


def load_demo(
    warehouse: Warehouse,
    project_id: int,
    *,
    users: int = 2000,
    days: int = 90,
    seed: int = 42,
    end: datetime | None = None,
    progress: Progress | None = None,
    sessions: sessionmaker[Session] | None = None,
    actor: Actor = DEMO_ACTOR,
) -> DemoSummary:
    """Simulate ``users`` people over the ``days`` before ``end`` and store their data.

    ``end`` defaults to now, truncated to the hour; the same seed, sizes and end give
    identical data. ``progress(done_people, total_people)`` is called as people finish.
    With ``sessions`` (the app database) the identity service also gets every person (their
    ids and properties), the revenue area the business's Stripe events and marketing
    spend, imported in ``actor``'s name, and the support area the people's tickets; without,
    all three are left alone.
    """
    started = time.perf_counter()
    end = end or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    business = Business.build(users=users, days=days, seed=seed, end=end)
    target = DemoTarget(warehouse, project_id, business.end, sessions, actor)
    delivered = run_generators(business, target, GENERATORS, progress)
    return DemoSummary(
        persons=len(business.people),
        events=delivered.events,
        first_timestamp=delivered.first,
        last_timestamp=delivered.last,
        elapsed_seconds=time.perf_counter() - started,
        billing_events=delivered.billing_events,
        spend_rows=delivered.spend_rows,
        identities=delivered.identities,
        tickets=delivered.tickets,
    )


def run_generators(
    business: Business,
    target: DemoTarget,
    generators: Sequence[Generator[Any]],
    progress: Progress | None = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> Delivered:
    """Run each generator over the people group by group, delivering full batches (and,
    for ``per_group`` generators, each group's records before the next generator runs).
    Generators that write to the app database are skipped when the target has none."""
    people, total = business.people, Delivered()
    if target.sessions is None:
        generators = [g for g in generators if not writes_app_database(g)]
    limits = [batch_limit(generator, batch_size) for generator in generators]
    per_group = [delivers_per_group(generator) for generator in generators]
    buffers: list[list[Any]] = [[] for _ in generators]
    if progress:
        progress(0, len(people))
    for first in range(0, len(people), PEOPLE_PER_STEP):
        group = people[first : first + PEOPLE_PER_STEP]
        for generator, buffer, limit, flush in zip(
            generators, buffers, limits, per_group, strict=True
        ):
            for record in generator.generate(business, group):
                buffer.append(record)
                if len(buffer) >= limit:
                    total += generator.deliver(target, buffer)
                    buffer.clear()
            if flush and buffer:
                total += generator.deliver(target, buffer)
                buffer.clear()
        if progress:
            progress(first + len(group), len(people))
    for generator, buffer in zip(generators, buffers, strict=True):
        if buffer:
            total += generator.deliver(target, buffer)
    return total
