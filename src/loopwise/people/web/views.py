"""What the people pages share: the timeline's ``before`` and ``kinds`` parameters, the
flash message carried across a redirect, the page renderer that shows it, rows as JSON,
the health history chart and the mailer people e-mails go out through."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from loopwise.core.auth import Principal
from loopwise.core.currency import minor_unit
from loopwise.core.errors import Forbidden, InvalidInput
from loopwise.core.roles import Permission
from loopwise.people import facade
from loopwise.people.contracts import TIMELINE_KINDS, PersonRow, Timeline
from loopwise.revenue.facade import revenue_rules
from loopwise.support import facade as support
from loopwise.web.context import AppContext
from loopwise.web.deps import PrincipalDep
from loopwise.web.render import render, see_other

FLASH_COOKIE = "lw_flash"
BAND_COLOURS = {"healthy": "#1e8e5a", "at_risk": "#b7791f", "critical": "#c0392b"}


# --- request helpers ---------------------------------------------------------------------------


async def _form(request: Request) -> FormData:
    """The posted form as a whole, for forms whose fields are not known in advance (the
    filter's numbered conditions ride along with every bulk action)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _preset_editor(principal: PrincipalDep) -> Principal:
    """Saved filters are shared by the whole team: support agents and analysts (and
    admins) keep them; viewers apply them."""
    if not (principal.can(Permission.WORK_TICKETS) or principal.can(Permission.EDIT_ANALYSES)):
        raise Forbidden(f"your role ({principal.role.value}) may not save shared filters")
    return principal


PresetEditor = Annotated[Principal, Depends(_preset_editor)]
# What each bulk action needs: tags and e-mails are support work, a cohort is analysis.
BULK_PERMISSION = {
    "tag": Permission.WORK_TICKETS, "email": Permission.WORK_TICKETS,
    "export": Permission.EXPORT, "cohort": Permission.EDIT_ANALYSES,
}  # fmt: skip


def refused(exc: ValidationError, prefix: str = "") -> InvalidInput:
    """A model's first complaint as ``InvalidInput`` naming the field (``prefix`` + name)."""
    first = exc.errors()[0]
    loc = [str(part) for part in first["loc"] if not isinstance(part, int)]
    name = loc[-1] if loc else "body"
    return InvalidInput(prefix + name, str(first["msg"]).removeprefix("Value error, "))


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # nothing in Loopwise happened before


def parse_before(text: str, now: datetime | None = None) -> datetime | None:
    """An ISO instant (``2026-03-01T12:00:00Z``; a naive one is taken as UTC) from
    1970-01-01 to a day after ``now`` (default: the current time); "" means now."""
    if not text.strip():
        return None
    try:
        found = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("before", "is a date and time such as 2026-03-01T12:00:00Z") from None
    found = found if found.tzinfo else found.replace(tzinfo=UTC)
    if not EARLIEST <= found <= (now or datetime.now(UTC)) + timedelta(days=1):
        raise InvalidInput("before", "is a moment from 1970-01-01 to a day from now")
    return found


def parse_kinds(values: Sequence[str]) -> tuple[str, ...]:
    """Timeline kinds, repeated or comma-separated, in ``TIMELINE_KINDS`` order; none
    means all. An unknown kind is refused, naming ``kinds``."""
    kinds = {k.strip() for v in values for k in v.split(",") if k.strip()}
    unknown = sorted(kinds - set(TIMELINE_KINDS))
    if unknown:
        allowed = ", ".join(TIMELINE_KINDS)
        raise InvalidInput("kinds", f"{unknown[0][:40]!r} is not one of {allowed}")
    return tuple(k for k in TIMELINE_KINDS if k in kinds) or TIMELINE_KINDS


def oldest(found: Timeline) -> datetime:
    """Where the page before a timeline page ends: its oldest item (or its start)."""
    return found.items[-1].at if found.items else found.start


# --- the flash message ------------------------------------------------------------------------


def _signer(request: Request) -> URLSafeSerializer:
    context: AppContext = request.app.state.context
    return URLSafeSerializer(context.settings.secret(), salt="people-flash")


def flash_redirect(request: Request, url: str, message: str) -> RedirectResponse:
    """Redirect after a form post and say what happened on the next page (a signed,
    short-lived cookie, so nobody can put words in the page through a link)."""
    response = see_other(url)
    context: AppContext = request.app.state.context
    response.set_cookie(
        FLASH_COOKIE, _signer(request).dumps(message[:500]), max_age=120, httponly=True,
        samesite="lax", secure=context.settings.secure_cookies, path="/",
    )  # fmt: skip
    return response


def page(request: Request, name: str, values: dict[str, Any], status: int = 200) -> HTMLResponse:
    """``render``, with the flash message left by the last redirect (then forgotten)."""
    flash = ""
    cookie = request.cookies.get(FLASH_COOKIE)
    if cookie:
        try:
            flash = str(_signer(request).loads(cookie))
        except BadSignature:
            flash = ""
    response = render(request, name, {"flash": flash, **values}, status)
    if cookie:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


# --- mail ---------------------------------------------------------------------------------------


def currency_of(db: Session, project_id: int) -> str:
    """The project's reporting currency (MRR and credits are in it)."""
    return revenue_rules(db, project_id).currency or "usd"


def sender_of(context: AppContext, db: Session, project_id: int) -> str:
    """The address people e-mails come from: the project's, else the instance's."""
    return facade.config_of(db, project_id).mail_from or context.settings.smtp_from


def mailer_of(context: AppContext, db: Session, project_id: int) -> support.Mailer | None:
    """The instance's SMTP server (``None`` without one: e-mails are then refused)."""
    smtp = context.settings.smtp_url
    sender = sender_of(context, db, project_id)
    return support.mailer(smtp.get_secret_value() if smtp else None, sender)


# --- rows, money and charts ---------------------------------------------------------------------


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


def money(minor: int, currency: str) -> float:
    """Minor units as major units of ``currency`` (cents → dollars)."""
    return round(minor / minor_unit(currency or "usd"), 2)


def row_json(row: PersonRow, currency: str) -> dict[str, Any]:
    return {
        "person_id": row.person_id, "email": row.email, "name": row.name,
        "account": row.account, "plan": row.plan, "mrr": money(row.mrr_minor, currency),
        "mrr_minor": row.mrr_minor, "billing_status": row.billing_status,
        "health": row.health, "band": row.band or None, "last_seen": _iso(row.last_seen),
        "created_at": _iso(row.created_at), "tags": list(row.tags), "vip": row.vip,
        "matched": row.matched or None,
    }  # fmt: skip


def history_chart(points: list[tuple[date, int, str]], healthy: int, at_risk: int) -> str:
    """The health score over time as an ECharts line, the bands shaded behind it."""
    bands = [
        {"yAxis": 0, "itemStyle": {"color": "rgba(192,57,43,.07)"}}, {"yAxis": at_risk},
    ], [
        {"yAxis": at_risk, "itemStyle": {"color": "rgba(183,121,31,.07)"}}, {"yAxis": healthy},
    ], [
        {"yAxis": healthy, "itemStyle": {"color": "rgba(30,142,90,.07)"}}, {"yAxis": 100},
    ]  # fmt: skip
    return json.dumps({
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 36, "right": 16, "top": 16, "bottom": 28},
        "xAxis": {"type": "category", "data": [d.isoformat() for d, _, _ in points],
                  "boundaryGap": False},
        "yAxis": {"type": "value", "min": 0, "max": 100},
        "series": [{
            "name": "health", "type": "line", "step": "end", "symbolSize": 6,
            "itemStyle": {"color": "#4f46e5"}, "data": [score for _, score, _ in points],
            "markArea": {"silent": True, "data": [list(b) for b in bands]},
        }],
    })  # fmt: skip
