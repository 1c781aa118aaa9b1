"""Support metrics and the monthly top-issues report: pages and their JSON twins, each
built by one function from the same query string."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput
from loopwise.support.metrics import Figures, SupportMetrics, support_metrics
from loopwise.support.report import TopIssues, top_issues, volume_by_category
from loopwise.web.deps import DbDep, ProjectDep, Reader
from loopwise.web.render import render

router = APIRouter()
WEEKS = 12
COLOURS = (
    "#4f46e5",
    "#10b981",
    "#f59e0b",
    "#ef4444",
    "#0ea5e9",
    "#8b5cf6",
    "#64748b",
    "#14b8a6",
    "#f97316",
    "#84cc16",
)


def _day(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, "is a date (YYYY-MM-DD)") from None


def _range(start: str, end: str, today: date) -> tuple[date, date]:
    first = _day(start, "from") or today - timedelta(days=29)
    last = _day(end, "to") or today
    if last < first:
        raise InvalidInput("to", "is before the start")
    if (last - first).days > 366:
        raise InvalidInput("from", "the range is at most a year")
    return first, last


def _at(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def metrics_values(session: Session, project_id: int, start: str, end: str) -> dict[str, Any]:
    now = utcnow()
    first, last = _range(start, end, now.date())
    found = support_metrics(session, project_id, _at(first), _at(last + timedelta(days=1)), now)
    volume = volume_by_category(session, project_id, WEEKS, now)
    chart = {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "type": "scroll"},
        "grid": {"left": 40, "right": 16, "top": 36, "bottom": 28, "containLabel": True},
        "xAxis": {"type": "category", "data": [w.isoformat() for w in volume.weeks]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "name": (c.category or "untriaged").replace("_", " "),
                "type": "bar",
                "stack": "tickets",
                "data": list(c.counts),
                "itemStyle": {"color": COLOURS[i % len(COLOURS)]},
            }
            for i, c in enumerate(volume.categories)
        ],
    }
    return {"m": found, "volume": volume, "chart": json.dumps(chart), "first": first, "last": last}


def _figures_json(f: Figures) -> dict[str, Any]:
    values = asdict(f)
    values["reopened"]["rate"] = f.reopened.rate
    values["csat"]["rate"] = f.csat.rate
    values["auto_resolved"]["rate"] = f.auto_resolved.rate
    values["auto_resolution_reopened"]["rate"] = f.auto_resolution_reopened.rate
    values["first_response_sla"]["achieved"] = f.first_response_sla.achieved
    values["resolution_sla"]["achieved"] = f.resolution_sla.achieved
    values["suggestions"]["acceptance_rate"] = f.suggestions.acceptance_rate
    return values


def metrics_json(found: SupportMetrics) -> dict[str, Any]:
    return {
        "start": found.start.isoformat(),
        "end": found.end.isoformat(),
        "overall": _figures_json(found.overall),
        "agents": {k: _figures_json(v) for k, v in found.agents.items()},
        "teams": {k: _figures_json(v) for k, v in found.teams.items()},
    }


@router.get(
    "/projects/{project_id}/support/metrics", response_class=HTMLResponse, include_in_schema=False
)
def metrics_page(request: Request, project: ProjectDep, principal: Reader, db: DbDep) -> Response:
    form = {"from": request.query_params.get("from", ""), "to": request.query_params.get("to", "")}
    try:
        values = metrics_values(db, project.id, form["from"], form["to"])
    except InvalidInput as exc:
        return render(
            request,
            "support/metrics.html",
            {"project": project, "form": form, "errors": {exc.field: exc.message}},
            422,
        )
    return render(
        request, "support/metrics.html", {"project": project, "form": form, "errors": {}, **values}
    )


@router.get("/api/projects/{project_id}/support/metrics")
def metrics_api(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep
) -> JSONResponse:
    """First response, resolution and requester wait times, reopen rate, backlog, SLA,
    CSAT, auto-resolution and suggestion figures, overall and per agent and team, for
    ``from`` to ``to`` (dates, default the last 30 days); definitions in
    docs/metrics/support.md."""
    values = metrics_values(
        db, project.id, request.query_params.get("from", ""), request.query_params.get("to", "")
    )
    volume = values["volume"]
    body = metrics_json(values["m"]) | {
        "weeks": [w.isoformat() for w in volume.weeks],
        "categories": [asdict(c) for c in volume.categories],
    }
    return JSONResponse(body)


def _month(text: str, today: date) -> date:
    if not text:
        return (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    try:
        return date.fromisoformat(text + "-01")
    except ValueError:
        raise InvalidInput("month", "is a month (YYYY-MM)") from None


def report_json(report: TopIssues) -> dict[str, Any]:
    def issue(i: Any) -> dict[str, Any]:
        return asdict(i) | {"label": i.label, "change": i.change}

    return {
        "month": report.month.isoformat()[:7],
        "currency": report.currency,
        "tickets": report.tickets,
        "previous_tickets": report.previous_tickets,
        "by_volume": [issue(i) for i in report.by_volume],
        "by_mrr": [issue(i) for i in report.by_mrr],
    }


@router.get(
    "/projects/{project_id}/support/report", response_class=HTMLResponse, include_in_schema=False
)
def report_page(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep, month: str = ""
) -> Response:
    try:
        chosen = _month(month, utcnow().date())
    except InvalidInput as exc:
        return render(
            request,
            "support/report.html",
            {"project": project, "month": month, "errors": {exc.field: exc.message}},
            422,
        )
    report = top_issues(db, project.id, chosen)
    values = {"project": project, "r": report, "month": chosen.isoformat()[:7], "errors": {}}
    return render(request, "support/report.html", values)


@router.get("/api/projects/{project_id}/support/top-issues")
def report_api(project: ProjectDep, principal: Reader, db: DbDep, month: str = "") -> JSONResponse:
    """The month's top 5 issues by tickets and by MRR affected (``month`` as YYYY-MM,
    default last month), with example tickets."""
    report = top_issues(db, project.id, _month(month, utcnow().date()))
    return JSONResponse(report_json(report))
