"""Features: their definitions, the feature usage dashboard, each feature's adoption
report, and the per-person core-feature answer; pages and JSON API."""

from __future__ import annotations

import json
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from anyio import to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from loopwise.core.accounts import ProjectInfo
from loopwise.core.errors import InvalidInput
from loopwise.product import features
from loopwise.product.contracts import FeatureIn, FeatureReport
from loopwise.product.web.charts import PALETTE
from loopwise.product.web.forms import whole_number
from loopwise.web.deps import (
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
INTERVALS = ("day", "week", "month")


@router.get("/projects/{project_id}/features", response_class=HTMLResponse, include_in_schema=False)
def features_page(request: Request, project: ProjectDep, principal: Reader, db: DbDep) -> Response:
    return _list(request, project, db, {}, {}, 200)


def _list(
    request: Request, project: ProjectInfo, db: Any, errors: dict[str, str],
    form: dict[str, Any], status: int,
) -> Response:  # fmt: skip
    values = {"project": project, "features": features.list_features(db, project.id),
              "errors": errors, "form": form}  # fmt: skip
    return render(request, "product/features.html", values, status)


@router.post("/projects/{project_id}/features", include_in_schema=False)
def create_feature_form(
    request: Request,
    project: ProjectDep,
    principal: Analyst,
    db: DbDep,
    name: Annotated[str, Form(max_length=1000)] = "",
    events: Annotated[str, Form(max_length=5000)] = "",
    start_event: Annotated[str, Form(max_length=1000)] = "",
    completion_event: Annotated[str, Form(max_length=1000)] = "",
    is_core: Annotated[bool, Form()] = False,
) -> Response:
    form = {"name": name, "events": events, "start_event": start_event,
            "completion_event": completion_event, "is_core": is_core}  # fmt: skip
    try:
        definition = _definition(form)
        made = features.create_feature(
            db, principal.actor(client_ip(request)), project.id, definition
        )
    except InvalidInput as exc:
        return _list(request, project, db, {exc.field: exc.message}, form, 422)
    db.commit()
    return see_other(f"/projects/{project.id}/features/{made.id}")


def _definition(form: dict[str, Any]) -> FeatureIn:
    raw = {
        "name": str(form["name"]).strip(),
        "events": [e.strip() for e in str(form["events"]).split(",") if e.strip()],
        "start_event": str(form["start_event"]).strip() or None,
        "completion_event": str(form["completion_event"]).strip() or None,
        "is_core": bool(form["is_core"]),
    }
    try:
        return FeatureIn.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "start_event"
        message = str(first["msg"]).removeprefix("Value error, ")
        if field == "events":
            message = "list 1 to 20 event names, separated by commas"
        raise InvalidInput(field, message) from None


@router.get(
    "/projects/{project_id}/features/{feature_id}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def feature_page(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    warehouse: WarehouseDep,
    feature_id: Id,
) -> Response:
    feature = features.get_feature(db, project.id, feature_id)
    days, interval = _range(request)
    report = await to_thread.run_sync(
        lambda: features.adoption_report(
            warehouse,
            feature,
            project.id,
            project.timezone,
            days=days,
            interval=interval,  # type: ignore[arg-type]
        )
    )
    values = {"project": project, "report": report, "days": days, "interval": interval,
              "charts": _charts(report)}  # fmt: skip
    return render(request, "product/feature.html", values)


@router.post("/projects/{project_id}/features/{feature_id}/delete", include_in_schema=False)
def delete_feature_form(
    request: Request, project: ProjectDep, principal: Analyst, db: DbDep, feature_id: Id
) -> Response:
    features.delete_feature(db, principal.actor(client_ip(request)), project.id, feature_id)
    db.commit()
    return see_other(f"/projects/{project.id}/features")


def _range(request: Request) -> tuple[int, str]:
    raw_days = request.query_params.get("days", "30")
    if not whole_number(raw_days, 5) or not 1 <= int(raw_days) <= 1098:
        raise InvalidInput("days", "must be a whole number of days from 1 to 1098")
    interval = request.query_params.get("interval", "week")
    if interval not in INTERVALS:
        raise InvalidInput("interval", f"must be one of {', '.join(INTERVALS)}")
    return int(raw_days), interval


def _charts(report: FeatureReport) -> dict[str, str]:
    zone = ZoneInfo(report.timezone)
    labels = [p.start.astimezone(zone).strftime("%Y-%m-%d") for p in report.adoption]
    adoption = {
        "color": PALETTE, "tooltip": {"trigger": "axis"},
        "grid": {"left": 48, "right": 24, "top": 24, "bottom": 30, "containLabel": True},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "series": [{"type": "line", "name": "adoption", "smooth": True,
                    "data": [round(100 * p.rate, 1) for p in report.adoption]}],
    }  # fmt: skip
    weeks = (
        [f"week {n}" for n in range(len(report.retention[0].shares))] if report.retention else []
    )
    retention = {
        "color": PALETTE, "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 48, "right": 24, "top": 36, "bottom": 30, "containLabel": True},
        "xAxis": {"type": "category", "data": weeks},
        "yAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "series": [
            {"type": "line", "name": f"{c.label} ({c.persons})",
             "data": [None if s is None else round(100 * s, 1) for s in c.shares]}
            for c in report.retention
        ],
    }  # fmt: skip
    return {"adoption": json.dumps(adoption), "retention": json.dumps(retention)}


# --- JSON API -----------------------------------------------------------------------------


@router.get("/api/projects/{project_id}/features", tags=["product analytics"])
def list_features_api(project: ProjectDep, principal: Reader, db: DbDep) -> JSONResponse:
    return JSONResponse([f.model_dump() for f in features.list_features(db, project.id)])


@router.post("/api/projects/{project_id}/features", tags=["product analytics"], status_code=201)
def create_feature_api(
    request: Request, body: FeatureIn, project: ProjectDep, principal: Analyst, db: DbDep
) -> JSONResponse:
    made = features.create_feature(db, principal.actor(client_ip(request)), project.id, body)
    db.commit()
    return JSONResponse(made.model_dump(), status_code=201)


@router.put("/api/projects/{project_id}/features/{feature_id}", tags=["product analytics"])
def update_feature_api(
    request: Request,
    body: FeatureIn,
    project: ProjectDep,
    principal: Analyst,
    db: DbDep,
    feature_id: Id,
) -> JSONResponse:
    actor = principal.actor(client_ip(request))
    changed = features.update_feature(db, actor, project.id, feature_id, body)
    db.commit()
    return JSONResponse(changed.model_dump())


@router.delete(
    "/api/projects/{project_id}/features/{feature_id}",
    tags=["product analytics"],
    status_code=204,
)
def delete_feature_api(
    request: Request, project: ProjectDep, principal: Analyst, db: DbDep, feature_id: Id
) -> Response:
    features.delete_feature(db, principal.actor(client_ip(request)), project.id, feature_id)
    db.commit()
    return Response(status_code=204)


@router.get("/api/projects/{project_id}/features/{feature_id}/report", tags=["product analytics"])
async def feature_report_api(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    warehouse: WarehouseDep,
    feature_id: Id,
) -> FeatureReport:
    """Adoption of one feature over the last ``days`` (default 30) per ``interval``."""
    feature = features.get_feature(db, project.id, feature_id)
    days, interval = _range(request)
    return await to_thread.run_sync(
        lambda: features.adoption_report(
            warehouse,
            feature,
            project.id,
            project.timezone,
            days=days,
            interval=interval,  # type: ignore[arg-type]
        )
    )


@router.get(
    "/api/projects/{project_id}/persons/{person_id}/core-features", tags=["product analytics"]
)
async def core_features_api(
    project: ProjectDep, principal: Reader, db: DbDep, warehouse: WarehouseDep, person_id: str
) -> JSONResponse:
    """Which of the project's core features the person has used ("3 of 10")."""
    if len(person_id) > 64:
        raise InvalidInput("person_id", "is not a person id")
    found = await to_thread.run_sync(
        features.core_features_of, db, warehouse, project.id, person_id
    )
    return JSONResponse({**found.model_dump(), "total": found.total})
