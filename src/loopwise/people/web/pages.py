"""The people list: search as you type, quick filters, the filter builder, saved filters,
and the bulk actions on everyone a filter selects (tag, CSV export, cohort, e-mail with
a preview first). The person page is in ``person_pages.py``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from loopwise.core.accounts import ProjectInfo
from loopwise.core.auth import Principal
from loopwise.core.db import utcnow
from loopwise.core.errors import InvalidInput
from loopwise.core.roles import Permission
from loopwise.people import facade
from loopwise.people.contracts import MAX_ID, QUICK_FILTERS, BulkAction, FilterSpec, PeoplePage
from loopwise.people.web import filter_args as fa
from loopwise.people.web.views import (
    BULK_PERMISSION,
    FormDep,
    PresetEditor,
    currency_of,
    flash_redirect,
    mailer_of,
    page,
    refused,
    sender_of,
)
from loopwise.product import facade as product
from loopwise.warehouse import Warehouse
from loopwise.web.deps import (
    Allowed,
    ContextDep,
    DbDep,
    Id,
    PrincipalDep,
    ProjectDep,
    Reader,
    SettingsEditor,
    WarehouseDep,
    client_ip,
)
from loopwise.web.render import render

router = APIRouter()
PAGE_SIZE = 50
MAX_PAGE = 10_000
BULK_FIELDS = ("tag", "cohort_id", "cohort_name", "template_id", "subject", "body")


def list_url(project_id: int, spec: FilterSpec | None, page_no: int = 1) -> str:
    pairs = fa.spec_params(spec) if spec else []
    if page_no > 1:
        pairs.append(("page", str(page_no)))
    return f"/projects/{project_id}/people" + (f"?{urlencode(pairs)}" if pairs else "")


def _page_no(text: str) -> int:
    text = text.strip() or "1"
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_PAGE):
        raise InvalidInput("page", f"is a whole number from 1 to {MAX_PAGE:,}")
    return int(text)


def _chips(project_id: int, spec: FilterSpec, counts: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"name": name, "label": label, "count": counts.get(name, 0),
         "active": name in spec.quick, "href": list_url(project_id, fa.with_quick(spec, name))}
        for name, label in QUICK_FILTERS.items()
    ]  # fmt: skip


def _cohorts(db: Session, project_id: int) -> list[Any]:
    """The cohorts people can be added to: the static ones (lists of persons)."""
    return [c for c in product.cohorts(db, project_id) if c.kind == "static"]


def _list(
    request: Request,
    project: ProjectInfo,
    principal: Principal,
    db: Session,
    warehouse: Warehouse,
    params: fa.Params,
    errors: dict[str, str],
    *,
    bulk: str = "",
    mail: dict[str, str] | None = None,
) -> Response:
    """The list page for ``params`` (a query string, or a posted form that failed)."""
    now, spec, found = utcnow(), None, None
    errors = dict(errors)
    try:
        spec = fa.spec_from(params)
        page_no = _page_no(str(params.get("page") or "1"))
        found = facade.people_page(db, warehouse, project.id, spec, now, limit=PAGE_SIZE,
                                   currency=currency_of(db, project.id),
                                   offset=(page_no - 1) * PAGE_SIZE)  # fmt: skip
    except InvalidInput as exc:
        db.rollback()
        errors.setdefault(_form_field(params, exc.field), exc.message)
        page_no = 1
    raw = [(k, v) for k, v in params.multi_items() if isinstance(v, str)]
    values = {
        **_builder(project.id, spec, raw, errors),
        **_access(principal),
        "project": project, "tab": "people", "p": found, "errors": errors,
        "chips": _chips(project.id, spec or FilterSpec(), facade.quick_counts(db, project.id, now)),
        "presets": _presets(db, project.id),
        "event_names": product.event_names(warehouse, project.id, limit=200),
        "currency": found.currency if found else "", "bulk": bulk, "mail": mail or {},
        "templates": facade.templates(db, project.id), "cohorts": _cohorts(db, project.id),
        "prev_href": list_url(project.id, spec, page_no - 1) if spec and page_no > 1 else "",
        "next_href": list_url(project.id, spec, page_no + 1) if _more(found) else "",
    }  # fmt: skip
    db.commit()
    return page(request, "people/list.html", values, 422 if errors else 200)


def _more(found: PeoplePage | None) -> bool:
    return found is not None and found.offset + len(found.rows) < found.total


def _builder(
    project_id: int, spec: FilterSpec | None, raw: list[tuple[str, str]], errors: dict[str, str]
) -> dict[str, Any]:
    """The filter builder's state: the rows as typed, and the filter as parameters."""
    shown = spec or FilterSpec()
    condition_error = any(k[:1] in "fovked" and k[1:].isdigit() for k in errors)
    return {
        "spec": spec, "rows": fa.rows_for_form(raw),
        "params": fa.spec_params(spec) if spec else [(k, v) for k, v in raw if k != "page"],
        "form": {"match": shown.match, "sort": shown.sort},
        "filtered": bool(shown.q or shown.quick or shown.conditions),
        "builder_open": bool(shown.conditions) or condition_error,
        "fields": fa.FIELD_LABELS, "operators": fa.OPERATOR_LABELS, "sorts": fa.SORT_LABELS,
    }  # fmt: skip


def _access(principal: Principal) -> dict[str, bool]:
    """What the caller may do on the list, for the page to offer only that."""
    work, analyse = principal.can(Permission.WORK_TICKETS), principal.can(Permission.EDIT_ANALYSES)
    return {
        "can_work": work, "can_analyse": analyse, "can_presets": work or analyse,
        "can_export": principal.can(Permission.EXPORT),
        "can_settings": principal.can(Permission.CHANGE_SETTINGS),
    }  # fmt: skip


def _presets(db: Session, project_id: int) -> list[dict[str, Any]]:
    return [
        {"id": p.id, "name": p.name, "created_by": p.created_by,
         "href": list_url(project_id, p.spec)}
        for p in facade.presets(db, project_id)
    ]  # fmt: skip


_FORM_FIELDS = frozenset(
    {"q", "quick", "match", "sort", "page", "preset_name", *BULK_FIELDS}
    | {f"{p}{i}" for p in "fovked" for i in range(20)}
)


def _form_field(params: fa.Params, field: str, name: str = "filter") -> str:
    """Where the list page shows an error about ``field``: beside the form field or the
    builder's input behind it (``name`` for the name of what a form makes: a preset, a
    cohort), else above the filter."""
    found = name if field == "name" else fa.param_of(params, field)
    return found if found in _FORM_FIELDS else "filter"


@router.get("/projects/{project_id}/people", response_class=HTMLResponse, include_in_schema=False)
def people_list(
    request: Request, project: ProjectDep, principal: Reader, db: DbDep, warehouse: WarehouseDep
) -> Response:
    return _list(request, project, principal, db, warehouse, request.query_params, {})


@router.get(
    "/projects/{project_id}/people/search", response_class=HTMLResponse, include_in_schema=False
)
def search_partial(
    request: Request,
    project: ProjectDep,
    principal: Reader,
    db: DbDep,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The search box's results as you type (an htmx partial)."""
    if not q.strip():
        return HTMLResponse("")  # an empty box hides the results
    results = facade.search(db, project.id, q.strip(), limit=10)
    db.commit()
    values = {"project": project, "q": q.strip(), "results": results}
    return render(request, "people/_search.html", values)


# --- saved filters ---------------------------------------------------------------------------


@router.post("/projects/{project_id}/people/presets", include_in_schema=False)
def save_preset_form(
    request: Request,
    project: ProjectDep,
    principal: PresetEditor,
    db: DbDep,
    warehouse: WarehouseDep,
    form: FormDep,
    name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    try:
        spec = fa.spec_from(form)
        saved = facade.save_preset(db, principal.actor(client_ip(request)), project.id, name, spec)
    except InvalidInput as exc:
        db.rollback()
        errors = {_form_field(form, exc.field, "preset_name"): exc.message}
        return _list(request, project, principal, db, warehouse, form, errors)
    db.commit()
    url = list_url(project.id, saved.spec)
    return flash_redirect(request, url, f"Saved the filter “{saved.name}” for everyone.")


@router.post("/projects/{project_id}/people/presets/{preset_id}/delete", include_in_schema=False)
def delete_preset_form(
    request: Request, project: ProjectDep, principal: PresetEditor, preset_id: Id, db: DbDep
) -> Response:
    facade.delete_preset(db, principal.actor(client_ip(request)), project.id, preset_id)
    db.commit()
    return flash_redirect(request, list_url(project.id, None), "Deleted the saved filter.")


# --- bulk actions ------------------------------------------------------------------------------


def _bulk_action(kind: str, form: fa.Params, *, confirm: bool = False) -> BulkAction:
    """The bulk action a form describes, its filter read from the same form."""
    spec = fa.spec_from(form)
    raw: dict[str, Any] = {"kind": kind, "filter": spec, "confirm": confirm}
    for name in ("tag", "cohort_name", "subject", "body"):
        raw[name] = str(form.get(name) or "").strip() if name != "body" else str(
            form.get(name) or "")  # fmt: skip
    for name in ("cohort_id", "template_id"):
        raw[name] = _chosen_id(name, str(form.get(name) or ""))
    try:
        return BulkAction(**raw)
    except ValidationError as exc:
        raise refused(exc) from None


def _chosen_id(field: str, text: str) -> int | None:
    """The id a form's choice posts ("" for none): a whole number from 1 to ``MAX_ID``
    (its length checked before it is read, so a long one is refused, not parsed)."""
    text = text.strip()
    if not text:
        return None
    digits = text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ID))
    if not digits or not 1 <= int(text) <= MAX_ID:
        raise InvalidInput(field, "is one of the choices")
    return int(text)


def _run(
    request: Request,
    project: ProjectInfo,
    principal: Principal,
    db: Session,
    warehouse: Warehouse,
    context: Any,
    form: fa.Params,
    kind: str,
) -> Response:
    """Run the bulk action ``kind`` on the filter in ``form``; a refusal shows the list again
    with the message beside its field."""
    mail = {k: str(form.get(k) or "") for k in ("template_id", "subject", "body")}
    try:
        action = _bulk_action(kind, form, confirm=bool(form.get("confirm")))
        outcome = facade.run_bulk(
            db, warehouse, principal.actor(client_ip(request)), project.id, action, utcnow(),
            currency=currency_of(db, project.id), mailer=mailer_of(context, db, project.id),
            sender=sender_of(context, db, project.id),
        )  # fmt: skip
    except InvalidInput as exc:
        db.rollback()
        errors = {_form_field(form, exc.field, "cohort_name"): exc.message}
        return _list(request, project, principal, db, warehouse, form, errors, bulk=kind,
                     mail=mail)  # fmt: skip
    db.commit()
    if kind == "export":
        headers = {"Content-Disposition": 'attachment; filename="people.csv"'}
        return Response(outcome.csv_text, media_type="text/csv", headers=headers)
    if kind == "email" and not action.confirm:
        values = {"project": project, "o": outcome, "params": fa.spec_params(action.filter),
                  "mail": mail, "back": list_url(project.id, action.filter)}  # fmt: skip
        return page(request, "people/bulk_preview.html", values)
    return flash_redirect(request, list_url(project.id, action.filter), outcome.message)


@router.post("/projects/{project_id}/people/bulk/{kind}", include_in_schema=False)
def bulk_form(
    request: Request, project: ProjectDep, principal: PrincipalDep, db: DbDep,
    warehouse: WarehouseDep, context: ContextDep, form: FormDep,
    kind: Annotated[str, Path(max_length=10)],
) -> Response:  # fmt: skip
    """A bulk action (tag, email, export, cohort) on the filter the form carries; an
    e-mail without ``confirm`` answers the preview page and sends nothing."""
    if kind not in BULK_PERMISSION:
        raise InvalidInput("kind", f"is one of {', '.join(BULK_PERMISSION)}")
    Allowed(BULK_PERMISSION[kind])(principal)
    return _run(request, project, principal, db, warehouse, context, form, kind)


@router.post("/projects/{project_id}/people/recompute", include_in_schema=False)
def recompute_form(
    request: Request, project: ProjectDep, principal: SettingsEditor, db: DbDep,
    warehouse: WarehouseDep,
) -> Response:  # fmt: skip
    report = facade.recompute_project(
        db, warehouse, principal.actor(client_ip(request)), project.id, utcnow()
    )
    db.commit()
    message = f"Recomputed the health of {report.persons:,} people in {report.seconds:.1f} s."
    return flash_redirect(request, list_url(project.id, None), message)
