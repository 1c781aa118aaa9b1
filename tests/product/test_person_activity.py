"""One person's activity against hand-worked answers, on DuckDB and chDB (features stored
in SQLite and PostgreSQL): counts, sessions, errors, features, merges, other persons and
projects left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loopwise.core.db import transaction
from loopwise.core.errors import InvalidInput
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import KnownPerson, capture, register_people
from loopwise.ingest.ids import person_id_for
from loopwise.product.contracts import FeatureIn
from loopwise.product.facade import PersonActivity, person_activity
from loopwise.product.features import create_feature
from loopwise.warehouse import Warehouse
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, build_events, create_project

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
FEATURES = [
    FeatureIn(name="Export", events=["export"], is_core=True),
    FeatureIn(name="Share", events=["share"], is_core=True),
    FeatureIn(name="Views", events=["view", "$pageview"]),
]
NEW_ERROR = {"$exception_list": [{"type": "TypeError", "value": "x is undefined\n  at f()"}],
             "$current_url": "https://app.x.io/billing"}  # fmt: skip
OLD_ERROR = {"$exception_type": "ValueError", "$exception_message": "bad input",
             "path": "/settings"}  # fmt: skip
# (distinct id, event, when, session, properties)
EVENTS: list[tuple[str, str, datetime, str, dict[str, Any]]] = [
    ("anon-1", "$pageview", NOW - 3 * DAY, "s1", {}),  # merged into ann
    ("ann", "$pageview", NOW - 2 * DAY, "s1", {}),
    ("ann", "export", NOW - 2 * DAY + HOUR, "s1", {}),
    ("ann", "$exception", NOW - DAY, "s3", NEW_ERROR),
    ("ann", "$exception", NOW - 8 * DAY, "s4", OLD_ERROR),
    ("ann", "export", NOW - 10 * DAY, "s2", {}),
    ("ann", "view", NOW - 20 * DAY, "", {}),  # no session
    ("ann", "signup", NOW - 40 * DAY, "s0", {}),  # before the 30 days
    ("ann", "export", NOW + HOUR, "s9", {}),  # after now
    ("bob", "share", NOW - DAY, "s5", {}),
    ("bob", "$exception", NOW - DAY, "s5", NEW_ERROR),
    ("cy", "view", NOW - 100 * DAY, "s6", {}),
    ("dee", "view", NOW - 400 * DAY, "s7", {}),  # more than a year ago
    ("eve", "share", NOW - 5 * DAY, "s8", {}),
    # eve's twelve other events, twice each: more names than the top five and features
    *[("eve", f"e{n:02d}", NOW - (n + 1) * HOUR * k, "s8", {}) for n in range(12) for k in (1, 2)],
]


@pytest.fixture
def project(context: AppContext, warehouse: Warehouse) -> int:
    made = create_project(context)
    rows = [
        CaptureEvent(event=name, distinct_id=who, timestamp=when,
                     properties={**props, "$session_id": session} if session else props)
        for who, name, when, session, props in EVENTS
    ]  # fmt: skip
    capture(warehouse, made.id, rows, received_at=NOW)
    # Another project's events carrying ann's very person id are not hers.
    ann = person_id_for(made.id, "ann")
    elsewhere = [{"project_id": made.id + 1, "person_id": ann, "event": "export",
                  "timestamp": NOW - DAY, "session_id": "x"}] * 3  # fmt: skip
    warehouse.append("events", build_events(elsewhere))
    register_people(context.sessions, warehouse, made.id,
                    [KnownPerson(distinct_id="ann", other_ids=["anon-1"])])  # fmt: skip
    with transaction(context.sessions) as session:
        for feature in FEATURES:
            create_feature(session, TEST_ACTOR, made.id, feature)
    return made.id


def activity(
    context: AppContext, warehouse: Warehouse, project: int, who: str, days: int = 30
) -> PersonActivity:
    with transaction(context.sessions) as session:
        return person_activity(warehouse, session, project, person_id_for(project, who), NOW,
                               days=days)  # fmt: skip


def test_the_activity_of_a_person_with_a_merged_anonymous_id(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    found = activity(context, warehouse, project, "ann")
    assert found.last_seen == NOW - DAY
    assert (found.events_7d, found.events_30d, found.sessions_30d) == (4, 7, 4)
    assert found.errors_7d == 1
    assert found.recent_errors == (
        "TypeError: x is undefined on https://app.x.io/billing",
        "ValueError: bad input on /settings",
    )
    assert found.recent_events == (
        (NOW - DAY, "$exception"), (NOW - 2 * DAY + HOUR, "export"),
        (NOW - 2 * DAY, "$pageview"), (NOW - 3 * DAY, "$pageview"),
        (NOW - 8 * DAY, "$exception"), (NOW - 10 * DAY, "export"), (NOW - 20 * DAY, "view"),
    )  # fmt: skip
    assert found.top_events == (("$exception", 2), ("$pageview", 2), ("export", 2), ("view", 1))
    assert (found.features_adopted, found.features_total) == (("Export", "Views"), 3)
    assert (found.core_adopted, found.core_total) == (("Export",), 2)


def test_the_merged_away_id_has_no_activity_of_its_own(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    found = activity(context, warehouse, project, "anon-1")
    assert (found.last_seen, found.events_30d, found.recent_events) == (None, 0, ())
    assert (found.features_adopted, found.features_total) == ((), 3)


def test_other_persons_are_counted_apart_and_the_range_follows_days(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    bob = activity(context, warehouse, project, "bob")
    assert (bob.events_30d, bob.errors_7d, bob.sessions_30d) == (2, 1, 1)
    assert (bob.features_adopted, bob.core_adopted) == (("Share",), ("Share",))
    week = activity(context, warehouse, project, "ann", days=7)
    assert (week.events_30d, week.sessions_30d, len(week.recent_events)) == (4, 2, 4)
    assert week.recent_errors == ("TypeError: x is undefined on https://app.x.io/billing",)
    assert week.features_adopted == ("Export", "Views")


def test_a_person_not_seen_lately_keeps_their_last_seen_for_a_year(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    cy = activity(context, warehouse, project, "cy")
    assert cy.last_seen == NOW - 100 * DAY
    assert (cy.events_7d, cy.events_30d, cy.top_events, cy.features_adopted) == (0, 0, (), ())
    assert activity(context, warehouse, project, "dee").last_seen is None
    nobody = activity(context, warehouse, project, "nobody")
    assert (nobody.last_seen, nobody.sessions_30d) == (None, 0)


def test_the_range_is_checked(context: AppContext, warehouse: Warehouse, project: int) -> None:
    with pytest.raises(InvalidInput, match="days"):
        activity(context, warehouse, project, "ann", days=0)


def test_a_rare_feature_event_counts_among_many_frequent_names(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    eve = activity(context, warehouse, project, "eve")
    assert eve.events_30d == 25
    assert eve.top_events == (("e00", 2), ("e01", 2), ("e02", 2), ("e03", 2), ("e04", 2))
    assert (eve.features_adopted, eve.core_adopted) == (("Share",), ("Share",))
