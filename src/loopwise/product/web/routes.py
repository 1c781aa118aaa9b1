"""The query API: ``POST /api/projects/{id}/query`` with a typed query object."""

from __future__ import annotations

from zoneinfo import ZoneInfoNotFoundError

from anyio import to_thread
from fastapi import APIRouter

from loopwise.core.errors import InvalidInput
from loopwise.product.contracts import Query, TrendsResult
from loopwise.product.facade import run_query
from loopwise.web.area import Area
from loopwise.web.deps import ProjectDep, Reader, WarehouseDep

router = APIRouter(tags=["product analytics"])


@router.post("/api/projects/{project_id}/query")
async def query_api(
    query: Query, project: ProjectDep, principal: Reader, warehouse: WarehouseDep
) -> TrendsResult:
    """Answer a query object (see docs/query-api.md). Kinds so far: ``trends``."""

    def run() -> TrendsResult:
        return run_query(warehouse, project.id, query, project.timezone)

    try:
        return await to_thread.run_sync(run)
    except ZoneInfoNotFoundError:
        raise InvalidInput("date_range.timezone", "is not an IANA time zone") from None


area = Area(name="product", router=router)
