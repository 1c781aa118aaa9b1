"""What every person of a project did, in bulk: the activity signals the health score and
the people list read, for all persons at once (or a given few).

Per person, merged ids included (``Dialect.events_with_persons``), up to ``now``:

- ``first_seen``, ``last_seen``: their first and latest event;
- ``active_days``: distinct UTC days with at least one event, all history;
- ``active_days_28d``: of those, days with an event in the 28 days before ``now``;
- ``events_7d``: events in the 7 days before ``now``;
- ``weekly_baseline``: events 8 to 35 days before ``now`` (the four weeks before the
  last seven days), divided by 4: their usual week;
- ``errors_7d``: ``$exception`` events in the 7 days;
- ``sessions_30d``: distinct non-empty session ids in the 30 days;
- ``features``: the project's features used in the 30 days (any of a feature's events
  occurred), and ``core_adopted``, how many of them are core features.

Two statements whatever the number of persons, because the daily recompute reads a
project of 100,000 persons and millions of events: the first rolls the events up per
person and UTC day (so distinct days are rows, not a ``count(DISTINCT …)``) and then per
person; the second reads only the last 30 days for sessions and features. A given list
of persons narrows both to their events (theirs and those of the ids merged into them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from loopwise.product.contracts import ActivitySignals, FeatureInfo
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import Dialect, has_person_overrides

EXCEPTION = "$exception"  # PostHog's exception event
DAY_MICROS = 86_400_000_000
BASELINE_WEEKS = 4
MAX_PERSONS = 10_000_000  # row cap of one answer: more persons than any project holds
TIMEOUT_S = 300.0
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def activity_signals(
    warehouse: Warehouse,
    project_id: int,
    now: datetime,
    features: Sequence[FeatureInfo],
    person_ids: Sequence[str] | None = None,
) -> dict[str, ActivitySignals]:
    """The signals of every person with events (or of ``person_ids``; a person without
    events up to ``now`` is left out), keyed by person id."""
    d = dialect_for(warehouse.dialect)
    params: dict[str, Any] = {
        "p": project_id, "now": now, "week": now - timedelta(days=7),
        "d28": now - timedelta(days=28), "month": now - timedelta(days=30),
        "base": now - timedelta(days=7 + 7 * BASELINE_WEEKS), "exception": EXCEPTION,
        "wanted": sorted({event for f in features for event in f.events}),
    }  # fmt: skip
    where = "project_id = {p} AND timestamp <= {now}"
    mine = ""
    merged = has_person_overrides(warehouse, project_id)
    if person_ids is not None:
        wanted = sorted(set(person_ids))
        if not wanted:
            return {}
        params["ids"], params["raw"] = wanted, _raw_ids(warehouse, project_id, wanted, merged)
        where += f" AND {d.in_array('person_id', 'raw')}"
        mine = f"AND {d.in_array('person_id', 'ids')}"
    days = _days(warehouse, d, d.events_with_persons(where, merged=merged), mine, params)
    recent = _recent(warehouse, d, where, merged, mine, params)
    return _assemble(days, recent, features)


def _raw_ids(warehouse: Warehouse, project_id: int, ids: list[str], merged: bool) -> list[str]:
    """The person ids events may carry for ``ids``: their own and those merged into them."""
    if not merged:
        return ids
    d = dialect_for(warehouse.dialect)
    sql = f"""
        SELECT old_person_id FROM person_overrides
        WHERE project_id = {{p}} AND {d.in_array("override_person_id", "ids")}
    """
    rows = warehouse.query(sql, {"p": project_id, "ids": ids}, max_rows=MAX_PERSONS)
    return sorted(set(ids) | {str(r) for r in rows.table.column("old_person_id").to_pylist()})


def _days(
    warehouse: Warehouse, d: Dialect, source: str, mine: str, params: dict[str, Any]
) -> dict[str, list[Any]]:
    """Per person: first and last event, active days (all and in 28 days), events in 7
    days and in the baseline weeks, errors in 7 days; as columns."""
    day = d.int_div(d.epoch_micros("timestamp"), DAY_MICROS)
    sql = f"""
        WITH days AS (
            SELECT person_id, {day} AS day, min(timestamp) AS first_at,
                   max(timestamp) AS last_at,
                   {d.count_rows("timestamp >= {week}")} AS n7,
                   {d.count_rows("timestamp >= {base} AND timestamp < {week}")} AS nb,
                   {d.count_rows("timestamp >= {week} AND event = {exception}")} AS e7,
                   {d.count_rows("timestamp >= {d28}")} AS n28
            FROM {source} AS ev
            WHERE person_id != '' {mine}
            GROUP BY person_id, day
        )
        SELECT person_id, min(first_at) AS first_seen, max(last_at) AS last_seen,
               {d.count_rows()} AS active_days, {d.count_rows("n28 > 0")} AS active_days_28d,
               CAST(sum(n7) AS BIGINT) AS events_7d, CAST(sum(nb) AS BIGINT) AS baseline,
               CAST(sum(e7) AS BIGINT) AS errors_7d
        FROM days
        GROUP BY person_id
    """
    table = warehouse.query(sql, params, timeout_s=TIMEOUT_S, max_rows=MAX_PERSONS).table
    columns = {name: table.column(name).to_pylist() for name in table.column_names
               if name not in ("first_seen", "last_seen")}  # fmt: skip
    return columns | {name: _times(table.column(name)) for name in ("first_seen", "last_seen")}


def _times(column: pa.ChunkedArray) -> list[datetime | None]:
    """A UTC timestamp column as aware datetimes, several times faster than Arrow's own
    conversion (which looks the zone up for every value)."""
    micros = column.cast(pa.int64()).to_pylist()
    return [None if m is None else EPOCH + timedelta(microseconds=m) for m in micros]


def _recent(
    warehouse: Warehouse, d: Dialect, where: str, merged: bool, mine: str,
    params: dict[str, Any],
) -> list[tuple[str, str, str, int]]:  # fmt: skip
    """(person, part, event, n) rows of the 30 days: part ``session`` with their distinct
    sessions, part ``event`` per feature event they did."""
    month = f"{where} AND timestamp >= {{month}}"
    sessions = d.events_with_persons(f"{month} AND session_id != ''", merged=merged)
    sql = f"""
        SELECT person_id, 'session' AS part, '' AS name, {d.count_distinct("session_id")} AS n
        FROM {sessions} AS ev
        WHERE person_id != '' {mine}
        GROUP BY person_id
    """
    if params["wanted"]:
        events = d.events_with_persons(f"{month} AND {d.in_array('event', 'wanted')}",
                                       merged=merged)  # fmt: skip
        sql += f"""
            UNION ALL
            SELECT person_id, 'event' AS part, event AS name, {d.count_rows()} AS n
            FROM {events} AS ev
            WHERE person_id != '' {mine}
            GROUP BY person_id, event
        """
    found = warehouse.query(sql, params, timeout_s=TIMEOUT_S, max_rows=MAX_PERSONS).table
    columns = [found.column(name).to_pylist() for name in ("person_id", "part", "name", "n")]
    return list(zip(*columns, strict=True))


def _assemble(
    days: dict[str, list[Any]],
    recent: list[tuple[str, str, str, int]],
    features: Sequence[FeatureInfo],
) -> dict[str, ActivitySignals]:
    sessions: dict[str, int] = {}
    did: dict[str, set[str]] = {}
    for person, part, name, n in recent:
        if part == "session":
            sessions[person] = int(n)
        else:
            did.setdefault(person, set()).add(name)
    core_total = sum(1 for f in features if f.is_core)
    by_event = [(f.name, f.is_core, set(f.events)) for f in features]
    found: dict[str, ActivitySignals] = {}
    columns = zip(days["person_id"], days["first_seen"], days["last_seen"],
                  days["active_days"], days["active_days_28d"], days["events_7d"],
                  days["baseline"], days["errors_7d"], strict=True)  # fmt: skip
    for person, first, last, active, active_28, n7, baseline, errors in columns:
        events = did.get(person)
        used = [(name, core) for name, core, names in by_event if events and events & names]
        found[person] = ActivitySignals(
            first_seen=first, last_seen=last, active_days=int(active),
            active_days_28d=int(active_28), events_7d=int(n7),
            weekly_baseline=int(baseline) / BASELINE_WEEKS, sessions_30d=sessions.get(person, 0),
            errors_7d=int(errors), core_adopted=sum(1 for _, core in used if core),
            core_total=core_total, features=tuple(name for name, _ in used),
        )  # fmt: skip
    return found
