"""What one person did in the product lately: how much, in how many sessions, which
errors they hit, their latest events, and which of the project's features they used
(definitions in docs/metrics/product.md, "Activity of one person").

Fast on a large project because the person is chosen first: the override map gives the
person ids merged into them (a few), and the events are read for those ids within the
project's last days only, which both engines prune by project and time (ClickHouse's
sort key, DuckDB's zone maps). Every one of those ids is the person's, so their events
are simply relabelled as the person's, without joining the override map (several times
slower on a large project). Only a person who was merged into someone else goes through
the map (``Dialect.events_with_persons``): their events count for the survivor, so they
have none of their own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from loopwise.product.contracts import FeatureInfo, PersonActivity
from loopwise.warehouse import Warehouse, dialect_for
from loopwise.warehouse.dialect import Dialect

EXCEPTION = "$exception"  # PostHog's exception event
RECENT_EVENTS, RECENT_ERRORS, TOP_EVENTS = 10, 5, 5
ERROR_TEXT = 200  # characters of an error's text
LAST_SEEN_DAYS = 365  # how far back the last event of a person not seen lately is looked for


def person_activity(
    warehouse: Warehouse,
    project_id: int,
    person_id: str,
    now: datetime,
    features: Sequence[FeatureInfo],
    *,
    days: int,
) -> PersonActivity:
    """The person's activity in the ``days`` (and 7) days up to ``now``; ``features`` are
    the project's, each used when one of its events occurred in the ``days``."""
    d = dialect_for(warehouse.dialect)
    start, week = now - timedelta(days=days), now - timedelta(days=7)
    ids, merged_away = _raw_ids(warehouse, project_id, person_id)
    params: dict[str, Any] = {
        "p": project_id, "person": person_id, "ids": ids, "from": min(start, week),
        "start": start, "week": week, "now": now, "exception": EXCEPTION,
        "back": now - timedelta(days=LAST_SEEN_DAYS),
    }  # fmt: skip
    where = f"project_id = {{p}} AND {d.in_array('person_id', 'ids')} AND timestamp <= {{now}}"
    source = _source(d, f"{where} AND timestamp >= {{from}}", merged_away)
    params["wanted"] = sorted({event for f in features for event in f.events})
    rows = _read(warehouse, d, source, params)
    totals = next((r for r in rows if r["part"] == "all"), {})
    counted = [(str(r["event_name"]), int(r["n"])) for r in rows if r["part"] == "event"]
    names = sorted((c for c in counted if c[1]), key=lambda c: (-c[1], c[0]))
    last_seen = totals.get("seen_at")
    if last_seen is None and params["back"] < params["from"]:  # not seen lately: look back
        older = f"{where} AND timestamp >= {{back}} AND timestamp < {{from}}"
        last_seen = _last_seen(warehouse, _source(d, older, merged_away), params)
    used = {name for name, _ in names}
    adopted = [f for f in features if used & set(f.events)]
    return PersonActivity(
        last_seen=last_seen,
        events_7d=int(totals.get("n7", 0)),
        events_30d=int(totals.get("n", 0)),
        sessions_30d=int(totals.get("sessions", 0)),
        errors_7d=int(totals.get("errors7", 0)),
        recent_errors=tuple(error_text(str(r["props"])) for r in _newest(rows, "error")),
        recent_events=tuple((r["seen_at"], str(r["event_name"])) for r in _newest(rows, "recent")),
        top_events=tuple(names[:TOP_EVENTS]),
        features_adopted=tuple(f.name for f in adopted),
        features_total=len(features),
        core_adopted=tuple(f.name for f in adopted if f.is_core),
        core_total=sum(1 for f in features if f.is_core),
    )


def _newest(rows: list[dict[str, Any]], part: str) -> list[dict[str, Any]]:
    """The rows of a part, newest first (the engines return a union's parts in any order)."""
    found = [r for r in rows if r["part"] == part]
    return sorted(found, key=lambda r: (r["seen_at"], r["event_name"], r["props"]), reverse=True)


def _raw_ids(warehouse: Warehouse, project_id: int, person_id: str) -> tuple[list[str], bool]:
    """The person ids events may carry for this person (their own and those merged into
    them), and whether the person was merged into someone else."""
    sql = """
        SELECT old_person_id, override_person_id FROM person_overrides
        WHERE project_id = {p} AND (override_person_id = {person} OR old_person_id = {person})
    """
    rows = warehouse.query(sql, {"p": project_id, "person": person_id}).table.to_pylist()
    merged_in = {str(r["old_person_id"]) for r in rows if r["override_person_id"] == person_id}
    merged_away = any(r["old_person_id"] == person_id and r["override_person_id"] not in
                      ("", person_id) for r in rows)  # fmt: skip
    return [person_id, *sorted(merged_in - {person_id})], merged_away


def _source(d: Dialect, where: str, merged_away: bool) -> str:
    """The person's events as a FROM source with ``person_id`` set to theirs; ``where``
    selects the ids of ``_raw_ids``. A person merged away resolves through the map."""
    if merged_away:
        return d.events_with_persons(where, merged=True)
    # The filter sits in its own subquery: ClickHouse would read ``person_id`` in a WHERE
    # beside the REPLACE as the replaced value.
    return f"(SELECT * REPLACE ({{person}} AS person_id) FROM (SELECT * FROM events WHERE {where}))"


def _read(
    warehouse: Warehouse, d: Dialect, source: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """Everything in one statement: over the person's events of the range (``mine``, read
    once where the engine materialises it) their totals (part ``all``, no row without
    events), counts per event name (``event``: the names of ``wanted``, the features'
    events, and the most frequent others, enough for the top events) and latest events
    (``recent``); and their latest errors with the properties (``error``), read apart so
    that the wide properties column is only read for errors."""
    keep = "MATERIALIZED" if warehouse.materialized_ctes else ""
    session = "CASE WHEN session_id != '' AND timestamp >= {start} THEN session_id END"
    counts = f"""
        {d.count_rows("timestamp >= {start}")} AS n,
        {d.count_rows("timestamp >= {week}")} AS n7,
        {d.count_rows("timestamp >= {week} AND event = {exception}")} AS errors7,
        {d.count_distinct(session)} AS sessions, max(timestamp) AS seen_at, '' AS props
    """
    nothing = "CAST(0 AS BIGINT) AS n, CAST(0 AS BIGINT) AS n7, CAST(0 AS BIGINT) AS errors7"
    latest = f"{nothing}, CAST(0 AS BIGINT) AS sessions, timestamp AS seen_at"
    names = len(params["wanted"]) + TOP_EVENTS
    first = f"{d.in_array('event', 'wanted')} DESC," if params["wanted"] else ""
    sql = f"""
        WITH mine AS {keep} (
            SELECT timestamp, event, session_id FROM {source} AS ev WHERE person_id = {{person}}
        )
        SELECT 'all' AS part, '' AS event_name, {counts} FROM mine
        HAVING {d.count_rows()} > 0
        UNION ALL
        SELECT * FROM (
            SELECT 'event' AS part, event AS event_name, {counts} FROM mine
            GROUP BY event ORDER BY {first} n DESC, event_name LIMIT {names}
        ) AS names
        UNION ALL
        SELECT * FROM (
            SELECT 'recent' AS part, event AS event_name, {latest}, '' AS props
            FROM mine WHERE timestamp >= {{start}}
            ORDER BY seen_at DESC, event_name DESC LIMIT {RECENT_EVENTS}
        ) AS recent
        UNION ALL
        SELECT * FROM (
            SELECT 'error' AS part, event AS event_name, {latest}, properties AS props
            FROM {source} AS ev
            WHERE person_id = {{person}} AND event = {{exception}} AND timestamp >= {{start}}
            ORDER BY seen_at DESC, props DESC LIMIT {RECENT_ERRORS}
        ) AS errors
    """
    cap = 1 + names + RECENT_EVENTS + RECENT_ERRORS
    found: list[dict[str, Any]] = warehouse.query(sql, params, max_rows=cap).table.to_pylist()
    return found


def _last_seen(warehouse: Warehouse, source: str, params: dict[str, Any]) -> datetime | None:
    sql = f"""
        SELECT max(timestamp) AS last_at FROM {source} AS ev
        WHERE person_id = {{person}} GROUP BY person_id
    """
    rows = warehouse.query(sql, params, max_rows=1).table.to_pylist()
    return rows[0]["last_at"] if rows else None


def error_text(properties: str) -> str:
    """A short text for a PostHog ``$exception`` event: the first exception of
    ``$exception_list`` (type and value), else ``$exception_type`` and
    ``$exception_message``, then where it happened (``$current_url``, else ``path`` or
    ``$pathname``)."""
    try:
        found = json.loads(properties)
    except ValueError:
        found = {}
    props: dict[str, Any] = found if isinstance(found, dict) else {}
    listed = props.get("$exception_list")
    first = listed[0] if isinstance(listed, list) and listed else None
    first = first if isinstance(first, dict) else {}
    kind = _text(first.get("type")) or _text(props.get("$exception_type"))
    message = _text(first.get("value")) or _text(props.get("$exception_message"))
    message = message.strip().split("\n", 1)[0]
    text = ": ".join(part for part in (kind, message) if part) or "Exception"
    place = next((p for key in ("$current_url", "path", "$pathname")
                  if (p := _text(props.get(key)))), "")  # fmt: skip
    if len(text) > ERROR_TEXT:
        text = text[: ERROR_TEXT - 1] + "…"
    return f"{text} on {place[:ERROR_TEXT]}" if place else text


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
