"""The Alerts page and API: notification channels, the rule of each kind of alert, and
the log of alerts that fired with why; plus the job that delivers them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from loopwise.core import alerts
from loopwise.core.accounts import ProjectInfo
from loopwise.core.alerts import AlertKind
from loopwise.core.errors import InvalidInput, NotFound
from loopwise.core.jobs import Job, JobContext
from loopwise.core.notify import DeliveryError
from loopwise.web.area import Area, NavItem
from loopwise.web.deps import ContextDep, DbDep, Id, ProjectDep, Reader, SettingsEditor, client_ip
from loopwise.web.render import render, see_other

router = APIRouter(tags=["alerts"])


def _kinds() -> list[AlertKind]:
    from loopwise.web.areas import all_alert_kinds  # the list of areas imports this module

    return all_alert_kinds()


def _kind(key: str) -> AlertKind:
    found = next((k for k in _kinds() if k.key == key), None)
    if found is None:
        raise NotFound(f"alert kind {key}")
    return found


class ChannelIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Literal["email", "webhook", "slack"]
    # email: comma-separated recipients; webhook and slack: the URL.
    target: Annotated[str, Field(min_length=1, max_length=2000)]


class RuleIn(BaseModel):
    severity: Literal["info", "warning", "critical"]
    cooldown_minutes: Annotated[int, Field(ge=0, le=43_200)]
    enabled: bool = True
    channel_ids: list[int] = Field(default_factory=list, max_length=50)


def _channel_json(c: alerts.Channel) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "kind": c.kind, "target": c.target, "enabled": c.enabled}


@router.get("/api/projects/{project_id}/alerts/channels")
def list_channels(project: ProjectDep, principal: Reader, db: DbDep) -> JSONResponse:
    """The project's notification channels (secrets never shown)."""
    return JSONResponse([_channel_json(c) for c in alerts.channels(db, project.id)])


@router.post("/api/projects/{project_id}/alerts/channels", status_code=201)
def create_channel(
    request: Request, body: ChannelIn, project: ProjectDep, principal: SettingsEditor,
    db: DbDep, context: ContextDep,
) -> JSONResponse:  # fmt: skip
    """Add a channel. A webhook's Standard Webhooks signing secret is in the answer, once."""
    channel, secret = alerts.add_channel(
        db, principal.actor(client_ip(request)), project.id, name=body.name, kind=body.kind,
        target=body.target, secret_key=context.settings.secret(),
    )  # fmt: skip
    db.commit()
    answer = _channel_json(channel)
    if secret is not None:
        answer["signing_secret"] = secret
    return JSONResponse(answer, status_code=201)


@router.delete("/api/projects/{project_id}/alerts/channels/{channel_id}", status_code=204)
def remove_channel(
    request: Request, channel_id: Id, project: ProjectDep, principal: SettingsEditor, db: DbDep
) -> Response:
    alerts.delete_channel(db, principal.actor(client_ip(request)), project.id, channel_id)
    db.commit()
    return Response(status_code=204)


@router.post("/api/projects/{project_id}/alerts/channels/{channel_id}/test")
def test_channel(
    channel_id: Id, project: ProjectDep, principal: SettingsEditor, db: DbDep,
    context: ContextDep,
) -> JSONResponse:  # fmt: skip
    """Send a test message now; ``{"sent": false, "error": …}`` says why it was not taken."""
    try:
        alerts.send_test(context.settings, db, project.id, channel_id)
    except DeliveryError as exc:
        return JSONResponse({"sent": False, "error": str(exc)})
    return JSONResponse({"sent": True})


def _rule_json(r: alerts.Rule) -> dict[str, Any]:
    return {"key": r.key, "name": r.name, "description": r.description,
            "severity": r.severity, "cooldown_minutes": r.cooldown_minutes,
            "enabled": r.enabled, "channel_ids": r.channel_ids,
            "last_fired_at": r.last_fired_at.isoformat() if r.last_fired_at else None}  # fmt: skip


@router.get("/api/projects/{project_id}/alerts/rules")
def list_rules(project: ProjectDep, principal: Reader, db: DbDep) -> JSONResponse:
    """Every kind of alert with the project's rule for it."""
    return JSONResponse([_rule_json(r) for r in alerts.rules(db, project.id, _kinds())])


@router.put("/api/projects/{project_id}/alerts/rules/{key}")
def put_rule(
    request: Request, key: str, body: RuleIn, project: ProjectDep, principal: SettingsEditor,
    db: DbDep,
) -> JSONResponse:  # fmt: skip
    """Severity, cool-down (minutes of quiet after an alert), on/off, and channels (empty:
    all of the project's channels)."""
    kind = _kind(key)
    alerts.set_rule(db, principal.actor(client_ip(request)), project.id, kind,
                    **body.model_dump())  # fmt: skip
    db.commit()
    found = next(r for r in alerts.rules(db, project.id, [kind]))
    return JSONResponse(_rule_json(found))


def _fired_json(f: alerts.Fired) -> dict[str, Any]:
    return {"id": f.id, "key": f.key, "severity": f.severity, "title": f.title, "why": f.why,
            "evidence": f.evidence, "fired_at": f.fired_at.isoformat(),
            "deliveries": [{"channel": d.channel, "status": d.status, "attempts": d.attempts,
                            "last_error": d.last_error} for d in f.deliveries]}  # fmt: skip


@router.get("/api/projects/{project_id}/alerts")
def list_alerts(project: ProjectDep, principal: Reader, db: DbDep) -> JSONResponse:
    """The latest 50 alerts, newest first, with why each fired and how delivery went."""
    return JSONResponse([_fired_json(f) for f in alerts.recent(db, project.id)])


# --- the page ----------------------------------------------------------------------------


@router.get("/projects/{project_id}/alerts", response_class=HTMLResponse, include_in_schema=False)
def alerts_page(request: Request, project: ProjectDep, principal: Reader, db: DbDep) -> Response:
    return _page(request, project, db, {}, 200)


def _page(
    request: Request, project: ProjectInfo, db: Any, errors: dict[str, str], status: int,
    notice: str = "", values: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    context = {
        "project": project, "channels": alerts.channels(db, project.id),
        "rules": alerts.rules(db, project.id, _kinds()), "fired": alerts.recent(db, project.id),
        "errors": errors, "notice": notice, "values": values or {},
    }  # fmt: skip
    return render(request, "alerts.html", context, status)


@router.post("/projects/{project_id}/alerts/channels", include_in_schema=False)
def channel_form(
    request: Request, project: ProjectDep, principal: SettingsEditor, db: DbDep,
    context: ContextDep,
    name: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=20)] = "email",
    target: Annotated[str, Form(max_length=2000)] = "",
) -> Response:  # fmt: skip
    try:
        channel, secret = alerts.add_channel(
            db, principal.actor(client_ip(request)), project.id, name=name, kind=kind,
            target=target, secret_key=context.settings.secret(),
        )  # fmt: skip
    except InvalidInput as exc:
        db.rollback()
        values = {"name": name, "kind": kind, "target": target}
        return _page(request, project, db, {exc.field: exc.message}, 422, values=values)
    db.commit()
    if secret is not None:  # shown once, on the page that answers the form
        notice = f"Channel “{channel.name}” added. Its signing secret (shown once): {secret}"
        return _page(request, project, db, {}, 200, notice=notice)
    return see_other(f"/projects/{project.id}/alerts")


@router.post("/projects/{project_id}/alerts/channels/{channel_id}/delete", include_in_schema=False)
def channel_delete_form(
    request: Request, channel_id: Id, project: ProjectDep, principal: SettingsEditor, db: DbDep
) -> Response:
    alerts.delete_channel(db, principal.actor(client_ip(request)), project.id, channel_id)
    db.commit()
    return see_other(f"/projects/{project.id}/alerts")


@router.post("/projects/{project_id}/alerts/channels/{channel_id}/test", include_in_schema=False)
def channel_test_form(
    request: Request, channel_id: Id, project: ProjectDep, principal: SettingsEditor, db: DbDep,
    context: ContextDep,
) -> Response:  # fmt: skip
    try:
        alerts.send_test(context.settings, db, project.id, channel_id)
    except DeliveryError as exc:
        return _page(request, project, db, {f"channel-{channel_id}": str(exc)}, 200)
    return _page(request, project, db, {}, 200, notice="Test message sent.")


@router.post("/projects/{project_id}/alerts/rules/{key}", include_in_schema=False)
def rule_form(
    request: Request, key: str, project: ProjectDep, principal: SettingsEditor, db: DbDep,
    severity: Annotated[str, Form(max_length=20)] = "warning",
    cooldown_hours: Annotated[str, Form(max_length=10)] = "24",
    enabled: Annotated[str, Form(max_length=5)] = "",
) -> Response:  # fmt: skip
    kind = _kind(key)
    current = next(r for r in alerts.rules(db, project.id, [kind]))
    try:
        text = cooldown_hours.strip()
        if not (text.isascii() and text.isdigit()):
            raise InvalidInput("cooldown_minutes", "is a whole number of hours")
        alerts.set_rule(db, principal.actor(client_ip(request)), project.id, kind,
                        severity=severity, cooldown_minutes=int(text) * 60,
                        enabled=enabled == "on", channel_ids=current.channel_ids)  # fmt: skip
    except InvalidInput as exc:
        db.rollback()
        return _page(request, project, db, {f"rule-{key}": exc.message}, 422)
    db.commit()
    return see_other(f"/projects/{project.id}/alerts")


def deliver_job(context: JobContext, now: datetime) -> str:
    return alerts.deliver_due(context.sessions, context.settings, now)


area = Area(
    name="alerts",
    router=router,
    nav=(NavItem("Alerts", "/alerts"),),
    jobs=(
        Job("alerts.deliver", "Send queued alerts to their channels, retrying with backoff",
            deliver_job, every=timedelta(minutes=1), lease=timedelta(minutes=10)),
    ),
)  # fmt: skip
