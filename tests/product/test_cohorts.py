"""Cohorts: dynamic criteria, static lists from uploaded ids, member counts over time,
and cohorts narrowing queries, on DuckDB and chDB (definitions in SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loopwise.core.db import transaction
from loopwise.core.errors import InvalidInput
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture
from loopwise.product.cohorts import (
    ids_from_csv,
    member_count,
    member_counts,
    members,
    save_cohort,
    with_cohort,
)
from loopwise.product.contracts import (
    CohortDefinition,
    FunnelQuery,
    FunnelResult,
    TrendPersonsQuery,
    TrendsQuery,
)
from loopwise.product.facade import persons_in, run_query
from loopwise.warehouse import Warehouse
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, create_project

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


EVENTS = [  # (who, event, when, plan)
    ("ana", "cook", ago(1), "pro"), ("ana", "cook", ago(2), "pro"), ("ana", "pay", ago(3), "pro"),
    ("bo", "cook", ago(1), "free"), ("bo", "cook", ago(20), "free"),
    ("cy", "cook", ago(3), "pro"), ("cy", "cook", ago(4), "pro"), ("cy", "cook", ago(5), "free"),
    ("di", "view", ago(40), "free"),
]  # fmt: skip


@pytest.fixture
def project(context: AppContext, warehouse: Warehouse) -> int:
    project = create_project(context)
    rows = [
        CaptureEvent(event=name, distinct_id=who, timestamp=when, properties={"plan": plan})
        for who, name, when, plan in EVENTS
    ]
    capture(warehouse, project.id, rows, received_at=NOW)
    return project.id


def names(warehouse: Warehouse, project: int, definition: CohortDefinition) -> set[str]:
    found = members(warehouse, project, definition, now=NOW)
    return {p.distinct_id for p in found.persons}


def test_dynamic_criteria_hold_as_of_now(warehouse: Warehouse, project: int) -> None:
    busy = CohortDefinition.model_validate(
        {"criteria": [{"type": "did_event", "event": "cook", "min_times": 2, "days": 7}]}
    )
    assert names(warehouse, project, busy) == {"ana", "cy"}  # bo cooked once this week
    unpaid = CohortDefinition.model_validate(
        {"criteria": [{"type": "did_not_event", "event": "pay", "days": 30}]}
    )
    assert names(warehouse, project, unpaid) == {"bo", "cy", "di"}
    # cy's latest plan is "pro" (3 days ago), though she was on "free" 5 days ago.
    pro = CohortDefinition.model_validate(
        {"criteria": [{"type": "property",
                       "property": {"key": "plan", "operator": "exact", "value": "pro"}}]}
    )  # fmt: skip
    assert names(warehouse, project, pro) == {"ana", "cy"}
    both = CohortDefinition(criteria=[*busy.criteria, *unpaid.criteria])
    assert names(warehouse, project, both) == {"cy"}
    counts = member_counts(warehouse, project, busy, weeks=2, now=NOW)
    # Two weeks ago nobody had cooked twice in the week before; now ana and cy have.
    assert [n for _, n in counts] == [0, 0, 2]


def test_a_static_cohort_from_uploaded_ids(warehouse: Warehouse, project: int) -> None:
    ids, unknown = ids_from_csv(warehouse, project, "distinct_id\nana\nbo\nnobody\n")
    assert unknown == 2  # the header line and "nobody"
    definition = CohortDefinition(person_ids=ids)
    assert names(warehouse, project, definition) == {"ana", "bo"}
    assert member_count(warehouse, project, definition, NOW) == 2
    with pytest.raises(InvalidInput, match="no ids"):
        ids_from_csv(warehouse, project, "\n \n")
    with pytest.raises(InvalidInput, match="none of the ids"):
        ids_from_csv(warehouse, project, "ghost\n")


def test_a_saved_cohort_narrows_trends_and_funnels(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    busy = CohortDefinition.model_validate(
        {"criteria": [{"type": "did_event", "event": "cook", "min_times": 2, "days": 7}]}
    )
    with transaction(context.sessions) as session:
        saved = save_cohort(session, TEST_ACTOR, project, "Busy cooks", busy)
    trend = TrendsQuery.model_validate(
        {"series": [{"event": "cook", "math": "unique_persons"}],
         "date_range": {"last_days": 30}, "cohort": {"id": saved.id}}
    )  # fmt: skip
    funnel = FunnelQuery.model_validate(
        {"steps": [{"event": "cook"}, {"event": "pay"}], "date_range": {"last_days": 30},
         "cohort": {"id": saved.id}}
    )  # fmt: skip
    with transaction(context.sessions) as session:
        trend, funnel = with_cohort(session, project, trend), with_cohort(session, project, funnel)
        missing = TrendsQuery.model_validate({"series": [{}], "cohort": {"id": 999}})
        with pytest.raises(InvalidInput, match="no cohort 999"):
            with_cohort(session, project, missing)
    lines = run_query(warehouse, project, trend, "UTC", now=NOW).lines  # type: ignore[union-attr]
    assert lines[0].total == 2  # of the three cooks, ana and cy are in the cohort
    result = run_query(warehouse, project, funnel, "UTC", now=NOW)
    assert isinstance(result, FunnelResult)
    assert [s.count for s in result.total.steps] == [2, 0]  # ana paid before cooking


def test_a_cohort_breakdown_gives_a_line_per_cohort(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    busy = CohortDefinition.model_validate(
        {"criteria": [{"type": "did_event", "event": "cook", "min_times": 2, "days": 7}]}
    )
    unpaid = CohortDefinition.model_validate(
        {"criteria": [{"type": "did_not_event", "event": "pay", "days": 30}]}
    )
    with transaction(context.sessions) as session:
        first = save_cohort(session, TEST_ACTOR, project, "Busy", busy)
        second = save_cohort(session, TEST_ACTOR, project, "Unpaid", unpaid)
        trend = with_cohort(session, project, TrendsQuery.model_validate(
            {"series": [{"event": "cook", "math": "unique_persons"}],
             "date_range": {"last_days": 30},
             "cohort_breakdown": [{"id": first.id}, {"id": second.id}]}
        ))  # fmt: skip
        funnel = with_cohort(session, project, FunnelQuery.model_validate(
            {"steps": [{"event": "cook"}, {"event": "cook"}], "date_range": {"last_days": 30},
             "cohort_breakdown": [{"id": first.id}, {"id": second.id}]}
        ))  # fmt: skip
    lines = run_query(warehouse, project, trend, "UTC", now=NOW).lines  # type: ignore[union-attr]
    # Busy: ana, cy. Unpaid: bo, cy (di never cooked). cy counts in both.
    assert [(line.breakdown_value, line.total) for line in lines] == [("Busy", 2), ("Unpaid", 2)]
    result = run_query(warehouse, project, funnel, "UTC", now=NOW)
    assert isinstance(result, FunnelResult)
    # bo's two cooks are 19 days apart: outside the 14-day window.
    assert [s.count for s in result.total.steps] == [3, 2]
    assert {g.breakdown_value: [s.count for s in g.steps] for g in result.breakdown} == {
        "Busy": [2, 2], "Unpaid": [2, 1],
    }  # fmt: skip


def test_cohort_breakdowns_drill_into_one_cohort_or_everyone(
    context: AppContext, warehouse: Warehouse, project: int
) -> None:
    busy = CohortDefinition.model_validate(
        {"criteria": [{"type": "did_event", "event": "cook", "min_times": 2, "days": 7}]}
    )
    with transaction(context.sessions) as session:
        saved = save_cohort(session, TEST_ACTOR, project, "Busy", busy)
        trend = with_cohort(session, project, TrendsQuery.model_validate(
            {"series": [{"event": "cook"}], "date_range": {"last_days": 30},
             "cohort_breakdown": [{"id": saved.id}]}
        ))  # fmt: skip

    def who(value: str | None) -> set[str]:
        request = TrendPersonsQuery(query=trend, breakdown_value=value)
        return {
            p.distinct_id for p in persons_in(warehouse, project, request, "UTC", now=NOW).persons
        }

    assert who("Busy") == {"ana", "cy"}
    assert who(None) == {"ana", "bo", "cy"}
    assert who("Nobody") == set()
