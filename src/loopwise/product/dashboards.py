"""Saved insights and dashboards: storing query objects, laying them out, and answering
them through a result cache keyed by the query and the project's data watermark."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.product.cohorts import with_cohort
from loopwise.product.contracts import PropertyFilter, Query, Result
from loopwise.product.models import Dashboard, DashboardTile, Insight, ProductState, QueryResult
from loopwise.product.queries import RUNNERS
from loopwise.product.queries.events import data_watermark
from loopwise.warehouse import Warehouse

QUERY = TypeAdapter(Query)
RESULT = TypeAdapter(Result)
CHARTS: dict[str, tuple[str, ...]] = {
    "trends": ("line", "bar", "table"),
    "funnels": ("funnel", "table"),
    "retention": ("heatmap", "table"),
    "stickiness": ("bar", "table"),
    "lifecycle": ("bar", "table"),
    "paths": ("sankey", "table"),
}
MAX_TILES = 40
KEEP = timedelta(days=1)  # how long a cached answer is kept


@dataclass(frozen=True)
class InsightInfo:
    id: int
    name: str
    description: str
    kind: str
    chart: str
    query: dict[str, Any]
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class DashboardInfo:
    id: int
    name: str
    description: str
    days: int | None
    filters: list[dict[str, Any]]
    is_default: bool
    tiles: int


@dataclass(frozen=True)
class DashboardView:
    dashboard: DashboardInfo
    insights: list[InsightInfo]


@dataclass(frozen=True)
class Answer:
    result: Result
    computed_at: datetime
    from_cache: bool


def parse_query(raw: dict[str, Any], field: str = "query") -> Query:
    """A stored or submitted query object, validated; errors name the field."""
    try:
        return QUERY.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(field, f"{where}: {message}" if where else message) from None


def save_insight(
    session: Session,
    actor: Actor,
    project_id: int,
    name: str,
    query: Query,
    *,
    chart: str | None = None,
    description: str = "",
    dashboard_id: int | None = None,
) -> InsightInfo:
    """Save a query as an insight, and add it to a dashboard when one is given."""
    clean = name.strip()
    if not clean or len(clean) > 200:
        raise InvalidInput("name", "give the insight a name of 1 to 200 characters")
    allowed = CHARTS[query.kind]
    chart = chart or allowed[0]
    if chart not in allowed:
        raise InvalidInput("chart", f"a {query.kind} insight is drawn as {' or '.join(allowed)}")
    board = _dashboard(session, project_id, dashboard_id) if dashboard_id is not None else None
    row = Insight(
        project_id=project_id,
        name=clean,
        description=description.strip()[:2000],
        query=query.model_dump(mode="json", exclude_defaults=False),
        chart=chart,
        created_by=actor.label,
    )
    session.add(row)
    session.flush()
    if board is not None:
        _add_tile(session, board, row.id)
    audit.record(session, actor, "insight.created", clean, project_id=project_id, insight=row.id)
    return _insight(row)


def add_to_dashboard(
    session: Session, actor: Actor, project_id: int, dashboard_id: int, insight_id: int
) -> None:
    board = _dashboard(session, project_id, dashboard_id)
    insight = _insight_row(session, project_id, insight_id)
    _add_tile(session, board, insight.id)
    audit.record(
        session, actor, "dashboard.changed", board.name, project_id=project_id, added=insight.id
    )


def _add_tile(session: Session, board: Dashboard, insight_id: int) -> None:
    count = session.scalar(
        select(func.count())
        .select_from(DashboardTile)
        .where(DashboardTile.dashboard_id == board.id)
    )
    if (count or 0) >= MAX_TILES:
        raise InvalidInput("dashboard_id", f"a dashboard holds at most {MAX_TILES} insights")
    session.add(DashboardTile(dashboard_id=board.id, insight_id=insight_id, position=count or 0))


def get_insight(session: Session, project_id: int, insight_id: int) -> InsightInfo:
    return _insight(_insight_row(session, project_id, insight_id))


def list_insights(session: Session, project_id: int) -> list[InsightInfo]:
    rows = session.scalars(
        select(Insight).where(Insight.project_id == project_id).order_by(Insight.id.desc())
    )
    return [_insight(r) for r in rows]


def delete_insight(session: Session, actor: Actor, project_id: int, insight_id: int) -> None:
    row = _insight_row(session, project_id, insight_id)
    session.execute(delete(DashboardTile).where(DashboardTile.insight_id == row.id))
    session.delete(row)
    audit.record(session, actor, "insight.deleted", row.name, project_id=project_id)


def create_dashboard(
    session: Session, actor: Actor, project_id: int, name: str, description: str = ""
) -> DashboardInfo:
    clean = name.strip()
    if not clean or len(clean) > 200:
        raise InvalidInput("name", "give the dashboard a name of 1 to 200 characters")
    row = Dashboard(project_id=project_id, name=clean, description=description.strip()[:2000])
    session.add(row)
    session.flush()
    audit.record(session, actor, "dashboard.created", clean, project_id=project_id)
    return _dashboard_info(session, row)


def list_dashboards(session: Session, project_id: int) -> list[DashboardInfo]:
    rows = session.scalars(
        select(Dashboard)
        .where(Dashboard.project_id == project_id)
        .order_by(Dashboard.is_default.desc(), Dashboard.name)
    )
    return [_dashboard_info(session, r) for r in rows]


def get_dashboard(session: Session, project_id: int, dashboard_id: int) -> DashboardView:
    board = _dashboard(session, project_id, dashboard_id)
    rows = session.scalars(
        select(Insight)
        .join(DashboardTile, DashboardTile.insight_id == Insight.id)
        .where(DashboardTile.dashboard_id == board.id)
        .order_by(DashboardTile.position, DashboardTile.id)
    )
    return DashboardView(_dashboard_info(session, board), [_insight(r) for r in rows])


def set_dashboard_scope(
    session: Session,
    actor: Actor,
    project_id: int,
    dashboard_id: int,
    days: int | None,
    filters: list[PropertyFilter],
) -> DashboardInfo:
    """The date range and filters every insight of the dashboard is shown with."""
    board = _dashboard(session, project_id, dashboard_id)
    if days is not None and not 1 <= days <= 1098:
        raise InvalidInput("days", "must be between 1 and 1098")
    board.days = days
    board.filters = [f.model_dump(mode="json") for f in filters]
    audit.record(session, actor, "dashboard.changed", board.name, project_id=project_id, days=days)
    return _dashboard_info(session, board)


def delete_dashboard(session: Session, actor: Actor, project_id: int, dashboard_id: int) -> None:
    board = _dashboard(session, project_id, dashboard_id)
    session.execute(delete(DashboardTile).where(DashboardTile.dashboard_id == board.id))
    session.delete(board)
    audit.record(session, actor, "dashboard.deleted", board.name, project_id=project_id)


def scoped_query(insight: InsightInfo, board: DashboardInfo | None) -> Query:
    """An insight's query as a dashboard shows it: its date range and filters applied."""
    raw = json.loads(json.dumps(insight.query))
    if board is not None:
        if board.days is not None and "date_range" in raw:
            zone = raw.get("date_range", {}).get("timezone")
            raw["date_range"] = {"last_days": board.days, "timezone": zone}
        raw["filters"] = [*raw.get("filters", []), *board.filters][:20]
    return parse_query(raw)


def answer(
    session: Session,
    warehouse: Warehouse,
    project_id: int,
    timezone: str,
    query: Query,
    *,
    refresh: bool = False,
) -> Answer:
    """The query's result, from the cache while the project's data has not changed since.
    The key holds the current hour too, so relative ranges ("the last 7 days") move on,
    and the cohort's definition as it is now."""
    query = with_cohort(session, project_id, query)
    hour = utcnow().replace(minute=0, second=0, microsecond=0).isoformat()
    canonical = json.dumps([timezone, hour, query.model_dump(mode="json")], sort_keys=True)
    key = hashlib.sha256(canonical.encode()).hexdigest()
    watermark = data_watermark(warehouse, project_id)
    row = session.get(QueryResult, (project_id, key))
    if row is not None and row.watermark == watermark and not refresh:
        return Answer(RESULT.validate_python(row.result), row.computed_at, from_cache=True)
    result: Result = RUNNERS[query.kind](warehouse, project_id, query, timezone)
    now = utcnow()
    values = {"project_id": project_id, "key": key, "watermark": watermark,
              "result": result.model_dump(mode="json"), "computed_at": now}  # fmt: skip
    # Two viewers may compute the same result at once: the later write wins, no error.
    insert = (sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert)(
        QueryResult
    ).values(**values)
    changed = {name: insert.excluded[name] for name in ("watermark", "result", "computed_at")}
    session.execute(
        insert.on_conflict_do_update(index_elements=["project_id", "key"], set_=changed)
    )
    if row is not None:
        session.expire(row)
    # Keys change every hour: answers older than a day will not be asked for again.
    stale = (QueryResult.project_id == project_id) & (QueryResult.computed_at < now - KEEP)
    session.execute(delete(QueryResult).where(stale))
    return Answer(result, now, from_cache=False)


def ensure_default_dashboard(session: Session, project_id: int) -> None:
    """Create the "Product overview" dashboard once per project (not again if deleted)."""
    state = session.get(ProductState, project_id)
    if state is not None and state.default_dashboard_at is not None:
        return
    if state is None:
        state = ProductState(project_id=project_id)
        session.add(state)
    state.default_dashboard_at = utcnow()
    board = Dashboard(
        project_id=project_id,
        name="Product overview",
        description="Who uses the product, how much, and who comes back.",
        is_default=True,
        filters=[],
    )
    session.add(board)
    session.flush()
    for position, (name, raw, chart) in enumerate(DEFAULT_INSIGHTS):
        insight = Insight(
            project_id=project_id,
            name=name,
            description="",
            query=parse_query(raw).model_dump(mode="json"),
            chart=chart,
            created_by="Loopwise",
        )
        session.add(insight)
        session.flush()
        session.add(DashboardTile(dashboard_id=board.id, insight_id=insight.id, position=position))


DEFAULT_INSIGHTS: list[tuple[str, dict[str, Any], str]] = [
    (
        "Active persons per day",
        {"kind": "trends", "series": [{"math": "unique_persons"}], "date_range": {"last_days": 30}},
        "line",
    ),
    (
        "Events per day",
        {"kind": "trends", "series": [{"math": "total"}], "date_range": {"last_days": 30}},
        "bar",
    ),
    (
        "Weekly retention",
        {"kind": "retention", "period": "week", "periods": 8},
        "heatmap",
    ),
    (
        "Pages viewed, by page",
        {
            "kind": "trends",
            "series": [{"event": "$pageview"}],
            "breakdown": {"property": "$pathname", "limit": 8},
            "date_range": {"last_days": 30},
        },
        "table",
    ),
]


def _dashboard(session: Session, project_id: int, dashboard_id: int) -> Dashboard:
    row = session.get(Dashboard, dashboard_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"dashboard {dashboard_id}")
    return row


def _insight_row(session: Session, project_id: int, insight_id: int) -> Insight:
    row = session.get(Insight, insight_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"insight {insight_id}")
    return row


def _insight(row: Insight) -> InsightInfo:
    return InsightInfo(
        id=row.id,
        name=row.name,
        description=row.description,
        kind=str(row.query.get("kind", "")),
        chart=row.chart,
        query=row.query,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _dashboard_info(session: Session, row: Dashboard) -> DashboardInfo:
    tiles = session.scalar(
        select(func.count()).select_from(DashboardTile).where(DashboardTile.dashboard_id == row.id)
    )
    return DashboardInfo(
        id=row.id,
        name=row.name,
        description=row.description,
        days=row.days,
        filters=list(row.filters or []),
        is_default=row.is_default,
        tiles=int(tiles or 0),
    )
