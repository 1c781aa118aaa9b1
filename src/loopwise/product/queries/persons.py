"""Who the persons of a drill-down are: the distinct id each used last, and when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from loopwise.product.contracts import PersonList, PersonRow
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import has_person_overrides


def describe_persons(
    warehouse: Warehouse,
    project_id: int,
    persons: Sequence[str],
    start: datetime,
    end: datetime,
) -> dict[str, PersonRow]:
    """Each person's last distinct id and last event time within [start, end); persons
    without events there keep an empty distinct id."""
    found = {p: PersonRow(person_id=p, distinct_id="", last_seen=None) for p in persons}
    if not persons:
        return found
    d = dialect_for(warehouse.dialect)
    where = "project_id = {p} AND timestamp >= {start} AND timestamp < {end}"
    source = d.events_with_persons(where, merged=has_person_overrides(warehouse, project_id))
    sql = f"""
        SELECT person_id, argMax(distinct_id, timestamp) AS distinct_id,
               max(timestamp) AS last_seen
        FROM {source} AS ev
        WHERE {d.in_array("person_id", "persons")}
        GROUP BY person_id
    """
    params = {"p": project_id, "start": start, "end": end, "persons": list(persons)}
    for row in warehouse.query(sql, params, max_rows=len(persons)).table.to_pylist():
        found[row["person_id"]] = PersonRow(**row)
    return found


def persons_page(
    warehouse: Warehouse,
    project_id: int,
    sql: str,
    params: dict[str, object],
    limit: int,
    offset: int,
    span: tuple[datetime, datetime],
) -> PersonList:
    """A page of the persons a query selects (its ``person_id`` column, each once), by id,
    described by their last distinct id within ``span``."""
    paged = f"""
        SELECT DISTINCT person_id FROM ({sql}) AS chosen
        ORDER BY person_id LIMIT {{page_limit}} OFFSET {{page_offset}}
    """
    values = {**params, "page_limit": limit + 1, "page_offset": offset}
    found = warehouse.query(paged, values, max_rows=limit + 1).table.column("person_id")
    ids = [str(i) for i in found.to_pylist()]
    page = ids[:limit]
    described = describe_persons(warehouse, project_id, page, span[0], span[1])
    return PersonList(persons=[described[i] for i in page], has_more=len(ids) > limit)
