"""The "Triage & settings" page: the triage model and its evaluation, the project's
support settings, the inbound webhook token and the response templates."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from loopwise.core.accounts import ProjectInfo
from loopwise.core.currency import minor_unit
from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput
from loopwise.core.roles import Permission
from loopwise.revenue.facade import revenue_rules
from loopwise.support import facade
from loopwise.web.deps import (
    ContextDep,
    DbDep,
    Id,
    ProjectDep,
    Reader,
    SettingsEditor,
    SupportAgent,
    client_ip,
)
from loopwise.web.render import render, see_other

router = APIRouter()
Short = Annotated[str, Form(max_length=2000)]


def _page(
    request: Request,
    project: ProjectInfo,
    db: Session,
    principal: Any,
    errors: dict[str, str] | None = None,
    status: int = 200,
    token: str = "",
    form: dict[str, str] | None = None,
) -> Response:
    model = facade.model_status(db, project.id)
    classes = model.evaluation.get("classes", [])
    chart = {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 40, "right": 16, "top": 36, "bottom": 60, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": [c["label"] for c in classes],
            "axisLabel": {"rotate": 30},
        },
        "yAxis": {"type": "value", "max": 1},
        "series": [
            {"name": name, "type": "bar", "data": [round(c[key], 3) for c in classes]}
            for name, key in (("precision", "precision"), ("recall", "recall"))
        ],
    }
    settings = facade.support_settings(db, project.id)
    base = f"{request.base_url}api/projects/{project.id}/support/inbound"
    values = {
        "project": project,
        "model": model,
        "chart": json.dumps(chart),
        "s": settings,
        "templates": facade.templates(db, project.id),
        "errors": errors or {},
        "token": token,
        "form": form or {},
        "inbound": base,
        "intents": list(facade.ROUTINE_INTENTS),
        "priorities": facade.PRIORITIES,
        "can_edit": principal.can(Permission.CHANGE_SETTINGS),
        "can_work": principal.can(Permission.WORK_TICKETS),
        "unit": _unit(db, project.id),
    }
    db.commit()
    return render(request, "support/triage.html", values, status)


@router.get(
    "/projects/{project_id}/support/triage", response_class=HTMLResponse, include_in_schema=False
)
def triage_page(request: Request, project: ProjectDep, principal: Reader, db: DbDep) -> Response:
    return _page(request, project, db, principal)


@router.post("/projects/{project_id}/support/triage/train", include_in_schema=False)
def train_form(
    request: Request, project: ProjectDep, principal: SettingsEditor, db: DbDep
) -> Response:
    try:
        facade.train_model(db, principal.actor(client_ip(request)), project.id, utcnow())
    except InvalidInput as exc:
        db.rollback()
        return _page(request, project, db, principal, {"train": exc.message}, 422)
    db.commit()
    return see_other(f"/projects/{project.id}/support/triage#model")


@router.post("/projects/{project_id}/support/triage/language-model", include_in_schema=False)
def language_model_form(
    request: Request,
    project: ProjectDep,
    principal: SettingsEditor,
    db: DbDep,
    context: ContextDep,
    llm_url: Short = "",
    llm_model: Short = "",
    llm_key: Short = "",
) -> Response:
    try:
        facade.set_language_model(
            db,
            principal.actor(client_ip(request)),
            project.id,
            context.settings.secret(),
            url=llm_url,
            model=llm_model,
            key=llm_key or None,
        )
    except InvalidInput as exc:
        db.rollback()
        form = {"llm_url": llm_url, "llm_model": llm_model}
        return _page(request, project, db, principal, {exc.field: exc.message}, 422, form=form)
    db.commit()
    return see_other(f"/projects/{project.id}/support/triage#language-model")


@router.post("/projects/{project_id}/support/triage/token", include_in_schema=False)
def token_form(
    request: Request, project: ProjectDep, principal: SettingsEditor, db: DbDep
) -> Response:
    token = facade.rotate_inbound_token(db, principal.actor(client_ip(request)), project.id)
    db.commit()
    return _page(request, project, db, principal, token=token)


def _minutes(text: str, field: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise InvalidInput(field, "is a whole number of minutes")
    return int(text)


@router.post("/projects/{project_id}/support/triage/settings", include_in_schema=False)
async def settings_form(
    request: Request, project: ProjectDep, principal: SettingsEditor, db: DbDep
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if any(len(v) > 20_000 for v in form.values()):
        return _page(request, project, db, principal, {"form": "a value is too long"}, 422)
    try:
        sla = {
            p: {
                "first_response": _minutes(form.get(f"sla_{p}_first", ""), f"sla_{p}_first"),
                "resolution": _minutes(form.get(f"sla_{p}_resolution", ""), f"sla_{p}_resolution"),
            }
            for p in facade.PRIORITIES
        }
        routing = [
            {
                k: form.get(f"route_{n}_{k}", "")
                for k in ("category", "priority", "feature", "queue", "assignee")
            }
            for n in range(1, 6)
        ]
        routing = [r for r in routing if any(r.values())]
        auto = {
            i: {
                "enabled": form.get(f"auto_{i}_enabled") == "on",
                "threshold": _threshold(form.get(f"auto_{i}_threshold", "0.9"), i),
                "link": form.get(f"auto_{i}_link", ""),
            }
            for i in facade.ROUTINE_INTENTS
        }
        vip = form.get("vip_mrr", "").strip()
        if vip and not (vip.isascii() and vip.isdigit()):
            raise InvalidInput("vip_mrr", "is a whole amount in the reporting currency")
        facade.set_support_settings(
            db,
            principal.actor(client_ip(request)),
            project.id,
            categories=form.get("categories", "").replace("\n", ",").split(","),
            features=form.get("features", "").splitlines(),
            sla=sla,
            routing=routing,
            auto_resolution=auto,
            reply_from=form.get("reply_from", ""),
            report_to=form.get("report_to", ""),
            vip_mrr_minor=int(vip) * _unit(db, project.id) if vip else None,
        )
    except InvalidInput as exc:
        db.rollback()
        return _page(request, project, db, principal, {exc.field: exc.message}, 422, form=form)
    db.commit()
    return see_other(f"/projects/{project.id}/support/triage#settings")


def _unit(db: Session, project_id: int) -> int:
    """Minor units per unit of the reporting currency (the VIP threshold is typed in units)."""
    return minor_unit(revenue_rules(db, project_id).currency)


def _threshold(text: str, intent: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(
            f"auto_resolution.{intent}.threshold", "is a number from 0.5 to 1"
        ) from None


@router.post("/projects/{project_id}/support/templates", include_in_schema=False)
def template_form(
    request: Request,
    project: ProjectDep,
    principal: SupportAgent,
    db: DbDep,
    name: Annotated[str, Form(max_length=200)] = "",
    category: Annotated[str, Form(max_length=50)] = "",
    body: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    try:
        facade.save_template(db, project.id, name, category, body, utcnow())
    except InvalidInput as exc:
        db.rollback()
        form = {"template_name": name, "template_category": category, "template_body": body}
        return _page(
            request, project, db, principal, {f"template_{exc.field}": exc.message}, 422, form=form
        )
    db.commit()
    return see_other(f"/projects/{project.id}/support/triage#templates")


@router.post(
    "/projects/{project_id}/support/templates/{template_id}/delete", include_in_schema=False
)
def delete_template_form(
    project: ProjectDep, principal: SupportAgent, template_id: Id, db: DbDep
) -> Response:
    facade.delete_template(db, project.id, template_id)
    db.commit()
    return see_other(f"/projects/{project.id}/support/triage#templates")
