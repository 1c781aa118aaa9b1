"""Page rendering: one Jinja environment over the shell's and every area's templates."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from loopwise import __version__
from loopwise.core.currency import minor_unit
from loopwise.web.area import Area

TEMPLATES = Path(__file__).parent / "templates"


def build_templates(areas: list[Area]) -> Jinja2Templates:
    folders = [TEMPLATES, *(a.templates for a in areas if a.templates)]
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders]),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["in_zone"] = _in_zone
    env.filters["number"] = lambda n: f"{n:,}" if isinstance(n, int | float) else n
    env.globals["minor_unit"] = minor_unit  # money is stored in minor units
    env.globals["version"] = __version__
    env.globals["nav"] = [item for area in areas for item in area.nav]
    return Jinja2Templates(env=env)


def _in_zone(value: datetime, zone: str) -> datetime:
    """A UTC instant as the wall-clock time of ``zone`` (a period's local start)."""
    return value.astimezone(ZoneInfo(zone))


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    values = {"principal": getattr(request.state, "principal", None), **(context or {})}
    return templates.TemplateResponse(request, name, values, status_code=status_code)


def see_other(url: str) -> RedirectResponse:
    """Redirect after a form post, so reloading the page does not post again."""
    return RedirectResponse(url, status_code=303)
