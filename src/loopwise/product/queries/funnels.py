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
from loopwise.product.queries.cohorts import cohort_source, with_person_value
from loopwise.product.queries.periods import micros, query_window
from loopwise.product.queries.persons import describe_persons
from loopwise.product.queries.sequences import Attempts, Ints, Timeline, histogram, match, summarise
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import Dialect, has_person_overrides

OTHER = "$other"
# A funnel reads its events into memory; past this many it asks for a narrower query.
MAX_EVENTS = 20_000_000


@dataclass(frozen=True)
class _Values:
    codes: Ints  # per timeline row: index into names, -1 when missing
    names: list[str]


@dataclass(frozen=True)
class _Loaded:
    timeline: Timeline
    person_ids: list[str] | None  # by dense person number, when asked for
    values: _Values | None  # breakdown value of each timeline row
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
    if query.cohort_breakdown:
        return _by_cohort(warehouse, project_id, query, timezone, now)
    outcome = _evaluate(warehouse, project_id, query, timezone, now, with_ids=False)
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


def _by_cohort(
    warehouse: Warehouse,
    project_id: int,
    query: FunnelQuery,
    timezone: str,
    now: datetime | None,
) -> FunnelResult:
    """Everyone as the total, then the funnel once per cohort as its breakdown groups."""
    whole = run_funnels(
        warehouse, project_id, query.model_copy(update={"cohort_breakdown": []}), timezone, now=now
    )
    groups = []
    for cohort in query.cohort_breakdown:
        part = query.model_copy(update={"cohort": cohort, "cohort_breakdown": []})
        total = run_funnels(warehouse, project_id, part, timezone, now=now).total
        groups.append(total.model_copy(update={"breakdown_value": cohort.label}))
    return whole.model_copy(update={"breakdown": groups, "query": query.model_dump(mode="json")})


def funnel_persons(
    warehouse: Warehouse,
    project_id: int,
    request: FunnelPersonsQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> FunnelPersons:
    """The persons who reached (or dropped off before) one step, latest entrants first."""
    query = request.query
    if query.cohort_breakdown:
        member = next(
            (c for c in query.cohort_breakdown if c.label == request.breakdown_value), None
        )
        if member is None and request.breakdown_value is not None:
            return FunnelPersons(persons=[], has_more=False)
        part = query.model_copy(update={"cohort": member, "cohort_breakdown": []})
        request = request.model_copy(update={"query": part, "breakdown_value": None})
    outcome = _evaluate(warehouse, project_id, request.query, timezone, now, with_ids=True)
    attempts, known = outcome.attempts, outcome.loaded.person_ids or []
    chosen = attempts.level == request.step if request.dropped else attempts.level > request.step
    if request.breakdown_value is not None and outcome.groups is not None:
        chosen &= np.asarray(outcome.groups, dtype=object) == request.breakdown_value
    ordered = sorted(
        np.flatnonzero(chosen).tolist(),
        key=lambda row: (-attempts.times[row, 0], known[attempts.person[row]]),
    )
    # Each person once (by sessions, a person may have several): their latest entry.
    rows, seen = [], set()
    for row in ordered:
        if known[attempts.person[row]] not in seen:
            seen.add(known[attempts.person[row]])
            rows.append(row)
    page = rows[request.offset : request.offset + request.limit]
    ids = [known[attempts.person[row]] for row in page]
    loaded = outcome.loaded
    distinct = describe_persons(warehouse, project_id, ids, loaded.start, loaded.end)
    persons = [
        FunnelPerson(
            person_id=person,
            distinct_id=distinct[person].distinct_id,
            steps_reached=int(attempts.level[row]),
            entered_at=datetime.fromtimestamp(attempts.times[row, 0] / 1e6, UTC),
        )
        for person, row in zip(ids, page, strict=True)
    ]
    return FunnelPersons(persons=persons, has_more=len(rows) > request.offset + request.limit)


def _evaluate(
    warehouse: Warehouse,
    project_id: int,
    query: FunnelQuery,
    timezone: str,
    now: datetime | None,
    *,
    with_ids: bool,
) -> _Outcome:
    zone, start, end = query_window(query.date_range, timezone, now)
    loaded = _load(warehouse, project_id, query, start, end, zone, with_ids=with_ids, now=now)
    attempts = match(
        loaded.timeline,
        len(query.steps),
        query.order,
        query.window.seconds * 1_000_000,
        micros(start),
        micros(end),
        [(e.from_step, e.to_step) for e in query.exclusions],
    )
    groups = None
    if query.breakdown is not None and loaded.values is not None:
        groups = _attribute(query, attempts, loaded.values)
    return _Outcome(loaded, attempts, groups)


def _load(
    warehouse: Warehouse,
    project_id: int,
    query: FunnelQuery,
    start: datetime,
    end: datetime,
    zone: str,
    *,
    with_ids: bool,
    now: datetime | None = None,
) -> _Loaded:
    """The timeline. Rows equal in every ordering key are interchangeable to the
    matching, so both engines reach the same answer. Persons are ordered and told apart
    by a 64-bit hash of their id, which sorts 2 to 3 times faster than the text; two
    persons would have to share a hash to be confused (odds about n²/2⁶⁵: below one in
    30 million for a million persons). The ids themselves are read only for drill-downs."""
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
        where.append("(" + " OR ".join(f"({c})" for c in [*steps, *exclusions]) + ")")
    first_step = " ".join(f"WHEN {c} THEN {i}" for i, c in enumerate(steps))
    value = ""
    if query.breakdown is not None:
        by_person = query.breakdown.type == "person"
        text = (
            "person_value"
            if by_person
            else property_text(d, query.breakdown.property, params, "bk")
        )
        value = f", {text} AS value"
    unit = "person_id"
    if query.aggregate_by == "sessions":  # a session key unique across persons
        unit = "concat(person_id, ':', session_id)"
        where.append("session_id != ''")
    merged = has_person_overrides(warehouse, project_id)
    source = cohort_source(
        d,
        " AND ".join(where),
        params,
        merged=merged,
        cohort=query.cohort,
        now=now,
        filters=query.filters,
    )
    if query.breakdown is not None and query.breakdown.type == "person":
        source = with_person_value(d, source, query.breakdown.property, params, now=now)
    ids = ", person_id" if with_ids else ""
    excluded = f", {_bits(exclusions)} AS exclusions" if exclusions else ""
    sql = f"""
        SELECT {d.hash64(unit)} AS person, timestamp, {_bits(steps)} AS steps
               {excluded} {value} {ids}
        FROM {source} AS ev
        ORDER BY person, timestamp, CASE {first_step} ELSE {len(steps)} END, steps
                 {", exclusions" if exclusions else ""} {", value" if value else ""}
    """
    found = warehouse.query(sql, params, max_rows=MAX_EVENTS)
    if found.truncated:
        raise InvalidInput(
            "date_range", f"the funnel covers more than {MAX_EVENTS:,} events; narrow it down"
        )
    table = found.table
    people = _ints(table.column("person").cast(pa.uint64()).cast(pa.int64(), safe=False))
    changes = np.zeros(len(people), dtype=np.int64)
    changes[1:] = people[1:] != people[:-1]
    timeline = Timeline(
        person=np.cumsum(changes),
        ts=_ints(table.column("timestamp").cast(pa.int64())),
        steps=_ints(table.column("steps")),
        exclusions=(
            _ints(table.column("exclusions")) if exclusions else np.zeros(len(people), np.int64)
        ),
    )
    person_ids = None
    if with_ids:
        firsts = np.flatnonzero(changes) if len(people) else np.zeros(0, np.int64)
        firsts = np.concatenate([[0], firsts]) if len(people) else firsts
        person_ids = table.column("person_id").take(pa.array(firsts, pa.int64())).to_pylist()
    values = None
    if query.breakdown is not None:
        encoded = pc.dictionary_encode(table.column("value").combine_chunks())
        names = [str(v or "") for v in encoded.dictionary.to_pylist()]
        codes = np.asarray(encoded.indices.fill_null(-1).to_numpy(), dtype=np.int64)
        values = _Values(codes, names)
    return _Loaded(timeline, person_ids, values, start, end, zone)


def _ints(column: pa.ChunkedArray) -> Ints:
    return np.asarray(column.cast(pa.int64()).to_numpy(), dtype=np.int64)


def _matches(d: Dialect, event: str, filters: Any, params: dict[str, Any], name: str) -> str:
    params[name] = event
    return " AND ".join([f"event = {{{name}}}", *conditions(d, filters, params, f"{name}f")])


def _bits(matches: list[str]) -> str:
    """A bit mask of the conditions a row meets, as a 16-bit integer (at most 10 bits)."""
    terms = [f"(CASE WHEN {c} THEN {1 << i} ELSE 0 END)" for i, c in enumerate(matches)]
    return f"CAST({' + '.join(terms)} AS SMALLINT)"


def _attribute(query: FunnelQuery, attempts: Attempts, values: _Values) -> list[str]:
    """Each person's breakdown value, then all but the ``limit`` largest as ``$other``."""
    assert query.breakdown is not None
    rule = query.breakdown
    empty = np.asarray([not name for name in values.names] + [True])  # code -1: missing
    positions = attempts.positions
    codes = np.where(positions >= 0, values.codes[np.maximum(positions, 0)], -1)
    codes = np.where(empty[codes], -1, codes)
    if rule.attribution == "step":
        chosen = codes[:, rule.step or 0]
    else:
        if rule.attribution == "last_touch":
            codes = codes[:, ::-1]
        present = codes >= 0
        first = present.argmax(axis=1)
        chosen = np.where(present.any(axis=1), codes[np.arange(len(codes)), first], -1)
    labels = [*values.names, ""]
    found, sizes = np.unique(chosen, return_counts=True)
    ranked = sorted(
        zip(found.tolist(), sizes.tolist(), strict=True), key=lambda c: (-c[1], labels[c[0]])
    )
    kept = {code for code, _ in ranked[: rule.limit]}
    return [labels[code] if code in kept else OTHER for code in chosen.tolist()]


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
