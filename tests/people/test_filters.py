"""The people list's filters against hand-made summaries with known membership, on SQLite
and PostgreSQL: each quick filter, each kind of field, ``all`` and ``any``, search text,
sorting and paging, refused conditions naming their path; and behaviour conditions on
real captured events, on DuckDB and chDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loopwise.core import audit
from loopwise.core.db import transaction
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import KnownPerson, capture, register_people
from loopwise.ingest.ids import person_id_for
from loopwise.people.contracts import FilterSpec
from loopwise.people.filters import people_page, quick_counts, selected_ids
from loopwise.people.models import PeopleSettings, PersonSummary
from loopwise.people.presets import delete_preset, presets, save_preset
from loopwise.warehouse import Warehouse
from loopwise.web.context import AppContext
from tests.factories import TEST_ACTOR, create_project

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
TODAY = NOW.date()
DAY = timedelta(days=1)


def row(**values: Any) -> dict[str, Any]:
    return values


# Nine people of the project, each a known answer to some filters.
PEOPLE: dict[str, dict[str, Any]] = {
    "ann": row(email="ann@acme.io", name="Ann Lee", account="Acme", plan="Pro",
                billing_status="paying", mrr_minor=9_900, health=85, band="healthy",
                active_days=45, last_seen=NOW - DAY, created_at=NOW - 200 * DAY,
                tags=["beta"], features=["export", "share"],
                properties={"company": "Acme", "seats": 12, "beta": True}),
    "bob": row(email="bob@globex.com", name="Bob Stone", account="Globex",
                billing_status="churned", churned_on=TODAY - 10 * DAY, health=20,
                band="critical", active_days=40, last_seen=NOW - 40 * DAY,
                created_at=NOW - 300 * DAY, properties={"seats": "12"}),
    "cy": row(email="cy@initech.com", name="Cy Young", billing_status="churned",
               churned_on=TODAY - 45 * DAY, health=50, band="at_risk", active_days=10,
               last_seen=NOW - 50 * DAY, created_at=NOW - 400 * DAY),
    "dee": row(email="dee@acme.io", name="Dee Doe", account="ACME", plan="Enterprise",
                billing_status="paying", mrr_minor=60_000, health=75, band="healthy",
                open_tickets=2, active_days=3, last_seen=NOW - timedelta(hours=2),
                created_at=NOW - 3 * DAY, properties={"seats": 3}),
    "eve": row(email="eve@x.io", name="Eve Adams", billing_status="past_due",
                mrr_minor=2_900, open_failures=1, payment_failures_30d=2, health=45,
                band="at_risk", active_days=5, last_seen=NOW - 8 * DAY, created_at=None,
                first_seen=NOW - 5 * DAY, vip=True),
    "fay": row(email="", name="Fay", billing_status="never_paid", health=None, band="",
                last_seen=None, created_at=NOW - 100 * DAY, tags=["beta", "vip list"]),
    "gus": row(email="gus@globex.com", name="Gus Hall", billing_status="churned",
                churned_on=TODAY - 29 * DAY, payment_failures_30d=1, health=30,
                band="critical", active_days=31, last_seen=NOW - 29 * DAY,
                created_at=NOW - 500 * DAY),
    "hal": row(email="hal@umbrella.io", name="Hal", billing_status="trialing", health=90,
                band="healthy", active_days=30, last_seen=NOW - 3 * DAY,
                created_at=NOW - 10 * DAY, first_seen=NOW - 2 * DAY),
    "ivy": row(email="ivy@acme.io", name="Ivy Chen", account="acme corp",
                billing_status="churned", churned_on=TODAY - 31 * DAY, health=10,
                band="critical", active_days=100, last_seen=NOW - 100 * DAY),
}  # fmt: skip
EVERYONE = set(PEOPLE)


def summary(project_id: int, person_id: str, values: dict[str, Any]) -> PersonSummary:
    row = PersonSummary(project_id=project_id, person_id=person_id, computed_at=NOW, **values)
    row.name_key = row.name.lower()
    return row


@pytest.fixture
def project(context: AppContext) -> int:
    made = create_project(context)
    other = create_project(context, "Elsewhere")
    with transaction(context.sessions) as session:
        session.add_all(summary(made.id, key, values) for key, values in PEOPLE.items())
        # Another project's churned power user is never anyone's answer here.
        zed = row(
            email="zed@acme.io",
            name="Zed",
            billing_status="churned",
            active_days=99,
            churned_on=TODAY - DAY,
            band="critical",
            vip=True,
            open_tickets=3,
        )
        session.add(summary(other.id, "zed", zed))
    return made.id


def ids(context: AppContext, project: int, **spec: Any) -> set[str]:
    with context.sessions() as session:
        page = people_page(session, context.warehouse, project, FilterSpec(**spec), NOW,
                           currency="usd", limit=500)  # fmt: skip
    assert page.total == len(page.rows)
    return {row.person_id for row in page.rows}


def where(context: AppContext, project: int, *conditions: dict[str, Any], match: str = "all"
          ) -> set[str]:  # fmt: skip
    return ids(context, project, conditions=list(conditions), match=match)


def test_churned_users_active_more_than_30_days(context: AppContext, project: int) -> None:
    found = where(context, project, {"field": "billing_status", "op": "eq", "value": "churned"},
                  {"field": "active_days", "op": "gt", "value": 30})  # fmt: skip
    assert found == {"bob", "gus", "ivy"}


QUICK = {
    "at_risk": {"bob", "cy", "eve", "gus", "ivy"},
    "payment_failed": {"eve", "gus"},
    "open_tickets": {"dee"},
    "churned_30d": {"bob", "gus"},
    "vip": {"dee", "eve"},
    "new_this_week": {"dee", "eve"},
}


def test_each_quick_filter_selects_its_people(context: AppContext, project: int) -> None:
    found = {quick: ids(context, project, quick=[quick]) for quick in QUICK}
    assert found == QUICK


def test_quick_filters_combine_and_are_counted(context: AppContext, project: int) -> None:
    assert ids(context, project, quick=["at_risk", "payment_failed"]) == {"eve", "gus"}
    with context.sessions() as session:
        counts = quick_counts(session, project, NOW)
    assert counts == {"at_risk": 5, "payment_failed": 2, "open_tickets": 1, "churned_30d": 2,
                      "vip": 2, "new_this_week": 2}  # fmt: skip


def test_vip_threshold_comes_from_the_project_settings(context: AppContext, project: int) -> None:
    with transaction(context.sessions) as session:
        session.add(PeopleSettings(project_id=project, vip_mrr_minor=9_000))
    assert ids(context, project, quick=["vip"]) == {"ann", "dee", "eve"}
    assert where(context, project, {"field": "vip", "op": "eq", "value": "false"}) == (
        EVERYONE - {"ann", "dee", "eve"}
    )


# One condition of each kind of field and operator, and who it selects.
FIELD_CASES: list[tuple[dict[str, Any], set[str]]] = [
        ({"field": "email", "op": "contains", "value": "ACME"}, {"ann", "dee", "ivy"}),
        ({"field": "email", "op": "is_not_set"}, {"fay"}),
        ({"field": "name", "op": "eq", "value": "ann LEE"}, {"ann"}),
        ({"field": "account", "op": "eq", "value": "acme"}, {"ann", "dee"}),
        ({"field": "account", "op": "not_contains", "value": "acme"},
         EVERYONE - {"ann", "dee", "ivy"}),
        ({"field": "plan", "op": "is_set"}, {"ann", "dee"}),
        ({"field": "band", "op": "ne", "value": "critical"},
         {"ann", "cy", "dee", "eve", "fay", "hal"}),
        ({"field": "mrr", "op": "gte", "value": 99}, {"ann", "dee"}),
        ({"field": "mrr", "op": "gt", "value": "98.99"}, {"ann", "dee"}),
        ({"field": "mrr", "op": "eq", "value": 29}, {"eve"}),
        ({"field": "mrr", "op": "lt", "value": 1e20}, EVERYONE),
        ({"field": "health", "op": "lt", "value": 40}, {"bob", "gus", "ivy"}),
        ({"field": "health", "op": "is_not_set"}, {"fay"}),
        ({"field": "open_tickets", "op": "gt", "value": 0}, {"dee"}),
        ({"field": "payment_failures_30d", "op": "gte", "value": 1}, {"eve", "gus"}),
        ({"field": "last_seen_days", "op": "gt", "value": 7}, {"bob", "cy", "eve", "gus", "ivy"}),
        ({"field": "last_seen_days", "op": "lt", "value": 7}, {"ann", "dee", "hal"}),
        ({"field": "last_seen_days", "op": "eq", "value": 29}, {"gus"}),
        ({"field": "last_seen_days", "op": "is_not_set"}, {"fay"}),
        ({"field": "first_seen_days", "op": "lte", "value": 5}, {"eve", "hal"}),
        ({"field": "churned_days", "op": "lte", "value": 30}, {"bob", "gus"}),
        ({"field": "churned_days", "op": "gt", "value": 30}, {"cy", "ivy"}),
        ({"field": "tags", "op": "contains", "value": "BETA"}, {"ann", "fay"}),
        ({"field": "tags", "op": "contains", "value": "vip"}, set()),
        ({"field": "tags", "op": "not_contains", "value": "beta"}, EVERYONE - {"ann", "fay"}),
        ({"field": "tags", "op": "is_set"}, {"ann", "fay"}),
        ({"field": "features", "op": "contains", "value": "export"}, {"ann"}),
        ({"field": "vip", "op": "eq", "value": True}, {"dee", "eve"}),
        ({"field": "vip", "op": "ne", "value": True}, EVERYONE - {"dee", "eve"}),
        ({"field": "property", "key": "seats", "op": "gt", "value": 10}, {"ann"}),
        ({"field": "property", "key": "seats", "op": "eq", "value": 12}, {"ann", "bob"}),
        ({"field": "property", "key": "seats", "op": "eq", "value": "3"}, {"dee"}),
        ({"field": "property", "key": "seats", "op": "ne", "value": 12}, EVERYONE - {"ann", "bob"}),
        ({"field": "property", "key": "beta", "op": "eq", "value": True}, {"ann"}),
        ({"field": "property", "key": "company", "op": "contains", "value": "cm"}, {"ann"}),
        ({"field": "property", "key": "seats", "op": "is_set"}, {"ann", "bob", "dee"}),
        ({"field": "property", "key": "company", "op": "is_not_set"}, EVERYONE - {"ann"}),
]  # fmt: skip


def test_each_kind_of_field(context: AppContext, project: int) -> None:
    wrong = {}
    for condition, expected in FIELD_CASES:
        found = where(context, project, condition)
        if found != expected:
            wrong[str(condition)] = (sorted(found), sorted(expected))
    assert wrong == {}


def test_any_joins_conditions_with_or_and_all_with_and(context: AppContext, project: int) -> None:
    past_due = {"field": "billing_status", "op": "eq", "value": "past_due"}
    tickets = {"field": "open_tickets", "op": "gt", "value": 0}
    assert where(context, project, past_due, tickets, match="any") == {"dee", "eve"}
    assert where(context, project, past_due, tickets) == set()


def test_search_text_narrows_the_list(context: AppContext, project: int) -> None:
    assert ids(context, project, q="doe") == {"dee"}  # a word of the name after the first
    assert ids(context, project, q="Gus@") == {"gus"}
    assert ids(context, project, q="ACME", quick=["vip"]) == set()  # no e-mail starts so
    assert ids(context, project, q="i", quick=["at_risk"]) == {"ivy"}


def test_sorting_and_paging(context: AppContext, project: int) -> None:
    with context.sessions() as session:
        spec = FilterSpec(sort="-health")
        first = people_page(session, context.warehouse, project, spec, NOW, currency="usd",
                            limit=4)  # fmt: skip
        second = people_page(session, context.warehouse, project, spec, NOW, currency="usd",
                             limit=4, offset=4)  # fmt: skip
        by_mrr = people_page(session, context.warehouse, project, FilterSpec(sort="-mrr"), NOW,
                             currency="usd", limit=2)  # fmt: skip
        by_seen = people_page(session, context.warehouse, project, FilterSpec(), NOW,
                              currency="usd", limit=500)  # fmt: skip
    assert first.total == second.total == 9
    assert [r.person_id for r in first.rows] == ["hal", "ann", "dee", "cy"]
    assert [r.person_id for r in second.rows] == ["eve", "gus", "bob", "ivy"]
    assert [r.person_id for r in by_mrr.rows] == ["dee", "ann"]
    assert [r.person_id for r in by_seen.rows][:3] == ["dee", "ann", "hal"]
    assert by_seen.rows[-1].person_id == "fay"  # never seen: last


# Conditions refused, and the path the refusal names.
REFUSED: list[tuple[list[dict[str, Any]], str]] = [
        ([{"field": "email", "op": "is_set"}, {"field": "mrr", "op": "gt", "value": "lots"}],
         "conditions[1].value"),
        ([{"field": "tags", "op": "gt", "value": "x"}], "conditions[0].op"),
        ([{"field": "band", "op": "eq", "value": "happy"}], "conditions[0].value"),
        ([{"field": "last_seen_days", "op": "gt", "value": 2.5}], "conditions[0].value"),
        ([{"field": "vip", "op": "eq", "value": "maybe"}], "conditions[0].value"),
        ([{"field": "property", "key": 'a"b', "op": "is_set"}], "conditions[0].key"),
        ([{"field": "property", "key": "seats", "op": "gt", "value": "many"}],
         "conditions[0].value"),
        ([{"field": "did_event", "event": "export", "op": "gt"}], "conditions[0].op"),
        ([{"field": "name", "op": "contains"}], "conditions[0].value"),
        ([{"field": "name", "op": "eq", "value": "a\x00b"}], "conditions[0].value"),
]  # fmt: skip


def test_invalid_conditions_name_their_path(context: AppContext, project: int) -> None:
    named = []
    for conditions, _ in REFUSED:
        with pytest.raises(InvalidInput) as refused:
            where(context, project, *conditions)
        named.append(refused.value.field)
    assert named == [path for _, path in REFUSED]


def test_selected_ids_are_refused_beyond_the_cap(context: AppContext, project: int) -> None:
    spec = FilterSpec(quick=["at_risk"], sort="health")
    with context.sessions() as session:
        assert selected_ids(session, context.warehouse, project, spec, NOW, cap=5) == [
            "ivy", "bob", "gus", "eve", "cy"]  # fmt: skip
        with pytest.raises(InvalidInput) as refused:
            selected_ids(session, context.warehouse, project, spec, NOW, cap=4)
    assert refused.value.field == "filter"


# --- behaviour, answered by the warehouse --------------------------------------------------


@pytest.fixture
def active(context: AppContext, warehouse: Warehouse) -> int:
    """Exports: ann twice (once as anon-1, merged into her), bob once, eve 40 days ago."""
    made = create_project(context)
    events = [("ann", 2), ("anon-1", 3), ("bob", 4), ("eve", 40), ("cy", 1)]
    capture(warehouse, made.id, [
        CaptureEvent(event="export" if who != "cy" else "view", distinct_id=who,
                     timestamp=NOW - days * DAY) for who, days in events
    ], received_at=NOW)  # fmt: skip
    register_people(context.sessions, warehouse, made.id,
                    [KnownPerson(distinct_id="ann", other_ids=["anon-1"])])  # fmt: skip
    with transaction(context.sessions) as session:
        for who in ("ann", "bob", "cy", "eve"):
            values = row(
                email=f"{who}@x.io",
                name=who.title(),
                billing_status="paying",
                health=60 if who == "bob" else 80,
            )
            session.add(summary(made.id, person_id_for(made.id, who), values))
    return made.id


def behaviour(
    context: AppContext, warehouse: Warehouse, project: int, *conditions: dict[str, Any],
    match: str = "all",
) -> set[str]:  # fmt: skip
    names = {person_id_for(project, who): who for who in ("ann", "bob", "cy", "eve")}
    spec = FilterSpec(conditions=list(conditions), match=match, sort="name")
    with context.sessions() as session:
        page = people_page(session, warehouse, project, spec, NOW, currency="usd")
    return {names[row.person_id] for row in page.rows}


def test_did_event_counts_merged_ids_for_the_survivor(
    context: AppContext, warehouse: Warehouse, active: int
) -> None:
    twice = {"field": "did_event", "event": "export", "value": 2, "days": 30}
    once = {"field": "did_event", "event": "export", "days": 30}
    long_ago = {"field": "did_event", "event": "export", "op": "is_set", "days": 60}
    never = {"field": "did_event", "event": "export", "op": "is_not_set", "days": 30}
    assert behaviour(context, warehouse, active, twice) == {"ann"}
    assert behaviour(context, warehouse, active, once) == {"ann", "bob"}
    assert behaviour(context, warehouse, active, long_ago) == {"ann", "bob", "eve"}
    assert behaviour(context, warehouse, active, never) == {"cy", "eve"}


def test_did_event_joins_other_conditions(
    context: AppContext, warehouse: Warehouse, active: int
) -> None:
    once = {"field": "did_event", "event": "export", "days": 30}
    healthy = {"field": "health", "op": "gte", "value": 70}
    assert behaviour(context, warehouse, active, once, healthy) == {"ann"}
    assert behaviour(context, warehouse, active, once, healthy, match="any") == {
        "ann", "bob", "cy", "eve"}  # fmt: skip
    with context.sessions() as session:
        spec = FilterSpec(conditions=[once], sort="health")
        page = people_page(session, warehouse, active, spec, NOW, currency="usd", limit=1)
    assert page.total == 2
    assert [r.person_id for r in page.rows] == [person_id_for(active, "bob")]


def test_did_event_fewer_times_includes_those_who_never_did(
    context: AppContext, warehouse: Warehouse, active: int
) -> None:
    fewer = {"field": "did_event", "event": "export", "op": "lt", "value": 2, "days": 30}
    assert behaviour(context, warehouse, active, fewer) == {"bob", "cy", "eve"}


# --- presets --------------------------------------------------------------------------------


def test_presets_are_saved_listed_and_deleted(context: AppContext, project: int) -> None:
    churned = FilterSpec(conditions=[{"field": "billing_status", "value": "churned"}],
                         quick=["at_risk"], sort="-mrr")  # fmt: skip
    with transaction(context.sessions) as session:
        saved = save_preset(session, TEST_ACTOR, project, "  Churned   at risk ", churned)
        save_preset(session, TEST_ACTOR, project, "all VIPs", FilterSpec(quick=["vip"]))
    with context.sessions() as session:
        listed = presets(session, project)
    assert [p.name for p in listed] == ["all VIPs", "Churned at risk"]
    assert (listed[1].id, listed[1].spec, listed[1].created_by) == (saved.id, churned, "test")
    assert where(context, project, *[c.model_dump() for c in listed[1].spec.conditions]) == {
        "bob", "cy", "gus", "ivy"}  # fmt: skip
    with transaction(context.sessions) as session:
        delete_preset(session, TEST_ACTOR, project, saved.id)
    with context.sessions() as session:
        assert [p.name for p in presets(session, project)] == ["all VIPs"]
        entries, _ = audit.entries(session, limit=10)
    assert [(e.action, e.target) for e in entries if e.action.startswith("people.preset")] == [
        ("people.preset_deleted", "Churned at risk"), ("people.preset_saved", "all VIPs"),
        ("people.preset_saved", "Churned at risk")]  # fmt: skip


def test_preset_names_are_unique_in_a_project_whatever_their_case(
    context: AppContext, project: int
) -> None:
    other = create_project(context, "Third")
    with transaction(context.sessions) as session:
        save_preset(session, TEST_ACTOR, project, "VIPs", FilterSpec(quick=["vip"]))
        save_preset(session, TEST_ACTOR, other.id, "vips", FilterSpec())  # another project
    for name in ("vips", "", "x" * 101):
        with transaction(context.sessions) as session, pytest.raises(InvalidInput) as refused:
            save_preset(session, TEST_ACTOR, project, name, FilterSpec())
        assert refused.value.field == "name"


def test_another_projects_presets_are_neither_listed_nor_deleted(
    context: AppContext, project: int
) -> None:
    other = create_project(context, "Third")
    with transaction(context.sessions) as session:
        theirs = save_preset(session, TEST_ACTOR, other.id, "Theirs", FilterSpec())
    with context.sessions() as session:
        assert presets(session, project) == []
    with transaction(context.sessions) as session, pytest.raises(NotFound):
        delete_preset(session, TEST_ACTOR, project, theirs.id)
    with context.sessions() as session:
        assert [p.name for p in presets(session, other.id)] == ["Theirs"]


def test_a_project_keeps_at_most_100_presets(context: AppContext, project: int) -> None:
    with transaction(context.sessions) as session:
        for n in range(100):
            save_preset(session, TEST_ACTOR, project, f"Preset {n}", FilterSpec())
    with transaction(context.sessions) as session, pytest.raises(InvalidInput) as refused:
        save_preset(session, TEST_ACTOR, project, "One more", FilterSpec())
    assert "at most 100" in refused.value.message
