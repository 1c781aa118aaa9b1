"""Dashboards and saved insights: the pages, their forms, and the JSON API."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from loopwise.core.accounts import ProjectInfo
from loopwise.core.errors import InvalidInput
from loopwise.product import dashboards as boards
from loopwise.product.contracts import PropertyFilter, Query
from loopwise.product.web.analysis_pages import query_param, result_context
from loopwise.product.web.forms import whole_number
from loopwise.warehouse import Warehouse
from loopwise.web.deps import (
    MAX_ID,
    Analyst,
    DbDep,
    Id,
    ProjectDep,
    Reader,
    WarehouseDep,
    client_ip,
)
from loopwise.web.render import render, see_other

router = APIRouter()
PAGES = {"trends": "Trends", "funnels": "Funnel", "retention": "Retention"}


# --- pages --------------------------------------------------------------------------------


@router.get(
    "/projects/{project_id}/dashboards", response_class=HTMLResponse, include_in_schema=False
)
def dashboards_page(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep
) -> Response:
    boards.ensure_default_dashboard(db, project.id)
    db.commit()
    return _list(request, project, db, {}, "", 200)


def _list(
    request: Request, project: ProjectInfo, db: Session, errors: dict[str, str], name: str,
    status: int,
) -> Response:  # fmt: skip
    values = {
        "project": project, "dashboards": boards.list_dashboards(db, project.id),
        "insights": boards.list_insights(db, project.id), "errors": errors, "name": name,
    }  # fmt: skip
    return render(request, "product/dashboards.html", values, status)


@router.post("/projects/{project_id}/dashboards", include_in_schema=False)
def create_dashboard_form(
    request: Request,
    project: ProjectDep,
    principal: Analyst,
    db: DbDep,
    name: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    try:
        board = boards.create_dashboard(db, principal.actor(client_ip(request)), project.id, name)
    except InvalidInput as exc:
        return _list(request, project, db, {exc.field: exc.message}, name, 422)
    db.commit()
    return see_other(f"/projects/{project.id}/dashboards/{board.id}")


@router.get(
    "/projects/{project_id}/dashboards/{dashboard_id}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def dashboard_page(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep, dashboard_id: Id
) -> Response:
    view = boards.get_dashboard(db, project.id, dashboard_id)
    scope = view.dashboard.filters[0] if view.dashboard.filters else {}
    values = {
        "project": project, "view": view, "scope": scope, "pages": PAGES,
        "refresh": request.query_params.get("refresh") == "1",
    }  # fmt: skip
    return render(request, "product/dashboard.html", values)


@router.get(
    "/projects/{project_id}/dashboards/{dashboard_id}/tiles/{insight_id}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def dashboard_tile(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    warehouse: WarehouseDep,
    dashboard_id: Id,
    insight_id: Id,
) -> Response:
    """One insight of a dashboard, as the dashboard's date range and filters show it."""
    view = boards.get_dashboard(db, project.id, dashboard_id)
    insight = next((i for i in view.insights if i.id == insight_id), None)
    if insight is None:
        raise InvalidInput("insight_id", "is not on this dashboard")
    refresh = request.query_params.get("refresh") == "1"
    query = boards.scoped_query(insight, view.dashboard)
    return await _tile(request, project, db, warehouse, insight, query, refresh)


async def _tile(
    request: Request,
    project: ProjectInfo,
    db: Session,
    warehouse: Warehouse,
    insight: boards.InsightInfo,
    query: Query,
    refresh: bool,
) -> Response:
    found = await to_thread.run_sync(
        lambda: boards.answer(db, warehouse, project.id, project.timezone, query, refresh=refresh)
    )
    db.commit()
    values = {
        "project": project, "insight": insight, "answer": found, "q": query_param(query),
        **result_context(found.result, insight.chart),
    }  # fmt: skip
    return render(request, "product/_tile.html", values)


@router.get(
    "/projects/{project_id}/insights/{insight_id}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def insight_page(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    warehouse: WarehouseDep,
    insight_id: Id,
) -> Response:
    insight = boards.get_insight(db, project.id, insight_id)
    values = {"project": project, "insight": insight, "pages": PAGES,
              "dashboards": boards.list_dashboards(db, project.id)}  # fmt: skip
    return render(request, "product/insight.html", values)


@router.get(
    "/projects/{project_id}/insights/{insight_id}/tile",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def insight_tile(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    warehouse: WarehouseDep,
    insight_id: Id,
) -> Response:
    insight = boards.get_insight(db, project.id, insight_id)
    query = boards.scoped_query(insight, None)
    refresh = request.query_params.get("refresh") == "1"
    return await _tile(request, project, db, warehouse, insight, query, refresh)


@router.post("/projects/{project_id}/insights", include_in_schema=False)
def save_insight_form(
    request: Request,
    project: ProjectDep,
    principal: Analyst,
    db: DbDep,
    name: Annotated[str, Form(max_length=1000)] = "",
    q: Annotated[str, Form(max_length=50_000)] = "",
    chart: Annotated[str, Form(max_length=20)] = "",
    dashboard: Annotated[str, Form(max_length=20)] = "",
    new_dashboard: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Save the query shown on an analysis page, onto a dashboard (a new one if asked)."""
    actor = principal.actor(client_ip(request))
    form = {"name": name, "q": q, "chart": chart, "dashboard": dashboard,
            "new_dashboard": new_dashboard}  # fmt: skip
    try:
        query = boards.parse_query(_json(q), "q")
        target = None
        if dashboard == "new":
            target = boards.create_dashboard(db, actor, project.id, new_dashboard).id
        elif dashboard:
            if not whole_number(dashboard):
                raise InvalidInput("dashboard", "pick a dashboard from the list")
            target = int(dashboard)
        saved = boards.save_insight(
            db, actor, project.id, name, query, chart=chart or None, dashboard_id=target
        )
    except InvalidInput as exc:
        db.rollback()
        field = (
            "new_dashboard" if exc.field == "name" and dashboard == "new" and name else exc.field
        )
        values = {"project": project, "form": form, "errors": {field: exc.message},
                  "dashboards": boards.list_dashboards(db, project.id)}  # fmt: skip
        return render(request, "product/save_insight.html", values, 422)
    db.commit()
    if target is not None:
        return see_other(f"/projects/{project.id}/dashboards/{target}")
    return see_other(f"/projects/{project.id}/insights/{saved.id}")


@router.post("/projects/{project_id}/insights/{insight_id}/dashboards", include_in_schema=False)
def add_insight_form(
    request: Request,
    project: ProjectDep,
    principal: Analyst,
    db: DbDep,
    insight_id: Id,
    dashboard: Annotated[int, Form(ge=1, le=MAX_ID)],
) -> Response:
    boards.add_to_dashboard(
        db, principal.actor(client_ip(request)), project.id, dashboard, insight_id
    )
    db.commit()
    return see_other(f"/projects/{project.id}/dashboards/{dashboard}")


@router.post("/projects/{project_id}/insights/{insight_id}/delete", include_in_schema=False)
def delete_insight_form(
    request: Request, project: ProjectDep, principal: Analyst, db: DbDep, insight_id: Id
) -> Response:
    boards.delete_insight(db, principal.actor(client_ip(request)), project.id, insight_id)
    db.commit()
    return see_other(f"/projects/{project.id}/dashboards")


@router.post("/projects/{project_id}/dashboards/{dashboard_id}/scope", include_in_schema=False)
def dashboard_scope_form(
    request: Request,
    project: ProjectDep,
    principal: Analyst,
    db: DbDep,
    dashboard_id: Id,
    days: Annotated[str, Form(max_length=10)] = "",
    key: Annotated[str, Form(max_length=200)] = "",
    operator: Annotated[str, Form(max_length=20)] = "exact",
    value: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """The dashboard's shared date range (blank: each insight's own) and one filter."""
    actor = principal.actor(client_ip(request))
    if days and not whole_number(days, 5):
        raise InvalidInput("days", "must be a whole number of days")
    filters = []
    if key.strip():
        raw = {"key": key.strip(), "operator": operator, "value": value}
        if operator in ("is_set", "is_not_set"):
            raw.pop("value")
        filters.append(_filter(raw))
    boards.set_dashboard_scope(
        db, actor, project.id, dashboard_id, int(days) if days else None, filters
    )
    db.commit()
    return see_other(f"/projects/{project.id}/dashboards/{dashboard_id}")


@router.post("/projects/{project_id}/dashboards/{dashboard_id}/delete", include_in_schema=False)
def delete_dashboard_form(
    request: Request, project: ProjectDep, principal: Analyst, db: DbDep, dashboard_id: Id
) -> Response:
    boards.delete_dashboard(db, principal.actor(client_ip(request)), project.id, dashboard_id)
    db.commit()
    return see_other(f"/projects/{project.id}/dashboards")


def _json(text: str) -> dict[str, Any]:
    try:
        raw = json.loads(text)
    except ValueError:
        raise InvalidInput("q", "is not a query object (JSON)") from None
    if not isinstance(raw, dict):
        raise InvalidInput("q", "is not a query object (JSON)")
    return raw


def _filter(raw: dict[str, Any]) -> PropertyFilter:
    try:
        return PropertyFilter.model_validate(raw)
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise InvalidInput("value", message) from None


# --- JSON API -----------------------------------------------------------------------------


class InsightIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    query: Query
    chart: Annotated[str | None, Field(max_length=20)] = None
    description: Annotated[str, Field(max_length=2000)] = ""
    dashboard_id: Id | None = None


class DashboardIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] = ""


@router.get("/api/projects/{project_id}/dashboards", tags=["product analytics"])
def list_dashboards_api(project: ProjectDep, principal: Reader, db: DbDep) -> JSONResponse:
    boards.ensure_default_dashboard(db, project.id)
    db.commit()
    return JSONResponse([asdict(b) for b in boards.list_dashboards(db, project.id)])


@router.post("/api/projects/{project_id}/dashboards", tags=["product analytics"], status_code=201)
def create_dashboard_api(
    request: Request, body: DashboardIn, project: ProjectDep, principal: Analyst, db: DbDep
) -> JSONResponse:
    actor = principal.actor(client_ip(request))
    board = boards.create_dashboard(db, actor, project.id, body.name, body.description)
    db.commit()
    return JSONResponse(asdict(board), status_code=201)


@router.get("/api/projects/{project_id}/dashboards/{dashboard_id}", tags=["product analytics"])
def get_dashboard_api(
    project: ProjectDep, principal: Reader, db: DbDep, dashboard_id: Id
) -> JSONResponse:
    view = boards.get_dashboard(db, project.id, dashboard_id)
    body = {
        "dashboard": asdict(view.dashboard),
        "insights": [_insight_json(i) for i in view.insights],
    }
    return JSONResponse(body)


@router.post("/api/projects/{project_id}/insights", tags=["product analytics"], status_code=201)
def create_insight_api(
    request: Request, body: InsightIn, project: ProjectDep, principal: Analyst, db: DbDep
) -> JSONResponse:
    saved = boards.save_insight(
        db, principal.actor(client_ip(request)), project.id, body.name, body.query,
        chart=body.chart, description=body.description, dashboard_id=body.dashboard_id,
    )  # fmt: skip
    db.commit()
    return JSONResponse(_insight_json(saved), status_code=201)


@router.get("/api/projects/{project_id}/insights/{insight_id}/result", tags=["product analytics"])
async def insight_result_api(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    warehouse: WarehouseDep,
    insight_id: Id,
) -> JSONResponse:
    """The insight's result, cached until the project's data changes; ``refresh=true``
    recomputes it."""
    insight = boards.get_insight(db, project.id, insight_id)
    query = boards.scoped_query(insight, None)
    refresh = request.query_params.get("refresh") in ("1", "true")
    found = await to_thread.run_sync(
        lambda: boards.answer(db, warehouse, project.id, project.timezone, query, refresh=refresh)
    )
    db.commit()
    body = {"computed_at": found.computed_at.isoformat(), "from_cache": found.from_cache,
            "result": found.result.model_dump(mode="json")}  # fmt: skip
    return JSONResponse(body)


def _insight_json(insight: boards.InsightInfo) -> dict[str, Any]:
    found = asdict(insight)
    found["created_at"] = insight.created_at.isoformat()
    return found
