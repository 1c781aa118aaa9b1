"""The revenue area's working pages and their JSON twins: the movements ledger (with a CSV
export), the customers list, payment health, and CAC & channels.

Each page and its API read the same query string through the same ``*Args`` (see
``page_args``) and call the same facade function; a value that does not hold answers 422:
JSON naming the field on the API, the message beside the field on the page.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from loopwise.core.accounts import ProjectInfo
from loopwise.core.currency import minor_unit
from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput
from loopwise.revenue.facade import (
    MovementQuery,
    customers_page,
    metrics_summary,
    movements_export,
    movements_page,
    payment_health,
    recompute_metrics,
    revenue_rules,
)
from loopwise.revenue.web import page_views as views
from loopwise.revenue.web.page_args import (
    PRESETS,
    AcquisitionArgs,
    BadArgs,
    CustomerArgs,
    MovementArgs,
    PaymentArgs,
)
from loopwise.web.deps import DbDep, ProjectDep, Reader, SettingsEditor, WarehouseDep
from loopwise.web.render import render, see_other

router = APIRouter(tags=["revenue"])
Movements = Annotated[MovementArgs, Depends()]
Customers = Annotated[CustomerArgs, Depends()]
Payments = Annotated[PaymentArgs, Depends()]
Acquisition = Annotated[AcquisitionArgs, Depends()]


def _today(project: ProjectInfo) -> date:
    return utcnow().astimezone(ZoneInfo(project.timezone)).date()


def _refused(errors: dict[str, str]) -> JSONResponse:
    """422 naming the first bad field, and every problem."""
    field, message = next(iter(errors.items()))
    found = [{"field": f, "message": m} for f, m in errors.items()]
    return JSONResponse({"detail": message, "field": field, "errors": found}, status_code=422)


def _page(request: Request, name: str, values: dict[str, Any],
          errors: dict[str, str] | None = None) -> Response:  # fmt: skip
    """A page, or the page with its form's problems beside their fields (422)."""
    return render(request, name, {"errors": errors or {}, **values}, 422 if errors else 200)


def _link(values: dict[str, str]) -> str:
    """A link to this page with ``values`` (empty ones left out)."""
    return "?" + urlencode({k: v for k, v in values.items() if v})


def _pager(values: dict[str, str], total: int, limit: int, offset: int) -> dict[str, Any]:
    """Links to the previous and next page, keeping every other value."""

    def link(at: int) -> str:
        return _link({**values, "offset": str(at) if at else ""})

    return {
        "first": offset + 1 if total else 0, "last": min(offset + limit, total), "total": total,
        "prev": link(max(offset - limit, 0)) if offset > 0 else None,
        "next": link(offset + limit) if offset + limit < total else None,
    }  # fmt: skip


# --- movements ---------------------------------------------------------------------------


@router.get("/api/projects/{project_id}/revenue/movements", response_model=None)
def movements_api(project: ProjectDep, principal: Reader, db: DbDep, args: Movements) -> Response:
    """MRR movements on days ``from`` to ``to`` (default the last 90 days), filtered,
    totalled per kind, newest first; ``format=csv`` answers every matching row as CSV."""
    try:
        query = args.query(_today(project))
    except BadArgs as exc:
        return _refused(exc.errors)
    if args.csv:
        return _csv(project, db, query)
    found = movements_page(db, project.id, project.timezone, query)
    db.commit()  # keeps what the ledger refreshed on the way
    return JSONResponse(views.movements_json(found))


def _csv(project: ProjectInfo, db: Any, query: MovementQuery) -> Response:
    currency, rows = movements_export(db, project.id, project.timezone, query)
    db.commit()
    name = f"movements-{query.start.isoformat()}-{query.end.isoformat()}.csv"
    return Response(views.movements_csv(currency, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.get("/projects/{project_id}/revenue/movements", response_class=HTMLResponse,
            include_in_schema=False)  # fmt: skip
def movements_view(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep, args: Movements
) -> Response:
    values: dict[str, Any] = {"project": project, "form": dict(args.values),
                              "kinds": MovementQuery.KINDS}  # fmt: skip
    try:
        query = args.query(_today(project))
        if args.csv:
            return _csv(project, db, query)
        found = movements_page(db, project.id, project.timezone, query)
    except BadArgs as exc:
        return _page(request, "revenue/movements.html", values, exc.errors)
    except InvalidInput as exc:
        db.rollback()
        return _page(request, "revenue/movements.html", values, {exc.field: exc.message})
    db.commit()
    form = {**args.values, "from": query.start.isoformat(), "to": query.end.isoformat()}
    values.update(form=form, m=found, chart=views.movements_chart(found),
                  unit=minor_unit(found.currency),
                  paging=_pager(form, found.total, query.limit, query.offset),
                  csv=f"/api/projects/{project.id}/revenue/movements"
                  + _link({**form, "limit": "", "offset": "", "format": "csv"}))  # fmt: skip
    return _page(request, "revenue/movements.html", values)


# --- customers ---------------------------------------------------------------------------


@router.get("/api/projects/{project_id}/revenue/customers", response_model=None)
def customers_api(project: ProjectDep, principal: Reader, db: DbDep, args: Customers) -> Response:
    """Every customer with MRR now, status, plans, first paid day, last movement, linked
    person and open payment failures; searched (``q``), filtered, sorted, paged."""
    try:
        query = args.query()
    except BadArgs as exc:
        return _refused(exc.errors)
    found = customers_page(db, project.id, project.timezone, query)
    db.commit()
    return JSONResponse(views.customers_json(found, project.id))


@router.get("/projects/{project_id}/revenue/customers", response_class=HTMLResponse,
            include_in_schema=False)  # fmt: skip
def customers_view(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep, args: Customers
) -> Response:
    values: dict[str, Any] = {"project": project, "form": dict(args.values)}
    try:
        query = args.query()
    except BadArgs as exc:
        return _page(request, "revenue/customers.html", values, exc.errors)
    found = customers_page(db, project.id, project.timezone, query)
    db.commit()
    form = {**args.values, "sort": query.sort}
    chips = {s: _link({**form, "status": s, "offset": ""}) for s in ("", *query.STATUSES)}
    values.update(form=form, c=found, chips=chips, unit=minor_unit(found.currency),
                  paging=_pager(form, found.total, query.limit, query.offset))  # fmt: skip
    return _page(request, "revenue/customers.html", values)


# --- payment health ----------------------------------------------------------------------


@router.get("/api/projects/{project_id}/revenue/payments", response_model=None)
def payments_api(project: ProjectDep, principal: Reader, db: DbDep, args: Payments) -> Response:
    """Failed payments on days ``from`` to ``to`` (default the last 90 days) by decline
    code and week, recovery of the failed invoices, MRR at risk now and the past-due
    customers behind it (paged by ``limit``/``offset``)."""
    try:
        query = args.query(_today(project))
    except BadArgs as exc:
        return _refused(exc.errors)
    found = payment_health(db, project.id, project.timezone, query)
    db.commit()
    return JSONResponse(views.payments_json(found))


@router.get("/projects/{project_id}/revenue/payments", response_class=HTMLResponse,
            include_in_schema=False)  # fmt: skip
def payments_view(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep, args: Payments
) -> Response:
    values: dict[str, Any] = {"project": project, "form": dict(args.values)}
    try:
        query = args.query(_today(project))
    except BadArgs as exc:
        return _page(request, "revenue/payments.html", values, exc.errors)
    found = payment_health(db, project.id, project.timezone, query)
    db.commit()
    form = {**args.values, "from": query.start.isoformat(), "to": query.end.isoformat()}
    values.update(form=form, p=found, codes_chart=views.codes_chart(found),
                  unit=minor_unit(found.currency),
                  weeks_chart=views.weeks_chart(found),
                  paging=_pager(form, found.at_risk, query.limit, query.offset))  # fmt: skip
    return _page(request, "revenue/payments.html", values)


# --- CAC & channels ----------------------------------------------------------------------


@router.get("/api/projects/{project_id}/revenue/acquisition", response_model=None)
def acquisition_api(
    project: ProjectDep, principal: Reader, db: DbDep, args: Acquisition
) -> Response:
    """Spend, new customers, new MRR, CAC, payback and LTV:CAC per channel and blended
    over the last ``days`` (30, 90 or 365) or ``from`` to ``to``, from the nightly metrics."""
    try:
        first, last = args.range(_today(project))
    except BadArgs as exc:
        return _refused(exc.errors)
    found = metrics_summary(db, project.id, first, last + timedelta(days=1))
    return JSONResponse(views.acquisition_json(found, first, last))


@router.get("/projects/{project_id}/revenue/acquisition", response_class=HTMLResponse,
            include_in_schema=False)  # fmt: skip
def acquisition_view(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep, args: Acquisition
) -> Response:
    return _acquisition(request, project, db, args)


def _acquisition(request: Request, project: ProjectInfo, db: Any, args: AcquisitionArgs,
                 errors: dict[str, str] | None = None) -> Response:  # fmt: skip
    today = _today(project)
    values: dict[str, Any] = {"project": project, "form": dict(args.values), "presets": PRESETS}
    try:
        first, last = args.range(today)
    except BadArgs as exc:
        return _page(request, "revenue/acquisition.html", values, exc.errors)
    found = metrics_summary(db, project.id, first, last + timedelta(days=1))
    preset = (last - first).days + 1 if last == today else None
    form = {"from": first.isoformat(), "to": last.isoformat()}
    unit = minor_unit(found.currency or revenue_rules(db, project.id).currency)
    values.update(form=form, a=found, first=first, last=last, chart=views.acquisition_chart(found),
                  preset=preset if preset in PRESETS else None, unit=unit)  # fmt: skip
    return _page(request, "revenue/acquisition.html", values, errors)


@router.post("/projects/{project_id}/revenue/acquisition", include_in_schema=False)
def acquisition_compute(
    request: Request, project: ProjectDep, principal: SettingsEditor, db: DbDep,
    warehouse: WarehouseDep, start: Annotated[str, Form(alias="from", max_length=20)] = "",
    to: Annotated[str, Form(max_length=20)] = "",
) -> Response:  # fmt: skip
    """Compute now: the daily metrics of the shown range rewritten (as the nightly job does
    for its last days), then the page again."""
    args = AcquisitionArgs(start=start, to=to)
    try:
        first, last = args.range(_today(project))
    except BadArgs as exc:
        return _acquisition(request, project, db, AcquisitionArgs(), exc.errors)
    recompute_metrics(db, warehouse, project.id, project.timezone, first,
                      last + timedelta(days=1))  # fmt: skip
    db.commit()
    return see_other(f"/projects/{project.id}/revenue/acquisition?"
                     + urlencode({"from": first.isoformat(), "to": last.isoformat()}))  # fmt: skip
