"""What crosses the demo area's boundary: the summary of a load, and the generator contract.

A generator turns the simulated ``Business`` into one kind of data (product events today;
subscriptions, marketing spend, support tickets, API usage later) and delivers it through
the owning area's public write path. See README.md for adding one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from loopwise.demo.population import Business, SimPerson
    from loopwise.warehouse.base import Warehouse

RecordT = TypeVar("RecordT")


@dataclass(frozen=True)
class DemoSummary:
    """What ``load_demo`` wrote: people simulated, events stored and their time span."""

    persons: int
    events: int
    first_timestamp: datetime | None
    last_timestamp: datetime | None
    elapsed_seconds: float


@dataclass(frozen=True)
class DemoTarget:
    """Where generated data goes. ``received_at`` stamps every record, so that a seed
    reproduces identical rows."""

    warehouse: Warehouse
    project_id: int
    received_at: datetime


@dataclass(frozen=True)
class Delivered:
    """What one delivery stored: warehouse event rows and their time span (if any)."""

    events: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def __add__(self, other: Delivered) -> Delivered:
        return Delivered(
            self.events + other.events,
            _earliest(self.first, other.first),
            _latest(self.last, other.last),
        )


class Generator(Protocol[RecordT]):
    """Produces one kind of demo data from the business and delivers it in batches.

    ``generate`` must depend only on the business and the people given (draw from a random
    stream seeded with ``business.seed``, a stream number of its own and the person's
    ``index``), so that a seed gives the same data however the people are chunked.
    """

    @property
    def name(self) -> str: ...

    def generate(self, business: Business, people: Sequence[SimPerson]) -> Iterator[RecordT]:
        """Yield the records of these people, streaming: never the whole population's."""
        ...

    def deliver(self, target: DemoTarget, records: Sequence[RecordT]) -> Delivered:
        """Write one batch through the owning area's public write path."""
        ...


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)
