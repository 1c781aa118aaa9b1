"""The analysis pages: Trends, Funnels, Retention, Paths and Engagement (each a GET form
over the query API's objects), and one page listing the persons behind any number they
show."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter, ValidationError

from loopwise.core.errors import InvalidInput
from loopwise.product.cohorts import list_cohorts, with_cohort
from loopwise.product.contracts import (
    FunnelResult,
    LifecycleQuery,
    LifecycleResult,
    PathsQuery,
    PathsResult,
    PersonsQuery,
    Query,
    StickinessQuery,
    StickinessResult,
    TrendsResult,
)
from loopwise.product.dashboards import list_dashboards
from loopwise.product.facade import event_names, persons_in, run_query
from loopwise.product.web import charts, forms
from loopwise.product.web.export import persons_csv
from loopwise.web.deps import DbDep, ProjectDep, Reader, WarehouseDep
from loopwise.web.render import render

router = APIRouter()
PERSONS = TypeAdapter(PersonsQuery)
MATHS = {
    "total": "Events",
    "unique_persons": "Unique persons",
    "unique_sessions": "Unique sessions",
    "weekly_active": "Weekly active persons (per day)",
    "monthly_active": "Monthly active persons (per day)",
    "sum": "Sum of a property",
    "avg": "Average of a property",
    "min": "Smallest value of a property",
    "max": "Largest value of a property",
    "p50": "Median of a property",
    "p90": "90th percentile of a property",
    "p95": "95th percentile of a property",
    "p99": "99th percentile of a property",
}


def query_param(query: Query) -> str:
    """A query object as the ``q`` parameter of drill-down and save links."""
    return quote(json.dumps(query.model_dump(mode="json"), separators=(",", ":")))


def _shown(query: Query, result: Any) -> dict[str, Any]:
    """A result with what its drill-down links and the save form need."""
    return {
        **result_context(result),
        "q": query_param(query),
        "q_json": json.dumps(query.model_dump(mode="json"), separators=(",", ":")),
    }


def funnel_presets(names: list[str]) -> list[tuple[str, str]]:
    """Onboarding and time-to-first-value funnels from the project's own event names: a
    sign-up event, an onboarding event if there is one, and the most frequent other
    event as the key action."""
    signup = next((n for n in names if "sign" in n.lower() and "up" in n.lower()), None)
    if signup is None:
        return []
    onboarding = next((n for n in names if "onboard" in n.lower() and "complet" in n.lower()), None)
    key = next(
        (n for n in names if not n.startswith("$") and n not in (signup, onboarding)
         and "onboard" not in n.lower()),
        None,
    )  # fmt: skip
    if key is None:
        return []
    found = []
    if onboarding:
        found.append(
            (
                "Onboarding",
                urlencode([("step", signup), ("step", onboarding), ("step", key), ("days", 90)]),
            )
        )
    found.append(
        (
            "Time to first value (sign-up → first key action)",
            urlencode([("step", signup), ("step", key), ("days", 90), ("window", 30)]),
        )
    )
    return found


def result_context(result: Any, chart: str = "") -> dict[str, Any]:
    """What the result partials need, for a page or a dashboard tile."""
    values: dict[str, Any] = {"result": result, "duration": charts.duration, "heat": charts.heat}
    if isinstance(result, TrendsResult):
        values["chart"] = charts.trend_chart(result, chart or "line")
        values["drill"] = charts.trend_drill(result)
    elif isinstance(result, PathsResult):
        values["chart"] = charts.sankey_chart(result)
    elif isinstance(result, StickinessResult):
        values["chart"] = charts.stickiness_chart(result)
    elif isinstance(result, LifecycleResult):
        values["chart"] = charts.lifecycle_chart(result)
    elif isinstance(result, FunnelResult):
        values["chart"] = charts.funnel_chart(result)
        values["histogram"] = charts.histogram_chart(result.total) if result.total.histogram else ""
    return values


async def _page_extras(db: Any, warehouse: Any, project_id: int) -> dict[str, Any]:
    """Event names for the pickers, dashboards for the save form."""
    names = await to_thread.run_sync(event_names, warehouse, project_id)
    return {"events": names, "dashboards": list_dashboards(db, project_id),
            "cohorts": list_cohorts(db, project_id)}  # fmt: skip


@router.get("/projects/{project_id}/trends", response_class=HTMLResponse, include_in_schema=False)
async def trends_page(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    warehouse: WarehouseDep,
    db: DbDep,
) -> Response:
    form = forms.read(request.query_params, forms.TREND_FIELDS)
    values: dict[str, Any] = {"project": project, "form": form, "errors": {}, "maths": MATHS}
    try:
        query = forms.trends_query(form)
    except ValidationError as exc:
        values["errors"] = forms.errors(exc, forms.TREND_FIELDS, "math_property")
    else:
        resolved = with_cohort(db, project.id, query)
        result = await to_thread.run_sync(
            run_query, warehouse, project.id, resolved, project.timezone
        )
        values.update(_shown(query, result))
    values.update(await _page_extras(db, warehouse, project.id))
    return render(request, "product/trends.html", values, 422 if values["errors"] else 200)


@router.get("/projects/{project_id}/funnels", response_class=HTMLResponse, include_in_schema=False)
async def funnels_page(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    warehouse: WarehouseDep,
    db: DbDep,
) -> Response:
    form = forms.read(request.query_params, forms.FUNNEL_FIELDS)
    steps = forms.funnel_steps(request.query_params)
    values: dict[str, Any] = {"project": project, "form": form, "steps": steps, "errors": {}}
    if len(steps) >= 2:
        try:
            query = forms.funnel_query(form, steps)
        except ValidationError as exc:
            values["errors"] = forms.errors(exc, (*forms.FUNNEL_FIELDS, "steps"), "steps")
        else:
            resolved = with_cohort(db, project.id, query)
            answer = await to_thread.run_sync(
                run_query, warehouse, project.id, resolved, project.timezone
            )
            values.update(_shown(query, answer))
    elif request.query_params.getlist("step"):
        values["errors"] = {"steps": "a funnel needs at least two steps"}
    values.update(await _page_extras(db, warehouse, project.id))
    values["presets"] = funnel_presets(values["events"])
    return render(request, "product/funnels.html", values, 422 if values["errors"] else 200)


@router.get(
    "/projects/{project_id}/retention", response_class=HTMLResponse, include_in_schema=False
)
async def retention_page(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    warehouse: WarehouseDep,
    db: DbDep,
) -> Response:
    form = forms.read(request.query_params, forms.RETENTION_FIELDS)
    values: dict[str, Any] = {"project": project, "form": form, "errors": {}}
    try:
        query = forms.retention_query(form)
    except ValidationError as exc:
        values["errors"] = forms.errors(exc, forms.RETENTION_FIELDS, "periods")
    else:
        resolved = with_cohort(db, project.id, query)
        answer = await to_thread.run_sync(
            run_query, warehouse, project.id, resolved, project.timezone
        )
        values.update(_shown(query, answer))
    values.update(await _page_extras(db, warehouse, project.id))
    return render(request, "product/retention.html", values, 422 if values["errors"] else 200)


PATH_FIELDS = ("event", "direction", "steps", "depth", "days")


@router.get("/projects/{project_id}/paths", response_class=HTMLResponse, include_in_schema=False)
async def paths_page(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    warehouse: WarehouseDep,
    db: DbDep,
) -> Response:
    form = forms.read(request.query_params, PATH_FIELDS)
    values: dict[str, Any] = {"project": project, "form": form, "errors": {}}
    raw = {
        "event": form["event"] or None, "direction": form["direction"] or "after",
        "steps": form["steps"] or "events", "depth": form["depth"] or 5,
        "date_range": {"last_days": form["days"] or 7},
    }  # fmt: skip
    try:
        query = PathsQuery.model_validate(raw)
    except ValidationError as exc:
        values["errors"] = forms.errors(exc, PATH_FIELDS, "event")
    else:
        answer = await to_thread.run_sync(run_query, warehouse, project.id, query, project.timezone)
        values.update(_shown(query, answer))
    values.update(await _page_extras(db, warehouse, project.id))
    return render(request, "product/paths.html", values, 422 if values["errors"] else 200)


ENGAGEMENT_FIELDS = ("event", "days", "interval")


@router.get(
    "/projects/{project_id}/engagement", response_class=HTMLResponse, include_in_schema=False
)
async def engagement_page(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    warehouse: WarehouseDep,
    db: DbDep,
) -> Response:
    """Lifecycle and stickiness of one activity, over the same range."""
    form = forms.read(request.query_params, ENGAGEMENT_FIELDS)
    values: dict[str, Any] = {"project": project, "form": form, "errors": {}}
    activity = {"event": form["event"] or None}
    common = {
        "date_range": {"last_days": form["days"] or 30},
        "interval": form["interval"] or "day",
    }
    try:
        lifecycle = LifecycleQuery.model_validate({"activity": activity, **common})
        sticky = StickinessQuery.model_validate({"series": [activity], **common})
    except ValidationError as exc:
        values["errors"] = forms.errors(exc, ENGAGEMENT_FIELDS, "days")
    else:
        for name, query in (("lifecycle", lifecycle), ("stickiness", sticky)):
            answer = await to_thread.run_sync(
                run_query, warehouse, project.id, query, project.timezone
            )
            values[name] = _shown(query, answer)
    values.update(await _page_extras(db, warehouse, project.id))
    return render(request, "product/engagement.html", values, 422 if values["errors"] else 200)


def persons_request(params: Any) -> Any:
    """A drill-down request from a persons link: ``q`` (the query object as JSON) and the
    cell: ``series``/``bucket`` (trends), ``step``/``dropped`` (funnels),
    ``cohort``/``offset`` (retention), ``bv`` (a breakdown value)."""
    try:
        raw = json.loads(params.get("q") or "")
        if not isinstance(raw, dict):
            raise ValueError("q must be a query object")
        body: dict[str, Any] = {"query": raw, "limit": 500}
        kind = raw.get("kind")
        if kind == "funnels":
            body.update(step=int(params.get("step", 0)), dropped=params.get("dropped") == "1")
        elif kind == "retention":
            body.update(cohort=params.get("cohort"), period_offset=int(params.get("offset", 0)))
        elif kind == "stickiness":
            body["intervals"] = int(params.get("intervals", 1))
        elif kind == "paths":
            body.update(step=int(params.get("step", 0)), name=params.get("name", ""))
        elif kind == "lifecycle":
            body.update(bucket=params.get("bucket"), status=params.get("status"))
        else:
            body["series"] = int(params.get("series", 0))
            if params.get("bucket"):
                body["bucket"] = params["bucket"]
        if kind == "stickiness":
            body["series"] = int(params.get("series", 0))
        if "bv" in params:
            body["breakdown_value"] = params["bv"]
        return PERSONS.validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:])
        raise InvalidInput("q", f"{where}: {first['msg']}") from None
    except ValueError as exc:
        raise InvalidInput("q", f"is not a drill-down of a query: {exc}") from None


@router.get(
    "/projects/{project_id}/query/persons", response_class=HTMLResponse, include_in_schema=False
)
async def persons_page(
    request: Request, project: ProjectDep, principal: Reader, warehouse: WarehouseDep, db: DbDep
) -> Response:
    """The persons behind a number of any analysis page or dashboard tile; CSV with
    ``format=csv``."""
    drill = with_cohort(db, project.id, persons_request(request.query_params))
    found = await to_thread.run_sync(persons_in, warehouse, project.id, drill, project.timezone)
    if request.query_params.get("format") == "csv":
        return persons_csv(found)
    values = {
        "project": project, "drill": drill, "found": found, "duration": charts.duration,
        "csv_url": str(request.url.include_query_params(format="csv")),
    }  # fmt: skip
    return render(request, "product/persons.html", values)
