"""Keeping the people area's read model current: every person's summary row (identity,
activity, billing and support signals, health score) and their health history.

A refresh gathers each area's signals for the whole project in a few set-based reads
through the facades (identity from ingestion, activity from the warehouse, billing from
revenue, tickets from support), scores everyone in memory (``health.score``) and writes
the rows back in chunks with one INSERT … ON CONFLICT DO UPDATE statement each (SQLite and
PostgreSQL): a project of 100,000 persons takes tens of seconds, with no query per
person. Only computed columns are written: the team's tags and VIP mark are never touched.

A health point is written for the day (in the project's time zone) only when the score
differs from the person's previous one, so the history holds changes, not copies.
Summaries of persons that no longer exist (merged into another, erased) are deleted, by
the refresh of the whole project. The team's marks on a person merged into another are
not lost with their summary: the refresh of the whole project, or of the person they
were merged into, first moves them onto the survivor (``_absorb``): tags joined (one of
each, ignoring case), the VIP mark when either had it, and the team's actions (notes,
e-mails, tags, tickets, billing requests) re-pointed to the survivor. Their health
history is not moved: it scored another person's activity, and the survivor keeps their
own. The caller commits.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from typing import cast as typed
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import JSON, Table, Text, bindparam, cast, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from loopwise.core import accounts
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.ingest.facade import PersonRecord, merged_into, person_records
from loopwise.people.config import config_of
from loopwise.people.contracts import BANDS, PeopleConfig, Signals
from loopwise.people.health import score
from loopwise.people.identity import person_name
from loopwise.people.models import (
    FilterPreset,
    HealthPoint,
    PeopleSettings,
    PersonAction,
    PersonSummary,
)
from loopwise.product.facade import ActivitySignals, activity_signals, list_features
from loopwise.revenue.facade import BillingSignals, billing_signals
from loopwise.support.facade import TicketSignals, ticket_signals
from loopwise.warehouse import Warehouse

CHUNK = 500  # rows per upsert statement (≈ 40 columns: SQLite binds at most 32,766)
DELETE_CHUNK = 10_000
_SUMMARIES = typed(Table, PersonSummary.__table__)
_POINTS = typed(Table, HealthPoint.__table__)
# What a refresh never writes: the key and the team's own marks.
_KEPT = ("project_id", "person_id", "tags", "vip")
COMPUTED = tuple(c.name for c in _SUMMARIES.columns if c.name not in _KEPT)
_JSON_COLUMNS = tuple(c for c in COMPUTED if isinstance(_SUMMARIES.c[c].type, JSON))


@dataclass(frozen=True)
class RefreshReport:
    persons: int  # summaries written
    seconds: float
    by_band: dict[str, int]  # persons per health band


class HistoryPoint(NamedTuple):
    day: date
    score: int
    band: str


def refresh_people(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    now: datetime,
    *,
    person_ids: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RefreshReport:
    """Recompute the summary and health of every person of the project (or of
    ``person_ids``) at ``now``; flushes, does not commit. ``progress(done, total)`` is
    called as rows are written."""
    if now.utcoffset() is None:
        raise InvalidInput("now", "must be timezone-aware")
    started = time.perf_counter()
    session.flush()  # the team's pending changes (tags, VIP) first: rows are written below
    config = config_of(session, project_id)
    today = now.astimezone(ZoneInfo(accounts.get_project(session, project_id).timezone)).date()
    persons = person_records(session, project_id, person_ids)
    merged = merged_into(session, project_id, person_ids)
    activity = activity_signals(warehouse, session, project_id, now, person_ids)
    billing = billing_signals(session, project_id, now, person_ids, merged=merged)
    tickets = ticket_signals(session, project_id, now, person_ids, merged=merged)
    core_total = sum(1 for f in list_features(session, project_id) if f.is_core)
    previous = _previous_scores(session, project_id, person_ids)
    rows, points, bands = [], [], Counter[str]()
    for record in persons:
        row = _summary(record, activity.get(record.id), billing.get(record.id),
                       tickets.get(record.id), config, now, core_total)  # fmt: skip
        rows.append(_encoded(row) | {"project_id": project_id, "person_id": record.id})
        bands[row["band"]] += 1
        if record.id not in previous or previous[record.id] != row["health"]:
            points.append({"project_id": project_id, "person_id": record.id, "day": today,
                           "score": row["health"], "band": row["band"]})  # fmt: skip
    _upsert(session, _SUMMARIES, rows, COMPUTED, progress)
    _upsert(session, _POINTS, points, ("score", "band"), None)
    live = {r.id for r in persons}
    moved = {old: new for old, new in merged.items() if new in live and old not in live}
    if person_ids is None:
        gone = set(previous) - live
    else:  # the summaries left of persons merged into these ones
        gone = set(_marks(session, project_id, sorted(moved)))
    _absorb(session, project_id, {old: moved[old] for old in gone if old in moved})
    _move_actions(session, project_id, moved)
    _forget(session, project_id, sorted(gone))
    session.flush()
    return RefreshReport(len(rows), time.perf_counter() - started,
                         {band: bands[band] for band in BANDS})  # fmt: skip


def refresh_person(
    session: Session, warehouse: Warehouse, project_id: int, person_id: str, now: datetime
) -> PersonSummary:
    """One person's summary and health, recomputed as the daily job does it."""
    if not person_records(session, project_id, [person_id]):
        raise NotFound(f"no person {person_id[:40]!r} in this project")
    refresh_people(session, warehouse, project_id, now, person_ids=[person_id])
    found = session.get(PersonSummary, (project_id, person_id), populate_existing=True)
    assert found is not None, "the refresh wrote the summary"
    return found


def summary_of(session: Session, project_id: int, person_id: str) -> PersonSummary | None:
    return session.get(PersonSummary, (project_id, person_id))


def health_history(
    session: Session, project_id: int, person_id: str, *, days: int = 180, now: datetime
) -> list[HistoryPoint]:
    """The person's score changes in the last ``days`` days (project's days), oldest
    first; the score they held when the window opened comes first, dated its first day."""
    if not 1 <= days <= 3 * 366:
        raise InvalidInput("days", "is 1 to 1098")
    zone = ZoneInfo(accounts.get_project(session, project_id).timezone)
    since = now.astimezone(zone).date() - timedelta(days=days - 1)
    mine = (HealthPoint.project_id == project_id, HealthPoint.person_id == person_id)
    rows = session.execute(
        select(HealthPoint.day, HealthPoint.score, HealthPoint.band)
        .where(*mine, HealthPoint.day >= since)
        .order_by(HealthPoint.day)
    ).all()
    found = [HistoryPoint(day, score_, band) for day, score_, band in rows]
    before = session.execute(
        select(HealthPoint.score, HealthPoint.band)
        .where(*mine, HealthPoint.day < since)
        .order_by(HealthPoint.day.desc())
        .limit(1)
    ).first()
    if before is not None and (not found or found[0].day > since):
        found.insert(0, HistoryPoint(since, before[0], before[1]))
    return found


def erase(session: Session, project_id: int) -> None:
    """Delete everything the area holds for the project: summaries, health history, the
    team's actions, filter presets and settings."""
    for table in (PersonSummary, HealthPoint, PersonAction, FilterPreset, PeopleSettings):
        session.execute(delete(table).where(table.project_id == project_id))


# --- one person's row ----------------------------------------------------------------------


def _summary(
    record: PersonRecord,
    activity: ActivitySignals | None,
    billing: BillingSignals | None,
    tickets: TicketSignals | None,
    config: PeopleConfig,
    now: datetime,
    core_total: int,
) -> dict[str, Any]:
    """The computed columns of a person's summary."""
    props = record.properties
    name = person_name(props)
    row: dict[str, Any] = {
        "email": _text(props.get("email")).strip().lower()[:320],
        "name": name, "name_key": name.lower()[:320],
        "account": _text(props.get(config.account_property))[:200],
        "properties": props, "created_at": record.created_at,
    }  # fmt: skip
    row |= _activity(activity, core_total) | _billing(billing) | _tickets(tickets)
    signals = Signals(
        person_id=record.id, now=now, created_at=record.created_at,
        **{k: row[k] for k in _SIGNAL_COLUMNS},
    )  # fmt: skip
    health = score(signals, config)
    row |= {"health": health.score, "band": health.band, "health_detail": health.to_json(),
            "computed_at": now}  # fmt: skip
    return row


def _encoded(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its JSON columns as JSON text (see ``_statement``)."""
    return row | {c: _json(row[c]) for c in _JSON_COLUMNS} | {"tags": "[]", "vip": False}


def _json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits in a person's properties
        return json.dumps(value, separators=(",", ":"))


_SIGNAL_COLUMNS = (
    "first_seen", "last_seen", "active_days_28d", "events_7d", "weekly_baseline",
    "errors_7d", "core_adopted", "core_total", "billing_status", "mrr_minor",
    "payment_failures_30d", "open_failures", "downgrades_30d", "upgrades_30d", "churned_on",
    "open_tickets", "tickets_30d", "negative_tickets_30d",
)  # fmt: skip


def _activity(found: ActivitySignals | None, core_total: int) -> dict[str, Any]:
    if found is None:
        return {"first_seen": None, "last_seen": None, "active_days": 0, "active_days_28d": 0,
                "events_7d": 0, "weekly_baseline": 0.0, "sessions_30d": 0, "errors_7d": 0,
                "core_adopted": 0, "core_total": core_total, "features": []}  # fmt: skip
    return {
        "first_seen": found.first_seen, "last_seen": found.last_seen,
        "active_days": found.active_days, "active_days_28d": found.active_days_28d,
        "events_7d": found.events_7d, "weekly_baseline": found.weekly_baseline,
        "sessions_30d": found.sessions_30d, "errors_7d": found.errors_7d,
        "core_adopted": found.core_adopted, "core_total": core_total,
        "features": list(found.features),
    }  # fmt: skip


def _billing(found: BillingSignals | None) -> dict[str, Any]:
    if found is None:
        return {"customer_ids": [], "billing_status": "", "plan": "", "mrr_minor": 0,
                "churned_on": None, "payment_failures_30d": 0, "open_failures": 0,
                "downgrades_30d": 0, "upgrades_30d": 0}  # fmt: skip
    return {
        "customer_ids": list(found.customer_ids), "billing_status": found.status,
        "plan": found.plan[:200], "mrr_minor": found.mrr_minor, "churned_on": found.churned_on,
        "payment_failures_30d": found.payment_failures_30d,
        "open_failures": found.open_failures, "downgrades_30d": found.downgrades_30d,
        "upgrades_30d": found.upgrades_30d,
    }  # fmt: skip


def _tickets(found: TicketSignals | None) -> dict[str, Any]:
    if found is None:
        return {"open_tickets": 0, "tickets_30d": 0, "negative_tickets_30d": 0}
    return {"open_tickets": found.open_tickets, "tickets_30d": found.tickets_30d,
            "negative_tickets_30d": found.negative_tickets_30d}  # fmt: skip


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


# --- writing -------------------------------------------------------------------------------


def _previous_scores(
    session: Session, project_id: int, person_ids: Sequence[str] | None
) -> dict[str, int | None]:
    """The score each summary holds now (None before its first), keyed by person."""
    query = select(PersonSummary.person_id, PersonSummary.health).where(
        PersonSummary.project_id == project_id
    )
    if person_ids is None:
        return {str(p): h for p, h in session.execute(query)}
    found: dict[str, int | None] = {}
    wanted = sorted(set(person_ids))
    for first in range(0, len(wanted), DELETE_CHUNK):
        part = wanted[first : first + DELETE_CHUNK]
        rows = session.execute(query.where(PersonSummary.person_id.in_(part)))
        found |= {str(p): h for p, h in rows}
    return found


def _statement(session: Session, table: Table, columns: Sequence[str]) -> Any:
    """INSERT … ON CONFLICT DO UPDATE of ``columns`` for the table, in the app database's
    dialect. JSON columns take JSON text encoded beforehand by orjson (cast to JSON on
    PostgreSQL; SQLite stores the text as is): for 100,000 rows the standard library's
    encoder, which the JSON type would call for every value, costs several seconds."""
    postgres = session.get_bind().dialect.name == "postgresql"
    values: dict[str, Any] = {}
    for column in table.columns:
        if isinstance(column.type, JSON):
            encoded = bindparam(column.name, type_=Text())
            values[column.name] = cast(encoded, column.type) if postgres else encoded
        else:
            values[column.name] = bindparam(column.name, type_=column.type)
    statement = (pg_insert if postgres else sqlite_insert)(table).values(values)
    return statement.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={c: statement.excluded[c] for c in columns},
    )


def _upsert(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    columns: Sequence[str],
    progress: Callable[[int, int], None] | None,
) -> None:
    """Insert the rows, or update ``columns`` of those already there."""
    statement = _statement(session, table, columns)
    if progress is not None:
        progress(0, len(rows))
    for first in range(0, len(rows), CHUNK):
        session.execute(statement, rows[first : first + CHUNK])
        if progress is not None:
            progress(min(first + CHUNK, len(rows)), len(rows))


def _forget(session: Session, project_id: int, person_ids: list[str]) -> None:
    """Delete the summaries and history of persons that no longer exist."""
    for first in range(0, len(person_ids), DELETE_CHUNK):
        part = person_ids[first : first + DELETE_CHUNK]
        for table in (PersonSummary, HealthPoint):
            mine = (table.project_id == project_id, table.person_id.in_(part))
            session.execute(delete(table).where(*mine))


# --- merged persons ------------------------------------------------------------------------


def _absorb(session: Session, project_id: int, survivors: dict[str, str]) -> None:
    """Move the marks on the summaries of merged-away persons (``survivors``: old id ->
    the person they now are, who has a summary) onto the survivor's: tags joined, the
    survivor's first and one of each ignoring case; VIP when either is."""
    if not survivors:
        return
    marks = _marks(session, project_id, sorted(set(survivors) | set(survivors.values())))
    changed: dict[str, tuple[list[str], bool]] = {}
    for old in sorted(survivors):
        new = survivors[old]
        tags, vip = changed.get(new) or marks.get(new, ([], False))
        old_tags, old_vip = marks.get(old, ([], False))
        joined = joined_tags(tags, old_tags)
        if len(joined) > len(tags) or (old_vip and not vip):
            changed[new] = (joined, vip or old_vip)
    if changed:
        session.execute(update(PersonSummary), [
            {"project_id": project_id, "person_id": p, "tags": tags, "vip": vip}
            for p, (tags, vip) in changed.items()
        ])  # fmt: skip


def _move_actions(session: Session, project_id: int, survivors: dict[str, str]) -> None:
    """The team's actions on merged-away persons (``survivors``: old id -> the person they
    now are), re-pointed to the survivor; one read of the few persons the team acted on."""
    acted = session.scalars(
        select(PersonAction.person_id).where(PersonAction.project_id == project_id).distinct()
    )
    for old in sorted(set(acted) & survivors.keys()):
        mine = (PersonAction.project_id == project_id, PersonAction.person_id == old)
        session.execute(update(PersonAction).where(*mine).values(person_id=survivors[old]))


def joined_tags(tags: Sequence[str], more: Sequence[str]) -> list[str]:
    """``tags`` and those of ``more`` not among them ignoring case, ordered as the person
    page orders them (ignoring case)."""
    seen = {t.lower() for t in tags}
    joined = list(tags)
    for tag in more:
        if tag.lower() not in seen:
            seen.add(tag.lower())
            joined.append(tag)
    return sorted(joined, key=str.lower)


def _marks(
    session: Session, project_id: int, person_ids: Sequence[str]
) -> dict[str, tuple[list[str], bool]]:
    """(tags, VIP) of those of ``person_ids`` that have a summary."""
    found: dict[str, tuple[list[str], bool]] = {}
    s = PersonSummary
    for first in range(0, len(person_ids), DELETE_CHUNK):
        part = person_ids[first : first + DELETE_CHUNK]
        rows = session.execute(
            select(s.person_id, s.tags, s.vip).where(s.project_id == project_id,
                                                     s.person_id.in_(part))
        )  # fmt: skip
        found |= {str(p): ([str(t) for t in tags or []], bool(vip)) for p, tags, vip in rows}
    return found
