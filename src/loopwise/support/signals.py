"""What support knows about every person of a project at once: their open tickets and the
tickets they raised lately, for the people list and health scores.

One grouped statement over the project's tickets (or over a few persons' through the
person index): ``open_tickets`` are tickets whose status is unsolved now (new, open or
pending), ``tickets_30d`` those created in the 30 days before now, and
``negative_tickets_30d`` those of them whose sentiment triage found negative. A ticket of a
person since merged into another counts for the survivor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from loopwise.support.contracts import UNSOLVED
from loopwise.support.models import Ticket

RECENT_DAYS = 30
CHUNK = 10_000  # values per IN list (SQLite binds at most 32,766)


@dataclass(frozen=True)
class TicketSignals:
    open_tickets: int
    tickets_30d: int
    negative_tickets_30d: int


def ticket_signals(
    session: Session,
    project_id: int,
    now: datetime,
    person_ids: Sequence[str] | None = None,
    *,
    merged: Mapping[str, str] | None = None,
) -> dict[str, TicketSignals]:
    """The signals of every person with a ticket (or of ``person_ids``), keyed by person
    id; ``merged`` maps merged-away person ids to their survivor."""
    aliases = dict(merged or {})
    recent = (Ticket.created_at >= now - timedelta(days=RECENT_DAYS)) & (Ticket.created_at <= now)
    query = (
        select(
            Ticket.person_id,
            _count(Ticket.status.in_(UNSOLVED)),
            _count(recent),
            _count(recent & (Ticket.sentiment == "negative")),
        )
        .where(Ticket.project_id == project_id)
        .where(Ticket.person_id != "")
        .group_by(Ticket.person_id)
    )
    rows: list[Any] = []
    keep = None if person_ids is None else set(person_ids)
    if keep is None:
        rows += session.execute(query).all()
    else:
        ids = keep | {old for old, new in aliases.items() if new in keep}
        for part in _chunks(ids):
            rows += session.execute(query.where(Ticket.person_id.in_(part))).all()
    totals: dict[str, list[int]] = {}
    for person, *counts in rows:
        survivor = aliases.get(person, person)
        if keep is not None and survivor not in keep:
            continue
        sums = totals.setdefault(survivor, [0, 0, 0])
        for i, n in enumerate(counts):
            sums[i] += int(n or 0)
    return {person: TicketSignals(*sums) for person, sums in totals.items()}


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(values)
    for first in range(0, len(ordered), CHUNK):
        yield ordered[first : first + CHUNK]
