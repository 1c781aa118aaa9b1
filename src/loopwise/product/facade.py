"""The product-analytics surface other areas and the web layer use."""

from __future__ import annotations

from datetime import datetime

from loopwise.product.contracts import Query, TrendsResult
from loopwise.product.queries import RUNNERS
from loopwise.warehouse import Warehouse

__all__ = ["run_query"]


def run_query(
    warehouse: Warehouse,
    project_id: int,
    query: Query,
    timezone: str,
    *,
    now: datetime | None = None,
) -> TrendsResult:
    """Answer a query object with the runner registered for its ``kind``."""
    runner = RUNNERS[query.kind]
    result: TrendsResult = runner(warehouse, project_id, query, timezone, now=now)
    return result
