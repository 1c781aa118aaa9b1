"""HTTP surface of ingestion: SDK endpoints (``capture``), the events and persons API, the
Live events page and the ingestion page."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path as FilePath
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from loopwise.ingest import live, persons
from loopwise.ingest.events import EventFilter, EventPage, count_events, list_events
from loopwise.ingest.persons import PersonInfo
from loopwise.ingest.web import capture, settings_page
from loopwise.web.area import Area, NavItem
from loopwise.web.deps import ContextDep, DbDep, ProjectDep, Reader, WarehouseDep
from loopwise.web.render import render

router = APIRouter()
router.include_router(capture.router)
router.include_router(settings_page.router)
STREAM_SECONDS = 300  # browsers reconnect by themselves; bounded streams let servers drain


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


def _filters(
    event: str | None, distinct_id: str | None, after: datetime | None, before: datetime | None
) -> EventFilter:
    return EventFilter(event=event, distinct_id=distinct_id, after=after, before=before)


FilterEvent = Annotated[str | None, Query(max_length=200, description="Only this event name.")]
FilterDistinct = Annotated[str | None, Query(max_length=200, description="Only this distinct id.")]
FilterAfter = Annotated[datetime | None, Query(description="Events at or after this time.")]
FilterBefore = Annotated[datetime | None, Query(description="Events before this time.")]


@router.get("/api/projects/{project_id}/events", tags=["ingestion"])
def events_api(
    project: ProjectDep,
    principal: Reader,
    warehouse: WarehouseDep,
    event: FilterEvent = None,
    distinct_id: FilterDistinct = None,
    after: FilterAfter = None,
    before: FilterBefore = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> EventPage:
    """Stored events, newest first, each with its resolved person; page with ``next_cursor``."""
    filters = _filters(event, distinct_id, after, before)
    return list_events(warehouse, project.id, filters, limit=limit, cursor=cursor)


@router.get("/api/projects/{project_id}/events/count", tags=["ingestion"])
def events_count_api(
    project: ProjectDep,
    principal: Reader,
    warehouse: WarehouseDep,
    event: FilterEvent = None,
    distinct_id: FilterDistinct = None,
    after: FilterAfter = None,
    before: FilterBefore = None,
) -> dict[str, int]:
    """How many stored events match the same filters as the events list."""
    filters = _filters(event, distinct_id, after, before)
    return {"count": count_events(warehouse, project.id, filters)}


@router.get("/api/projects/{project_id}/persons", tags=["ingestion"])
def persons_api(
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    distinct_id: FilterDistinct = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[
        str | None, Query(max_length=36, description="Last id of the previous page.")
    ] = None,
) -> list[PersonInfo]:
    """Persons by id, or the one person a ``distinct_id`` belongs to."""
    if distinct_id is not None:
        return [persons.person_by_distinct_id(db, project.id, distinct_id)]
    return persons.list_persons(db, project.id, limit=limit, after=after)


@router.get("/api/projects/{project_id}/persons/{person_id}", tags=["ingestion"])
def person_api(
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    person_id: Annotated[str, Path(max_length=36)],
) -> PersonInfo:
    """One person with distinct ids and merged-away person ids; a merged id finds the survivor."""
    return persons.person_by_id(db, project.id, person_id)


area = Area(
    name="ingest",
    router=router,
    templates=FilePath(__file__).parent / "templates",
    nav=(NavItem("Live events", "/live"), NavItem("Ingestion", "/ingestion")),
)
