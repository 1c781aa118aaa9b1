"""Cohort membership as SQL: the persons a cohort holds as of a moment, written once for
both engines, and the events of a query narrowed to them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from loopwise.core.errors import InvalidInput
from loopwise.product.contracts import (
    CohortCriterion,
    CohortDefinition,
    CohortFilter,
    PropertyFilter,
)
from loopwise.product.filters import conditions
from loopwise.warehouse.dialect import Dialect


def cohort_source(
    d: Dialect,
    where: str,
    params: dict[str, Any],
    *,
    merged: bool,
    cohort: CohortFilter | None,
    now: datetime | None = None,
    filters: Sequence[PropertyFilter] = (),
) -> str:
    """``events_with_persons(where)``, kept to the cohort's persons when there is one and
    to the persons matching the person-property ``filters`` among ``filters``."""
    people = [f for f in filters if f.type == "person"]
    source = d.events_with_persons(where, merged=merged or bool(people) or cohort is not None)
    if cohort is None and not people:
        return source
    tests = []
    if cohort is not None:
        tests.append(membership(d, definition_of(cohort), params, merged=merged, now=now))
    if people:
        criteria = [CohortCriterion(type="property", property=f) for f in people]
        tests.append(membership(d, CohortDefinition(criteria=criteria), params,
                                merged=merged, now=now, prefix="pf"))  # fmt: skip
    return f"(SELECT * FROM {source} AS in_cohort WHERE {' AND '.join(tests)})"


def definition_of(cohort: CohortFilter) -> CohortDefinition:
    if cohort.definition is None:
        raise InvalidInput("cohort", f"cohort {cohort.id} was not found in this project")
    return cohort.definition


def membership(
    d: Dialect,
    definition: CohortDefinition,
    params: dict[str, Any],
    *,
    merged: bool,
    now: datetime | None = None,
    column: str = "person_id",
    prefix: str = "ch",
) -> str:
    """A condition: ``column`` (a resolved person id) is in the cohort as of ``now``."""
    if definition.person_ids:
        params[f"{prefix}_ids"] = list(definition.person_ids)
        return d.in_array(column, f"{prefix}_ids")
    params["ch_now"] = now or datetime.now(UTC)
    tests = [
        f"{column} IN ({_criterion(d, c, params, f'{prefix}{i}', merged)})"
        for i, c in enumerate(definition.criteria)
    ]
    return " AND ".join(tests)


def _criterion(
    d: Dialect, criterion: CohortCriterion, params: dict[str, Any], name: str, merged: bool
) -> str:
    """SQL: the person ids meeting one criterion."""
    project = "project_id = {p} AND timestamp < {ch_now}"
    if criterion.type == "property":
        assert criterion.property is not None
        item = criterion.property
        if item.operator == "is_not_set":
            params[f"{name}_key"] = item.key
            has, _ = person_properties(d, f"{name}_key", params)
            source = d.events_with_persons(project, merged=merged)
            return f"""
                SELECT person_id FROM {source} AS c GROUP BY person_id
                HAVING {d.count_rows(has)} = 0
            """
        params[f"{name}_key"] = item.key
        carried, latest = person_properties(d, f"{name}_key", params)
        source = d.events_with_persons(f"{project} AND {carried}", merged=merged)
        # Tested on the latest properties, so as an event filter over them.
        as_event = item.model_copy(update={"type": "event"})
        test = conditions(d, [as_event], params, f"{name}f", hot=False)[0]
        return f"""
            SELECT person_id FROM (
                SELECT person_id, argMax({latest}, timestamp) AS properties
                FROM {source} AS c GROUP BY person_id
            ) AS latest WHERE {test}
        """
    params[f"{name}_event"] = criterion.event
    params[f"{name}_since"] = params["ch_now"] - timedelta(days=criterion.days)
    recent = f"event = {{{name}_event}} AND timestamp >= {{{name}_since}}"
    if criterion.type == "did_event":
        params[f"{name}_min"] = criterion.min_times
        source = d.events_with_persons(f"{project} AND {recent}", merged=merged)
        return f"""
            SELECT person_id FROM {source} AS c GROUP BY person_id
            HAVING {d.count_rows()} >= {{{name}_min}}
        """
    source = d.events_with_persons(project, merged=merged)
    return f"""
        SELECT person_id FROM {source} AS c GROUP BY person_id
        HAVING {d.count_rows(recent)} = 0
    """


def with_person_value(
    d: Dialect,
    source: str,
    key: str,
    params: dict[str, Any],
    *,
    now: datetime | None = None,
) -> str:
    """The events of ``source`` (persons resolved) with ``person_value``: each person's
    latest value of the property ``key`` as text, from the newest event carrying it
    (``''`` when none does)."""
    params["pv_key"] = key
    params["pv_now"] = now or datetime.now(UTC)
    carried, properties = person_properties(d, "pv_key", params)
    carriers = d.events_with_persons(f"project_id = {{p}} AND timestamp < {{pv_now}} AND {carried}")
    latest = f"""
        SELECT person_id, argMax({d.json_string(properties, "pv_key")}, timestamp) AS value
        FROM {carriers} AS pv0 GROUP BY person_id
    """
    return f"""(
        SELECT ev.*, coalesce(pv.value, '') AS person_value
        FROM {source} AS ev LEFT JOIN ({latest}) AS pv ON pv.person_id = ev.person_id
    )"""


def person_properties(d: Dialect, key_param: str, params: dict[str, Any]) -> tuple[str, str]:
    """SQL for reading a person property from events: a condition (the event sets the
    key, as an event property or inside ``$set``) and the JSON object holding it (the
    event's properties, else its ``$set``)."""
    params["set_key"] = "$set"
    nested = d.json_object("properties", "set_key")
    top, inner = d.json_has("properties", key_param), d.json_has(nested, key_param)
    return f"({top} OR {inner})", f"(CASE WHEN {top} THEN properties ELSE {nested} END)"
