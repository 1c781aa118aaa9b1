"""What crosses the demo area's boundary: the summary of a load, and the generator contract.

A generator turns the simulated ``Business`` into one kind of data (the people's
identities, product events, Stripe billing events, marketing spend, support tickets; API
usage later) and delivers it through the owning area's public write path. See README.md
for adding one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from loopwise.core.audit import Actor
from loopwise.core.errors import InvalidInput

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from loopwise.demo.population import Business, SimPerson
    from loopwise.warehouse.base import Warehouse

RecordT = TypeVar("RecordT")


DEMO_ACTOR = Actor("demo")


@dataclass(frozen=True)
class DemoSummary:
    """What ``load_demo`` wrote: people simulated, events stored and their time span, and
    in the app database the people registered with the identity service, the billing
    events applied, the marketing-spend rows imported and the support tickets recorded
    (0 when it was not given)."""

    persons: int
    events: int
    first_timestamp: datetime | None
    last_timestamp: datetime | None
    elapsed_seconds: float
    billing_events: int = 0
    spend_rows: int = 0
    identities: int = 0
    tickets: int = 0


@dataclass(frozen=True)
class DemoTarget:
    """Where generated data goes. ``received_at`` stamps every record, so that a seed
    reproduces identical rows. ``sessions`` opens the app database (None: generators that
    write there are skipped); ``actor`` is who the audit log says imported the data."""

    warehouse: Warehouse
    project_id: int
    received_at: datetime
    sessions: sessionmaker[Session] | None = None
    actor: Actor = DEMO_ACTOR

    def app_database(self) -> sessionmaker[Session]:
        """The app database's sessions, for generators that write there."""
        if self.sessions is None:
            raise InvalidInput("sessions", "this demo load has no app database")
        return self.sessions


@dataclass(frozen=True)
class Delivered:
    """What one delivery stored: warehouse event rows and their time span (if any),
    billing events applied, spend rows imported, people registered and tickets recorded."""

    events: int = 0
    first: datetime | None = None
    last: datetime | None = None
    billing_events: int = 0
    spend_rows: int = 0
    identities: int = 0
    tickets: int = 0

    def __add__(self, other: Delivered) -> Delivered:
        return Delivered(
            self.events + other.events,
            _earliest(self.first, other.first),
            _latest(self.last, other.last),
            self.billing_events + other.billing_events,
            self.spend_rows + other.spend_rows,
            self.identities + other.identities,
            self.tickets + other.tickets,
        )


class Generator(Protocol[RecordT]):
    """Produces one kind of demo data from the business and delivers it in batches.

    ``generate`` must depend only on the business and the people given (draw from a random
    stream seeded with ``business.seed``, a stream number of its own and the person's
    ``index``), so that a seed gives the same data however the people are chunked.

    Optional class attributes: ``app_database = True`` for a generator that writes to
    the app database (skipped when the target has no ``sessions``), ``batch_size`` for
    one whose records are too large for the default batch, and ``per_group = True`` for
    one whose records later generators' write paths look up (the identities billing
    customers link to): each group of people's records is delivered before the next
    generator runs over that group.
    """

    @property
    def name(self) -> str: ...

    def generate(self, business: Business, people: Sequence[SimPerson]) -> Iterator[RecordT]:
        """Yield the records of these people, streaming: never the whole population's."""
        ...

    def deliver(self, target: DemoTarget, records: Sequence[RecordT]) -> Delivered:
        """Write one batch through the owning area's public write path."""
        ...


def writes_app_database(generator: Generator[RecordT]) -> bool:
    """Whether the generator delivers to the app database (``app_database = True``)."""
    return bool(getattr(generator, "app_database", False))


def delivers_per_group(generator: Generator[RecordT]) -> bool:
    """Whether each group's records are delivered before the next generator runs."""
    return bool(getattr(generator, "per_group", False))


def batch_limit(generator: Generator[RecordT], default: int) -> int:
    """Records per delivery: the generator's own ``batch_size`` if smaller."""
    own = getattr(generator, "batch_size", None)
    return min(default, own) if isinstance(own, int) and own > 0 else default


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)
