"""Feature adoption and core features per person, against hand-worked answers, on DuckDB
and chDB (definitions stored in SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from loopwise.core.db import transaction
from loopwise.core.errors import InvalidInput
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture
from loopwise.ingest.ids import person_id_for
from loopwise.product.contracts import FeatureIn
from loopwise.product.facade import core_features_of
from loopwise.product.features import adoption_report, create_feature, list_features
from loopwise.warehouse import Warehouse
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, create_project

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
EXPORT = FeatureIn(
    name="Export", events=["export"], start_event="export_started",
    completion_event="export_done", is_core=True,
)  # fmt: skip
SHARE = FeatureIn(name="Share", events=["share"], is_core=True)


def day(month: int, number: int, hours: int = 0) -> datetime:
    return datetime(2026, month, number, 10, tzinfo=UTC) + timedelta(hours=hours)


EVENTS = [
    ("ann", "signup", day(2, 1), "pro"), ("ann", "view", day(3, 10), "pro"),
    ("ann", "export", day(3, 10), "pro"), ("ann", "export", day(3, 12), "pro"),
    ("ann", "export_started", day(3, 16), "pro"), ("ann", "export_done", day(3, 16, 2), "pro"),
    ("bob", "signup", day(3, 8), "free"), ("bob", "export", day(3, 9), "free"),
    ("cy", "view", day(3, 9), "free"), ("cy", "view", day(3, 17), "free"),
    ("dee", "share", day(3, 18), "pro"),
]  # fmt: skip


@pytest.fixture
def project(context: AppContext, warehouse: Warehouse) -> int:
    project = create_project(context)
    rows = [
        CaptureEvent(event=name, distinct_id=who, timestamp=when, properties={"plan": plan})
        for who, name, when, plan in EVENTS
    ]
    capture(warehouse, project.id, rows, received_at=NOW)
    with transaction(context.sessions) as session:
        create_feature(session, TEST_ACTOR, project.id, EXPORT)
        create_feature(session, TEST_ACTOR, project.id, SHARE)
    return project.id


def test_the_adoption_report_of_a_feature(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    with transaction(context.sessions) as session:
        export = next(f for f in list_features(session, project) if f.name == "Export")
    report = adoption_report(warehouse, export, project, "UTC", days=14, now=NOW)
    assert (report.active, report.adopters, report.rate) == (4, 2, 0.5)
    weeks = [(p.start.day, p.active, p.adopters) for p in report.adoption]
    assert weeks == [(2, 1, 0), (9, 3, 2), (16, 3, 0)]  # from Saturday 7 March
    assert report.median_days_to_first_use == 19  # ann 37 days after signing up, bob 1
    assert (report.uses_per_adopter, report.median_uses_per_adopter) == (1.5, 1.5)
    assert (report.completion_rate, report.median_seconds_to_complete) == (1.0, 7200)
    plans = {(r.group, r.persons, r.adopters) for r in report.by_plan}
    assert plans == {("pro", 2, 1), ("free", 2, 1)}
    months = [(r.group, r.persons, r.adopters) for r in report.by_signup_month]
    assert months == [("2026-02", 1, 1), ("2026-03", 3, 1)]
    did_not = next(c for c in report.retention if c.label == "Did not")
    assert did_not.persons == 1  # ann, who signed up in the first of the eight weeks
    assert did_not.shares == [1.0, 0, 0, 0, 0, 0, 1.0, 1.0]


def test_core_features_per_person(context: AppContext, warehouse: Warehouse, project: int) -> None:
    with transaction(context.sessions) as session:
        ann = core_features_of(session, warehouse, project, person_id_for(project, "ann"))
        dee = core_features_of(session, warehouse, project, person_id_for(project, "dee"))
    assert (ann.adopted, ann.not_adopted, ann.total) == (["Export"], ["Share"], 2)
    assert dee.adopted == ["Share"]


def test_feature_definitions_are_checked(context: AppContext, project: int) -> None:
    with pytest.raises(ValidationError, match="both start_event and completion_event"):
        FeatureIn(name="Half", events=["x"], start_event="a")
    with pytest.raises(ValidationError):
        FeatureIn(name="Nothing", events=[])
    with transaction(context.sessions) as session, pytest.raises(InvalidInput, match="already"):
        create_feature(session, TEST_ACTOR, project, FeatureIn(name="export", events=["y"]))
