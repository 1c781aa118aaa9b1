"""SDK endpoints: PostHog capture and flags, and Segment's HTTP Tracking API.

Every endpoint reads the body within the 20 MB limit, decodes it (gzip by magic bytes,
posthog-js forms), parses it into drafts (bad messages become per-message rejections),
finds the project by write key, runs the privacy pipeline and waits until the surviving
events are durable. Answers:

- 200 with ``{"status": 1}`` (PostHog) or ``{"success": true}`` (Segment), plus
  ``accepted``, ``dropped`` (by reason) and ``rejected`` (per message, with the reason);
- 400 for a body that cannot be read or when every message is invalid; 401 for a missing
  or unknown write key; 413 for a body over 20 MB; 503 with ``Retry-After`` when the
  server cannot take more right now (both SDKs retry on it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from loopwise.ingest.formats.common import ParsedBatch, RequestMeta
from loopwise.ingest.formats.posthog import parse_posthog
from loopwise.ingest.formats.segment import basic_auth_user, parse_segment
from loopwise.ingest.service import IngestService, Overloaded
from loopwise.ingest.stats import PendingRejection
from loopwise.ingest.wire import MAX_BODY_BYTES, WireError, decode_body
from loopwise.web.deps import ContextDep, client_ip

router = APIRouter(tags=["ingestion"])
INLINE_BYTES = 256 * 1024  # bigger bodies are decoded on a worker thread
RETRY_AFTER_S = 5
Parser = Callable[[Any, Mapping[str, str], RequestMeta], ParsedBatch]


async def _capture(
    request: Request, context: ContextDep, source: str, parse: Parser
) -> JSONResponse:
    ingest = context.ingest
    assert ingest is not None, "create_app starts the ingestion service"
    received_at = datetime.now(UTC)
    raw = await _read_capped(request)
    if raw is None:
        return _problem(source, 413, "body", f"is larger than {MAX_BODY_BYTES // 2**20} MB")
    meta = RequestMeta(client_ip(request), request.headers.get("user-agent", ""), received_at)
    query = dict(request.query_params)
    content_type = request.headers.get("content-type", "")

    def read() -> ParsedBatch:
        return parse(decode_body(raw, content_type, query), query, meta)

    try:
        parsed = read() if len(raw) < INLINE_BYTES else await to_thread.run_sync(read)
    except WireError as exc:
        return _problem(source, exc.status, exc.field, exc.message)
    project_id = await _project_for(ingest, parsed.write_key)
    if project_id is None:
        field = "api_key" if source == "posthog" else "writeKey"
        return _problem(source, 401, field, "is missing or is not the write key of any project")
    for rejection in parsed.rejections:
        where = rejection.as_dict()
        ingest.stats.reject(
            PendingRejection(project_id, received_at, source, where["field"], where["detail"])
        )
    if not parsed.drafts:
        first = parsed.rejections[0].as_dict()
        return _problem(
            source, 400, first["field"], first["detail"].removeprefix(first["field"] + " ")
        )

    def prepare() -> Any:
        return ingest.prepare(project_id, parsed.drafts, received_at)

    big = len(parsed.drafts) > 500
    rows, accepted = await to_thread.run_sync(prepare) if big else prepare()
    if rows is not None:
        try:
            await ingest.persist(rows)
        except Overloaded as exc:
            return _overloaded(source, str(exc))
    body: dict[str, Any] = {"status": 1} if source == "posthog" else {"success": True}
    body["accepted"] = accepted.stored
    if accepted.dropped:
        body["dropped"] = {reason.value: n for reason, n in accepted.dropped.items()}
    if parsed.rejections:
        body["rejected"] = [r.as_dict() for r in parsed.rejections]
    return JSONResponse(body)


async def _read_capped(request: Request) -> bytes | None:
    """The body, or None once it grows past the limit (checked while reading)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _project_for(ingest: IngestService, key: str | None) -> int | None:
    if not key or len(key) > 64:
        return None
    known, project_id = ingest.keys.cached(key)
    if known:
        return project_id
    return await to_thread.run_sync(ingest.keys.lookup, key)


def _problem(source: str, status: int, field: str, message: str) -> JSONResponse:
    flag: dict[str, Any] = {"status": 0} if source == "posthog" else {"success": False}
    return JSONResponse({**flag, "field": field, "detail": f"{field} {message}"}, status)


def _overloaded(source: str, reason: str) -> JSONResponse:
    response = _problem(source, 503, "server", f"is busy ({reason}); retry shortly")
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


# --- PostHog ------------------------------------------------------------------------------


def _posthog(path: str) -> None:
    async def endpoint(request: Request, context: ContextDep) -> JSONResponse:
        return await _capture(request, context, "posthog", parse_posthog)

    endpoint.__doc__ = (
        'PostHog capture: one event, a list, or `{"batch": [...]}` with the project\'s write '
        "key as `api_key`/`token`. Gzip and posthog-js form bodies are accepted."
    )
    router.add_api_route(path, endpoint, methods=["POST"], name=f"posthog {path}")


for _path in ("/batch/", "/capture/", "/e/", "/i/v0/e/", "/track/"):
    _posthog(_path)


@router.post("/flags/")
@router.post("/decide/")
async def flags() -> JSONResponse:
    """Feature flags for a person: none are defined yet, so the set is empty."""
    return JSONResponse(
        {
            "flags": {},
            "featureFlags": {},
            "featureFlagPayloads": {},
            "errorsWhileComputingFlags": False,
            "requestId": str(uuid.uuid4()),
            "supportedCompression": ["gzip", "gzip-js"],
            "sessionRecording": False,
        }
    )


@router.get("/array/{token}/config")
async def remote_config(token: Annotated[str, Path(max_length=64)]) -> JSONResponse:
    """posthog-js remote configuration: nothing server-driven is enabled."""
    return JSONResponse(
        {
            "token": token,
            "supportedCompression": ["gzip", "gzip-js"],
            "hasFeatureFlags": False,
            "sessionRecording": False,
            "heatmaps": False,
            "surveys": False,
            "autocaptureExceptions": False,
        }
    )


@router.get("/array/{token}/config.js")
async def remote_config_script(token: Annotated[str, Path(max_length=64)]) -> Response:
    """posthog-js loads this script for remote configuration; there is none to apply."""
    return Response("", media_type="application/javascript")


# --- Segment ------------------------------------------------------------------------------


def _segment(call: str) -> None:
    async def endpoint(request: Request, context: ContextDep) -> JSONResponse:
        auth_key = basic_auth_user(request.headers.get("authorization", ""))

        def parse(body: Any, query: Mapping[str, str], meta: RequestMeta) -> ParsedBatch:
            return parse_segment(body, call, meta, auth_key)

        return await _capture(request, context, "segment", parse)

    endpoint.__doc__ = (
        f"Segment HTTP Tracking API `{call}`: write key as the Basic-auth user or `writeKey`."
    )
    router.add_api_route(f"/v1/{call}", endpoint, methods=["POST"], name=f"segment {call}")


for _call in ("track", "identify", "page", "screen", "group", "alias", "batch"):
    _segment(_call)
