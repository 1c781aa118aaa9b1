"""The people area's JSON API (lists, search, one person's context, timeline and
insights, quick and bulk actions, saved filters, settings, recompute) and the ``Area``
the shell mounts. The pages are in ``pages.py``, ``person_pages.py``,
``account_pages.py`` and ``settings_pages.py``."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput
from loopwise.people import facade
from loopwise.people.contracts import TIMELINE_KINDS, Action, BulkAction
from loopwise.people.timeline import timeline_json
from loopwise.people.web import account_pages, pages, person_pages, settings_pages
from loopwise.people.web import filter_args as fa
from loopwise.people.web.schemas import (
    ActionDoneOut,
    BulkOut,
    ConfigBody,
    InsightOut,
    MessageOut,
    PeoplePageOut,
    PersonRowOut,
    PresetIn,
    PresetOut,
    RefreshOut,
    SearchOut,
    TimelineOut,
)
from loopwise.people.web.views import (
    BULK_PERMISSION,
    PresetEditor,
    currency_of,
    mailer_of,
    parse_before,
    parse_kinds,
    row_json,
    sender_of,
)
from loopwise.web.area import Area, NavItem
from loopwise.web.deps import (
    Allowed,
    ContextDep,
    DbDep,
    Id,
    ProjectDep,
    Reader,
    SettingsEditor,
    SupportAgent,
    WarehouseDep,
    client_ip,
)

router = APIRouter(tags=["people"])
# Fixed paths (accounts, settings, search) before the person's, which would match them.
router.include_router(account_pages.router)
router.include_router(settings_pages.router)
router.include_router(pages.router)
router.include_router(person_pages.router)

PersonId = Annotated[str, Path(min_length=1, max_length=64, description="the person's id")]


@router.get("/api/projects/{project_id}/people", response_model=PeoplePageOut)
def people_api(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    warehouse: WarehouseDep,
    q: Annotated[str, Query(max_length=200, description="search text")] = "",
    quick: Annotated[list[str], Query(description="quick filters, repeated")] = [],  # noqa: B006
    match: Annotated[str, Query(description="all or any of the conditions")] = "all",
    sort: Annotated[str, Query(description=", ".join(fa.SORTS))] = "-last_seen",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PeoplePageOut:
    """People who match a filter, a page at a time. Besides the parameters above, each
    condition *i* (0-19) is ``f<i>`` (field), ``o<i>`` (operator), ``v<i>`` (value),
    ``k<i>`` (the property, for field ``property``) and ``e<i>``/``d<i>`` (event and days,
    for ``did_event``); see docs/people.md. A bad parameter answers 422 naming it."""
    spec = fa.spec_from(request.query_params)
    try:
        found = facade.people_page(db, warehouse, project.id, spec, utcnow(), limit=limit,
                                   currency=currency_of(db, project.id),
                                   offset=offset)  # fmt: skip
    except InvalidInput as exc:
        raise InvalidInput(fa.param_of(request.query_params, exc.field), exc.message) from None
    db.commit()
    rows = [PersonRowOut(**row_json(r, found.currency)) for r in found.rows]
    return PeoplePageOut(total=found.total, limit=found.limit, offset=found.offset,
                         currency=found.currency, people=rows)  # fmt: skip


@router.get("/api/projects/{project_id}/people/search", response_model=SearchOut)
def search_api(
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchOut:
    """People whose e-mail, name (or a word of it), distinct id, billing customer id or
    ticket number (``#12``) starts with ``q``, then similar e-mails and names for typos;
    each result says what matched."""
    found = facade.search(db, project.id, q.strip(), limit=limit) if q.strip() else []
    db.commit()
    return SearchOut(q=q.strip(), results=[PersonRowOut(**row_json(r, "")) for r in found])


@router.post("/api/projects/{project_id}/people/bulk", response_model=BulkOut)
def bulk_api(
    request: Request,
    body: BulkAction,
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    warehouse: WarehouseDep,
    context: ContextDep,
) -> Response | BulkOut:
    """One action on everyone ``filter`` selects: ``tag``, ``export`` (answers CSV),
    ``cohort`` (an existing cohort by id, or a new one by name) or ``email`` (a preview
    without ``confirm``; sent with it). Tag and e-mail need ``work_tickets``, export
    ``export``, cohort ``edit_analyses``."""
    Allowed(BULK_PERMISSION[body.kind])(principal)
    outcome = facade.run_bulk(
        db, warehouse, principal.actor(client_ip(request)), project.id, body, utcnow(),
        currency=currency_of(db, project.id), mailer=mailer_of(context, db, project.id),
        sender=sender_of(context, db, project.id),
    )  # fmt: skip
    db.commit()
    if body.kind == "export":
        headers = {"Content-Disposition": 'attachment; filename="people.csv"'}
        return Response(outcome.csv_text, media_type="text/csv", headers=headers)
    preview = [MessageOut(to=t, subject=s, body=b) for t, s, b in outcome.preview or []]
    return BulkOut(kind=outcome.kind, count=outcome.count, message=outcome.message,
                   preview=preview, sent=outcome.sent, failed=outcome.failed)  # fmt: skip


@router.post("/api/projects/{project_id}/people/recompute", response_model=RefreshOut)
def recompute_api(
    request: Request,
    project: ProjectDep,
    principal: SettingsEditor,
    db: DbDep,
    warehouse: WarehouseDep,
) -> RefreshOut:
    """Every person's summary and health score, now (the daily job does it too)."""
    report = facade.recompute_project(
        db, warehouse, principal.actor(client_ip(request)), project.id, utcnow()
    )
    db.commit()
    return RefreshOut(persons=report.persons, seconds=report.seconds, by_band=report.by_band)


# --- saved filters and settings ----------------------------------------------------------------


def _preset_out(p: facade.PresetInfo) -> PresetOut:
    return PresetOut(id=p.id, name=p.name, filter=p.spec, created_by=p.created_by,
                     created_at=p.created_at)  # fmt: skip


@router.get("/api/projects/{project_id}/people/presets", response_model=list[PresetOut])
def presets_api(project: ProjectDep, principal: Reader, db: DbDep) -> list[PresetOut]:
    """The project's saved filters, shared by everyone."""
    return [_preset_out(p) for p in facade.presets(db, project.id)]


@router.post("/api/projects/{project_id}/people/presets", response_model=PresetOut, status_code=201)
def save_preset_api(
    request: Request, body: PresetIn, project: ProjectDep, principal: PresetEditor, db: DbDep
) -> PresetOut:
    """Save a filter by name (support agents, analysts, admins and owners)."""
    saved = facade.save_preset(db, principal.actor(client_ip(request)), project.id, body.name,
                               body.filter)  # fmt: skip
    db.commit()
    return _preset_out(saved)


@router.delete("/api/projects/{project_id}/people/presets/{preset_id}", status_code=204)
def delete_preset_api(
    request: Request, project: ProjectDep, principal: PresetEditor, preset_id: Id, db: DbDep
) -> Response:
    facade.delete_preset(db, principal.actor(client_ip(request)), project.id, preset_id)
    db.commit()
    return Response(status_code=204)


@router.get("/api/projects/{project_id}/people/settings", response_model=ConfigBody)
def settings_api(project: ProjectDep, principal: Reader, db: DbDep) -> ConfigBody:
    """Health bands, component weights, the VIP threshold (minor units), the account
    property and the address e-mails are sent from ("" = the instance's)."""
    c = facade.config_of(db, project.id)
    return ConfigBody(healthy_from=c.healthy_from, at_risk_from=c.at_risk_from,
                      weights=c.weights, vip_mrr_minor=c.vip_mrr_minor,
                      account_property=c.account_property, mail_from=c.mail_from)  # fmt: skip


@router.put("/api/projects/{project_id}/people/settings", response_model=ConfigBody)
def save_settings_api(
    request: Request, body: ConfigBody, project: ProjectDep, principal: SettingsEditor, db: DbDep
) -> ConfigBody:
    """Change the settings; scores follow them at the next recompute."""
    facade.save_config(db, principal.actor(client_ip(request)), project.id, **body.model_dump())
    db.commit()
    return settings_api(project, principal, db)


# --- one person ----------------------------------------------------------------------------------


@router.get("/api/projects/{project_id}/people/{person_id}")
def person_api(
    project: ProjectDep, principal: Reader, person_id: PersonId, db: DbDep, warehouse: WarehouseDep
) -> dict[str, Any]:
    """Everything about one person: identity, summary, health with its parts and
    history, billing, support and usage cards, insights, the last 30 days of timeline,
    recent events and the raw records. 404 for a person of another project."""
    found = facade.person_context(db, warehouse, project.id, person_id, utcnow())
    db.commit()
    return found.to_json()


@router.get("/api/projects/{project_id}/people/{person_id}/timeline", response_model=TimelineOut)
def timeline_api(
    project: ProjectDep,
    principal: Reader,
    person_id: PersonId,
    db: DbDep,
    warehouse: WarehouseDep,
    before: Annotated[str, Query(description="ISO instant; items before it")] = "",
    kinds: Annotated[list[str], Query(description=", ".join(TIMELINE_KINDS))] = [],  # noqa: B006
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> TimelineOut:
    """``days`` of the person's timeline before ``before`` (default: now), newest first.
    Page back with ``before=next_before``."""
    now = utcnow()
    found = facade.timeline(db, warehouse, project.id, person_id, now, days=days,
                            before=parse_before(before, now), kinds=parse_kinds(kinds))  # fmt: skip
    db.commit()
    return TimelineOut.model_validate(timeline_json(found))


@router.get(
    "/api/projects/{project_id}/people/{person_id}/insights", response_model=list[InsightOut]
)
def insights_api(
    project: ProjectDep, principal: Reader, person_id: PersonId, db: DbDep, warehouse: WarehouseDep
) -> list[InsightOut]:
    """Observations about the person, each with the figures behind it."""
    found = facade.person_context(db, warehouse, project.id, person_id, utcnow())
    db.commit()
    return [InsightOut(kind=i.kind, text=i.text, evidence=i.evidence) for i in found.insights]


@router.post(
    "/api/projects/{project_id}/people/{person_id}/actions",
    response_model=ActionDoneOut,
    status_code=201,
)
def action_api(
    request: Request,
    body: Action,
    project: ProjectDep,
    principal: SupportAgent,
    person_id: PersonId,
    db: DbDep,
    warehouse: WarehouseDep,
    context: ContextDep,
) -> ActionDoneOut:
    """One quick action, by ``kind``: ``note`` (markdown), ``tag``/``untag``, ``vip``,
    ``email`` (a template or subject and body), ``ticket``, or ``grant`` (a complimentary
    subscription or credit, recorded as a request for the billing team)."""
    done = facade.act(
        db, warehouse, principal.actor(client_ip(request)), project.id, person_id, body,
        utcnow(), mailer=mailer_of(context, db, project.id),
        sender=sender_of(context, db, project.id), author=principal.label,
    )  # fmt: skip
    db.commit()
    return ActionDoneOut(kind=done.kind, action_id=done.action_id, message=done.message,
                         link=done.link)  # fmt: skip


@router.post("/api/projects/{project_id}/people/{person_id}/recompute", status_code=204)
def recompute_person_api(
    project: ProjectDep,
    principal: SupportAgent,
    person_id: PersonId,
    db: DbDep,
    warehouse: WarehouseDep,
) -> Response:
    """The person's summary and health score, now."""
    facade.recompute_person(db, warehouse, project.id, person_id, utcnow())
    db.commit()
    return Response(status_code=204)


area = Area(
    name="people",
    router=router,
    templates=FilePath(__file__).parent / "templates",
    nav=(NavItem("Users", "/people"),),
    jobs=tuple(facade.JOBS),
)
