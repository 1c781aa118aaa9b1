"""Revenue endpoints and page: the Stripe webhook and its signing secrets, the revenue
conventions, and MRR with its movements."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path as FilePath
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi import Path as FastPath
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from loopwise.core import accounts
from loopwise.core.accounts import ProjectInfo
from loopwise.core.audit import Actor
from loopwise.core.currency import minor_unit
from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput
from loopwise.core.jobs import Job
from loopwise.revenue.facade import (
    CAC_ANOMALY,
    ImportRefused,
    MrrReport,
    RevenueAnalysis,
    SignatureError,
    cac,
    customer_ledger,
    import_fx_rates,
    import_spend,
    import_subscriptions,
    import_table,
    metrics_summary,
    mrr_report,
    nightly_metrics,
    receive_stripe,
    recompute_metrics,
    revenue_analysis,
    revenue_rules,
    set_revenue_rules,
    set_stripe_secrets,
    stripe_configured,
)
from loopwise.revenue.models import SourceEvent
from loopwise.revenue.web import forecast as forecast_pages
from loopwise.revenue.web import pages
from loopwise.web.area import Area, NavItem
from loopwise.web.bodies import read_capped
from loopwise.web.deps import (
    ContextDep,
    DbDep,
    Id,
    ProjectDep,
    Reader,
    SettingsEditor,
    WarehouseDep,
    client_ip,
)
from loopwise.web.render import render, see_other

router = APIRouter(tags=["revenue"])
router.include_router(forecast_pages.router)
router.include_router(pages.router)
MAX_BODY = 1_000_000  # Stripe events are well under this


@router.post("/api/projects/{project_id}/sources/stripe/webhook")
async def stripe_webhook(
    request: Request, project_id: Id, db: DbDep, context: ContextDep
) -> JSONResponse:
    """Receive a Stripe webhook delivery: authenticated by its ``Stripe-Signature``, not
    by a session or key. 200 when applied or already applied; 400 with the reason when
    the signature does not hold; 404 for an unknown project."""
    accounts.get_project(db, project_id)
    payload = await read_capped(request, MAX_BODY)
    if payload is None:
        return JSONResponse({"error": "body", "message": "is larger than 1 MB"}, status_code=413)
    try:
        applied = receive_stripe(
            db, project_id, payload, request.headers.get("stripe-signature"),
            context.settings.secret(),
        )  # fmt: skip
    except SignatureError as exc:
        return JSONResponse({"error": "signature", "message": exc.reason}, status_code=400)
    try:
        db.commit()
    except IntegrityError:  # another delivery wrote the same rows at the same moment
        db.rollback()
        if db.get(SourceEvent, (project_id, applied.event_id)) is not None:
            return JSONResponse({"received": applied.event_id, "outcome": "duplicate"})
        # A different event for the same new object won the race: Stripe retries this one.
        body = {"error": "conflict", "message": "another event for this object was being stored"}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
    return JSONResponse({"received": applied.event_id, "outcome": applied.outcome})


class StripeSettings(BaseModel):
    signing_secrets: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=3)]


@router.put("/api/projects/{project_id}/sources/stripe", status_code=204)
def stripe_settings(
    request: Request,
    body: StripeSettings,
    project: ProjectDep,
    principal: SettingsEditor,
    db: DbDep,
    context: ContextDep,
) -> Response:
    """Set the webhook signing secrets (shown by Stripe as ``whsec_…``); stored sealed."""
    actor = principal.actor(client_ip(request))
    set_stripe_secrets(db, actor, project.id, body.signing_secrets, context.settings.secret())
    db.commit()
    return Response(status_code=204)


class RevenueSettingsIn(BaseModel):
    discounts: str = "all"
    churn_at: str = "end"
    past_due_days: Annotated[int | None, Field(ge=1, le=365)] = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] = "usd"
    gross_margin: Annotated[int, Field(ge=1, le=100)] = 100
    attribution: str = "first_touch"
    lookback_days: Annotated[int, Field(ge=1, le=365)] = 90


@router.put("/api/projects/{project_id}/revenue/settings")
def revenue_settings_api(
    request: Request, body: RevenueSettingsIn, project: ProjectDep, principal: SettingsEditor,
    db: DbDep,
) -> JSONResponse:  # fmt: skip
    """The revenue conventions: discounts, churn recognition, past due, currency, gross
    margin (for LTV and CAC payback), attribution model and lookback window."""
    rules = set_revenue_rules(db, principal.actor(client_ip(request)), project.id,
                              **body.model_dump())  # fmt: skip
    db.commit()
    return JSONResponse({**body.model_dump(), "currency": rules.currency})


@router.get("/api/projects/{project_id}/revenue/mrr")
def mrr_api(project: ProjectDep, principal: Reader, db: DbDep, months: int = 12) -> JSONResponse:
    """MRR, customers and movements per month (minor units of the reporting currency)."""
    report = mrr_report(db, project.id, project.timezone, months=months)
    db.commit()  # keeps what the ledger refreshed on the way
    return JSONResponse(_report_json(report))


def _text(raw: bytes) -> str:
    """An uploaded file as text: UTF-8, a byte-order mark (spreadsheets add one) dropped."""
    return raw.decode("utf-8-sig", "replace")


def _float(value: Any) -> float | None:
    return None if value is None else round(float(value), 6)


def _report_json(report: MrrReport) -> dict[str, Any]:
    return {
        "currency": report.currency,
        "periods": [
            {"start": p.start.isoformat(), "mrr": int(p.mrr), "arr": int(p.mrr * 12),
             "customers": p.customers, "new": int(p.new), "expansion": int(p.expansion),
             "contraction": int(p.contraction), "churn": int(p.churn),
             "reactivation": int(p.reactivation), "fx": int(p.fx),
             "arpa": _float(p.arpa), "customer_churn_rate": _float(p.customer_churn_rate),
             "gross_mrr_churn_rate": _float(p.gross_mrr_churn_rate),
             "net_mrr_churn_rate": _float(p.net_mrr_churn_rate),
             "grr": _float(p.grr), "nrr": _float(p.nrr),
             "quick_ratio": _float(p.quick_ratio)}
            for p in report.periods
        ],
        "recent": [
            {"customer": c.customer_id, "day": c.day.isoformat(), "kind": c.kind,
             "amount": int(c.amount), "mrr_after": int(c.after),
             "subscriptions": list(c.subscriptions)}
            for c in report.recent
        ],
    }  # fmt: skip


@router.get("/projects/{project_id}/revenue", response_class=HTMLResponse, include_in_schema=False)
def revenue_page(request: Request, project: ProjectDep, principal: Reader, db: DbDep) -> Response:
    return _page(request, project, db, {}, 200)


def _page(
    request: Request, project: ProjectInfo, db: Any, errors: dict[str, str], status: int
) -> Response:
    report = mrr_report(db, project.id, project.timezone, months=12)
    db.commit()  # keeps what the ledger refreshed on the way
    labels = [p.start.strftime("%Y-%m") for p in report.periods]
    unit = minor_unit(report.currency)
    colours = {"new": "#10b981", "expansion": "#4f46e5", "reactivation": "#0ea5e9",
               "contraction": "#f59e0b", "churn": "#ef4444"}  # fmt: skip
    chart = {
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 56, "right": 24, "top": 40, "bottom": 30, "containLabel": True},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value"},
        "series": [
            {"name": "MRR", "type": "line", "data": [float(p.mrr) / unit for p in report.periods],
             "itemStyle": {"color": "#111827"}},
            *[{"name": kind, "type": "bar", "stack": "moves", "itemStyle": {"color": colour},
               "data": [float(getattr(p, kind)) / unit for p in report.periods]}
              for kind, colour in colours.items()],
        ],
    }  # fmt: skip
    today = utcnow().astimezone(ZoneInfo(project.timezone)).date()
    acquisition = metrics_summary(db, project.id, today - timedelta(days=PAGE_DAYS - 1),
                                  today + timedelta(days=1))  # fmt: skip
    values = {
        "project": project, "report": report, "chart": json.dumps(chart), "errors": errors,
        "acquisition": acquisition,
        "rules": revenue_rules(db, project.id), "stripe": stripe_configured(db, project.id),
        "webhook": f"{request.base_url}api/projects/{project.id}/sources/stripe/webhook",
    }  # fmt: skip
    return render(request, "revenue/revenue.html", values, status)


@router.get(
    "/projects/{project_id}/revenue/analysis", response_class=HTMLResponse,
    include_in_schema=False,
)  # fmt: skip
def analysis_page(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep,
    warehouse: WarehouseDep, by: str = "", view: str = "revenue",
) -> Response:  # fmt: skip
    found = revenue_analysis(db, warehouse, project.id, project.timezone, months=12,
                             by=by if by in ("plan", "channel") else "")  # fmt: skip
    db.commit()
    values = {"project": project, "a": found,
              "view": "customers" if view == "customers" else "revenue"}  # fmt: skip
    return render(request, "revenue/analysis.html", values)


@router.post("/projects/{project_id}/revenue/settings", include_in_schema=False)
def revenue_settings_form(
    request: Request,
    project: ProjectDep,
    principal: SettingsEditor,
    db: DbDep,
    discounts: Annotated[str, Form(max_length=20)] = "all",
    churn_at: Annotated[str, Form(max_length=20)] = "end",
    past_due_days: Annotated[str, Form(max_length=5)] = "",
    currency: Annotated[str, Form(max_length=10)] = "usd",
    gross_margin: Annotated[str, Form(max_length=5)] = "100",
    attribution: Annotated[str, Form(max_length=20)] = "first_touch",
    lookback_days: Annotated[str, Form(max_length=5)] = "90",
) -> Response:
    try:
        days = _whole(past_due_days, "past_due_days", "is a whole number of days, or empty")
        margin = _whole(gross_margin, "gross_margin", "is a whole percentage from 1 to 100")
        lookback = _whole(lookback_days, "lookback_days", "is a whole number of days")
        set_revenue_rules(db, principal.actor(client_ip(request)), project.id,
                          discounts=discounts, churn_at=churn_at, past_due_days=days,
                          currency=currency, gross_margin=margin if margin is not None else 100,
                          attribution=attribution,
                          lookback_days=lookback if lookback is not None else 90)  # fmt: skip
    except InvalidInput as exc:
        db.rollback()
        return _page(request, project, db, {exc.field: exc.message}, 422)
    db.commit()
    return see_other(f"/projects/{project.id}/revenue")


def _whole(text: str, field: str, problem: str) -> int | None:
    """A form's whole number, or None when left empty."""
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise InvalidInput(field, problem)
    return int(text)


@router.post("/projects/{project_id}/revenue/stripe", include_in_schema=False)
def stripe_secret_form(
    request: Request,
    project: ProjectDep,
    principal: SettingsEditor,
    db: DbDep,
    context: ContextDep,
    signing_secret: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        set_stripe_secrets(db, principal.actor(client_ip(request)), project.id,
                           [signing_secret], context.settings.secret())  # fmt: skip
    except InvalidInput as exc:
        db.rollback()
        return _page(request, project, db, {"signing_secret": exc.message}, 422)
    db.commit()
    return see_other(f"/projects/{project.id}/revenue")


MAX_IMPORT = 20_000_000
IMPORT_KINDS = ("subscriptions", "customers", "invoices", "payments", "spend", "fx")
PAGE_DAYS = 30  # the page's acquisition table covers the last 30 days


async def _import(
    request: Request, db: Any, actor: Actor, run: Callable[[Actor, str], dict[str, Any]]
) -> JSONResponse:
    """An import endpoint's common part: the body read (at most 20 MB) as text, ``run``
    given the caller and that text, all rows kept or none, every refused line named."""
    raw = await read_capped(request, MAX_IMPORT)
    if raw is None:
        raise InvalidInput("body", "is larger than 20 MB")
    try:
        answer = run(actor, _text(raw))
    except ImportRefused as exc:
        db.rollback()
        errors = [{"line": e.line, "field": e.field, "message": e.message} for e in exc.errors]
        return JSONResponse({"error": "import refused", "errors": errors}, status_code=422)
    db.commit()
    return JSONResponse(answer)


@router.post("/api/projects/{project_id}/revenue/import/subscriptions")
async def import_api(
    request: Request, project: ProjectDep, principal: SettingsEditor, db: DbDep
) -> JSONResponse:
    """Subscription histories as CSV (the body; see docs/revenue.md): all rows or none,
    with every bad line and field named."""

    def run(actor: Actor, text: str) -> dict[str, Any]:
        done = import_subscriptions(db, actor, project.id, text, project.timezone)
        return {"rows": done.rows, "subscriptions": done.subscriptions}

    return await _import(request, db, principal.actor(client_ip(request)), run)


@router.post("/api/projects/{project_id}/revenue/import/spend")
async def import_spend_api(
    request: Request, project: ProjectDep, principal: SettingsEditor, db: DbDep
) -> JSONResponse:
    """Marketing spend as CSV (``date,source,medium,campaign,amount,currency``): all rows
    or none; a day and channel imported again is replaced."""
    return await _import(request, db, principal.actor(client_ip(request)), lambda actor, text: {
        "rows": import_spend(db, actor, project.id, text)})  # fmt: skip


@router.post("/api/projects/{project_id}/revenue/import/fx")
async def import_fx_api(
    request: Request, project: ProjectDep, principal: SettingsEditor, db: DbDep
) -> JSONResponse:
    """Exchange rates as CSV (``date,currency,rate``: reporting-currency units per unit of
    ``currency`` from that day on): all rows or none; a day and currency again is replaced."""
    return await _import(request, db, principal.actor(client_ip(request)), lambda actor, text: {
        "rows": import_fx_rates(db, actor, project.id, text)})  # fmt: skip


TableKind = Annotated[str, FastPath(pattern="^(customers|invoices|payments)$")]


@router.post("/api/projects/{project_id}/revenue/import/{kind}")
async def import_table_api(
    request: Request, kind: TableKind, project: ProjectDep, principal: SettingsEditor,
    db: DbDep,
) -> JSONResponse:  # fmt: skip
    """Customers, invoices or payments from another billing system: CSV with a header, or
    a JSON array of objects (``Content-Type: application/json``), columns in
    docs/revenue.md; all rows or none, each problem named by line and field."""
    as_json = request.headers.get("content-type", "").startswith("application/json")
    return await _import(request, db, principal.actor(client_ip(request)), lambda actor, text: {
        "rows": import_table(db, actor, project.id, kind, text, as_json=as_json,
                             timezone=project.timezone)})  # fmt: skip


@router.get("/api/projects/{project_id}/revenue/cac")
def cac_api(
    project: ProjectDep, principal: Reader, db: DbDep, warehouse: WarehouseDep,
    start: date, end: date, model: str = "first_touch",
) -> JSONResponse:  # fmt: skip
    """Spend, attributed new customers and CAC per source for days in [start, end)."""
    if model not in ("first_touch", "last_touch"):
        raise InvalidInput("model", "is first_touch or last_touch")
    found = cac(db, warehouse, project.id, project.timezone, start, end, model=model)  # type: ignore[arg-type]
    db.commit()
    return JSONResponse({
        "start": found.start.isoformat(), "end": found.end.isoformat(), "model": found.model,
        "blended_cac": _float(found.blended),
        "channels": [{"source": c.source, "spend": c.spend, "new_customers": c.customers,
                      "new_mrr": int(c.new_mrr), "cac": _float(c.cac)} for c in found.channels],
    })  # fmt: skip


@router.get("/api/projects/{project_id}/revenue/analysis")
def analysis_api(
    project: ProjectDep, principal: Reader, db: DbDep, warehouse: WarehouseDep,
    months: int = 12, by: str = "",
) -> JSONResponse:  # fmt: skip
    """Cohort retention by first paid month (``by``: plan or channel for one matrix per
    segment), trial-to-paid conversion per month, and unit economics per plan over the
    last ``months`` calendar months (amounts in minor units)."""
    found = revenue_analysis(db, warehouse, project.id, project.timezone, months=months, by=by)
    db.commit()
    return JSONResponse(_analysis_json(found))


def _analysis_json(found: RevenueAnalysis) -> dict[str, Any]:
    margin = found.gross_margin
    return {
        "currency": found.currency, "by": found.by,
        "months": [m.isoformat() for m in found.months],
        "cohorts": [
            {"month": c.month.isoformat(), "segment": c.segment, "customers": c.customers,
             "paying": c.paying, "mrr": [_money(m) for m in c.mrr],
             "customer_retention": [_float(r) for r in c.customer_retention()],
             "revenue_retention": [_float(r) for r in c.revenue_retention()]}
            for c in found.cohorts
        ],
        "trials": [{"month": t.month.isoformat(), "trials": t.trials, "converted": t.converted,
                    "rate": _float(t.rate)} for t in found.trials],
        "plans": [
            {"plan": p.plan, "mrr": _money(p.mrr), "customers": p.customers,
             "arpa": _money(p.arpa), "at_start": p.at_start, "started": p.started,
             "stopped": p.stopped, "churn_rate": _float(p.churn_rate),
             "ltv": _money(p.ltv(margin))}
            for p in found.plans
        ],
    }  # fmt: skip


CustomerId = Annotated[str, FastPath(min_length=1, max_length=100)]


@router.get("/api/projects/{project_id}/revenue/customers/{customer_id}")
def customer_api(
    customer_id: CustomerId, project: ProjectDep, principal: Reader, db: DbDep
) -> JSONResponse:
    """One customer's MRR ledger: every movement with the subscription states, the rule
    and the invoice lines behind it (amounts in minor units)."""
    found = customer_ledger(db, project.id, project.timezone, customer_id)
    db.commit()
    return JSONResponse({
        "customer": found.customer_id, "person_id": found.person_id or None,
        "currency": found.currency, "mrr": _money(found.mrr),
        "movements": [_explained_json(e) for e in found.movements],
    })  # fmt: skip


def _explained_json(e: Any) -> dict[str, Any]:
    c = e.change
    return {
        "day": c.day.isoformat(), "kind": c.kind, "amount": _money(c.amount),
        "mrr_before": _money(c.before), "mrr_after": _money(c.after),
        "subscriptions": [
            {"id": x.subscription, "status": x.status, "plan": x.plan, "terms": x.terms,
             "mrr": _money(x.mrr), "reason": x.reason} for x in e.causes
        ],
        "invoice_lines": [
            {"invoice": line.invoice, "line": line.line, "subscription": line.subscription,
             "amount": line.amount, "currency": line.currency,
             "period_start": line.period_start.isoformat() if line.period_start else None,
             "period_end": line.period_end.isoformat() if line.period_end else None,
             "proration": line.proration} for line in e.lines
        ],
    }  # fmt: skip


@router.get(
    "/projects/{project_id}/revenue/customers/{customer_id}", response_class=HTMLResponse,
    include_in_schema=False,
)  # fmt: skip
def customer_page(
    request: Request, customer_id: CustomerId, project: ProjectDep, principal: Reader,
    db: DbDep,
) -> Response:  # fmt: skip
    found = customer_ledger(db, project.id, project.timezone, customer_id)
    db.commit()
    return render(request, "revenue/customer.html", {"project": project, "c": found})


class RecomputeIn(BaseModel):
    start: date
    end: date
    # Recompute every customer's movements first, not only those whose history changed.
    full: bool = False


def _money(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


@router.post("/api/projects/{project_id}/revenue/metrics/recompute")
def recompute_api(
    body: RecomputeIn, project: ProjectDep, principal: SettingsEditor, db: DbDep,
    warehouse: WarehouseDep,
) -> JSONResponse:  # fmt: skip
    """Rewrite the daily revenue metrics for days in [start, end), as the nightly job does
    for the last days (after importing old spend or history); idempotent."""
    rows = recompute_metrics(db, warehouse, project.id, project.timezone, body.start, body.end,
                             full=body.full)  # fmt: skip
    db.commit()
    return JSONResponse({"rows": rows})


@router.get("/api/projects/{project_id}/revenue/metrics")
def metrics_api(
    project: ProjectDep, principal: Reader, db: DbDep, start: date, end: date
) -> JSONResponse:
    """Spend, new customers, CAC, CAC payback and LTV:CAC per channel and blended over
    [start, end), from the nightly metrics (amounts in minor units)."""
    found = metrics_summary(db, project.id, start, end)
    return JSONResponse({
        "start": found.start.isoformat(), "end": found.end.isoformat(),
        "currency": found.currency, "days_computed": found.days,
        "computed_at": found.computed_at.isoformat() if found.computed_at else None,
        "mrr": _money(found.mrr), "customers": found.customers, "ltv": _money(found.ltv),
        "channels": [_figures_json(c) for c in [found.blended, *found.channels]],
    })  # fmt: skip


def _figures_json(c: Any) -> dict[str, Any]:
    return {
        "channel": c.channel, "spend": c.spend, "new_customers": c.new_customers,
        "new_mrr": _money(c.new_mrr), "cac": _money(c.cac),
        "payback_months": _float(c.payback_months), "ltv_to_cac": _float(c.ltv_to_cac),
    }  # fmt: skip


@router.post("/projects/{project_id}/revenue/metrics", include_in_schema=False)
def recompute_form(
    project: ProjectDep, principal: SettingsEditor, db: DbDep, warehouse: WarehouseDep
) -> Response:
    today = utcnow().astimezone(ZoneInfo(project.timezone)).date()
    recompute_metrics(db, warehouse, project.id, project.timezone,
                      today - timedelta(days=PAGE_DAYS), today + timedelta(days=1))  # fmt: skip
    db.commit()
    return see_other(f"/projects/{project.id}/revenue#acquisition")


@router.post("/projects/{project_id}/revenue/import", include_in_schema=False)
async def import_form(
    request: Request,
    project: ProjectDep,
    principal: SettingsEditor,
    db: DbDep,
    file: Annotated[UploadFile | None, File()] = None,
    kind: Annotated[str, Form(max_length=20)] = "subscriptions",
) -> Response:
    raw = await file.read(MAX_IMPORT + 1) if file is not None else b""
    try:
        if kind not in IMPORT_KINDS:
            raise InvalidInput("kind", f"is one of {', '.join(IMPORT_KINDS)}")
        if not raw:
            raise InvalidInput("file", "choose a CSV file")
        if len(raw) > MAX_IMPORT:
            raise InvalidInput("file", "is larger than 20 MB")
        actor, text = principal.actor(client_ip(request)), _text(raw)
        if kind == "subscriptions":
            import_subscriptions(db, actor, project.id, text, project.timezone)
        elif kind == "spend":
            import_spend(db, actor, project.id, text)
        elif kind == "fx":
            import_fx_rates(db, actor, project.id, text)
        else:
            import_table(db, actor, project.id, kind, text, timezone=project.timezone)
    except InvalidInput as exc:
        return _page(request, project, db, {exc.field: exc.message}, 422)
    except ImportRefused as exc:
        db.rollback()
        lines = [f"line {e.line}, {e.field or 'row'}: {e.message}" for e in exc.errors[:20]]
        return _page(request, project, db, {"file": "; ".join(lines)}, 422)
    db.commit()
    return see_other(f"/projects/{project.id}/revenue")


area = Area(
    name="revenue",
    router=router,
    templates=FilePath(__file__).parent / "templates",
    nav=(NavItem("Revenue", "/revenue"),),
    alert_kinds=(CAC_ANOMALY,),
    jobs=(
        Job("revenue.metrics", "Recompute the last days' revenue metrics, spend and CAC",
            nightly_metrics, every=timedelta(days=1), at_hour=2),
    ),
)  # fmt: skip
