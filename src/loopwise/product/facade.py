"""The product-analytics surface other areas and the web layer use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from loopwise.core.errors import InvalidInput
from loopwise.product.contracts import (
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
from loopwise.product.queries.events import top_event_names
from loopwise.product.queries.funnels import funnel_persons
from loopwise.product.queries.lifecycle import lifecycle_persons
from loopwise.product.queries.paths import path_persons
from loopwise.product.queries.person_activity import person_activity as activity_of
from loopwise.product.queries.retention import retention_persons
from loopwise.product.queries.stickiness import stickiness_persons
from loopwise.product.queries.trends import trend_persons
from loopwise.warehouse import Warehouse

# core_features_of(session, warehouse, project_id, person_id) -> CoreAdoption: which of the
# project's core features a person has used ("3 of 10"), for the user 360 and health scores.
__all__ = [
    "PersonActivity",
    "core_features_of",
    "event_names",
    "person_activity",
    "persons_in",
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
