"""Who did an event at least so many times in a window: the behaviour test of the people
list's filters ("did ``export`` at least 3 times in the last 30 days").

One statement per question, grouped by person over the events of the window only (both
engines prune by project and time). Merged persons resolve as in every other query
(``Dialect.events_with_persons``), so an anonymous id's events count for the person it
was merged into.
"""

from __future__ import annotations

from datetime import datetime

from loopwise.core.errors import InvalidInput
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import has_person_overrides

MAX_PERSONS = 1_000_000  # persons one answer may hold
MAX_COUNT = 1_000_000


def persons_who_did(
    warehouse: Warehouse,
    project_id: int,
    event: str,
    start: datetime,
    end: datetime,
    min_count: int = 1,
) -> set[str]:
    """The persons with at least ``min_count`` ``event`` events in [start, end)."""
    if not event or len(event) > 200:
        raise InvalidInput("event", "name an event of 1 to 200 characters")
    if not 1 <= min_count <= MAX_COUNT:
        raise InvalidInput("min_count", f"is 1 to {MAX_COUNT:,}")
    if start.utcoffset() is None or end.utcoffset() is None:
        raise InvalidInput("start", "start and end must be timezone-aware")
    d = dialect_for(warehouse.dialect)
    window = "project_id = {p} AND event = {event} AND timestamp >= {start} AND timestamp < {end}"
    source = d.events_with_persons(window, merged=has_person_overrides(warehouse, project_id))
    sql = f"""
        SELECT person_id FROM {source} AS ev
        GROUP BY person_id HAVING {d.count_rows()} >= {{n}}
    """
    params = {"p": project_id, "event": event, "start": start, "end": end, "n": min_count}
    result = warehouse.query(sql, params, max_rows=MAX_PERSONS)
    if result.truncated:
        raise InvalidInput("event", f"more than {MAX_PERSONS:,} persons did it: narrow the window")
    return {str(p) for p in result.table.column("person_id").to_pylist()}
