"""Funnel behaviour against hand-worked answers, on DuckDB and chDB.

Each test stores a few persons' events through the real write path and checks the
persons counted at each step; the comments say why each number is what it is.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture
from loopwise.ingest.ids import person_id_for
from loopwise.product.contracts import FunnelPersonsQuery, FunnelQuery, FunnelResult
from loopwise.product.facade import persons_in, run_query
from loopwise.warehouse import Warehouse
from loopwise.warehouse.schema import PERSON_OVERRIDES

P = 7
NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
BASE = datetime(2026, 3, 2, 9, tzinfo=UTC)
RANGE = {"date_from": "2026-03-01", "date_to": "2026-03-10"}
STEPS = [{"event": "signup"}, {"event": "activate"}, {"event": "pay"}]


def at(minutes: float) -> datetime:
    return BASE + timedelta(minutes=minutes)


def store(
    warehouse: Warehouse, *events: tuple[str, str, float] | tuple[str, str, float, dict]
) -> None:  # type: ignore[type-arg]
    rows = [
        CaptureEvent(
            event=e[1],
            distinct_id=e[0],
            timestamp=at(e[2]),
            properties=dict(e[3]) if len(e) > 3 else {},
        )  # type: ignore[misc]
        for e in events
    ]
    capture(warehouse, P, rows, received_at=NOW)


def funnel(warehouse: Warehouse, **query: Any) -> FunnelResult:
    query.setdefault("steps", STEPS)
    query.setdefault("date_range", RANGE)
    result = run_query(warehouse, P, FunnelQuery.model_validate(query), "UTC", now=NOW)
    assert isinstance(result, FunnelResult)
    return result


def counts(warehouse: Warehouse, **query: Any) -> list[int]:
    return [step.count for step in funnel(warehouse, **query).total.steps]


def who(warehouse: Warehouse, step: int, *, dropped: bool = False, **query: Any) -> set[str]:
    query.setdefault("steps", STEPS)
    query.setdefault("date_range", RANGE)
    request = FunnelPersonsQuery(
        query=FunnelQuery.model_validate(query), step=step, dropped=dropped
    )
    found = persons_in(warehouse, P, request, "UTC", now=NOW)
    return {person.distinct_id for person in found.persons}  # type: ignore[union-attr]


def test_an_ordered_funnel_counts_a_person_with_two_merged_ids_once(warehouse: Warehouse) -> None:
    store(
        warehouse,
        ("anna-anon", "signup", 0), ("anna", "activate", 5), ("anna", "pay", 9),
        ("ben", "signup", 0), ("ben", "activate", 30),
        ("cleo", "signup", 0),
    )  # fmt: skip
    # Before the merge, anna's later steps belong to another person who never signed up.
    assert counts(warehouse) == [3, 1, 0]
    merge = {
        "project_id": [P],
        "old_person_id": [person_id_for(P, "anna")],
        "override_person_id": [person_id_for(P, "anna-anon")],
    }
    warehouse.append("person_overrides", pa.table(merge, schema=PERSON_OVERRIDES))
    result = funnel(warehouse)
    assert [s.count for s in result.total.steps] == [3, 2, 1]
    assert [s.dropped for s in result.total.steps] == [0, 1, 1]
    assert [round(s.conversion_from_previous, 4) for s in result.total.steps] == [1, 0.6667, 0.5]
    assert [round(s.conversion_from_first, 4) for s in result.total.steps] == [1, 0.6667, 0.3333]
    assert who(warehouse, 1, dropped=True) == {"cleo"}
    # One person, shown by the distinct id they used last.
    assert who(warehouse, 2) == {"anna"}


def test_a_later_step_done_before_the_first_does_not_count(warehouse: Warehouse) -> None:
    store(warehouse, ("dan", "activate", 0), ("dan", "signup", 10), ("dan", "pay", 20))
    assert counts(warehouse) == [1, 0, 0]


def test_repeated_identical_steps_need_one_event_each(warehouse: Warehouse) -> None:
    store(warehouse, ("once", "signup", 0), ("twice", "signup", 0), ("twice", "signup", 3))
    steps = [{"event": "signup"}, {"event": "signup"}]
    assert counts(warehouse, steps=steps) == [2, 1]
    assert counts(warehouse, steps=steps, order="any") == [2, 1]
    assert counts(warehouse, steps=steps, order="strict") == [2, 1]


def test_the_conversion_window_is_inclusive_in_days_and_in_seconds(warehouse: Warehouse) -> None:
    day = 24 * 60
    store(
        warehouse,
        ("on-time", "signup", 0), ("on-time", "activate", day),
        ("late", "signup", 0), ("late", "activate", day + 1 / 60),
        ("quick", "signup", 0), ("quick", "activate", 0.5),
        ("slow", "signup", 0), ("slow", "activate", 31 / 60),
    )  # fmt: skip
    steps = STEPS[:2]
    assert counts(warehouse, steps=steps, window={"value": 1, "unit": "day"}) == [4, 3]
    assert who(warehouse, 1, steps=steps, window={"value": 1, "unit": "day"}) == {
        "on-time", "quick", "slow"
    }  # fmt: skip
    assert counts(warehouse, steps=steps, window={"value": 30, "unit": "second"}) == [4, 1]
    assert counts(warehouse, steps=steps, window={"value": 31, "unit": "second"}) == [4, 2]


def test_incomplete_attempts_after_a_completed_one_leave_the_person_completed(
    warehouse: Warehouse,
) -> None:
    store(
        warehouse,
        ("eve", "signup", 0), ("eve", "activate", 10), ("eve", "pay", 30),
        ("eve", "signup", 100), ("eve", "signup", 200), ("eve", "activate", 210),
    )  # fmt: skip
    result = funnel(warehouse)
    assert [s.count for s in result.total.steps] == [1, 1, 1]
    # Times come from the completed (earliest furthest) attempt: 10 and 20 minutes.
    assert [s.median_seconds for s in result.total.steps] == [None, 600, 1200]


def test_strict_order_is_broken_by_any_other_event_but_a_later_attempt_may_complete(
    warehouse: Warehouse,
) -> None:
    store(
        warehouse,
        ("fay", "signup", 0), ("fay", "$pageview", 1), ("fay", "activate", 2),
        ("gus", "signup", 0), ("gus", "$pageview", 1), ("gus", "activate", 2),
        ("gus", "signup", 50), ("gus", "activate", 51),
    )  # fmt: skip
    steps = STEPS[:2]
    assert counts(warehouse, steps=steps) == [2, 2]
    assert counts(warehouse, steps=steps, order="strict") == [2, 1]
    assert who(warehouse, 1, dropped=True, steps=steps, order="strict") == {"fay"}


def test_any_order_funnels_count_steps_done_in_any_sequence(warehouse: Warehouse) -> None:
    store(
        warehouse,
        ("hal", "pay", 0), ("hal", "signup", 5), ("hal", "activate", 9),
        ("ivy", "activate", 0), ("ivy", "signup", 3),
        ("jon", "pay", 0), ("jon", "signup", 20 * 24 * 60),  # outside the 14-day window
    )  # fmt: skip
    # In order, only hal and ivy signed up inside the range, and only hal activated after.
    assert counts(warehouse) == [2, 1, 0]
    # In any order, jon's payment enters him; his signup falls outside its window.
    assert counts(warehouse, order="any") == [3, 2, 1]


def test_exclusions_inside_the_window_remove_the_person_and_outside_do_not(
    warehouse: Warehouse,
) -> None:
    day = 24 * 60
    store(
        warehouse,
        ("kim", "signup", 0), ("kim", "cancel", 5), ("kim", "activate", 10), ("kim", "pay", 11),
        ("lee", "signup", 0), ("lee", "activate", 10), ("lee", "cancel", 12), ("lee", "pay", 15),
        ("max", "signup", 0), ("max", "cancel", 20 * day),
        ("ned", "signup", 0), ("ned", "cancel", 2 * day),
    )  # fmt: skip
    between_0_and_1 = [{"event": "cancel", "from_step": 0, "to_step": 1}]
    # kim cancelled between signing up and activating; ned inside the window without
    # activating; max only after his window closed; lee between steps 1 and 2.
    assert counts(warehouse, exclusions=between_0_and_1) == [2, 1, 1]
    assert who(warehouse, 0, exclusions=between_0_and_1) == {"lee", "max"}
    between_1_and_2 = [{"event": "cancel", "from_step": 1, "to_step": 2}]
    assert counts(warehouse, exclusions=between_1_and_2) == [3, 1, 1]
    assert who(warehouse, 0, exclusions=between_1_and_2) == {"kim", "max", "ned"}


def test_breakdown_attribution_first_last_and_step_with_missing_values(
    warehouse: Warehouse,
) -> None:
    store(
        warehouse,
        ("oli", "signup", 0, {}), ("oli", "activate", 5, {"source": "ads"}),
        ("oli", "pay", 9, {"source": "email"}),
        ("pia", "signup", 0, {"source": "blog"}), ("pia", "activate", 5, {}),
        ("quin", "signup", 0, {}),
    )  # fmt: skip

    def split(**attribution: Any) -> dict[str | None, list[int]]:
        result = funnel(warehouse, breakdown={"property": "source", **attribution})
        return {g.breakdown_value: [s.count for s in g.steps] for g in result.breakdown}

    assert split() == {"ads": [1, 1, 1], "blog": [1, 1, 0], "": [1, 0, 0]}
    assert split(attribution="last_touch") == {"email": [1, 1, 1], "blog": [1, 1, 0], "": [1, 0, 0]}
    assert split(attribution="step", step=0) == {"blog": [1, 1, 0], "": [2, 1, 1]}
    assert split(attribution="step", step=1) == {"ads": [1, 1, 1], "": [2, 1, 0]}
    # Equal sizes: the values are kept in text order ('' first), the rest grouped.
    assert split(limit=2) == {"ads": [1, 1, 1], "": [1, 0, 0], "$other": [1, 1, 0]}
    assert who(warehouse, 1, breakdown={"property": "source"}) == {"oli", "pia"}


def test_steps_at_the_same_moment_count_in_step_order(warehouse: Warehouse) -> None:
    # Stored activate-first: the order of storage must not matter.
    store(warehouse, ("ray", "activate", 0), ("ray", "signup", 0), ("ray", "pay", 0))
    assert counts(warehouse) == [1, 1, 1]
    assert counts(warehouse, order="strict") == [1, 1, 1]
    assert [s.median_seconds for s in funnel(warehouse).total.steps] == [None, 0, 0]


def test_average_and_median_time_to_convert_per_step(warehouse: Warehouse) -> None:
    store(
        warehouse,
        ("s1", "signup", 0), ("s1", "activate", 10), ("s1", "pay", 11),
        ("s2", "signup", 0), ("s2", "activate", 20), ("s2", "pay", 24),
        ("s3", "signup", 0), ("s3", "activate", 60),
    )  # fmt: skip
    result = funnel(warehouse)
    steps = result.total.steps
    assert (steps[1].average_seconds, steps[1].median_seconds) == (30 * 60, 20 * 60)
    assert (steps[2].average_seconds, steps[2].median_seconds) == (150, 150)
    # Completed: s1 in 11 minutes, s2 in 24: the histogram spans 660 s to 1440 s.
    bins = result.total.histogram
    assert bins[0].start_seconds == 660
    assert bins[-1].end_seconds == 1440
    assert sum(b.persons for b in bins) == 2
    assert bins[0].persons == bins[-1].persons == 1


def test_only_first_steps_inside_the_date_range_enter(warehouse: Warehouse) -> None:
    store(
        warehouse,
        ("tom", "signup", -2 * 24 * 60), ("tom", "activate", 0),  # signed up on 28 Feb
        ("uma", "signup", 15290), ("uma", "activate", 15320),  # 12 Mar 23:50, 13 Mar 00:20
    )  # fmt: skip
    # uma signed up on the last day of the range and activated the day after: she counts.
    assert counts(warehouse, date_range={"date_from": "2026-03-01", "date_to": "2026-03-12"}) == [
        1, 1, 0
    ]  # fmt: skip


def test_time_to_convert_counts_from_the_last_first_step_before_the_second(
    warehouse: Warehouse,
) -> None:
    store(warehouse, ("zed", "signup", 0), ("zed", "signup", 5), ("zed", "activate", 12))
    assert [s.median_seconds for s in funnel(warehouse, steps=STEPS[:2]).total.steps] == [None, 420]


def test_breakdown_by_a_person_property(warehouse: Warehouse) -> None:
    store(
        warehouse,
        ("vic", "signup", 0, {"plan": "free"}), ("vic", "activate", 5, {}),
        ("vic", "upgrade", 50, {"plan": "pro"}),
        ("wes", "signup", 0, {"plan": "free"}),
    )  # fmt: skip
    result = funnel(warehouse, steps=STEPS[:2], breakdown={"property": "plan", "type": "person"})
    assert {g.breakdown_value: [s.count for s in g.steps] for g in result.breakdown} == {
        "pro": [1, 1], "free": [1, 0],
    }  # fmt: skip


def test_any_order_steps_that_overlap_do_not_share_an_event(warehouse: Warehouse) -> None:
    store(
        warehouse,
        ("xia", "$pageview", 0, {"$pathname": "/pricing"}),
        ("yan", "$pageview", 0, {"$pathname": "/pricing"}),
        ("yan", "$pageview", 5, {"$pathname": "/"}),
    )  # fmt: skip
    pricing = {"key": "$pathname", "value": "/pricing"}
    steps = [{"event": "$pageview"}, {"event": "$pageview", "filters": [pricing]}]
    # xia's one pageview cannot be both "any pageview" and "a /pricing pageview".
    assert counts(warehouse, steps=steps, order="any") == [2, 1]
    assert who(warehouse, 1, steps=steps, order="any") == {"yan"}


def test_funnels_by_sessions_count_each_session_on_its_own(warehouse: Warehouse) -> None:
    def ev(name: str, minutes: float, session: str) -> tuple[str, str, float, dict[str, str]]:
        return ("zoe", name, minutes, {"$session_id": session})

    store(
        warehouse,
        ev("signup", 0, "s1"), ev("activate", 5, "s2"),  # activated in another session
        ev("signup", 60, "s3"), ev("activate", 61, "s3"),
        ("zak", "signup", 0, {}),  # no session: left out
    )  # fmt: skip
    by_sessions = counts(warehouse, steps=STEPS[:2], aggregate_by="sessions")
    assert by_sessions == [2, 1]  # s1 and s3 entered; only s3 converted
    assert counts(warehouse, steps=STEPS[:2]) == [2, 1]  # zoe and zak; zoe converted
    assert who(warehouse, 1, steps=STEPS[:2], aggregate_by="sessions") == {"zoe"}
