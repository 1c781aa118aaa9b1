"""The product-analytics surface other areas and the web layer use."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from loopwise.core.audit import Actor
from loopwise.core.errors import InvalidInput
from loopwise.product.cohorts import CohortInfo, add_to_static_cohort, get_cohort, list_cohorts
from loopwise.product.contracts import (
    ActivitySignals,
    FunnelPersonsQuery,
    LifecyclePersonsQuery,
    PathPersonsQuery,
    PersonActivity,
    PersonsPage,
    PersonsQuery,
    Query,
    Result,
    RetentionPersonsQuery,
    StickinessPersonsQuery,
)
from loopwise.product.features import core_features_of, list_features
from loopwise.product.queries import RUNNERS
from loopwise.product.queries.did_event import persons_who_did as who_did
from loopwise.product.queries.events import top_event_names
from loopwise.product.queries.funnels import funnel_persons
from loopwise.product.queries.lifecycle import lifecycle_persons
from loopwise.product.queries.paths import path_persons
from loopwise.product.queries.person_activity import person_activity as activity_of
from loopwise.product.queries.person_sessions import (
    ProductError,
    ProductSession,
    RawEvent,
)
from loopwise.product.queries.person_sessions import active_days as active_days_of
from loopwise.product.queries.person_sessions import person_sessions as sessions_of
from loopwise.product.queries.person_sessions import recent_events as recent_of
from loopwise.product.queries.person_signals import activity_signals as signals_of
from loopwise.product.queries.retention import retention_persons
from loopwise.product.queries.stickiness import stickiness_persons
from loopwise.product.queries.trends import trend_persons
from loopwise.warehouse import Warehouse

# core_features_of(session, warehouse, project_id, person_id) -> CoreAdoption: which of the
# project's core features a person has used ("3 of 10"), for the user 360 and health scores.
__all__ = [
    "ActivitySignals",
    "CohortInfo",
    "PersonActivity",
    "ProductError",
    "ProductSession",
    "RawEvent",
    "active_days",
    "activity_signals",
    "add_to_cohort",
    "cohort",
    "cohorts",
    "core_features_of",
    "event_names",
    "list_features",
    "person_activity",
    "person_sessions",
    "persons_in",
    "persons_who_did",
    "recent_events",
    "run_query",
]


def run_query(
    warehouse: Warehouse,
    project_id: int,
    query: Query,
    timezone: str,
    *,
    now: datetime | None = None,
) -> Result:
    """Answer a query object with the runner registered for its ``kind``."""
    runner = RUNNERS[query.kind]
    result: Result = runner(warehouse, project_id, query, timezone, now=now)
    return result


def event_names(warehouse: Warehouse, project_id: int, *, limit: int = 200) -> list[str]:
    """The project's event names, most frequent first (last 90 days), for pickers."""
    return top_event_names(warehouse, project_id, limit)


def persons_in(
    warehouse: Warehouse,
    project_id: int,
    request: PersonsQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> PersonsPage:
    """The persons behind one number: a trend's bucket or breakdown value, a funnel step
    (reached or dropped off), a retention cell, a stickiness bar or a lifecycle status in
    a bucket; paged."""
    if isinstance(request, FunnelPersonsQuery):
        return funnel_persons(warehouse, project_id, request, timezone, now=now)
    if isinstance(request, RetentionPersonsQuery):
        return retention_persons(warehouse, project_id, request, timezone, now=now)
    if isinstance(request, StickinessPersonsQuery):
        return stickiness_persons(warehouse, project_id, request, timezone, now=now)
    if isinstance(request, LifecyclePersonsQuery):
        return lifecycle_persons(warehouse, project_id, request, timezone, now=now)
    if isinstance(request, PathPersonsQuery):
        return path_persons(warehouse, project_id, request, timezone, now=now)
    return trend_persons(warehouse, project_id, request, timezone, now=now)


MAX_ACTIVITY_DAYS = 366


def person_activity(
    warehouse: Warehouse,
    session: Session,
    project_id: int,
    person_id: str,
    now: datetime,
    *,
    days: int = 30,
) -> PersonActivity:
    """What one person did up to ``now`` (merged ids included): last seen, events and errors
    of the last 7 days, events, sessions and top events of the last ``days``, the latest
    events and errors, and which of the project's features they used in those days."""
    if not 1 <= days <= MAX_ACTIVITY_DAYS:
        raise InvalidInput("days", f"is 1 to {MAX_ACTIVITY_DAYS}")
    if now.utcoffset() is None:
        raise InvalidInput("now", "must be timezone-aware")
    features = list_features(session, project_id)
    return activity_of(warehouse, project_id, person_id, now, features, days=days)


def activity_signals(
    warehouse: Warehouse,
    session: Session,
    project_id: int,
    now: datetime,
    person_ids: Sequence[str] | None = None,
) -> dict[str, ActivitySignals]:
    """What every person of the project did up to ``now`` (or only ``person_ids``), in two
    warehouse statements: first and last seen, active days, events this week against their
    usual week, sessions, errors and the features they used in 30 days (merged ids count
    for the survivor). Persons without events are left out."""
    if now.utcoffset() is None:
        raise InvalidInput("now", "must be timezone-aware")
    features = list_features(session, project_id)
    return signals_of(warehouse, project_id, now, features, person_ids)


def _aware(**moments: datetime) -> None:
    for name, moment in moments.items():
        if moment.utcoffset() is None:
            raise InvalidInput(name, "must be timezone-aware")


def person_sessions(
    warehouse: Warehouse,
    session: Session,
    project_id: int,
    person_id: str,
    start: datetime,
    end: datetime,
    *,
    horizon: datetime | None = None,
    merged: Sequence[str] | None = None,
) -> list[ProductSession | ProductError]:
    """One person's sessions that started in [start, end) (when, how long, how many
    events, the most frequent ones; events without a session id grouped by 30 minutes of
    inactivity) and their ``$exception`` events in the range, newest first, merged ids
    included, in one warehouse statement. Events at or after ``horizon`` are not read.
    ``merged``: the person ids merged into this person, when the caller has them from the
    identity service (saves reading them from the warehouse's override map). ``session``
    is the app database's, for symmetry with the other person queries."""
    _aware(start=start, end=end, **({"horizon": horizon} if horizon else {}))
    if not start < end:
        raise InvalidInput("end", "comes after start")
    return sessions_of(warehouse, project_id, person_id, start, end, horizon=horizon,
                       merged=merged)  # fmt: skip


def active_days(
    warehouse: Warehouse, project_id: int, person_id: str, start: datetime, end: datetime,
    timezone: str, *, merged: Sequence[str] | None = None,
) -> int:  # fmt: skip
    """How many calendar days (in ``timezone``) of [start, end) the person had events on
    (merged ids included; ``merged`` as for ``person_sessions``)."""
    _aware(start=start, end=end)
    return active_days_of(warehouse, project_id, person_id, start, end, timezone, merged=merged)


def recent_events(
    warehouse: Warehouse, project_id: int, person_id: str, now: datetime, limit: int = 50,
    *, merged: Sequence[str] | None = None,
) -> list[RawEvent]:  # fmt: skip
    """The person's latest events up to ``now`` (the last 30 days), newest first, with
    their distinct id and every property (merged ids included; ``merged`` as for
    ``person_sessions``)."""
    _aware(now=now)
    if not 1 <= limit <= 500:
        raise InvalidInput("limit", "is 1 to 500")
    return recent_of(warehouse, project_id, person_id, now, limit, merged=merged)


def persons_who_did(
    warehouse: Warehouse,
    project_id: int,
    event: str,
    start: datetime,
    end: datetime,
    min_count: int = 1,
) -> set[str]:
    """The persons with at least ``min_count`` ``event`` events in [start, end), merged ids
    counting for the person they were merged into (the people list's behaviour filter)."""
    return who_did(warehouse, project_id, event, start, end, min_count)


def cohorts(session: Session, project_id: int) -> list[CohortInfo]:
    """The project's cohorts, by name."""
    return list_cohorts(session, project_id)


def cohort(session: Session, project_id: int, cohort_id: int) -> CohortInfo:
    """One cohort of the project; ``NotFound`` for another project's."""
    return get_cohort(session, project_id, cohort_id)


def add_to_cohort(
    session: Session,
    actor: Actor,
    project_id: int,
    person_ids: list[str],
    *,
    cohort_id: int | None = None,
    name: str = "",
) -> CohortInfo:
    """Add persons to the static cohort ``cohort_id`` (members already in it stay once), or
    to a new static cohort called ``name``; a cohort defined by criteria takes none."""
    return add_to_static_cohort(session, actor, project_id, person_ids, cohort_id=cohort_id,
                                name=name)  # fmt: skip
