"""The shell's own pages: home, projects and their settings, people & roles, audit log, account."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from loopwise.core import accounts, audit
from loopwise.core.accounts import a_role
from loopwise.core.auth import Principal
from loopwise.core.errors import InvalidInput
from loopwise.core.roles import MATRIX, Permission, Role, can_grant
from loopwise.core.security import generate_password
from loopwise.web.area import Area
from loopwise.web.deps import (
    Admin,
    Auditor,
    ContextDep,
    Creator,
    DbDep,
    Id,
    KeyManager,
    PersonDep,
    PrincipalDep,
    ProjectDep,
    SettingsEditor,
    TokenMaker,
    client_ip,
    session_token,
)
from loopwise.web.render import render, see_other

router = APIRouter(include_in_schema=False)


# --- home and projects ----------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: PrincipalDep, db: DbDep) -> Response:
    projects = [p for p in accounts.list_projects(db) if principal.sees_project(p.id)]
    if projects:
        return see_other(f"/projects/{projects[0].id}")
    return render(
        request, "home_empty.html", {"can_create": principal.can(Permission.CREATE_PROJECT)}
    )


@router.get("/projects", response_class=HTMLResponse)
def projects_page(request: Request, principal: PrincipalDep, db: DbDep) -> Response:
    return _projects(request, principal, db)


def _projects(
    request: Request, principal: Principal, db: DbDep, errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None, status: int = 200,
) -> Response:  # fmt: skip
    projects = [p for p in accounts.list_projects(db) if principal.sees_project(p.id)]
    context = {
        "projects": projects, "errors": errors or {}, "values": values or {},
        "zones": sorted(available_timezones()),
        "can_create": principal.can(Permission.CREATE_PROJECT),
    }  # fmt: skip
    return render(request, "projects.html", context, status)


@router.post("/projects")
def create_project(
    request: Request,
    principal: Creator,
    db: DbDep,
    name: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "UTC",
) -> Response:
    try:
        project = accounts.create_project(db, principal.actor(client_ip(request)), name, timezone)
    except InvalidInput as exc:
        values = {"name": name, "timezone": timezone}
        return _projects(request, principal, db, {exc.field: exc.message}, values, 422)
    db.commit()
    return see_other(f"/projects/{project.id}/settings")


@router.get("/projects/{project_id}/settings", response_class=HTMLResponse)
def project_settings(
    request: Request, project: ProjectDep, principal: PrincipalDep, context: ContextDep, db: DbDep
) -> Response:
    return _settings(request, project, principal, context, db)


def _settings(
    request: Request, project: accounts.ProjectInfo, principal: Principal, context: ContextDep,
    db: DbDep, *, new_key: str = "", errors: dict[str, str] | None = None, status: int = 200,
) -> Response:  # fmt: skip
    can_keys = principal.can(Permission.MANAGE_API_KEYS)
    values: dict[str, Any] = {
        "project": project, "host": context.settings.effective_public_url,
        "keys": accounts.list_api_keys(db, project.id) if can_keys else [],
        "can_keys": can_keys, "new_key": new_key, "errors": errors or {},
        "key_roles": [r for r in Role if r != Role.OWNER],
        "can_settings": principal.can(Permission.CHANGE_SETTINGS),
        "saved": request.query_params.get("saved") == "1",
        "zones": sorted(available_timezones()),
    }  # fmt: skip
    return render(request, "project_settings.html", values, status)


@router.post("/projects/{project_id}/settings")
def update_project(
    request: Request,
    project: ProjectDep,
    principal: SettingsEditor,
    context: ContextDep,
    db: DbDep,
    name: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
) -> Response:
    actor = principal.actor(client_ip(request))
    try:
        accounts.update_project(db, actor, project.id, name, timezone)
    except InvalidInput as exc:
        errors = {exc.field: exc.message}
        return _settings(request, project, principal, context, db, errors=errors, status=422)
    db.commit()
    return see_other(f"/projects/{project.id}/settings?saved=1")


@router.post("/projects/{project_id}/api-keys")
def create_api_key(
    request: Request,
    project: ProjectDep,
    principal: KeyManager,
    context: ContextDep,
    db: DbDep,
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "analyst",
) -> Response:
    actor = principal.actor(client_ip(request))
    try:
        _, secret = accounts.create_api_key(db, actor, project.id, name, accounts.parse_role(role))
    except InvalidInput as exc:
        return _settings(
            request, project, principal, context, db, errors={exc.field: exc.message}, status=422
        )
    db.commit()
    return _private(_settings(request, project, principal, context, db, new_key=secret))


@router.post("/projects/{project_id}/api-keys/{key_id}/revoke")
def revoke_api_key(
    request: Request, key_id: Id, project: ProjectDep, principal: KeyManager, db: DbDep
) -> Response:
    accounts.revoke_api_key(db, principal.actor(client_ip(request)), project.id, key_id)
    db.commit()
    return see_other(f"/projects/{project.id}/settings")


# --- people & roles -------------------------------------------------------------------------


@router.get("/people", response_class=HTMLResponse)
def people_page(request: Request, principal: Admin, db: DbDep) -> Response:
    return _people(request, principal, db)


def _people(
    request: Request, principal: Principal, db: DbDep, *, errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None, created: str = "", status: int = 200,
) -> Response:  # fmt: skip
    context = {
        "users": accounts.list_users(db), "roles": list(Role), "matrix": MATRIX,
        "permissions": list(Permission), "can_manage": principal.can(Permission.MANAGE_MEMBERS),
        "errors": errors or {}, "values": values or {}, "created": created,
    }  # fmt: skip
    return render(request, "people.html", context, status)


@router.post("/people")
def add_person(
    request: Request,
    principal: Admin,
    db: DbDep,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "viewer",
) -> Response:
    values = {"email": email, "name": name, "role": role}
    try:
        chosen = accounts.parse_role(role)
        if not can_grant(principal.role, chosen):
            raise InvalidInput("role", f"{a_role(principal.role)} cannot create {a_role(chosen)}")
        password = generate_password()
        accounts.create_user(db, principal.actor(client_ip(request)), email, chosen, password, name)
    except InvalidInput as exc:
        return _people(
            request, principal, db, errors={exc.field: exc.message}, values=values, status=422
        )
    db.commit()
    note = (
        f"{email.strip().lower()} can now sign in with the temporary password {password} "
        "— pass it on privately and ask them to change it on their account page."
    )
    return _private(_people(request, principal, db, created=note))


@router.post("/people/{user_id}/role")
def change_role(
    request: Request, user_id: Id, principal: Admin, db: DbDep, role: Annotated[str, Form()] = ""
) -> Response:
    try:
        accounts.set_role(
            db,
            principal.actor(client_ip(request)),
            principal.role,
            user_id,
            accounts.parse_role(role),
        )
    except InvalidInput as exc:
        return _people(request, principal, db, errors={f"role-{user_id}": exc.message}, status=422)
    db.commit()
    return see_other("/people")


@router.post("/people/{user_id}/active")
def set_active(
    request: Request,
    user_id: Id,
    principal: Admin,
    db: DbDep,
    active: Annotated[bool, Form()] = False,
) -> Response:
    actor = principal.actor(client_ip(request))
    try:
        accounts.set_active(db, actor, principal.role, user_id, active)
    except InvalidInput as exc:
        return _people(request, principal, db, errors={f"role-{user_id}": exc.message}, status=422)
    db.commit()
    return see_other("/people")


# --- audit log ------------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    principal: Auditor,
    db: DbDep,
    action: str = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    size = 50
    rows, total = audit.entries(db, action=action or None, limit=size, offset=(page - 1) * size)
    context = {
        "rows": rows, "total": total, "page": page, "pages": max((total + size - 1) // size, 1),
        "action": action, "actions": audit.ACTIONS,
    }  # fmt: skip
    name = "_audit_rows.html" if request.headers.get("hx-request") else "audit.html"
    return render(request, name, context)


# --- the signed-in person's account ---------------------------------------------------------


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, principal: PersonDep, db: DbDep) -> Response:
    return _account(request, principal, db)


def _account(
    request: Request, principal: Principal, db: DbDep, *, new_token: str = "",
    errors: dict[str, str] | None = None, notice: str = "", status: int = 200,
) -> Response:  # fmt: skip
    assert principal.user_id is not None
    context = {
        "me": accounts.get_user(db, principal.user_id),
        "tokens": accounts.list_tokens(db, principal.user_id),
        "can_tokens": principal.can(Permission.CREATE_TOKEN), "new_token": new_token,
        "errors": errors or {}, "notice": notice,
    }  # fmt: skip
    return _private(render(request, "account.html", context, status))


def _private(response: Response) -> Response:
    """Pages that may show a secret once are never cached or restored from history."""
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/password")
def change_password(
    request: Request,
    principal: PersonDep,
    context: ContextDep,
    db: DbDep,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
) -> Response:
    assert principal.user_id is not None  # guaranteed by PersonDep
    keep = session_token(context, request) or ""
    try:
        accounts.change_password(
            db, principal.actor(client_ip(request)), principal.user_id, current_password,
            new_password, keep,
        )  # fmt: skip
    except InvalidInput as exc:
        return _account(request, principal, db, errors={exc.field: exc.message}, status=422)
    db.commit()
    return _account(request, principal, db, notice="Your password is changed.")


@router.post("/account/tokens")
def create_token(
    request: Request, principal: TokenMaker, db: DbDep, name: Annotated[str, Form()] = ""
) -> Response:
    assert principal.user_id is not None
    try:
        _, secret = accounts.create_token(
            db, principal.actor(client_ip(request)), principal.user_id, name
        )
    except InvalidInput as exc:
        return _account(request, principal, db, errors={exc.field: exc.message}, status=422)
    db.commit()
    return _account(request, principal, db, new_token=secret)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: Id, principal: PersonDep, db: DbDep) -> Response:
    assert principal.user_id is not None  # guaranteed by PersonDep
    accounts.revoke_token(db, principal.actor(client_ip(request)), principal.user_id, token_id)
    db.commit()
    return see_other("/account")


area = Area(name="shell", router=router)
