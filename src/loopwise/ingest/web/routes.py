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
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import ValidationError

from loopwise.core import accounts
from loopwise.ingest import live
from loopwise.ingest.contracts import CaptureEvent
from loopwise.ingest.facade import capture
from loopwise.web.area import Area, NavItem
from loopwise.web.deps import ContextDep, DbDep, ProjectDep, Reader, WarehouseDep
from loopwise.web.render import render

router = APIRouter()
MAX_BATCH = 10_000
MAX_BODY_BYTES = 20 * 1024 * 1024
STREAM_SECONDS = 300  # browsers reconnect by themselves; bounded streams let servers drain


@router.post("/capture/", tags=["ingestion"])
async def capture_endpoint(request: Request, context: ContextDep, db: DbDep) -> JSONResponse:
    """PostHog-style capture: ``{"api_key", "event", "distinct_id", "properties", ...}``."""
    raw_body = await _read_capped(request, MAX_BODY_BYTES)
    if raw_body is None:
        return _problem(413, "body", f"is larger than {MAX_BODY_BYTES // 1024 // 1024} MB")
    try:
        body = json.loads(raw_body or b"null")
    except ValueError:
        return _problem(400, "body", "is not valid JSON")
    if not isinstance(body, dict):
        return _problem(400, "body", "must be a JSON object")
    key = body.get("api_key") or body.get("token")
    project = (
        await to_thread.run_sync(accounts.project_by_write_key, db, key)
        if isinstance(key, str)
        else None
    )
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


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The request body, or None once it grows past ``limit`` (checked while reading)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _to_event(item: Any) -> CaptureEvent:
    if not isinstance(item, dict):
        raise TypeError("each event must be a JSON object")
    if not isinstance(item.get("properties") or {}, dict):
        raise TypeError("properties must be a JSON object")
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
    after = live.latest_cursor(warehouse, project.id).encode() if recent else ""
    context = {"project": project, "events": recent, "after": after}
    return render(request, "ingest/live.html", context)


@router.get("/api/projects/{project_id}/events/recent", tags=["ingestion"])
def recent_events(
    project: ProjectDep,
    principal: Reader,
    warehouse: WarehouseDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[live.LiveEvent]:
    """The newest events received in the last week, newest first."""
    return live.recent_events(warehouse, project.id, limit=limit)


@router.get("/projects/{project_id}/live/stream", include_in_schema=False)
def live_stream(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    context: ContextDep,
    after: str = "",
) -> StreamingResponse:
    """Server-sent events: one message per batch of newly received events, oldest first.

    Each message's ``id`` is the feed cursor, so a reconnecting browser (which sends it back
    as ``Last-Event-ID``) resumes exactly where it stopped.
    """
    cursor = live.Cursor.decode(request.headers.get("last-event-id") or after)
    warehouse, stopping = context.warehouse, context.stopping

    async def messages() -> AsyncIterator[str]:
        nonlocal cursor
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_SECONDS
        yield "retry: 2000\n\n"
        while loop.time() < deadline and not stopping.is_set():
            if await request.is_disconnected():
                return
            fresh = await to_thread.run_sync(live.events_after, warehouse, project.id, cursor)
            if fresh:
                cursor = live.Cursor.after(fresh[-1])
                payload = json.dumps([e.model_dump(mode="json") for e in fresh])
                yield f"id: {cursor.encode()}\nevent: events\ndata: {payload}\n\n"
                continue  # a full page may mean more is waiting
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
