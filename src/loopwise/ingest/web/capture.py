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
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from loopwise.ingest.formats.common import RequestMeta
from loopwise.ingest.formats.segment import basic_auth_user
from loopwise.ingest.service import Overloaded, RequestInfo
from loopwise.ingest.wire import MAX_BODY_BYTES
from loopwise.web.bodies import read_capped
from loopwise.web.deps import ContextDep, client_ip

RETRY_AFTER_S = 5
# Browser SDKs post from the customer's own site, another origin: these endpoints answer
# any origin, without credentials (they read no cookies; the write key is in the body).
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, X-Requested-With",
    "Access-Control-Max-Age": "86400",
}


class _CorsRoute(APIRoute):
    """Adds the CORS headers to every answer of the SDK endpoints, errors included."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            response = await handler(request)
            response.headers.update(CORS_HEADERS)
            return response

        return with_cors


router = APIRouter(tags=["ingestion"], route_class=_CorsRoute)
SDK_PATHS = ("/batch/", "/capture/", "/e/", "/i/v0/e/", "/track/", "/flags/", "/decide/")
SEGMENT_CALLS = ("track", "identify", "page", "screen", "group", "alias", "batch")


async def _capture(
    request: Request, context: ContextDep, source: str, call: str = "", auth_key: str | None = None
) -> JSONResponse:
    ingest = context.ingest
    assert ingest is not None, "create_app starts the ingestion service"
    raw = await read_capped(request, MAX_BODY_BYTES)
    if raw is None:
        return _problem(source, 413, "body", f"is larger than {MAX_BODY_BYTES // 2**20} MB")
    meta = RequestMeta(client_ip(request), request.headers.get("user-agent", ""), datetime.now(UTC))
    info = RequestInfo(
        source, call, request.headers.get("content-type", ""), dict(request.query_params), meta,
        auth_key,
    )  # fmt: skip
    prepared = await ingest.prepare(raw, info)
    if prepared.status != 200:
        return _problem(source, prepared.status, prepared.field, prepared.message)
    if prepared.rows is not None:
        try:
            await ingest.persist(prepared.rows)
        except Overloaded as exc:
            return _overloaded(source, str(exc))
    body: dict[str, Any] = {"status": 1} if source == "posthog" else {"success": True}
    body["accepted"] = prepared.stored
    if prepared.drops:
        body["dropped"] = prepared.drops
    if prepared.rejections:
        body["rejected"] = [r.as_dict() for r in prepared.rejections]
    return JSONResponse(body)


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
        return await _capture(request, context, "posthog")

    endpoint.__doc__ = (
        'PostHog capture: one event, a list, or `{"batch": [...]}` with the project\'s write '
        "key as `api_key`/`token`. Gzip and posthog-js form bodies are accepted."
    )
    router.add_api_route(path, endpoint, methods=["POST"], name=f"posthog {path}")


for _path in SDK_PATHS[:5]:
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


def _segment(call: str, path: str) -> None:
    async def endpoint(request: Request, context: ContextDep) -> JSONResponse:
        auth_key = basic_auth_user(request.headers.get("authorization", ""))
        return await _capture(request, context, "segment", call, auth_key)

    endpoint.__doc__ = (
        f"Segment HTTP Tracking API `{call}`: write key as the Basic-auth user or `writeKey`."
    )
    router.add_api_route(path, endpoint, methods=["POST"], name=f"segment {path}")


for _call in SEGMENT_CALLS:
    _segment(_call, f"/v1/{_call}")
    # analytics.js (analytics-next) posts to the call's first letter: /v1/t, /v1/p, /v1/b …
    _segment(_call, f"/v1/{_call[0]}")


@router.get("/v1/projects/{write_key}/settings")
async def segment_settings(
    write_key: Annotated[str, Path(max_length=64)], context: ContextDep
) -> JSONResponse:
    """What analytics.js loads before sending (its `cdnURL` pointed here): send everything
    to this server, with no other destinations and no metrics."""
    public = urlsplit(context.settings.effective_public_url)
    host = f"{public.netloc}{public.path.rstrip('/')}/v1"
    return JSONResponse(
        {
            "integrations": {
                "Segment.io": {"apiKey": write_key, "apiHost": host, "protocol": public.scheme}
            },
            "plan": {"track": {"__default": {"enabled": True}}},
            "metrics": {"sampleRate": 0},
            "remotePlugins": [],
            "enabledMiddleware": {},
            "middlewareSettings": {},
        }
    )


async def _preflight() -> Response:
    """CORS preflight: browsers ask before posting JSON from another origin."""
    return Response(status_code=204)


SEGMENT_PATHS = [f"/v1/{name}" for call in SEGMENT_CALLS for name in (call, call[0])]
for _path in (*SDK_PATHS, *SEGMENT_PATHS):
    router.add_api_route(_path, _preflight, methods=["OPTIONS"], include_in_schema=False)
