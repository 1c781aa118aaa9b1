"""The people settings page: health bands, the weight of each part of the score, the VIP
threshold, the account property and the address e-mails are sent from."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from loopwise.core.accounts import ProjectInfo
from loopwise.core.auth import Principal
from loopwise.core.currency import minor_unit
from loopwise.core.errors import InvalidInput
from loopwise.core.roles import Permission
from loopwise.people import facade
from loopwise.people.contracts import COMPONENTS, PeopleConfig
from loopwise.people.web.views import FormDep, currency_of, flash_redirect, page
from loopwise.web.context import AppContext
from loopwise.web.deps import ContextDep, DbDep, ProjectDep, Reader, SettingsEditor, client_ip

router = APIRouter()


def form_of(config: PeopleConfig, currency: str) -> dict[str, str]:
    """The settings as the form shows them (the VIP threshold in major units)."""
    unit = minor_unit(currency)
    units, rest = divmod(config.vip_mrr_minor, unit)
    vip = str(units) if not rest else f"{config.vip_mrr_minor / unit:.{len(str(unit)) - 1}f}"
    return {
        "healthy_from": str(config.healthy_from), "at_risk_from": str(config.at_risk_from),
        "vip_mrr": vip,
        "account_property": config.account_property, "mail_from": config.mail_from,
        **{f"weight_{k}": str(config.weights.get(k, 0)) for k in COMPONENTS},
    }  # fmt: skip


def _page(
    request: Request,
    project: ProjectInfo,
    principal: Principal,
    db: Session,
    context: AppContext,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    currency = currency_of(db, project.id)
    values = {
        "project": project, "tab": "settings", "currency": currency, "errors": errors or {},
        "form": form or form_of(facade.config_of(db, project.id), currency),
        "components": [(k, label, weight) for k, (label, weight) in COMPONENTS.items()],
        "instance_from": context.settings.smtp_from,
        "can_edit": principal.can(Permission.CHANGE_SETTINGS),
    }  # fmt: skip
    db.commit()
    return page(request, "people/settings.html", values, 422 if errors else 200)


@router.get(
    "/projects/{project_id}/people/settings", response_class=HTMLResponse, include_in_schema=False
)
def settings_page(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep, context: ContextDep
) -> Response:
    return _page(request, project, principal, db, context)


def whole(form: dict[str, str], name: str, low: int = 0, high: int = 100) -> int:
    text = form.get(name, "").strip()
    if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
        raise InvalidInput(name, f"is a whole number from {low} to {high}")
    return int(text)


def minor_of(text: str, currency: str, name: str) -> int:
    """An amount typed in major units (``1,500.50``) as minor units of ``currency``."""
    try:
        amount = Decimal(text.strip().replace(",", "") or "0")
    except InvalidOperation:
        raise InvalidInput(name, "is an amount such as 500 or 499.99") from None
    if not amount.is_finite() or amount < 0 or amount > 10**10:
        raise InvalidInput(name, "is an amount of zero or more")
    return int(amount * minor_unit(currency))


def config_args(form: dict[str, str], currency: str) -> dict[str, Any]:
    """The keyword arguments of ``facade.save_config`` from the form's text."""
    return {
        "healthy_from": whole(form, "healthy_from", 1),
        "at_risk_from": whole(form, "at_risk_from"),
        "weights": {k: whole(form, f"weight_{k}") for k in COMPONENTS},
        "vip_mrr_minor": minor_of(form.get("vip_mrr", ""), currency, "vip_mrr"),
        "account_property": form.get("account_property", ""),
        "mail_from": form.get("mail_from", ""),
    }


@router.post("/projects/{project_id}/people/settings", include_in_schema=False)
def settings_form(
    request: Request,
    project: ProjectDep,
    principal: SettingsEditor,
    db: DbDep,
    context: ContextDep,
    posted: FormDep,
) -> Response:
    names = ("healthy_from", "at_risk_from", "vip_mrr", "account_property", "mail_from",
             *(f"weight_{k}" for k in COMPONENTS))  # fmt: skip
    form = {name: str(posted.get(name) or "")[:400] for name in names}
    try:
        args = config_args(form, currency_of(db, project.id))
        facade.save_config(db, principal.actor(client_ip(request)), project.id, **args)
    except InvalidInput as exc:
        db.rollback()
        return _page(request, project, principal, db, context, form, {exc.field: exc.message})
    db.commit()
    message = "Settings saved. Scores follow them at the next recompute."
    return flash_redirect(request, f"/projects/{project.id}/people/settings", message)
