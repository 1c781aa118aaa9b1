"""The query API (``POST /api/projects/{id}/query``) and the product-analytics pages."""

from __future__ import annotations

from pathlib import Path as FilePath
from zoneinfo import ZoneInfoNotFoundError

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from loopwise.core.errors import InvalidInput
from loopwise.product.cohorts import with_cohort
from loopwise.product.contracts import PersonsPage, PersonsQuery, Query, Result
from loopwise.product.facade import persons_in, run_query
from loopwise.product.web import analysis_pages, cohort_pages, dashboard_pages, feature_pages
from loopwise.product.web.export import persons_csv
from loopwise.web.area import Area, NavItem
from loopwise.web.deps import DbDep, ProjectDep, Reader, WarehouseDep

router = APIRouter(tags=["product analytics"])


@router.post("/api/projects/{project_id}/query")
async def query_api(
    query: Query, project: ProjectDep, principal: Reader, warehouse: WarehouseDep, db: DbDep
) -> Result:
    """Answer a query object (see docs/query-api.md): ``trends``, ``funnels``,
    ``retention``, ``stickiness``, ``lifecycle`` or ``paths``."""
    query = with_cohort(db, project.id, query)

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
    db: DbDep,
) -> Response:
    """The persons behind one number: of a trend (a series, optionally a bucket and a
    breakdown value), a funnel (a step reached or dropped off at), a retention cell, a
    stickiness bar, a lifecycle status or a path step. JSON pages (``limit``/``offset``),
    or CSV with ``Accept: text/csv``."""

    drill = with_cohort(db, project.id, body)

    def run() -> PersonsPage:
        return persons_in(warehouse, project.id, drill, project.timezone)

    try:
        found = await to_thread.run_sync(run)
    except ZoneInfoNotFoundError:
        raise InvalidInput("query.timezone", "is not an IANA time zone") from None
    if "text/csv" in request.headers.get("accept", ""):
        return persons_csv(found)
    return JSONResponse(found.model_dump(mode="json"))


router.include_router(analysis_pages.router)
router.include_router(dashboard_pages.router)
router.include_router(feature_pages.router)
router.include_router(cohort_pages.router)

area = Area(
    name="product",
    router=router,
    templates=FilePath(__file__).parent / "templates",
    nav=(
        NavItem("Dashboards", "/dashboards"),
        NavItem("Trends", "/trends"),
        NavItem("Funnels", "/funnels"),
        NavItem("Retention", "/retention"),
        NavItem("Paths", "/paths"),
        NavItem("Engagement", "/engagement"),
        NavItem("Features", "/features"),
        NavItem("Cohorts", "/cohorts"),
    ),
)
