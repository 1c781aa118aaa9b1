"""Paths: the most common sequences of events (or pages) after a chosen event, or leading
to it (definitions in docs/metrics/product.md).

One query, written once for both engines, reads the persons' timelines in the range
(newest first for paths *before*); NumPy then cuts each person's path from their first
occurrence of the event, merges repeats in a row, and counts steps and links.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopwise.core.errors import InvalidInput
from loopwise.product.contracts import (
    PathLink,
    PathNode,
    PathPersonsQuery,
    PathsQuery,
    PathsResult,
    PersonList,
)
from loopwise.product.filters import conditions
from loopwise.product.queries.cohorts import cohort_source
from loopwise.product.queries.periods import query_window
from loopwise.product.queries.persons import describe_persons
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import has_person_overrides

OTHER = "$other"
MAX_EVENTS = 20_000_000
Ints = np.ndarray[Any, np.dtype[np.int64]]


@dataclass(frozen=True)
class _Paths:
    person: Ints  # per kept row: dense person number
    step: Ints  # position in the person's path
    node: Ints  # index into names (after grouping the rare ones)
    ended: np.ndarray  # per kept row: the person's path has no later step at all
    names: list[str]
    person_ids: list[str] | None
    span: tuple[datetime, datetime]


def run_paths(
    warehouse: Warehouse,
    project_id: int,
    query: PathsQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> PathsResult:
    zone, start, end = query_window(query.date_range, timezone, now)
    paths = _paths(warehouse, project_id, query, start, end, with_ids=False, now=now)
    nodes = []
    if len(paths.step):
        last = paths.ended
        pairs, counts = np.unique(np.stack([paths.step, paths.node]), axis=1, return_counts=True)
        ended_pairs, ended = np.unique(
            np.stack([paths.step[last], paths.node[last]]), axis=1, return_counts=True
        )
        ends = {(int(a), int(b)): int(n) for (a, b), n in zip(ended_pairs.T, ended, strict=True)}
        for (step, node), persons in zip(pairs.T, counts, strict=True):
            key = (int(step), int(node))
            nodes.append(
                PathNode(step=key[0], name=paths.names[key[1]], persons=int(persons),
                         ended=ends.get(key, 0))
            )  # fmt: skip
    nodes.sort(key=lambda n: (n.step, n.name == OTHER, -n.persons, n.name))
    return PathsResult(
        timezone=zone,
        nodes=nodes,
        links=_links(paths),
        query=query.model_dump(mode="json"),
    )


def path_persons(
    warehouse: Warehouse,
    project_id: int,
    request: PathPersonsQuery,
    timezone: str,
    *,
    now: datetime | None = None,
) -> PersonList:
    _zone, start, end = query_window(request.query.date_range, timezone, now)
    paths = _paths(warehouse, project_id, request.query, start, end, with_ids=True, now=now)
    known = paths.person_ids or []
    if request.name not in paths.names:
        return PersonList(persons=[], has_more=False)
    code = paths.names.index(request.name)
    chosen = (paths.step == request.step) & (paths.node == code)
    ids = sorted(known[int(p)] for p in paths.person[chosen])
    page = ids[request.offset : request.offset + request.limit]
    described = describe_persons(warehouse, project_id, page, *paths.span)
    return PersonList(
        persons=[described[i] for i in page], has_more=len(ids) > request.offset + request.limit
    )


def _links(paths: _Paths) -> list[PathLink]:
    if len(paths.step) < 2:
        return []
    same = paths.person[1:] == paths.person[:-1]
    triples = np.stack([paths.step[:-1][same], paths.node[:-1][same], paths.node[1:][same]])
    if not triples.size:
        return []
    found, counts = np.unique(triples, axis=1, return_counts=True)
    links = [
        PathLink(
            step=int(step),
            source=paths.names[int(a)],
            target=paths.names[int(b)],
            persons=int(n),
        )
        for (step, a, b), n in zip(found.T, counts, strict=True)
    ]
    links.sort(key=lambda link: (link.step, -link.persons, link.source, link.target))
    return links


def _paths(
    warehouse: Warehouse,
    project_id: int,
    query: PathsQuery,
    start: datetime,
    end: datetime,
    *,
    with_ids: bool,
    now: datetime | None = None,
) -> _Paths:
    d = dialect_for(warehouse.dialect)
    params: dict[str, Any] = {"p": project_id, "start": start, "end": end}
    where = ["project_id = {p}", "timestamp >= {start}", "timestamp < {end}"]
    if query.steps == "pages":
        where.append("event = '$pageview'")
    where += conditions(d, query.filters, params, "qf")
    node = "pathname" if query.steps == "pages" else "event"
    newest_first = " DESC" if query.direction == "before" else ""
    ids = ", person_id" if with_ids else ""
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
    sql = f"""
        SELECT {d.hash64("person_id")} AS person, {node} AS node {ids}
        FROM {source} AS ev
        ORDER BY person, timestamp{newest_first}, node
    """
    found = warehouse.query(sql, params, max_rows=MAX_EVENTS)
    if found.truncated:
        raise InvalidInput("date_range", f"paths cover more than {MAX_EVENTS:,} events; narrow it")
    table = found.table
    people = np.asarray(
        table.column("person").cast(pa.uint64()).cast(pa.int64(), safe=False).to_numpy(),
        dtype=np.int64,
    )
    encoded = pc.dictionary_encode(table.column("node").combine_chunks())
    names = [str(v) for v in encoded.dictionary.to_pylist()]
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    person = np.zeros(len(people), dtype=np.int64)
    if len(people) > 1:
        person[1:] = np.cumsum(people[1:] != people[:-1])
    keep = _from_start(person, codes, names, query.event)
    person, codes = person[keep], codes[keep]
    rows = np.flatnonzero(keep)
    # Repeats in a row (a page reloaded, an event sent twice) make one step.
    repeat = np.zeros(len(codes), dtype=bool)
    repeat[1:] = (person[1:] == person[:-1]) & (codes[1:] == codes[:-1])
    person, codes, rows = person[~repeat], codes[~repeat], rows[~repeat]
    firsts = np.ones(len(person), dtype=bool)
    firsts[1:] = person[1:] != person[:-1]
    ended = np.ones(len(person), dtype=bool)  # before the depth cuts paths short
    ended[:-1] = person[1:] != person[:-1]
    starts = np.maximum.accumulate(np.where(firsts, np.arange(len(person)), 0))
    step = np.arange(len(person)) - starts
    inside = step < query.depth
    person, codes, step, rows = person[inside], codes[inside], step[inside], rows[inside]
    ended = ended[inside]
    codes, names = _group_rare(step, codes, names, query.limit)
    person_ids = None
    if with_ids:
        column = table.column("person_id")
        person_ids = [str(column[int(r)]) for r in _first_rows(person, rows)]
        person = _renumber(person)
    return _Paths(person, step, codes, ended, names, person_ids, (start, end))


def _from_start(person: Ints, codes: Ints, names: list[str], event: str | None) -> np.ndarray:
    """Rows from each person's first occurrence of ``event`` on (their first row without)."""
    if event is None:
        return np.ones(len(person), dtype=bool)
    if event not in names:
        return np.zeros(len(person), dtype=bool)
    hit = codes == names.index(event)
    index = np.arange(len(person))
    first_hit = np.full(int(person.max()) + 1 if len(person) else 0, len(person), dtype=np.int64)
    np.minimum.at(first_hit, person[hit], index[hit])
    return index >= first_hit[person]


def _group_rare(step: Ints, codes: Ints, names: list[str], limit: int) -> tuple[Ints, list[str]]:
    """Per step, keep the ``limit`` most frequent names; the others become ``$other``."""
    names = [*names, OTHER]
    other = len(names) - 1
    grouped = codes.copy()
    for position in np.unique(step):
        here = step == position
        found, counts = np.unique(codes[here], return_counts=True)
        ranked = sorted(
            zip(found.tolist(), counts.tolist(), strict=True), key=lambda c: (-c[1], names[c[0]])
        )
        kept = np.asarray([code for code, _ in ranked[:limit]], dtype=np.int64)
        grouped[here & ~np.isin(codes, kept)] = other
    return grouped, names


def _first_rows(person: Ints, rows: Ints) -> list[int]:
    firsts = np.ones(len(person), dtype=bool)
    firsts[1:] = person[1:] != person[:-1]
    return [int(r) for r in rows[firsts]]


def _renumber(person: Ints) -> Ints:
    """Dense person numbers 0, 1, … in row order (some persons had no rows left)."""
    changes = np.zeros(len(person), dtype=np.int64)
    changes[1:] = person[1:] != person[:-1]
    return np.cumsum(changes)
