"""Funnels: of the persons who did the first step in the date range, how many reached each
later step within the conversion window (definitions in docs/metrics/product.md).

One query, written once for both engines, reads the persons' timelines: the events that
match a step or an exclusion (every event, for strict funnels, where any other event
breaks an attempt), with merged persons resolved, from the start of the range to the end
of the last window. ``sequences.match`` then finds each person's counted attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopwise.core.errors import InvalidInput
from loopwise.product.contracts import (
    FunnelGroup,
    FunnelPerson,
    FunnelPersons,
    FunnelPersonsQuery,
    FunnelQuery,
    FunnelResult,
    FunnelStepResult,
    HistogramBin,
)
from loopwise.product.filters import conditions, property_text
from loopwise.product.queries.periods import query_window
from loopwise.product.queries.sequences import Attempts, Ints, Timeline, histogram, match, summarise
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import Dialect, has_person_overrides

OTHER = "$other"
# A funnel reads its events into memory; past this many it asks for a narrower query.
MAX_EVENTS = 20_000_000


@dataclass(frozen=True)
class _Loaded:
    timeline: Timeline
    person_ids: pa.Array  # by dense person number
    values: list[str] | None  # breakdown value of each timeline row
    start: datetime
    end: datetime
    zone: str


@dataclass(frozen=True)
class _Outcome:
    loaded: _Loaded
    attempts: Attempts
    groups: list[str] | None  # per attempt: its breakdown group


def run_funnels(
    warehouse: Warehouse,
    project_id: int,
    query: FunnelQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> FunnelResult:
    outcome = _evaluate(warehouse, project_id, query, timezone, now)
    attempts = outcome.attempts
    total = _group(query, None, attempts.level, attempts.times)
    breakdown = []
    if outcome.groups is not None:
        labels = np.asarray(outcome.groups, dtype=object)
        for value in dict.fromkeys(outcome.groups):
            mine = labels == value
            breakdown.append(_group(query, value, attempts.level[mine], attempts.times[mine]))
        breakdown.sort(key=lambda g: (g.breakdown_value == OTHER, -g.steps[0].count))
    return FunnelResult(
        timezone=outcome.loaded.zone,
        window_seconds=query.window.seconds,
        total=total,
        breakdown=breakdown,
        query=query.model_dump(mode="json"),
    )


def funnel_persons(
    warehouse: Warehouse,
    project_id: int,
    request: FunnelPersonsQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> FunnelPersons:
    """The persons who reached (or dropped off before) one step, latest entrants first."""
    outcome = _evaluate(warehouse, project_id, request.query, timezone, now)
    attempts = outcome.attempts
    chosen = attempts.level == request.step if request.dropped else attempts.level > request.step
    if request.breakdown_value is not None and outcome.groups is not None:
        chosen &= np.asarray(outcome.groups, dtype=object) == request.breakdown_value
    rows = np.flatnonzero(chosen)
    rows = rows[np.lexsort((rows, -attempts.times[rows, 0]))]
    page = rows[request.offset : request.offset + request.limit]
    ids = outcome.loaded.person_ids.take(pa.array(attempts.person[page])).to_pylist()
    distinct = _distinct_ids(warehouse, project_id, outcome.loaded, ids)
    persons = [
        FunnelPerson(
            person_id=person,
            distinct_id=distinct.get(person, ""),
            steps_reached=int(attempts.level[row]),
            entered_at=datetime.fromtimestamp(attempts.times[row, 0] / 1e6, UTC),
        )
        for person, row in zip(ids, page, strict=True)
    ]
    return FunnelPersons(persons=persons, has_more=len(rows) > request.offset + request.limit)


def _evaluate(
    warehouse: Warehouse, project_id: int, query: FunnelQuery, timezone: str, now: datetime | None
) -> _Outcome:
    zone, start, end = query_window(query.date_range, timezone, now)
    loaded = _load(warehouse, project_id, query, start, end, zone)
    definitions = [(s.event, s.filters) for s in query.steps]
    attempts = match(
        loaded.timeline,
        len(query.steps),
        query.order,
        query.window.seconds * 1_000_000,
        _micros(start),
        _micros(end),
        [(e.from_step, e.to_step) for e in query.exclusions],
        [definitions.index(d) for d in definitions],
    )
    groups = None
    if query.breakdown is not None and loaded.values is not None:
        groups = _attribute(query, attempts, loaded.values)
    return _Outcome(loaded, attempts, groups)


def _micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def _load(
    warehouse: Warehouse,
    project_id: int,
    query: FunnelQuery,
    start: datetime,
    end: datetime,
    zone: str,
) -> _Loaded:
    d = dialect_for(warehouse.dialect)
    until = end + timedelta(seconds=query.window.seconds)
    params: dict[str, Any] = {"p": project_id, "start": start, "until": until}
    where = ["project_id = {p}", "timestamp >= {start}", "timestamp < {until}"]
    where += conditions(d, query.filters, params, "qf")
    steps = [_matches(d, s.event, s.filters, params, f"s{i}") for i, s in enumerate(query.steps)]
    exclusions = [
        _matches(d, e.event, e.filters, params, f"x{i}") for i, e in enumerate(query.exclusions)
    ]
    if query.order != "strict":  # other events cannot change an ordered or any-order funnel
        params["names"] = sorted(
            {s.event for s in query.steps} | {e.event for e in query.exclusions}
        )
        where.append(d.in_array("event", "names"))
    first_step = " ".join(f"WHEN {c} THEN {i}" for i, c in enumerate(steps))
    value = ""
    if query.breakdown is not None:
        value = f", {property_text(d, query.breakdown.property, params, 'bk')} AS value"
    source = d.events_with_persons(
        " AND ".join(where), merged=has_person_overrides(warehouse, project_id)
    )
    sql = f"""
        SELECT person_id, timestamp, {_bits(steps)} AS steps, {_bits(exclusions)} AS exclusions
               {value}
        FROM {source} AS ev
        ORDER BY person_id, timestamp, CASE {first_step} ELSE {len(steps)} END, uuid
    """
    if query.order != "strict":
        sql = f"SELECT * FROM ({sql}) AS t WHERE steps != 0 OR exclusions != 0"
    found = warehouse.query(sql, params, max_rows=MAX_EVENTS)
    if found.truncated:
        raise InvalidInput(
            "date_range", f"the funnel covers more than {MAX_EVENTS:,} events; narrow it down"
        )
    table = found.table
    people = table.column("person_id").combine_chunks()
    changes = np.zeros(len(people), dtype=np.int64)
    if len(people) > 1:
        changes[1:] = pc.not_equal(people.slice(1), people.slice(0, len(people) - 1)).to_numpy(
            zero_copy_only=False
        )
    firsts = np.flatnonzero(changes) if len(people) else np.zeros(0, dtype=np.int64)
    if len(people):
        firsts = np.concatenate([[0], firsts])
    timeline = Timeline(
        person=np.cumsum(changes),
        ts=_ints(table.column("timestamp").cast(pa.int64())),
        steps=_ints(table.column("steps")),
        exclusions=_ints(table.column("exclusions")),
    )
    values = table.column("value").to_pylist() if query.breakdown is not None else None
    return _Loaded(timeline, people.take(pa.array(firsts)), values, start, end, zone)


def _ints(column: pa.ChunkedArray) -> Ints:
    return np.asarray(column.cast(pa.int64()).to_numpy(), dtype=np.int64)


def _matches(d: Dialect, event: str, filters: Any, params: dict[str, Any], name: str) -> str:
    params[name] = event
    return " AND ".join([f"event = {{{name}}}", *conditions(d, filters, params, f"{name}f")])


def _bits(matches: list[str]) -> str:
    if not matches:
        return "CAST(0 AS BIGINT)"
    terms = [f"(CASE WHEN {c} THEN {1 << i} ELSE 0 END)" for i, c in enumerate(matches)]
    return f"CAST({' + '.join(terms)} AS BIGINT)"


def _attribute(query: FunnelQuery, attempts: Attempts, values: list[str]) -> list[str]:
    """Each person's breakdown value, then all but the ``limit`` largest as ``$other``."""
    assert query.breakdown is not None
    rule, k = query.breakdown, len(query.steps)
    found: list[str] = []
    for row in attempts.positions:
        along = [str(values[p] or "") for p in row[:k] if p >= 0]
        if rule.attribution == "step":
            at = row[rule.step] if rule.step is not None else -1
            found.append(str(values[at] or "") if at >= 0 else "")
        else:
            seen = [v for v in along if v]
            if rule.attribution == "last_touch":
                seen.reverse()
            found.append(seen[0] if seen else "")
    sizes: dict[str, int] = {}
    for value in found:
        sizes[value] = sizes.get(value, 0) + 1
    top = set(sorted(sizes, key=lambda v: (-sizes[v], v))[: rule.limit])
    return [v if v in top else OTHER for v in found]


def _group(query: FunnelQuery, value: str | None, level: Ints, times: Ints) -> FunnelGroup:
    k = len(query.steps)
    summary = summarise(level, times, k)
    first = summary[0].count
    steps = []
    for number, (step, done) in enumerate(zip(query.steps, summary, strict=True)):
        before = summary[number - 1].count if number else done.count
        steps.append(
            FunnelStepResult(
                step=number,
                label=step.label or step.event,
                count=done.count,
                conversion_from_previous=done.count / before if before else 0.0,
                conversion_from_first=done.count / first if first else 0.0,
                dropped=before - done.count,
                average_seconds=done.average_seconds,
                median_seconds=done.median_seconds,
            )
        )
    bins = [
        HistogramBin(start_seconds=a, end_seconds=b, persons=n)
        for a, b, n in histogram(level, times, k)
    ]
    return FunnelGroup(breakdown_value=value, steps=steps, histogram=bins)


def _distinct_ids(
    warehouse: Warehouse, project_id: int, loaded: _Loaded, persons: list[str]
) -> dict[str, str]:
    """The distinct id each person used last in the funnel's time span."""
    if not persons:
        return {}
    d = dialect_for(warehouse.dialect)
    where = "project_id = {p} AND timestamp >= {start} AND timestamp < {end}"
    source = d.events_with_persons(where, merged=has_person_overrides(warehouse, project_id))
    sql = f"""
        SELECT person_id, argMax(distinct_id, timestamp) AS distinct_id
        FROM {source} AS ev
        WHERE {d.in_array("person_id", "persons")}
        GROUP BY person_id
    """
    params = {"p": project_id, "start": loaded.start, "end": loaded.end, "persons": persons}
    rows = warehouse.query(sql, params, max_rows=len(persons)).table.to_pylist()
    return {row["person_id"]: row["distinct_id"] for row in rows}
