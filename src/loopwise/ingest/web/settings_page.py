"""The ingestion page: what arrived, what was dropped and why, and the privacy settings."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from loopwise.core.errors import InvalidInput
from loopwise.core.roles import Permission
from loopwise.ingest.pipeline import IngestPolicy
from loopwise.ingest.policies import parse_denylist
from loopwise.ingest.report import IngestionReport, change_policy, ingestion_report, label
from loopwise.web.deps import ContextDep, DbDep, ProjectDep, Reader, SettingsEditor, client_ip
from loopwise.web.render import render, see_other

router = APIRouter()
COLORS = {"accepted": "#10b981", "rejected": "#ef4444"}
DROP_COLORS = ["#f59e0b", "#fb923c", "#facc15", "#d97706", "#a16207"]  # one per drop reason


def _chart(report: IngestionReport) -> str:
    hours = [h.strftime("%d %b %H:00") for h in report.hours]
    keys = ["accepted", *sorted(k for k in report.series if k != "accepted")]
    drops = [k for k in keys if k.startswith("dropped:")]
    colors = {k: DROP_COLORS[i % len(DROP_COLORS)] for i, k in enumerate(drops)}
    series = [
        {
            "name": label(key), "type": "bar", "stack": "all", "data": report.series[key],
            "itemStyle": {"color": colors.get(key) or COLORS.get(key.split(":")[0], "#64748b")},
        }
        for key in keys
    ]  # fmt: skip
    option = {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0},
        "grid": {"left": 56, "right": 24, "top": 48, "bottom": 30},
        "xAxis": {"type": "category", "data": hours},
        "yAxis": {
            "type": "value",
            "name": "Events",
            "splitLine": {"lineStyle": {"color": "#eef0f4"}},
        },
        "series": series,
    }
    return json.dumps(option)


def _page(
    request: Request, project: Any, principal: Any, db: DbDep, context: ContextDep,
    *, errors: dict[str, str] | None = None, status: int = 200, form: dict[str, Any] | None = None,
) -> Response:  # fmt: skip
    report = ingestion_report(db, project.id)
    ingest = context.ingest
    steps = []
    if ingest is not None:
        for name, seconds in ingest.stats.step_seconds.items():
            events = ingest.stats.step_events[name] or 1
            steps.append((name, seconds / events * 1e6))
    values = {
        "project": project,
        "report": report,
        "labels": {key: label(key) for key in report.totals},
        "chart": _chart(report),
        "policy": form or report.policy.model_dump(),
        "errors": errors or {},
        "can_settings": principal.can(Permission.CHANGE_SETTINGS),
        "saved": request.query_params.get("saved") == "1",
        "steps": steps,
        "mode": ingest.mode if ingest is not None else "",
    }
    return render(request, "ingest/ingestion.html", values, status)


@router.get(
    "/projects/{project_id}/ingestion", response_class=HTMLResponse, include_in_schema=False
)
def ingestion_page(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep, context: ContextDep
) -> Response:
    return _page(request, project, principal, db, context)


@router.get("/api/projects/{project_id}/ingestion", tags=["ingestion"])
def ingestion_api(project: ProjectDep, principal: Reader, db: DbDep) -> IngestionReport:
    """Events accepted, dropped and rejected per hour over 48 hours, by reason; the newest
    rejected messages; and the project's privacy settings."""
    return ingestion_report(db, project.id)


@router.post("/projects/{project_id}/ingestion", include_in_schema=False)
def save_ingestion_settings(
    request: Request,
    project: ProjectDep,
    principal: SettingsEditor,
    db: DbDep,
    context: ContextDep,
    ip_mode: Annotated[str, Form()] = "truncate",
    denylist: Annotated[str, Form(max_length=20_000)] = "",
    require_consent: Annotated[bool, Form()] = False,
    cookieless: Annotated[bool, Form()] = False,
    scrub_pii: Annotated[bool, Form()] = False,
) -> Response:
    names = parse_denylist(denylist)
    form: dict[str, Any] = {
        "require_consent": require_consent, "ip_mode": ip_mode, "cookieless": cookieless,
        "scrub_pii": scrub_pii, "denylist": sorted(names),
    }  # fmt: skip
    try:
        if ip_mode not in ("truncate", "drop"):
            raise InvalidInput("ip_mode", "choose whether addresses are truncated or dropped")
        policy = IngestPolicy(
            require_consent=require_consent,
            ip_mode="drop" if ip_mode == "drop" else "truncate",
            cookieless=cookieless,
            scrub_pii=scrub_pii,
            denylist=names,
        )
        change_policy(db, principal.actor(client_ip(request)), project.id, policy)
    except InvalidInput as exc:
        return _page(request, project, principal, db, context, errors={exc.field: exc.message},
                     status=422, form=form)  # fmt: skip
    db.commit()
    if context.ingest is not None:
        context.ingest.policies.forget(project.id)
    return see_other(f"/projects/{project.id}/ingestion?saved=1")
