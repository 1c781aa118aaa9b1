"""The application factory: ``create_app(settings)`` builds a whole instance.

No engine, settings or warehouse exist at import time, so tests and the CLI can build as many
instances as they like, each with its own stores.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from loopwise import __version__
from loopwise.core.errors import Forbidden, InvalidInput, NotFound
from loopwise.core.jobs import JobContext, Scheduler
from loopwise.core.settings import Settings
from loopwise.ingest.service import IngestService
from loopwise.web.areas import all_areas, all_jobs
from loopwise.web.context import AppContext, open_context
from loopwise.web.deps import SESSION_COOKIE, CsrfFailed, Unauthenticated, set_session_cookie
from loopwise.web.render import build_templates, render

log = logging.getLogger("loopwise.web")
STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings, context: AppContext | None = None) -> FastAPI:
    """Build the app; ``context`` lets a caller that already opened the stores share them."""
    ctx = context or open_context(settings)
    if ctx.ingest is None:
        ctx.ingest = IngestService(ctx.settings, ctx.sessions, ctx.warehouse)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = None
        if ctx.settings.scheduler == "embedded":
            jobs_context = JobContext(ctx.sessions, ctx.warehouse, ctx.settings)
            scheduler = Scheduler(jobs_context, all_jobs(), ctx.stopping)
            scheduler.start()
        yield
        ctx.stopping.set()
        if scheduler is not None:
            scheduler.join(timeout=30)  # a running job finishes before the stores close
        log.info("shutting down: closing stores")
        ctx.close()

    app = FastAPI(
        title="Loopwise",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    areas = all_areas()
    app.state.context = ctx
    app.state.templates = build_templates(areas)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for area in areas:
        app.include_router(area.router)
    _add_api_docs(app)
    _add_health(app, ctx)
    _add_error_handlers(app)
    app.middleware("http")(_log_requests)
    return app


def _add_api_docs(app: FastAPI) -> None:
    """Swagger UI from the vendored assets, so the API docs work with no internet."""

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="Loopwise API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/logo.svg",
        )


def _add_health(app: FastAPI, ctx: AppContext) -> None:
    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    def readyz() -> JSONResponse:
        """Both stores answer; a load balancer sends traffic only when this says ready."""
        checks: dict[str, str] = {}
        try:
            with ctx.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # reported, not raised: this endpoint's job is to say so
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            ctx.warehouse.ping()
            checks["warehouse"] = "ok"
        except Exception as exc:
            checks["warehouse"] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "unavailable", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def _add_error_handlers(app: FastAPI) -> None:
    def page_or_json(request: Request, status: int, title: str, detail: str) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": detail}, status_code=status)
        # An htmx request swaps the answer into part of a page: send a fragment, not a page.
        name = "_error.html" if request.headers.get("hx-request") else "error.html"
        return render(request, name, {"title": title, "detail": detail}, status)

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, exc: Unauthenticated) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=401)
        page = (
            request.headers.get("hx-current-url", "") if request.headers.get("hx-request") else ""
        )
        if page:
            page = urlsplit(page).path
        elif request.method == "GET":
            page = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = "/login" + (f"?next={quote(page, safe='/')}" if page and page != "/" else "")
        if request.headers.get("hx-request"):
            detail = "Your sign-in has ended."
            response = render(request, "_error.html", {"detail": detail, "login": target}, 401)
            response.headers["HX-Redirect"] = target
            return response
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return page_or_json(request, 404, "Not found", f"Not found: {exc}")

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return page_or_json(request, 403, "Not allowed", f"Not allowed: {exc}")

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        return page_or_json(request, 403, "Security check failed", str(exc))

    @app.exception_handler(InvalidInput)
    async def invalid(request: Request, exc: InvalidInput) -> Response:
        body = {"detail": exc.message, "field": exc.field}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"][1:]) or "body", "problem": e["msg"]}
            for e in exc.errors()
        ]
        if _wants_json(request):
            return JSONResponse({"detail": "invalid input", "errors": errors}, status_code=422)
        detail = "; ".join(f"{e['field']}: {e['problem']}" for e in errors)
        return render(request, "error.html", {"title": "Invalid input", "detail": detail}, 422)

    @app.exception_handler(404)
    async def no_route(request: Request, exc: Exception) -> Response:
        return page_or_json(request, 404, "Not found", "There is no page at this address.")

    @app.exception_handler(405)
    async def wrong_method(request: Request, exc: Exception) -> Response:
        detail = f"{request.method} is not accepted at this address."
        return page_or_json(request, 405, "Not allowed here", detail)


def _renew_session_cookie(request: Request, response: Response) -> None:
    cookie = getattr(request.state, "renew_session_cookie", None)
    if not cookie or any(
        h.startswith(SESSION_COOKIE + "=") for h in response.headers.getlist("set-cookie")
    ):
        return
    set_session_cookie(response, request.app.state.context, cookie)


async def _log_requests(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    _renew_session_cookie(request, response)
    if not request.url.path.startswith("/static/"):
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.url.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
    return response
