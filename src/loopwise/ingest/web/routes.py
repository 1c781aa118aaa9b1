"""HTTP surface of ingestion: the capture endpoint and the Live events page.

``POST /capture/`` accepts the PostHog capture body (one event, or ``{"batch": [...]}``) with the
project's write key. It acknowledges once the warehouse append has returned.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import ValidationError

from loopwise.core import accounts
from loopwise.core.auth import Principal
from loopwise.core.roles import Permission
from loopwise.ingest import live
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture
from loopwise.web.area import Area, NavItem
from loopwise.web.deps import Allowed, ContextDep, DbDep, ProjectDep, WarehouseDep
from loopwise.web.render import render

router = APIRouter()
Reader = Annotated[Principal, Depends(Allowed(Permission.READ))]
MAX_BATCH = 10_000
STREAM_SECONDS = 300  # browsers reconnect by themselves; bounded streams let servers drain


@router.post("/capture/", tags=["ingestion"])
async def capture_endpoint(request: Request, context: ContextDep, db: DbDep) -> JSONResponse:
    """PostHog-style capture: ``{"api_key", "event", "distinct_id", "properties", ...}``."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return _problem(400, "body", "is not valid JSON")
    if not isinstance(body, dict):
        return _problem(400, "body", "must be a JSON object")
    key = body.get("api_key") or body.get("token")
    project = accounts.project_by_write_key(db, key) if isinstance(key, str) else None
    if project is None:
        return _problem(401, "api_key", "is missing or is not the write key of any project")
    raw = body.get("batch", [body])
    if not isinstance(raw, list) or not raw or len(raw) > MAX_BATCH:
        return _problem(400, "batch", f"must be a list of 1 to {MAX_BATCH} events")
    events = []
    for index, item in enumerate(raw):
        try:
            events.append(_to_event(item))
        except (ValidationError, TypeError) as exc:
            return _problem(400, f"batch[{index}]", _first_error(exc))
    await to_thread.run_sync(capture, context.warehouse, project.id, events)
    return JSONResponse({"status": 1})


def _to_event(item: Any) -> CaptureEvent:
    if not isinstance(item, dict):
        raise TypeError("each event must be a JSON object")
    properties = dict(item.get("properties") or {})
    distinct_id = item.get("distinct_id") or properties.pop("distinct_id", None)
    timestamp = item.get("timestamp") or datetime.now(UTC).isoformat()
    return CaptureEvent.model_validate(
        {
            "event": item.get("event"),
            "distinct_id": str(distinct_id) if distinct_id is not None else None,
            "timestamp": timestamp,
            "properties": properties,
            "uuid": item.get("uuid"),
            "$set": item.get("$set") or properties.pop("$set", None),
            "$set_once": item.get("$set_once") or properties.pop("$set_once", None),
        }
    )


def _first_error(exc: ValidationError | TypeError) -> str:
    if isinstance(exc, TypeError):
        return str(exc)
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def _problem(status: int, field: str, message: str) -> JSONResponse:
    return JSONResponse({"status": 0, "field": field, "detail": f"{field} {message}"}, status)


@router.get("/projects/{project_id}/live", response_class=HTMLResponse, include_in_schema=False)
def live_page(
    request: Request, project: ProjectDep, principal: Reader, warehouse: WarehouseDep
) -> Response:
    recent = live.recent_events(warehouse, project.id)
    return render(request, "ingest/live.html", {"project": project, "events": recent})


@router.get("/api/projects/{project_id}/events/recent", tags=["ingestion"])
def recent_events(
    project: ProjectDep, principal: Reader, warehouse: WarehouseDep, limit: int = 50
) -> list[live.LiveEvent]:
    """The newest events received, newest first (at most 500)."""
    return live.recent_events(warehouse, project.id, limit=min(max(limit, 1), 500))


@router.get("/projects/{project_id}/live/stream", include_in_schema=False)
def live_stream(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    warehouse: WarehouseDep,
    after: str = "",
) -> StreamingResponse:
    """Server-sent events: a message per batch of newly received events."""
    cursor = live.parse_cursor(after)

    async def messages() -> AsyncIterator[str]:
        nonlocal cursor
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_SECONDS
        yield "retry: 2000\n\n"
        while loop.time() < deadline and not await request.is_disconnected():
            fresh = await to_thread.run_sync(live.events_after, warehouse, project.id, cursor)
            if fresh:
                cursor = fresh[0].received_at
                payload = json.dumps([e.model_dump(mode="json") for e in fresh])
                yield f"event: events\ndata: {payload}\n\n"
            else:
                yield ": keep-alive\n\n"
            await asyncio.sleep(1.0)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(messages(), media_type="text/event-stream", headers=headers)


area = Area(
    name="ingest",
    router=router,
    templates=Path(__file__).parent / "templates",
    nav=(NavItem("Live events", "/live"),),
)
