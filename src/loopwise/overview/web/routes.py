"""The project dashboard page, its htmx partial and its JSON twin."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import AfterValidator

from loopwise.core.accounts import ProjectInfo
from loopwise.core.cache import TtlCache
from loopwise.overview.contracts import Overview
from loopwise.overview.facade import PERIODS, project_overview
from loopwise.warehouse import Warehouse, WarehouseError
from loopwise.web.area import Area, NavItem
from loopwise.web.deps import ProjectDep, Reader, WarehouseDep
from loopwise.web.render import render

router = APIRouter()
log = logging.getLogger("loopwise.overview")


def _period(days: int) -> int:
    if days not in PERIODS:
        raise ValueError(f"must be one of {', '.join(map(str, PERIODS))}")
    return days


Days = Annotated[
    int, Query(description="Length of the period: 7, 30 or 90 days."), AfterValidator(_period)
]


CACHE_SECONDS = 120


async def _overview(
    request: Request, warehouse: Warehouse, project: ProjectInfo, days: int, refresh: bool
) -> Overview:
    cache: TtlCache[Overview] | None = getattr(request.app.state, "overview_cache", None)
    if cache is None:
        cache = request.app.state.overview_cache = TtlCache(CACHE_SECONDS)
    key = (project.id, days, project.timezone)

    def compute() -> Overview:
        return project_overview(warehouse, project.id, days=days, timezone=project.timezone)

    return await to_thread.run_sync(lambda: cache.get_or_compute(key, compute, refresh=refresh))


@router.get("/projects/{project_id}", response_class=HTMLResponse, include_in_schema=False)
def dashboard(
    request: Request, project: ProjectDep, principal: Reader, days: Days = 30
) -> Response:
    """The page shell; the numbers load into it through the partial below."""
    context = {"project": project, "days": days, "periods": PERIODS}
    return render(request, "overview/dashboard.html", context)


@router.get("/projects/{project_id}/overview", response_class=HTMLResponse, include_in_schema=False)
async def dashboard_partial(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    warehouse: WarehouseDep,
    days: Days = 30,
    refresh: bool = False,
) -> Response:
    try:
        overview = await _overview(request, warehouse, project, days, refresh)
    except WarehouseError as exc:
        log.warning("overview failed", extra={"project_id": project.id, "error": str(exc)})
        detail = "The numbers could not be loaded right now. Reload the page to try again."
        return render(request, "_error.html", {"detail": detail}, 503)
    context = {"project": project, "o": overview, "charts": _charts(overview)}
    return render(request, "overview/_overview.html", context)


@router.get("/api/projects/{project_id}/overview", tags=["overview"])
async def dashboard_json(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    warehouse: WarehouseDep,
    days: Days = 30,
    refresh: bool = False,
) -> dict[str, Any]:
    """Headline numbers, a daily series and top lists for the last 7, 30 or 90 days.

    Results are cached for two minutes; ``refresh=true`` recomputes them.
    """
    overview = await _overview(request, warehouse, project, days, refresh)
    return asdict(overview)


PALETTE = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#64748b"]


def _charts(o: Overview) -> dict[str, str]:
    """ECharts options, serialised for the page's ``data-chart`` attributes."""
    days = [p.day.isoformat() for p in o.daily]
    if days:
        days[-1] += " (so far)"  # today is not over: its dip is not a drop
    activity = {
        "color": PALETTE,
        "tooltip": {"trigger": "axis"},
        "legend": {"data": ["Events", "Active people"], "top": 0},
        "grid": {"left": 56, "right": 56, "top": 36, "bottom": 30},
        "xAxis": {"type": "category", "data": days, "boundaryGap": False},
        "yAxis": [
            {"type": "value", "name": "Events", "splitLine": {"lineStyle": {"color": "#eef0f4"}}},
            {"type": "value", "name": "People", "splitLine": {"show": False}},
        ],
        "series": [
            {"name": "Events", "type": "line", "smooth": True, "showSymbol": False,
             "areaStyle": {"opacity": 0.08}, "data": [p.events for p in o.daily]},
            {"name": "Active people", "type": "line", "smooth": True, "showSymbol": False,
             "yAxisIndex": 1, "data": [p.persons for p in o.daily]},
        ],
    }  # fmt: skip
    events = list(reversed(o.top_events))
    top = {
        "color": PALETTE,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 130, "right": 24, "top": 10, "bottom": 24},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": [e.name for e in events]},
        "series": [{"type": "bar", "name": "Events", "data": [e.count for e in events]}],
    }
    sources = {
        "color": PALETTE,
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} new people ({d}%)"},
        "series": [{
            "type": "pie", "radius": ["45%", "72%"], "label": {"formatter": "{b}"},
            "data": [{"name": s.name, "value": s.count} for s in o.sources],
        }],
    }  # fmt: skip
    return {
        k: json.dumps(v) for k, v in {"activity": activity, "top": top, "sources": sources}.items()
    }


area = Area(
    name="overview",
    router=router,
    templates=Path(__file__).parent / "templates",
    nav=(NavItem("Dashboard", ""),),
)
