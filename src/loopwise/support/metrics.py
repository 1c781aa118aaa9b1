"""Support metrics of a project: how fast tickets are answered and solved, how long
requesters wait, how many come back, SLA attainment, satisfaction and what the copilot
takes off the team, overall, per agent and per team.

The figures cover the tickets *created* in ``[start, end)`` (one cohort, so every rate
has the same tickets in its numerator and denominator); the backlog is a snapshot at
``now``. Rows are read with a few selects scoped to the project and computed here in
Python: a project has at most tens of thousands of tickets a month. All times are
calendar time, not business hours. Definitions in docs/metrics/support.md; what tickets
are about (volume per category, trending categories, the monthly top issues) is in
``report.py``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from loopwise.core.errors import InvalidInput
from loopwise.support.models import SupportAction, Ticket, TicketChange

UNSOLVED = ("new", "open", "pending")
SOLVED = frozenset({"solved", "closed"})
WAITING = frozenset({"new", "open"})  # the requester waits on the team (Zendesk)
DAY = timedelta(days=1)
# Backlog age buckets: [0, 1 day), [1, 3 days), [3, 7 days), 7 days and more.
AGE_BUCKETS = (("<1d", DAY), ("1-3d", 3 * DAY), ("3-7d", 7 * DAY), (">7d", None))
VERDICTS = ("accepted", "edited", "rejected")


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Durations:
    """Seconds from a ticket's creation to an event, over the tickets that reached it.
    Median and p90 interpolate linearly between the nearest values (R-7)."""

    count: int
    median: float | None
    p90: float | None
    mean: float | None


@dataclass(frozen=True)
class Ratio:
    part: int
    whole: int

    @property
    def rate(self) -> float | None:
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class Sla:
    """Tickets with a target: met, breached, or still running (not done, not yet due)."""

    met: int
    breached: int
    running: int

    @property
    def achieved(self) -> float | None:
        """Met over decided (met + breached), as Zendesk's SLA achievement rate."""
        decided = self.met + self.breached
        return self.met / decided if decided else None


@dataclass(frozen=True)
class Suggestions:
    """Agents' verdicts on suggested replies."""

    accepted: int
    edited: int
    rejected: int

    @property
    def total(self) -> int:
        return self.accepted + self.edited + self.rejected

    @property
    def acceptance_rate(self) -> float | None:
        return self.accepted / self.total if self.total else None

    @property
    def edited_share(self) -> float | None:
        return self.edited / self.total if self.total else None


@dataclass(frozen=True)
class Backlog:
    """Unsolved tickets at ``now``: ``counts[status][age bucket]``, every key present."""

    counts: dict[str, dict[str, int]]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def by_status(self) -> dict[str, int]:
        return {status: sum(ages.values()) for status, ages in self.counts.items()}

    @property
    def by_age(self) -> dict[str, int]:
        return {b: sum(ages[b] for ages in self.counts.values()) for b, _ in AGE_BUCKETS}


@dataclass(frozen=True)
class Figures:
    tickets: int  # created in the range
    first_response: Durations  # over the answered ones
    resolution: Durations  # over the ones solved now, to their latest solve
    requester_wait: Durations  # time in new/open until the latest solve
    reopened: Ratio  # solved tickets reopened at least once / solved tickets
    first_response_sla: Sla
    resolution_sla: Sla
    csat: Ratio  # ratings of 4 or 5 / ratings
    auto_resolved: Ratio  # solved by the copilot / tickets created
    auto_resolution_reopened: Ratio  # reopened after an auto-resolution / auto-resolved
    suggestions: Suggestions
    backlog: Backlog  # unsolved at ``now``, whenever created


@dataclass(frozen=True)
class SupportMetrics:
    start: datetime
    end: datetime  # exclusive
    now: datetime
    overall: Figures
    agents: dict[str, Figures]  # by assignee; "" is unassigned
    teams: dict[str, Figures]  # by queue; "" is no team


# --- per-ticket facts ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    """What one ticket of the cohort contributes to the figures."""

    assignee: str
    queue: str
    first_response: float | None
    resolution: float | None
    wait: float | None
    solved: bool
    reopened: bool
    first_response_sla: str  # met, breached, running, or "" without a target
    resolution_sla: str
    csat: int | None
    auto_resolved: bool
    auto_outcomes: frozenset[str]
    verdicts: tuple[str, ...]


@dataclass(frozen=True)
class _Open:
    status: str
    assignee: str
    queue: str
    age: str  # its AGE_BUCKETS label


@dataclass(frozen=True)
class _History:
    solve: datetime | None  # the latest change into solved/closed
    waited: float | None  # seconds in new/open up to that solve
    reopened: bool


def _history(created_at: datetime, changes: Sequence[tuple[datetime, str, str]]) -> _History:
    """Walk the status changes (sorted by time) from creation, when the ticket is new."""
    status, since, waited = "new", created_at, 0.0
    solve: datetime | None = None
    waited_at_solve: float | None = None
    reopened = False
    for at, old, new in changes:
        moment = max(at, since)  # a change stamped before creation happened at creation
        if status in WAITING:
            waited += (moment - since).total_seconds()
        if new in SOLVED and status not in SOLVED:
            solve, waited_at_solve = moment, waited
        reopened = reopened or (old in SOLVED and new in WAITING)
        status, since = new, moment
    return _History(solve, waited_at_solve, reopened)


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max(0.0, (end - start).total_seconds())


def _sla(done: datetime | None, due: datetime | None, now: datetime) -> str:
    if due is None:
        return ""
    if done is not None:
        return "met" if done <= due else "breached"
    return "breached" if now > due else "running"


def _age(created_at: datetime, now: datetime) -> str:
    age = now - created_at
    return next(name for name, limit in AGE_BUCKETS if limit is None or age < limit)


# --- loading ------------------------------------------------------------------------------


def created_in(project_id: int, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [Ticket.project_id == project_id, Ticket.created_at >= start, Ticket.created_at < end]


def _changes(
    session: Session, scope: list[ColumnElement[bool]]
) -> dict[int, list[tuple[datetime, str, str]]]:
    found: dict[int, list[tuple[datetime, str, str]]] = defaultdict(list)
    rows = session.execute(
        select(TicketChange.ticket_id, TicketChange.at, TicketChange.old, TicketChange.new)
        .join(Ticket, Ticket.id == TicketChange.ticket_id)
        .where(TicketChange.field == "status", *scope)
        .order_by(TicketChange.ticket_id, TicketChange.at, TicketChange.id)
    )
    for ticket_id, at, old, new in rows:
        found[ticket_id].append((at, old, new))
    return found


def _actions(
    session: Session, scope: list[ColumnElement[bool]]
) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    rows = session.execute(
        select(SupportAction.ticket_id, SupportAction.kind, SupportAction.outcome)
        .join(Ticket, Ticket.id == SupportAction.ticket_id)
        .where(*scope)
        .order_by(SupportAction.id)
    )
    for ticket_id, kind, outcome in rows:
        found[ticket_id].append((kind, outcome))
    return found


def _cohort(
    session: Session, project_id: int, start: datetime, end: datetime, now: datetime
) -> list[_Facts]:
    scope = created_in(project_id, start, end)
    changes, actions = _changes(session, scope), _actions(session, scope)
    rows = session.execute(
        select(Ticket.id, Ticket.status, Ticket.assignee, Ticket.queue, Ticket.created_at,
               Ticket.first_response_at, Ticket.solved_at, Ticket.first_response_due,
               Ticket.resolution_due, Ticket.reopens, Ticket.auto_resolved, Ticket.csat_rating)
        .where(*scope)
        .order_by(Ticket.id)
    )  # fmt: skip
    found = []
    for (id_, status, assignee, queue, created, answered, solved_at, answer_due,
         solve_due, reopens, auto, rating) in rows:  # fmt: skip
        history = _history(created, changes.get(id_, []))
        solved = status in SOLVED
        solve = (solved_at or history.solve) if solved else None
        done = actions.get(id_, [])
        found.append(_Facts(
            assignee=assignee, queue=queue,
            first_response=_seconds(created, answered),
            resolution=_seconds(created, solve),
            wait=history.waited if solved and history.solve is not None else None,
            solved=solved, reopened=reopens > 0 or history.reopened,
            # Without a reply, the first-response clock stops when the ticket is solved.
            first_response_sla=_sla(answered or solve, answer_due, now),
            resolution_sla=_sla(solve, solve_due, now),
            csat=rating if rating is not None and 1 <= rating <= 5 else None,
            auto_resolved=auto,
            auto_outcomes=frozenset(o for k, o in done if k == "auto_resolution"),
            verdicts=tuple(o for k, o in done if k == "suggestion" and o in VERDICTS),
        ))  # fmt: skip
    return found


def _backlog_rows(session: Session, project_id: int, now: datetime) -> list[_Open]:
    rows = session.execute(
        select(Ticket.status, Ticket.assignee, Ticket.queue, Ticket.created_at).where(
            Ticket.project_id == project_id,
            Ticket.status.in_(UNSOLVED),
            Ticket.created_at <= now,
        )
    )
    return [_Open(s, a, q, _age(created, now)) for s, a, q, created in rows]


# --- aggregation --------------------------------------------------------------------------


def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values, linear between the two nearest ranks (R-7, as
    PostgreSQL's ``percentile_cont`` and spreadsheets' PERCENTILE.INC)."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def durations(values: Iterable[float | None]) -> Durations:
    """Count, median, p90 and mean of the values that are not None, to the microsecond."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return Durations(0, None, None, None)
    median, p90 = quantile(ordered, 0.5), quantile(ordered, 0.9)
    mean = math.fsum(ordered) / len(ordered)
    return Durations(len(ordered), round(median, 6), round(p90, 6), round(mean, 6))


def _sla_counts(states: Iterable[str]) -> Sla:
    counted = Counter(states)
    return Sla(counted["met"], counted["breached"], counted["running"])


def _backlog(rows: Iterable[_Open]) -> Backlog:
    counts = {status: dict.fromkeys((b for b, _ in AGE_BUCKETS), 0) for status in UNSOLVED}
    for row in rows:
        counts[row.status][row.age] += 1
    return Backlog(counts)


def _figures(tickets: Sequence[_Facts], backlog: Iterable[_Open]) -> Figures:
    solved = [t for t in tickets if t.solved]
    ratings = [t.csat for t in tickets if t.csat is not None]
    automated = [t for t in tickets if t.auto_resolved or t.auto_outcomes]
    verdicts = Counter(v for t in tickets for v in t.verdicts)
    return Figures(
        tickets=len(tickets),
        first_response=durations(t.first_response for t in tickets),
        resolution=durations(t.resolution for t in solved),
        requester_wait=durations(t.wait for t in solved),
        reopened=Ratio(sum(t.reopened for t in solved), len(solved)),
        first_response_sla=_sla_counts(t.first_response_sla for t in tickets),
        resolution_sla=_sla_counts(t.resolution_sla for t in tickets),
        csat=Ratio(sum(r >= 4 for r in ratings), len(ratings)),
        auto_resolved=Ratio(sum(t.auto_resolved for t in tickets), len(tickets)),
        auto_resolution_reopened=Ratio(
            sum("reopened" in t.auto_outcomes for t in automated), len(automated)
        ),
        suggestions=Suggestions(*(verdicts[v] for v in VERDICTS)),
        backlog=_backlog(backlog),
    )


def _per(tickets: Sequence[_Facts], backlog: Sequence[_Open], team: bool) -> dict[str, Figures]:
    cohort: dict[str, list[_Facts]] = defaultdict(list)
    for ticket in tickets:
        cohort[ticket.queue if team else ticket.assignee].append(ticket)
    waiting: dict[str, list[_Open]] = defaultdict(list)
    for row in backlog:
        waiting[row.queue if team else row.assignee].append(row)
    names = sorted(cohort.keys() | waiting.keys())
    return {name: _figures(cohort.get(name, []), waiting.get(name, [])) for name in names}


def check_utc(**moments: datetime) -> None:
    for name, moment in moments.items():
        if moment.tzinfo is None:
            raise InvalidInput(name, "give a time-zone aware (UTC) time")


def support_metrics(
    session: Session, project_id: int, start: datetime, end: datetime, now: datetime
) -> SupportMetrics:
    """The figures of the tickets created in [start, end), overall, per agent and per
    team, with the backlog at ``now`` (the current statuses, so ``now`` is the present)."""
    check_utc(start=start, end=end, now=now)
    if end <= start:
        raise InvalidInput("end", "the range must end after it starts")
    tickets = _cohort(session, project_id, start, end, now)
    backlog = _backlog_rows(session, project_id, now)
    return SupportMetrics(
        start=start, end=end, now=now, overall=_figures(tickets, backlog),
        agents=_per(tickets, backlog, team=False), teams=_per(tickets, backlog, team=True),
    )  # fmt: skip
