"""Trends against hand-computed answers, on DuckDB and chDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from pydantic import ValidationError

from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture
from loopwise.ingest.ids import person_id_for
from loopwise.product.contracts import FunnelQuery, TrendsQuery
from loopwise.product.facade import run_query
from loopwise.warehouse import Warehouse
from loopwise.warehouse.schema import PERSON_OVERRIDES

P = 5
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
RANGE = {"date_from": "2026-03-01", "date_to": "2026-03-03"}
PLANS = {"alice": "pro", "bob": "free", "carol": "pro", "dave": "pro"}


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


EVENTS = [
    ("alice", "$pageview", at(1, 10), {"$current_url": "https://x.io/A"}),
    ("alice", "$pageview", at(1, 11), {"$current_url": "https://x.io/b"}),
    ("alice", "$pageview", at(2, 9), {"$current_url": "https://x.io/c"}),
    ("bob", "$pageview", at(1, 23, 30), {"$current_url": "https://x.io/d"}),
    ("bob", "purchase", at(2, 10), {"amount": 30}),
    ("bob", "purchase", at(3, 7), {"amount": 10}),
    ("carol", "purchase", at(3, 8), {"amount": 5}),
    ("carol", "$pageview", at(4, 1), {}),
    ("dave", "$pageview", at(28, 23, 59, month=2), {}),
]


@pytest.fixture
def store(warehouse: Warehouse) -> Warehouse:
    events = [
        CaptureEvent(event=name, distinct_id=who, timestamp=when,
                     properties={**props, "plan": PLANS[who]})
        for who, name, when, props in EVENTS
    ]  # fmt: skip
    capture(warehouse, P, events, received_at=NOW)
    return warehouse


def trends(warehouse: Warehouse, **query: Any) -> list[tuple[str | None, list[float], float]]:
    result = run_query(warehouse, P, TrendsQuery.model_validate(query), "UTC", now=NOW)
    return [(line.breakdown_value, line.values, line.total) for line in result.lines]


def test_daily_counts_and_unique_persons(store: Warehouse) -> None:
    assert trends(store, series=[{"event": "$pageview"}], date_range=RANGE) == [
        (None, [3, 1, 0], 4)
    ]
    unique = trends(
        store, series=[{"event": "$pageview", "math": "unique_persons"}], date_range=RANGE
    )
    assert unique == [(None, [2, 1, 0], 2)]


def test_sum_and_average_of_a_numeric_property(store: Warehouse) -> None:
    series = {"event": "purchase", "math": "sum", "math_property": "amount"}
    assert trends(store, series=[series], date_range=RANGE) == [(None, [0, 30, 15], 45)]
    average = {**series, "math": "avg"}
    assert trends(store, series=[average], date_range=RANGE) == [(None, [0, 30, 7.5], 15)]


def test_breakdown_keeps_the_largest_values_and_groups_the_rest(store: Warehouse) -> None:
    lines = trends(store, series=[{}], date_range=RANGE, breakdown={"property": "plan", "limit": 1})
    assert lines == [("pro", [2, 1, 1], 4), ("$other", [1, 1, 1], 3)]


def test_filters_on_hot_columns_and_properties(store: Warehouse) -> None:
    url = {"key": "$current_url", "operator": "icontains", "value": "/a"}
    assert trends(store, series=[{"filters": [url]}], date_range=RANGE)[0][2] == 1
    big = {"key": "amount", "operator": "gt", "value": 9}
    assert trends(store, series=[{"filters": [big]}], date_range=RANGE)[0][1] == [0, 1, 1]
    pro = {"key": "plan", "operator": "in", "value": ["pro", "team"]}
    assert trends(store, series=[{}], filters=[pro], date_range=RANGE)[0][2] == 4
    regex = {"key": "$current_url", "operator": "regex", "value": "/[bc]$"}
    assert trends(store, series=[{"filters": [regex]}], date_range=RANGE)[0][2] == 2
    unset = {"key": "amount", "operator": "is_not_set"}
    assert trends(store, series=[{"filters": [unset]}], date_range=RANGE)[0][2] == 4


def test_days_follow_the_time_zone_and_weeks_start_on_monday(store: Warehouse) -> None:
    new_york = {"date_from": "2026-03-01", "date_to": "2026-03-01", "timezone": "America/New_York"}
    assert trends(store, series=[{}], date_range=new_york) == [(None, [3], 3)]
    weekly = TrendsQuery.model_validate({"series": [{}], "date_range": RANGE, "interval": "week"})
    result = run_query(store, P, weekly, "UTC", now=NOW)
    assert result.buckets == [at(23, 0, month=2), at(2, 0)]
    assert result.lines[0].values == [3, 4]


def test_unique_persons_count_merged_persons_once(store: Warehouse) -> None:
    merge = pa.table(
        {"project_id": [P], "old_person_id": [person_id_for(P, "carol")],
         "override_person_id": [person_id_for(P, "bob")]},
        schema=PERSON_OVERRIDES,
    )  # fmt: skip
    store.append("person_overrides", merge)
    series = {"event": "purchase", "math": "unique_persons"}
    assert trends(store, series=[series], date_range=RANGE) == [(None, [0, 1, 1], 1)]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"series": []}, "at least 1 item"),
        (
            {"series": [{}], "date_range": {"date_from": "2026-03-02", "date_to": "2026-03-01"}},
            "date_to is before",
        ),
        ({"series": [{"math": "sum"}]}, "needs math_property"),
        (
            {"series": [{"filters": [{"key": "a", "operator": "gt", "value": "x"}]}]},
            "needs a number",
        ),
        (
            {"series": [{"filters": [{"key": "a", "operator": "regex", "value": "("}]}]},
            "regular expression",
        ),
        ({"series": [{}], "interval": "hour", "date_range": {"last_days": 60}}, "at most 31 days"),
    ],
)
def test_bad_queries_are_refused_with_the_reason(query: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrendsQuery.model_validate(query)


def test_comparison_with_the_previous_period_lines_up_bucket_by_bucket(store: Warehouse) -> None:
    query = {"series": [{}], "date_range": {"date_from": "2026-03-02", "date_to": "2026-03-03"},
             "compare": True}  # fmt: skip
    result = run_query(store, P, TrendsQuery.model_validate(query), "UTC", now=NOW)
    current, previous = result.lines
    assert (current.period, current.values, current.total) == ("current", [2, 2], 4)
    # The two days before: 28 Feb (dave) and 1 Mar (alice twice, bob once).
    assert (previous.period, previous.values, previous.total) == ("previous", [1, 3], 4)


def test_a_previous_period_without_events_still_has_every_breakdown_line(store: Warehouse) -> None:
    query = {"series": [{}], "date_range": RANGE, "compare": True,
             "breakdown": {"property": "plan", "limit": 1}}  # fmt: skip
    result = run_query(store, P, TrendsQuery.model_validate(query), "UTC", now=NOW)
    shape = [(line.period, line.breakdown_value, line.total) for line in result.lines]
    assert shape == [
        ("current", "pro", 4), ("current", "$other", 3),
        ("previous", "pro", 1), ("previous", "$other", 0),
    ]  # fmt: skip


def test_drilling_into_a_number_lists_its_persons(store: Warehouse) -> None:
    from loopwise.product.contracts import TrendPersonsQuery
    from loopwise.product.facade import persons_in

    def who(**request: Any) -> list[tuple[str, int]]:
        found = persons_in(store, P, TrendPersonsQuery.model_validate(request), "UTC", now=NOW)
        ids = {person_id_for(P, name): name for name in PLANS}
        return [(ids[p.person_id], p.events) for p in found.persons]

    pageviews = {"series": [{"event": "$pageview"}], "date_range": RANGE}
    assert who(query=pageviews, bucket="2026-03-01T00:00:00Z") == [("alice", 2), ("bob", 1)]
    assert who(query=pageviews) == [("alice", 3), ("bob", 1)]
    by_plan = {"series": [{}], "date_range": RANGE, "breakdown": {"property": "plan", "limit": 1}}
    assert who(query=by_plan, breakdown_value="$other") == [("bob", 3)]
    assert who(query=by_plan, breakdown_value="pro", limit=1) == [("alice", 3)]
    with pytest.raises(ValueError, match="series 3 is not in the query"):
        TrendPersonsQuery.model_validate({"query": pageviews, "series": 3})


def test_percentiles_of_a_numeric_property_interpolate_between_values(store: Warehouse) -> None:
    median = {"event": "purchase", "math": "p50", "math_property": "amount"}
    assert trends(store, series=[median], date_range=RANGE) == [(None, [0, 30, 7.5], 10)]
    p90 = {**median, "math": "p90"}
    # 3 March holds 10 and 5; the range 5, 10 and 30: 10 + 0.8 * (30 - 10) = 26.
    assert trends(store, series=[p90], date_range=RANGE) == [(None, [0, 30, 9.5], 26)]


def test_weekly_active_persons_count_the_seven_days_up_to_each_day(store: Warehouse) -> None:
    weekly = {"math": "weekly_active"}
    # dave's 28 February visit keeps him in every window; carol joins on 3 March.
    assert trends(store, series=[weekly], date_range=RANGE) == [(None, [3, 3, 4], 4)]
    refused = {"series": [weekly], "interval": "week", "date_range": RANGE}
    with pytest.raises(ValidationError, match="counted per day"):
        TrendsQuery.model_validate(refused)


def test_a_formula_combines_series_by_letter(store: Warehouse) -> None:
    series = [{"event": "$pageview"}, {"event": "purchase"}]
    result = run_query(
        store, P,
        TrendsQuery.model_validate({"series": series, "date_range": RANGE, "formula": "A / B"}),
        "UTC", now=NOW,
    )  # fmt: skip
    formula = [line for line in result.lines if line.formula]
    assert len(formula) == 1
    # 3, 1 and 0 pageviews over 0, 1 and 2 purchases; a division by zero reads 0.
    assert formula[0].values == [0, 1, 0]
    assert formula[0].total == 4 / 3
    with pytest.raises(ValidationError, match="beyond B"):
        TrendsQuery.model_validate({"series": series, "formula": "A / C"})
    with pytest.raises(ValidationError, match="series letters"):
        TrendsQuery.model_validate({"series": series, "formula": "__import__('os')"})


def test_person_property_filters_use_each_persons_latest_value(store: Warehouse) -> None:
    # bob moves to "pro" on 5 March: as a person he is now on pro, though his March
    # purchases were sent with "free".
    upgrade = CaptureEvent(
        event="plan_changed", distinct_id="bob", timestamp=at(5, 9), properties={"plan": "pro"}
    )
    capture(store, P, [upgrade], received_at=NOW)
    person_pro = {"key": "plan", "value": "pro", "type": "person"}
    event_pro = {"key": "plan", "value": "pro"}
    series = [{"event": "purchase", "math": "unique_persons"}]
    assert trends(store, series=series, date_range=RANGE, filters=[person_pro]) == [
        (None, [0, 1, 2], 2)
    ]
    assert trends(store, series=series, date_range=RANGE, filters=[event_pro]) == [
        (None, [0, 0, 1], 1)
    ]
    with pytest.raises(ValidationError, match="query's filters"):
        FunnelQuery.model_validate(
            {"steps": [{"event": "a", "filters": [person_pro]}, {"event": "b"}]}
        )


def test_date_filters_and_unique_sessions(store: Warehouse) -> None:
    events = [
        CaptureEvent(event="trial", distinct_id="eve", timestamp=at(2, 9),
                     properties={"ends": "2026-03-20", "$session_id": "s1"}),
        CaptureEvent(event="trial", distinct_id="eve", timestamp=at(2, 10),
                     properties={"ends": "2026-04-02T10:00:00+02:00", "$session_id": "s1"}),
        CaptureEvent(event="trial", distinct_id="fay", timestamp=at(2, 11),
                     properties={"ends": "soon", "$session_id": "s2"}),
    ]  # fmt: skip
    capture(store, P, events, received_at=NOW)
    before_april = {"key": "ends", "operator": "is_date_before", "value": "2026-04-01"}
    series = [{"event": "trial", "filters": [before_april]}]
    # "soon" is not a date: it matches neither before nor after.
    assert trends(store, series=series, date_range=RANGE)[0][2] == 1
    after = {**before_april, "operator": "is_date_after"}
    assert (
        trends(store, series=[{"event": "trial", "filters": [after]}], date_range=RANGE)[0][2] == 1
    )
    sessions = [{"event": "trial", "math": "unique_sessions"}]
    assert trends(store, series=sessions, date_range=RANGE) == [(None, [0, 2, 0], 2)]
    with pytest.raises(ValidationError, match="not an ISO date"):
        TrendsQuery.model_validate({"series": [{"filters": [{**after, "value": "tomorrow"}]}]})


def test_breakdown_by_a_person_property_uses_their_latest_value(store: Warehouse) -> None:
    upgrade = CaptureEvent(
        event="plan_changed", distinct_id="bob", timestamp=at(5, 9), properties={"plan": "pro"}
    )
    capture(store, P, [upgrade], received_at=NOW)
    series = [{"event": "purchase", "math": "unique_persons"}]
    by_person = trends(store, series=series, date_range=RANGE,
                       breakdown={"property": "plan", "type": "person"})  # fmt: skip
    assert by_person == [("pro", [0, 1, 2], 2)]  # bob counts as pro, his plan today
    by_event = trends(store, series=series, date_range=RANGE, breakdown={"property": "plan"})
    assert by_event == [("free", [0, 1, 1], 1), ("pro", [0, 0, 1], 1)]


def test_person_properties_set_with_dollar_set_count(store: Warehouse) -> None:
    identify = CaptureEvent(
        event="$identify", distinct_id="carol", timestamp=at(4, 2), set={"tier": "gold"}
    )
    capture(store, P, [identify], received_at=NOW)
    gold = {"key": "tier", "value": "gold", "type": "person"}
    series = [{"event": "purchase", "math": "unique_persons"}]
    assert trends(store, series=series, date_range=RANGE, filters=[gold]) == [(None, [0, 0, 1], 1)]
    split = trends(store, series=series, date_range=RANGE,
                   breakdown={"property": "tier", "type": "person"})  # fmt: skip
    assert split == [("", [0, 1, 1], 1), ("gold", [0, 0, 1], 1)]


def test_comparison_across_a_dst_change_lines_up_local_days(warehouse: Warehouse) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    noon = [datetime(2026, 10, 1, 12, tzinfo=berlin) + timedelta(days=n) for n in range(40)]
    capture(warehouse, 77, [CaptureEvent(event="e", distinct_id="x", timestamp=t) for t in noon])
    query = TrendsQuery.model_validate({
        "series": [{"event": "e"}], "compare": True,
        "date_range": {"date_from": "2026-10-20", "date_to": "2026-11-02",
                       "timezone": "Europe/Berlin"},
    })  # fmt: skip
    result = run_query(warehouse, 77, query, "UTC", now=NOW)
    # Summer time ends on 25 October: both periods still have one event per local day.
    assert [line.values for line in result.lines] == [[1.0] * 14, [1.0] * 14]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"series": [{}, {}], "formula": "A ** B"}, "only"),
        ({"series": [{}], "date_range": {"timezone": "../etc"}}, "not an IANA time zone"),
        ({"series": [{"filters": [{"key": "k", "operator": "regex", "value": "(?=a)b"}]}]},
         "RE2"),
    ],
)  # fmt: skip
def test_inputs_the_engines_would_choke_on_are_refused_up_front(
    query: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        TrendsQuery.model_validate(query)
