"""The query API (``POST /api/projects/{id}/query``) and the Trends page built on it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path as FilePath
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfoNotFoundError

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ValidationError

from loopwise.core.errors import InvalidInput
from loopwise.product.contracts import (
    FunnelPerson,
    FunnelPersons,
    PersonRow,
    PersonsPage,
    PersonsQuery,
    Query,
    Result,
    RetentionPersons,
    TrendPerson,
    TrendPersons,
    TrendPersonsQuery,
    TrendsQuery,
    TrendsResult,
)
from loopwise.product.facade import event_names, persons_in, run_query
from loopwise.web.area import Area, NavItem
from loopwise.web.deps import ProjectDep, Reader, WarehouseDep
from loopwise.web.render import render

router = APIRouter(tags=["product analytics"])


@router.post("/api/projects/{project_id}/query")
async def query_api(
    query: Query, project: ProjectDep, principal: Reader, warehouse: WarehouseDep
) -> Result:
    """Answer a query object (see docs/query-api.md): ``trends`` or ``funnels``."""

    def run() -> Result:
        return run_query(warehouse, project.id, query, project.timezone)

    try:
        return await to_thread.run_sync(run)
    except ZoneInfoNotFoundError:
        raise InvalidInput("date_range.timezone", "is not an IANA time zone") from None


@router.post("/api/projects/{project_id}/query/persons", response_model=PersonsPage)
async def query_persons_api(
    request: Request,
    body: PersonsQuery,
    project: ProjectDep,
    principal: Reader,
    warehouse: WarehouseDep,
) -> Response:
    """The persons behind one number: of a trend (a series, optionally a bucket and a
    breakdown value) or of a funnel (a step reached or dropped off at). JSON pages
    (``limit``/``offset``), or CSV with ``Accept: text/csv``."""

    def run() -> PersonsPage:
        return persons_in(warehouse, project.id, body, project.timezone)

    try:
        found = await to_thread.run_sync(run)
    except ZoneInfoNotFoundError:
        raise InvalidInput("query.date_range.timezone", "is not an IANA time zone") from None
    if "text/csv" in request.headers.get("accept", ""):
        return _csv(found)
    return JSONResponse(found.model_dump(mode="json"))


MATHS = {
    "total": "Events",
    "unique_persons": "Unique persons",
    "sum": "Sum of a property",
    "avg": "Average of a property",
    "min": "Smallest value of a property",
    "max": "Largest value of a property",
}
PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#64748b"]
_FIELDS = ("event", "math", "math_property", "interval", "days", "breakdown", "compare")


def _form_query(form: dict[str, str]) -> TrendsQuery:
    series: dict[str, Any] = {"math": form.get("math") or "total"}
    if form.get("event"):
        series["event"] = form["event"]
    if form.get("math_property"):
        series["math_property"] = form["math_property"]
    query: dict[str, Any] = {
        "series": [series],
        "interval": form.get("interval") or "day",
        "date_range": {"last_days": form.get("days") or 30},
    }
    if form.get("breakdown"):
        query["breakdown"] = {"property": form["breakdown"], "limit": 8}
    query["compare"] = form.get("compare") == "on"
    return TrendsQuery.model_validate(query)


def _errors(exc: ValidationError) -> dict[str, str]:
    """Validation errors keyed by the form field they belong to."""
    found: dict[str, str] = {}
    for error in exc.errors():
        where = [str(part) for part in error["loc"]]
        field = next((f for f in reversed(where) if f in _FIELDS), None)
        if field is None:
            field = "days" if "date_range" in where or "last_days" in where else "math_property"
        found.setdefault(field, str(error["msg"]).removeprefix("Value error, "))
    return found


def _name(breakdown_value: str | None, label: str) -> str:
    if breakdown_value is None:
        return label
    return breakdown_value or "(not set)"


def _chart(result: TrendsResult) -> str:
    labels = [
        b.strftime("%Y-%m-%d %H:%M" if result.interval == "hour" else "%Y-%m-%d")
        for b in result.buckets
    ]
    if result.query["date_range"]["date_to"] is None and labels:
        labels[-1] += " (so far)"  # the current period is not over: its dip is not a drop
    series = [
        {
            "name": _name(line.breakdown_value, line.label)
            + (" (previous period)" if line.period == "previous" else ""),
            "type": "line", "smooth": True, "showSymbol": len(labels) < 40, "data": line.values,
            "lineStyle": {"type": "dashed" if line.period == "previous" else "solid"},
        }
        for line in result.lines
    ]  # fmt: skip
    option = {
        "color": PALETTE,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "type": "scroll"},
        "grid": {"left": 56, "right": 24, "top": 40, "bottom": 30},
        "xAxis": {"type": "category", "data": labels, "boundaryGap": False},
        "yAxis": {"type": "value", "splitLine": {"lineStyle": {"color": "#eef0f4"}}},
        "series": series,
    }
    return json.dumps(option)


@router.get("/projects/{project_id}/trends", response_class=HTMLResponse, include_in_schema=False)
async def trends_page(
    request: Request, project: ProjectDep, principal: Reader, warehouse: WarehouseDep
) -> Response:
    form = {name: request.query_params.get(name, "").strip()[:200] for name in _FIELDS}
    errors: dict[str, str] = {}
    result: TrendsResult | None = None
    try:
        query = _form_query(form)
    except ValidationError as exc:
        errors = _errors(exc)
    else:
        answer = await to_thread.run_sync(run_query, warehouse, project.id, query, project.timezone)
        result = answer if isinstance(answer, TrendsResult) else None
    names = await to_thread.run_sync(event_names, warehouse, project.id)
    values = {
        "project": project, "form": form, "errors": errors, "result": result,
        "chart": _chart(result) if result else "", "maths": MATHS, "events": names,
        "drill_query": urlencode({k: v for k, v in form.items() if v and k != "compare"}),
    }  # fmt: skip
    return render(request, "product/trends.html", values, 422 if errors else 200)


@router.get(
    "/projects/{project_id}/trends/persons", response_class=HTMLResponse, include_in_schema=False
)
async def trend_persons_page(
    request: Request, project: ProjectDep, principal: Reader, warehouse: WarehouseDep
) -> Response:
    """The persons behind one line of the Trends page (same form fields, plus ``bv``)."""
    form = {name: request.query_params.get(name, "").strip()[:200] for name in _FIELDS}
    value = request.query_params.get("bv")
    try:
        query = _form_query(form)
        drill = TrendPersonsQuery(query=query, breakdown_value=value, limit=500)
    except ValidationError as exc:
        raise InvalidInput("query", "; ".join(_errors(exc).values())) from None
    found = await to_thread.run_sync(persons_in, warehouse, project.id, drill, project.timezone)
    if request.query_params.get("format") == "csv":
        return _csv(found)
    values = {"project": project, "form": form, "value": value, "found": found,
              "csv_url": str(request.url.include_query_params(format="csv"))}  # fmt: skip
    return render(request, "product/trend_persons.html", values)


_ROWS: dict[type[BaseModel], type[BaseModel]] = {
    TrendPersons: TrendPerson, FunnelPersons: FunnelPerson, RetentionPersons: PersonRow,
}  # fmt: skip


def _csv(found: PersonsPage) -> Response:
    sink = io.StringIO()
    writer = csv.writer(sink)
    columns = list(_ROWS[type(found)].model_fields)
    rows = [item.model_dump(mode="json") for item in found.persons]
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row[name] for name in columns])
    headers = {"Content-Disposition": 'attachment; filename="persons.csv"'}
    return Response(sink.getvalue(), media_type="text/csv", headers=headers)


area = Area(
    name="product",
    router=router,
    templates=FilePath(__file__).parent / "templates",
    nav=(NavItem("Trends", "/trends"),),
)
