"""The person page (one ``person_context`` call renders it), its timeline partial for
"Load older", and the quick actions' forms (note, tag, VIP, e-mail, ticket, grant)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from loopwise.core.accounts import ProjectInfo
from loopwise.core.auth import Principal
from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput
from loopwise.core.markdown import render_markdown
from loopwise.core.roles import Permission
from loopwise.ingest.facade import person_by_id
from loopwise.people import facade
from loopwise.people.contracts import (
    ACTION_KINDS,
    BAND_LABELS,
    TIMELINE_KINDS,
    TIMELINE_LABELS,
    Action,
    Timeline,
)
from loopwise.people.web import filter_args as fa
from loopwise.people.web.views import (
    FormDep,
    flash_redirect,
    history_chart,
    mailer_of,
    oldest,
    page,
    parse_before,
    parse_kinds,
    refused,
    sender_of,
)
from loopwise.warehouse import Warehouse
from loopwise.web.deps import (
    ContextDep,
    DbDep,
    ProjectDep,
    Reader,
    SupportAgent,
    WarehouseDep,
    client_ip,
)
from loopwise.web.render import render, see_other

router = APIRouter()
PersonId = Annotated[str, Path(min_length=1, max_length=64)]
ACTIONS = TypeAdapter(Action)
# The fields each quick-action form posts; ``untag`` is the tag form's other button.
FORM_FIELDS = {
    "note": ("body",), "tag": ("tag",), "untag": ("tag",), "vip": ("vip",),
    "email": ("template_id", "subject", "body"), "ticket": ("subject", "body", "priority"),
    "grant": ("grant", "months", "plan", "amount", "reason"),
}  # fmt: skip
OPTIONAL_NUMBERS = ("template_id", "months", "amount")


def person_url(project_id: int, person_id: str) -> str:
    return f"/projects/{project_id}/people/{person_id}"


def timeline_values(
    project_id: int, person_id: str, found: Timeline, created_at: datetime
) -> dict[str, Any]:
    """What the timeline partial needs: the items and the "Load older" links."""
    chosen = [] if found.kinds == TIMELINE_KINDS else list(found.kinds)
    query = urlencode([("before", oldest(found).isoformat()), *(("kinds", k) for k in chosen)])
    base = person_url(project_id, person_id)
    # Before the identity service knew them (people imported with an older history), keep
    # offering older pages until one comes back empty.
    more = bool(found.items) or found.start > created_at
    return {"timeline": found, "more_page": f"{base}?{query}#timeline" if more else "",
            "more_partial": f"{base}/timeline?{query}" if more else ""}  # fmt: skip


def _chips(project_id: int, person_id: str, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """A chip per kind: it switches the kind on or off in the timeline."""
    chosen = set() if kinds == TIMELINE_KINDS else set(kinds)
    chips = []
    for kind, label in TIMELINE_LABELS.items():
        after = sorted(chosen ^ {kind}, key=TIMELINE_KINDS.index)
        query = urlencode([("kinds", k) for k in after])
        chips.append({"label": label, "active": kind in chosen,
                      "href": f"{person_url(project_id, person_id)}?{query}#timeline"})  # fmt: skip
    return chips


def _page(
    request: Request,
    project: ProjectInfo,
    principal: Principal,
    db: Session,
    warehouse: Warehouse,
    person_id: str,
    *,
    kinds: tuple[str, ...] = TIMELINE_KINDS,
    before: datetime | None = None,
    errors: dict[str, str] | None = None,
    forms: dict[str, dict[str, str]] | None = None,
) -> Response:
    now = utcnow()
    ctx = facade.person_context(db, warehouse, project.id, person_id, now, kinds=kinds)
    config = facade.config_of(db, project.id)
    found = ctx.timeline
    if before is not None:
        found = facade.timeline(db, warehouse, project.id, ctx.person.id, now, before=before,
                                kinds=kinds)  # fmt: skip
    history = [(p.day, p.score, p.band) for p in ctx.health_history]
    values = {
        "project": project, "c": ctx, "p": ctx.person, "h": ctx.health, "now": now,
        "md": render_markdown, "config": config, "band_labels": BAND_LABELS,
        "errors": errors or {},
        "forms": forms or {}, "templates": facade.templates(db, project.id),
        "chart": history_chart(history, config.healthy_from, config.at_risk_from)
        if len(history) > 1 else "",
        "chips": _chips(project.id, ctx.person.id, kinds), "before": before,
        "raw": json.dumps(ctx.debug.person, indent=2, sort_keys=True, default=str),
        "can_work": principal.can(Permission.WORK_TICKETS),
        **timeline_values(project.id, ctx.person.id, found, ctx.person.created_at),
    }  # fmt: skip
    db.commit()
    return page(request, "people/person.html", values, 422 if errors else 200)


@router.get(
    "/projects/{project_id}/people/{person_id}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def person_page(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    warehouse: WarehouseDep,
    person_id: PersonId,
    kinds: Annotated[list[str], Query(max_length=len(TIMELINE_KINDS))] = [],  # noqa: B006
    before: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """The person page; an id merged into another person opens that person's page."""
    canonical = person_by_id(db, project.id, person_id).id
    if canonical != person_id:
        return see_other(person_url(project.id, canonical))
    try:
        moment, chosen = parse_before(before, utcnow()), parse_kinds(kinds)
    except InvalidInput as exc:
        return _page(request, project, principal, db, warehouse, person_id,
                     errors={exc.field: exc.message})  # fmt: skip
    return _page(request, project, principal, db, warehouse, person_id, kinds=chosen,
                 before=moment)  # fmt: skip


@router.get(
    "/projects/{project_id}/people/{person_id}/timeline",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def timeline_partial(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    warehouse: WarehouseDep,
    person_id: PersonId,
    kinds: Annotated[list[str], Query(max_length=len(TIMELINE_KINDS))] = [],  # noqa: B006
    before: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Thirty more days of the timeline, older than ``before`` (htmx "Load older")."""
    person, now = person_by_id(db, project.id, person_id), utcnow()
    found = facade.timeline(db, warehouse, project.id, person.id, now,
                            before=parse_before(before, now), kinds=parse_kinds(kinds))  # fmt: skip
    db.commit()
    values = {"project": project, "p": person, "md": render_markdown,
              **timeline_values(project.id, person.id, found, person.created_at)}  # fmt: skip
    return render(request, "people/_timeline.html", values)


def action_of(kind: str, form: fa.Params) -> Action:
    """The quick action a form posts, checked by the contract's model."""
    raw: dict[str, Any] = {"kind": kind}
    for name in FORM_FIELDS[kind]:
        text = str(form.get(name) or "")
        if name in OPTIONAL_NUMBERS and not text.strip():
            continue
        raw[name] = text if name == "body" else text.strip()
    if kind == "vip":
        raw["vip"] = raw.get("vip", "") in ("1", "true", "on")
    try:
        return ACTIONS.validate_python(raw)
    except ValidationError as exc:
        raise refused(exc) from None


@router.post("/projects/{project_id}/people/{person_id}/actions/{kind}", include_in_schema=False)
def action_form(
    request: Request,
    project: ProjectDep,
    principal: SupportAgent,
    db: DbDep,
    warehouse: WarehouseDep,
    context: ContextDep,
    person_id: PersonId,
    kind: Annotated[str, Path(max_length=10)],
    form: FormDep,
) -> Response:
    """One quick action; back to the page with what happened, or the page again with the
    message beside the field (422)."""
    if kind not in ACTION_KINDS:
        raise InvalidInput("kind", f"is one of {', '.join(ACTION_KINDS)}")
    group = "tag" if kind == "untag" else kind
    try:
        done = facade.act(
            db, warehouse, principal.actor(client_ip(request)), project.id, person_id,
            action_of(kind, form), utcnow(), mailer=mailer_of(context, db, project.id),
            sender=sender_of(context, db, project.id), author=principal.label,
        )  # fmt: skip
    except InvalidInput as exc:
        db.rollback()
        field = exc.field if exc.field in FORM_FIELDS[kind] else "form"
        typed = {name: str(form.get(name) or "") for name in FORM_FIELDS[kind]}
        return _page(request, project, principal, db, warehouse, person_id,
                     errors={f"{group}.{field}": exc.message}, forms={group: typed})  # fmt: skip
    db.commit()
    return flash_redirect(request, person_url(project.id, person_id) + "#timeline", done.message)


@router.post("/projects/{project_id}/people/{person_id}/recompute", include_in_schema=False)
def recompute_form(
    request: Request,
    project: ProjectDep,
    principal: SupportAgent,
    db: DbDep,
    warehouse: WarehouseDep,
    person_id: PersonId,
) -> Response:
    facade.recompute_person(db, warehouse, project.id, person_id, utcnow())
    db.commit()
    return flash_redirect(request, person_url(project.id, person_id), "Health recomputed.")
